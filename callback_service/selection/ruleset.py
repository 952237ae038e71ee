"""Typed, validated selection rules: one defaults dict, merged with ``callback_rules.yaml``.

``DEFAULTS`` is the single source of the default values; the repo-root ``callback_rules.yaml``
documents the same values and a unit test keeps the two identical.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from callback_service.contracts import CHANNELS, TAGS
from callback_service.selection._reader import Reader, RulesError
from callback_service.selection.codes import RETRYABLE_DISPOSITIONS

__all__ = [
    "DEFAULTS",
    "CalendarRules",
    "Pacing",
    "RetryRules",
    "Round1Rules",
    "Round2Rules",
    "Rules",
    "RulesError",
    "Window",
    "load_rules",
    "rules_from_mapping",
]

DEFAULTS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "key_tags": ["domestic_violence", "minor", "porn_gambling_drugs", "mass_involvement"],
    "calendar": {
        "calling_windows": ["09:00-12:00", "14:30-20:00"],
        "call_on_weekends": True,
        "extra_holidays": [],
        "extra_workdays": [],
    },
    "round1": {
        "eligible_channels": ["walk_in", "kiosk"],
        "ineligible_channel_reasons": {"transfer": "transfer_not_eligible", "phone": "channel_not_eligible"},
        "due_after_hours": 24,
        "expires_after_days": 7,
    },
    "round2": {
        "repeat_min_reports": 3,
        "repeat_window_days": 30,
        "due_after_round1_days": 7,
        "expires_after_days": 7,
    },
    "retry": {
        "max_attempts": 3,
        "delay_minutes": {
            "no_answer": 120, "busy": 30, "congestion": 10, "failed": 10, "machine": 120,
            "declined_unsafe": 1440,
        },
    },
    "per_phone": {"max_tasks_per_day": 1},
    "domestic_violence": {"call_when_safety_unknown": True},
    "minors": {"fallback_to_reporter_phone": True},
    "priority": {"first_tags": ["domestic_violence", "minor"]},
    "pacing": {"default": {"max_concurrent": 4, "max_per_minute": 30}, "trunks": {}},
}

_INELIGIBLE_REASONS = ("transfer_not_eligible", "channel_not_eligible")


@dataclass(frozen=True)
class Window:
    """A daily calling window, start inclusive, end exclusive, in local wall-clock time."""

    start: time
    end: time


@dataclass(frozen=True)
class CalendarRules:
    windows: tuple[Window, ...]
    call_on_weekends: bool
    extra_holidays: frozenset[date]
    extra_workdays: frozenset[date]


@dataclass(frozen=True)
class Round1Rules:
    eligible_channels: frozenset[str]
    ineligible_channel_reasons: Mapping[str, str]
    due_after: timedelta
    expires_after: timedelta


@dataclass(frozen=True)
class Round2Rules:
    repeat_min_reports: int
    repeat_window: timedelta
    due_after_round1: timedelta
    expires_after: timedelta


@dataclass(frozen=True)
class RetryRules:
    max_attempts: int
    delays: Mapping[str, timedelta]


@dataclass(frozen=True)
class Pacing:
    max_concurrent: int
    max_per_minute: int


@dataclass(frozen=True)
class Rules:
    tz: ZoneInfo
    key_tags: tuple[str, ...]  # key categories: force round 2, manual follow-up when unreachable
    calendar: CalendarRules
    round1: Round1Rules
    round2: Round2Rules
    retry: RetryRules
    max_tasks_per_phone_per_day: int
    dv_call_when_safety_unknown: bool
    minor_fallback_to_reporter_phone: bool
    priority_first_tags: frozenset[str]
    pacing_default: Pacing
    pacing_trunks: Mapping[str, Pacing]

    def pacing_for(self, trunk: str | None) -> Pacing:
        return self.pacing_trunks.get(trunk or "", self.pacing_default)


def load_rules(path: str | Path | None = None) -> Rules:
    """Defaults merged with the YAML file at ``path`` (None: defaults only)."""
    if path is None:
        return rules_from_mapping({})
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read rules: {exc}") from exc
    if data is not None and not isinstance(data, Mapping):
        raise RulesError(f"{path}: expected a mapping at the top level")
    return rules_from_mapping(data or {}, source=str(path))


def rules_from_mapping(data: Mapping[str, Any], source: str = "rules") -> Rules:
    root = Reader(_merge(DEFAULTS, data), source)
    root.reject_unknown(DEFAULTS)
    rules = Rules(
        tz=root.zone("timezone"),
        key_tags=tuple(root.choices("key_tags", TAGS)),
        calendar=_calendar(root.section("calendar")),
        round1=_round1(root.section("round1")),
        round2=_round2(root.section("round2")),
        retry=_retry(root.section("retry")),
        max_tasks_per_phone_per_day=root.section("per_phone").integer("max_tasks_per_day", minimum=1),
        dv_call_when_safety_unknown=root.section("domestic_violence").boolean("call_when_safety_unknown"),
        minor_fallback_to_reporter_phone=root.section("minors").boolean("fallback_to_reporter_phone"),
        priority_first_tags=frozenset(root.section("priority").choices("first_tags", TAGS)),
        pacing_default=_pacing(root.section("pacing").section("default")),
        pacing_trunks=_trunks(root.section("pacing").section("trunks")),
    )
    return rules


def _calendar(sec: Reader) -> CalendarRules:
    windows = tuple(Window(a, b) for a, b in sec.windows("calling_windows"))
    return CalendarRules(
        windows=windows,
        call_on_weekends=sec.boolean("call_on_weekends"),
        extra_holidays=frozenset(sec.dates("extra_holidays")),
        extra_workdays=frozenset(sec.dates("extra_workdays")),
    )


def _round1(sec: Reader) -> Round1Rules:
    reasons = sec.section("ineligible_channel_reasons")
    return Round1Rules(
        eligible_channels=frozenset(sec.choices("eligible_channels", CHANNELS)),
        ineligible_channel_reasons={
            ch: reasons.choice(ch, _INELIGIBLE_REASONS) for ch in reasons.names(allowed=CHANNELS)
        },
        due_after=timedelta(hours=sec.number("due_after_hours", minimum=0)),
        expires_after=timedelta(days=sec.number("expires_after_days", minimum=0, exclusive=True)),
    )


def _round2(sec: Reader) -> Round2Rules:
    return Round2Rules(
        repeat_min_reports=sec.integer("repeat_min_reports", minimum=1),
        repeat_window=timedelta(days=sec.number("repeat_window_days", minimum=0, exclusive=True)),
        due_after_round1=timedelta(days=sec.number("due_after_round1_days", minimum=0)),
        expires_after=timedelta(days=sec.number("expires_after_days", minimum=0, exclusive=True)),
    )


def _retry(sec: Reader) -> RetryRules:
    delays = sec.section("delay_minutes")
    return RetryRules(
        max_attempts=sec.integer("max_attempts", minimum=1),
        delays={
            d: timedelta(minutes=delays.number(d, minimum=0, exclusive=True))
            for d in delays.names(allowed=RETRYABLE_DISPOSITIONS)
        },
    )


def _pacing(sec: Reader) -> Pacing:
    sec.reject_unknown({"max_concurrent": 0, "max_per_minute": 0})
    return Pacing(sec.integer("max_concurrent", minimum=1), sec.integer("max_per_minute", minimum=1))


def _trunks(sec: Reader) -> dict[str, Pacing]:
    return {name: _pacing(sec.section(name)) for name in sec.names()}


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Nested dicts merge key by key; any other value in ``over`` replaces the default."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and out[key]:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
