"""Report categories: key tags, repeat reporters, who to dial, which survey, and priority."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from callback_service.contracts import (
    R_DOMESTIC_VIOLENCE,
    R_GUARDIAN_PHONE,
    R_INVALID_PHONE,
    R_KEY_CATEGORY,
    R_MINOR,
    R_NO_REACHABLE_PHONE,
    R_REPEAT_REPORTER,
    TAGS,
)
from callback_service.selection.calendar import require_aware
from callback_service.selection.codes import (
    S_DOMESTIC_VIOLENCE,
    S_FIRST_CALLBACK,
    S_GUARDIAN,
    S_SECOND_REPEAT_REPORTER,
    SECOND_ROUND_SURVEYS,
)
from callback_service.selection.model import DialTo, ReportFacts
from callback_service.selection.ruleset import Rules

TAG_DV, TAG_MINOR = R_DOMESTIC_VIOLENCE, R_MINOR


def repeat_count(this_received_at: datetime, others: Iterable[datetime], rules: Rules) -> int:
    """Reports in the repeat window ending at this report, this one included.

    ``others`` are the received_at of the same person's other reports (same E.164 phone or same ID
    number hash, one entry per distinct report). The window is closed: a report exactly
    ``repeat_window_days`` earlier counts; later reports never do.
    """
    end = _utc(this_received_at, "this_received_at")
    start = end - rules.round2.repeat_window
    return 1 + sum(1 for t in others if start <= _utc(t, "received_at") <= end)


def _utc(t: datetime, name: str) -> datetime:
    # Same-zone aware datetimes compare by wall clock; UTC makes every comparison an instant one.
    return require_aware(t, name).astimezone(UTC)


def is_repeat(this_received_at: datetime, others: Iterable[datetime], rules: Rules) -> bool:
    return repeat_count(this_received_at, others, rules) >= rules.round2.repeat_min_reports


def key_tags(report: ReportFacts, rules: Rules) -> list[str]:
    return [tag for tag in rules.key_tags if tag in report.tags]


def is_repeat_reporter(report: ReportFacts, rules: Rules) -> bool:
    return report.repeat_count_30d >= rules.round2.repeat_min_reports


def second_round_required(report: ReportFacts, rules: Rules) -> bool:
    return bool(key_tags(report, rules)) or is_repeat_reporter(report, rules)


def category_reasons(report: ReportFacts, rules: Rules) -> list[str]:
    """Context reasons carried by every decision: the report's tags, key_category, repeat_reporter."""
    reasons = [tag for tag in TAGS if tag in report.tags]
    if key_tags(report, rules):
        reasons.append(R_KEY_CATEGORY)
    if is_repeat_reporter(report, rules):
        reasons.append(R_REPEAT_REPORTER)
    return reasons


def dial_target(report: ReportFacts, rules: Rules) -> tuple[DialTo, str] | tuple[None, str]:
    """(who, E.164) to dial, or (None, reason) when no usable number exists."""
    if TAG_MINOR in report.tags:
        if report.guardian_phone_e164 and report.guardian_valid:
            return DialTo.GUARDIAN, report.guardian_phone_e164
        if not rules.minor_fallback_to_reporter_phone or not _reporter_usable(report):
            return None, R_NO_REACHABLE_PHONE
    if report.phone_missing:
        return None, R_NO_REACHABLE_PHONE
    if report.phone_e164 is None or not report.phone_valid:
        return None, R_INVALID_PHONE
    return DialTo.REPORTER, report.phone_e164


def _reporter_usable(report: ReportFacts) -> bool:
    return report.phone_e164 is not None and report.phone_valid


def target_reasons(dial_to: DialTo) -> list[str]:
    return [R_GUARDIAN_PHONE] if dial_to is DialTo.GUARDIAN else []


def survey_for(report: ReportFacts, round_no: int, dial_to: DialTo, rules: Rules) -> str:
    """DV wins over every other category: its script never reveals the report to whoever answers."""
    if round_no == 1:
        if TAG_DV in report.tags:
            return S_DOMESTIC_VIOLENCE
        return S_GUARDIAN if dial_to is DialTo.GUARDIAN else S_FIRST_CALLBACK
    if TAG_DV in report.tags:
        return SECOND_ROUND_SURVEYS[TAG_DV]
    tags = key_tags(report, rules)
    return SECOND_ROUND_SURVEYS[tags[0]] if tags else S_SECOND_REPEAT_REPORTER


def priority_tier(report: ReportFacts, rules: Rules) -> int:
    """0: DV and minors (``priority.first_tags``), 1: other key categories, 2: the rest."""
    if report.tags & rules.priority_first_tags:
        return 0
    return 1 if key_tags(report, rules) else 2


def priority_key(report: ReportFacts, rules: Rules) -> tuple[int, float, str]:
    """Sort ascending: by tier, then oldest report first, then report number (a total order)."""
    received = require_aware(report.received_at, "received_at").timestamp()
    return priority_tier(report, rules), received, report.report_no
