"""Repeat-reporter window edges, priority order, surveys and the catalogue of reason codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callback_service import contracts
from callback_service.contracts import D_ANSWERED_COMPLETE, D_BUSY, D_INVALID_NUMBER, D_NO_ANSWER
from callback_service.selection import (
    Attempt,
    DialTo,
    PhoneCall,
    PhoneDay,
    ReportFacts,
    RoundHistory,
    codes,
    decide_rounds,
    is_repeat,
    priority_key,
    priority_tier,
    repeat_count,
    rules_from_mapping,
    survey_for,
)

SH = ZoneInfo("Asia/Shanghai")
RULES = rules_from_mapping({})
T = datetime(2025, 3, 31, 10, tzinfo=SH)


# --- repeat reporters ---------------------------------------------------------------------------
def test_third_report_in_thirty_days_is_a_repeat() -> None:
    others = [T - timedelta(days=20), T - timedelta(days=3)]
    assert repeat_count(T, others, RULES) == 3 and is_repeat(T, others, RULES)
    assert not is_repeat(T, others[:1], RULES)


def test_report_exactly_thirty_days_earlier_counts() -> None:
    assert repeat_count(T, [T - timedelta(days=30), T - timedelta(days=1)], RULES) == 3


def test_report_one_second_more_than_thirty_days_earlier_does_not_count() -> None:
    assert repeat_count(T, [T - timedelta(days=30, seconds=1), T - timedelta(days=1)], RULES) == 2


def test_later_reports_do_not_make_an_earlier_one_a_repeat() -> None:
    assert repeat_count(T, [T + timedelta(seconds=1), T + timedelta(days=2)], RULES) == 1


def test_a_report_at_the_same_instant_counts() -> None:
    assert repeat_count(T, [T, T], RULES) == 3


def test_repeat_window_is_in_elapsed_time_whatever_the_offsets() -> None:
    # The same instants as above, given in UTC and in New York time across its DST change (9 March 2025).
    ny = ZoneInfo("America/New_York")
    others = [(T - timedelta(days=30)).astimezone(ny), (T - timedelta(days=1)).astimezone(UTC)]
    assert repeat_count(T.astimezone(ny), others, RULES) == 3
    assert repeat_count(T.astimezone(ny), [(T - timedelta(days=30, seconds=1)).astimezone(ny)], RULES) == 1


def test_repeat_threshold_and_window_are_configurable() -> None:
    rules = rules_from_mapping({"round2": {"repeat_min_reports": 2, "repeat_window_days": 7}})
    assert is_repeat(T, [T - timedelta(days=7)], rules)
    assert not is_repeat(T, [T - timedelta(days=8)], rules)


# --- priority -----------------------------------------------------------------------------------
def facts(no: str, received: datetime, *tags: str) -> ReportFacts:
    return ReportFacts(report_no=no, received_at=received, channel="walk_in", tags=frozenset(tags),
                       phone_e164="+8613812345678", phone_valid=True)


def test_dv_and_minors_first_then_key_categories_then_the_rest_oldest_first() -> None:
    reports = [
        facts("plain-old", T - timedelta(days=5)),
        facts("plain-new", T),
        facts("pgd", T - timedelta(days=1), "porn_gambling_drugs"),
        facts("mass-old", T - timedelta(days=2), "mass_involvement"),
        facts("minor", T, "minor"),
        facts("dv", T - timedelta(hours=1), "domestic_violence"),
        facts("dv-mass", T - timedelta(hours=2), "domestic_violence", "mass_involvement"),
    ]
    ordered = [r.report_no for r in sorted(reports, key=lambda r: priority_key(r, RULES))]
    assert ordered == ["dv-mass", "dv", "minor", "mass-old", "pgd", "plain-old", "plain-new"]
    assert [priority_tier(r, RULES) for r in reports] == [2, 2, 1, 1, 0, 0, 0]


def test_priority_compares_instants_across_offsets() -> None:
    early = facts("early", datetime(2025, 3, 31, 1, 59, tzinfo=UTC))  # 09:59 Shanghai
    late = facts("late", T)
    assert priority_key(early, RULES) < priority_key(late, RULES)


def test_repeat_reporter_alone_is_not_a_priority_category() -> None:
    assert priority_tier(replace(facts("r", T), repeat_count_30d=5), RULES) == 2


# --- surveys -----------------------------------------------------------------------------------
def test_survey_ids_are_the_contracted_ones() -> None:
    assert set(codes.SURVEY_IDS) == {
        "first_callback", "second_domestic_violence", "second_minor", "second_porn_gambling_drugs",
        "second_mass_involvement", "second_repeat_reporter", "domestic_violence", "guardian", "verification",
    }


@pytest.mark.parametrize("tags,round_no,dial_to,survey", [
    ((), 1, DialTo.REPORTER, "first_callback"),
    (("minor",), 1, DialTo.GUARDIAN, "guardian"),
    (("minor",), 1, DialTo.REPORTER, "first_callback"),
    (("domestic_violence",), 1, DialTo.REPORTER, "domestic_violence"),
    (("domestic_violence", "minor"), 1, DialTo.GUARDIAN, "domestic_violence"),
    (("minor",), 2, DialTo.GUARDIAN, "second_minor"),
    (("mass_involvement",), 2, DialTo.REPORTER, "second_mass_involvement"),
    ((), 2, DialTo.REPORTER, "second_repeat_reporter"),
])
def test_survey_choice(tags: tuple[str, ...], round_no: int, dial_to: DialTo, survey: str) -> None:
    assert survey_for(facts("r", T, *tags), round_no, dial_to, RULES) == survey


# --- every reason code is produced by some scenario ---------------------------------------------
def sh(*a: int) -> datetime:
    return datetime(*a, tzinfo=SH)  # type: ignore[misc]


def _scenarios() -> list[tuple]:
    base = facts("R1", sh(2025, 3, 3, 10))
    quiet = rules_from_mapping({"calendar": {"call_on_weekends": False}})
    busy = PhoneDay("+8613812345678", (PhoneCall("R0", 1, sh(2025, 3, 4, 9), in_flight=True),))
    two = rules_from_mapping({"per_phone": {"max_tasks_per_day": 2}})
    return [
        (base, [], None, sh(2025, 3, 4, 10), RULES),  # due
        (base, [], None, sh(2025, 3, 3, 11), RULES),  # not_due
        (base, [], None, sh(2025, 3, 11), RULES),  # window_expired
        (replace(base, do_not_call=True), [], None, sh(2025, 3, 4, 10), RULES),
        (replace(base, phone_valid=False), [], None, sh(2025, 3, 4, 10), RULES),
        (replace(base, tags=frozenset({"domestic_violence"}), safe_to_call=False), [], None, sh(2025, 3, 4, 10), RULES),
        (replace(base, tags=frozenset({"minor"}), guardian_phone_e164="+8613900001111", guardian_valid=True),
         [], None, sh(2025, 3, 4, 10), RULES),
        (replace(base, tags=frozenset({"minor"}), phone_valid=False), [], None, sh(2025, 3, 4, 10), RULES),
        (replace(base, tags=frozenset({"porn_gambling_drugs", "mass_involvement"}), repeat_count_30d=3),
         [], None, sh(2025, 3, 4, 10), RULES),
        (replace(base, channel="transfer"), [], None, sh(2025, 3, 4, 10), RULES),
        (replace(base, channel="phone"), [], None, sh(2025, 3, 4, 10), RULES),
        (base, [], None, sh(2025, 3, 4, 21), RULES),  # outside_calling_hours
        (replace(base, received_at=sh(2025, 4, 3, 10)), [], None, sh(2025, 4, 5, 10), RULES),  # holiday
        (base, [], None, sh(2025, 3, 8, 10), quiet),  # weekend
        (base, [], busy, sh(2025, 3, 4, 10), RULES),  # phone_daily_cap
        (base, [], busy, sh(2025, 3, 4, 10), two),  # phone_in_call
        (base, [RoundHistory(1, tuple(Attempt(sh(2025, 3, 4, 10 + i), D_BUSY) for i in range(3)))], None,
         sh(2025, 3, 5, 10), RULES),  # max_attempts
        (base, [RoundHistory(1, (Attempt(sh(2025, 3, 4, 10), D_NO_ANSWER),))], None, sh(2025, 3, 4, 10, 5), RULES),
        (base, [RoundHistory(1, (Attempt(sh(2025, 3, 4, 10), D_BUSY),))], None, sh(2025, 3, 4, 10, 5), RULES),
        (base, [RoundHistory(1, (Attempt(sh(2025, 3, 4, 10), D_ANSWERED_COMPLETE),))], None, sh(2025, 3, 4, 11), RULES),
        (base, [RoundHistory(1, (Attempt(sh(2025, 3, 4, 10), D_INVALID_NUMBER),))], None, sh(2025, 3, 4, 11), RULES),
        (replace(base, phone_e164=None, phone_valid=False, phone_missing=True), [], None, sh(2025, 3, 4, 10), RULES),
    ]


def test_every_selection_reason_code_is_produced_by_some_scenario() -> None:
    seen = {reason for args in _scenarios() for d in decide_rounds(*args) for reason in d.reasons}
    contract_codes = {v for k, v in vars(contracts).items() if k.startswith("R_")}
    local_codes = {v for k, v in vars(codes).items() if k.startswith("R_")}
    assert contract_codes | local_codes | {D_NO_ANSWER, D_BUSY} <= seen
    assert seen <= contract_codes | local_codes | set(contracts.DISPOSITIONS)
