"""decide(): who may be called and on which number: DV safety, minors and guardians, phone validity,
do-not-call, and the per-number daily cap and concurrency."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callback_service.contracts import (
    D_BUSY,
    D_DECLINED_UNSAFE,
    R_DO_NOT_CALL,
    R_DOMESTIC_VIOLENCE,
    R_DUE,
    R_GUARDIAN_PHONE,
    R_INVALID_PHONE,
    R_KEY_CATEGORY,
    R_MAX_ATTEMPTS,
    R_MINOR,
    R_NO_REACHABLE_PHONE,
    R_PHONE_DAILY_CAP,
    R_RETRY,
    R_UNSAFE_TO_CALL,
)
from callback_service.selection import (
    Action,
    Attempt,
    DialTo,
    PhoneCall,
    PhoneDay,
    ReportFacts,
    RoundHistory,
    decide,
    decide_rounds,
    dial_target,
    rules_from_mapping,
)
from callback_service.selection.codes import (
    R_PHONE_IN_CALL,
    S_DOMESTIC_VIOLENCE,
    S_FIRST_CALLBACK,
    S_GUARDIAN,
)

SH = ZoneInfo("Asia/Shanghai")
RULES = rules_from_mapping({})
PHONE, GUARDIAN = "+8613812345678", "+8613900001111"


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


RECEIVED, NOW = sh(2025, 3, 3, 10), sh(2025, 3, 4, 10)


def report(**kw: object) -> ReportFacts:
    base = ReportFacts(report_no="R1", received_at=RECEIVED, channel="walk_in", phone_e164=PHONE, phone_valid=True)
    return replace(base, **kw)  # type: ignore[arg-type]


DV = frozenset({"domestic_violence"})
MINOR = frozenset({"minor"})


# --- domestic violence ------------------------------------------------------------------------
def test_dv_unsafe_to_call_files_a_manual_follow_up_and_never_dials() -> None:
    d = decide(report(tags=DV, safe_to_call=False), [], None, NOW, RULES)
    assert d.action is Action.MANUAL
    assert d.reasons == (R_UNSAFE_TO_CALL, R_DOMESTIC_VIOLENCE, R_KEY_CATEGORY)
    assert d.phone is None and d.call_at is None and d.survey is None


def test_dv_unsafe_and_do_not_call_stays_manual_and_shows_both() -> None:
    d = decide(report(tags=DV, safe_to_call=False, do_not_call=True), [], None, NOW, RULES)
    assert d.action is Action.MANUAL and d.reasons[:2] == (R_UNSAFE_TO_CALL, R_DO_NOT_CALL)


@pytest.mark.parametrize("safe", [True, None])
def test_dv_safe_or_unknown_is_called_with_the_dv_survey(safe: bool | None) -> None:
    d = decide(report(tags=DV, safe_to_call=safe), [], None, NOW, RULES)
    assert d.action is Action.CALL and d.survey == S_DOMESTIC_VIOLENCE
    assert d.reasons == (R_DUE, R_DOMESTIC_VIOLENCE, R_KEY_CATEGORY) and d.second_round


def test_dv_unknown_safety_can_be_configured_to_need_a_person() -> None:
    rules = rules_from_mapping({"domestic_violence": {"call_when_safety_unknown": False}})
    assert decide(report(tags=DV), [], None, NOW, rules).reasons[0] == R_UNSAFE_TO_CALL


def test_safe_to_call_false_matters_only_for_dv() -> None:
    assert decide(report(safe_to_call=False), [], None, NOW, RULES).action is Action.CALL


def test_dv_declined_unsafe_is_rescheduled_not_counted_as_reached() -> None:
    history = [RoundHistory(1, (Attempt(sh(2025, 3, 4, 10), D_DECLINED_UNSAFE, sh(2025, 3, 4, 10, 1)),))]
    d = decide(report(tags=DV), history, None, sh(2025, 3, 4, 10, 2), RULES)
    assert d.action is Action.DEFER and d.reasons[:2] == (R_RETRY, D_DECLINED_UNSAFE)
    assert d.call_at == sh(2025, 3, 5, 10, 1) and d.survey == S_DOMESTIC_VIOLENCE


def test_dv_declined_unsafe_three_times_needs_a_person() -> None:
    attempts = tuple(Attempt(sh(2025, 3, 4 + i, 10), D_DECLINED_UNSAFE) for i in range(3))
    first, second = decide_rounds(report(tags=DV), [RoundHistory(1, attempts)], None, sh(2025, 3, 6, 10, 5), RULES)
    assert first.action is Action.MANUAL and first.reasons[0] == R_MAX_ATTEMPTS and first.round == 1
    assert second.round == 2 and second.action is Action.DEFER and second.call_at == sh(2025, 3, 13, 10)


# --- minors and guardians ----------------------------------------------------------------------
def test_minor_is_called_on_the_guardian_phone_with_the_guardian_survey() -> None:
    d = decide(report(tags=MINOR, guardian_phone_e164=GUARDIAN, guardian_valid=True), [], None, NOW, RULES)
    assert d.action is Action.CALL and (d.dial_to, d.phone, d.survey) == (DialTo.GUARDIAN, GUARDIAN, S_GUARDIAN)
    assert d.reasons == (R_DUE, R_MINOR, R_KEY_CATEGORY, R_GUARDIAN_PHONE)


def test_minor_without_guardian_phone_falls_back_to_the_reporter_phone() -> None:
    d = decide(report(tags=MINOR), [], None, NOW, RULES)
    assert (d.action, d.dial_to, d.phone, d.survey) == (Action.CALL, DialTo.REPORTER, PHONE, S_FIRST_CALLBACK)
    assert R_GUARDIAN_PHONE not in d.reasons


def test_minor_with_an_invalid_guardian_phone_falls_back_too() -> None:
    d = decide(report(tags=MINOR, guardian_phone_e164=GUARDIAN, guardian_valid=False), [], None, NOW, RULES)
    assert d.dial_to is DialTo.REPORTER


@pytest.mark.parametrize("facts", [
    {"phone_e164": None, "phone_valid": False},
    {"phone_e164": None, "phone_valid": False, "phone_missing": True},
    {"phone_valid": False, "guardian_phone_e164": GUARDIAN, "guardian_valid": False},
])
def test_minor_with_no_usable_number_needs_a_person(facts: dict[str, object]) -> None:
    d = decide(report(tags=MINOR, **facts), [], None, NOW, RULES)
    assert d.action is Action.MANUAL and d.reasons == (R_NO_REACHABLE_PHONE, R_MINOR, R_KEY_CATEGORY)


def test_minor_fallback_to_reporter_can_be_switched_off() -> None:
    rules = rules_from_mapping({"minors": {"fallback_to_reporter_phone": False}})
    d = decide(report(tags=MINOR), [], None, NOW, rules)
    assert d.action is Action.MANUAL and d.reasons[0] == R_NO_REACHABLE_PHONE


def test_dv_minor_dials_the_guardian_with_the_dv_safe_survey() -> None:
    d = decide(report(tags=DV | MINOR, guardian_phone_e164=GUARDIAN, guardian_valid=True), [], None, NOW, RULES)
    assert (d.dial_to, d.survey) == (DialTo.GUARDIAN, S_DOMESTIC_VIOLENCE)


# --- phone validity and do-not-call ------------------------------------------------------------
def test_invalid_phone_needs_a_person() -> None:
    d = decide(report(phone_e164=None, phone_valid=False), [], None, NOW, RULES)
    assert d.action is Action.MANUAL and d.reasons == (R_INVALID_PHONE,)


def test_no_phone_at_all_is_no_reachable_phone() -> None:
    d = decide(report(phone_e164=None, phone_valid=False, phone_missing=True), [], None, NOW, RULES)
    assert d.action is Action.MANUAL and d.reasons == (R_NO_REACHABLE_PHONE,)


def test_do_not_call_is_never_called() -> None:
    d = decide(report(do_not_call=True), [], None, NOW, RULES)
    assert d.action is Action.SKIP and d.reasons == (R_DO_NOT_CALL,) and d.phone is None


def test_do_not_call_wins_over_an_invalid_phone() -> None:
    assert decide(report(do_not_call=True, phone_valid=False), [], None, NOW, RULES).reasons == (R_DO_NOT_CALL,)


def test_dial_target_tells_the_planner_which_number_to_look_up() -> None:
    assert dial_target(report(), RULES) == (DialTo.REPORTER, PHONE)
    assert dial_target(report(tags=MINOR, guardian_phone_e164=GUARDIAN, guardian_valid=True), RULES) == (
        DialTo.GUARDIAN, GUARDIAN)


# --- one task per number per day, no concurrent calls ------------------------------------------
def day(*calls: PhoneCall, phone: str = PHONE) -> PhoneDay:
    return PhoneDay(phone, calls)


def test_number_already_called_today_for_another_report_waits_for_tomorrow() -> None:
    d = decide(report(), [], day(PhoneCall("R0", 1, sh(2025, 3, 4, 9, 30))), NOW, RULES)
    assert d.action is Action.DEFER and d.reasons == (R_PHONE_DAILY_CAP,) and d.call_at == sh(2025, 3, 5, 9)


def test_claim_made_earlier_in_the_same_pass_blocks_a_second_report_from_that_number() -> None:
    claim = PhoneCall("R0", 1, NOW, in_flight=True)
    d = decide(report(), [], day(claim), NOW, RULES)
    assert d.action is Action.DEFER and d.reasons == (R_PHONE_DAILY_CAP,) and d.call_at == sh(2025, 3, 5, 9)


def test_call_yesterday_does_not_block_today() -> None:
    assert decide(report(), [], day(PhoneCall("R0", 1, sh(2025, 3, 3, 19))), NOW, RULES).action is Action.CALL


def test_the_day_is_the_local_calendar_day() -> None:
    # 2025-03-03 16:30 UTC is 4 March 00:30 in Shanghai: same local day as NOW.
    early = sh(2025, 3, 4, 0, 30).astimezone(ZoneInfo("UTC"))
    assert decide(report(), [], day(PhoneCall("R0", 1, early)), NOW, RULES).reasons == (R_PHONE_DAILY_CAP,)


def test_retries_of_the_same_task_are_not_capped() -> None:
    history = [RoundHistory(1, (Attempt(sh(2025, 3, 4, 9, 20), D_BUSY, sh(2025, 3, 4, 9, 21)),))]
    own = PhoneCall("R1", 1, sh(2025, 3, 4, 9, 20))
    d = decide(report(), history, day(own), NOW, RULES)
    assert d.action is Action.CALL and d.reasons == (R_DUE, R_RETRY)


def test_daily_cap_deferral_skips_holidays() -> None:
    received = sh(2025, 9, 29, 9)
    d = decide(report(received_at=received), [], day(PhoneCall("R0", 1, sh(2025, 9, 30, 9))),
               sh(2025, 9, 30, 10), rules_from_mapping({"round1": {"expires_after_days": 14}}))
    assert d.action is Action.DEFER and d.call_at == sh(2025, 10, 9, 9) and d.reasons == (R_PHONE_DAILY_CAP,)


def test_daily_cap_past_expiry_ends_the_round() -> None:
    d = decide(report(), [], day(PhoneCall("R0", 1, sh(2025, 3, 10, 9))), sh(2025, 3, 10, 9, 30), RULES)
    assert d.action is Action.SKIP and d.reasons[0] == "window_expired" and R_PHONE_DAILY_CAP in d.reasons


def test_with_a_higher_cap_an_in_flight_call_to_the_number_still_blocks_a_second_call() -> None:
    rules = rules_from_mapping({"per_phone": {"max_tasks_per_day": 2}})
    d = decide(report(), [], day(PhoneCall("R0", 1, sh(2025, 3, 4, 9, 58), in_flight=True)), NOW, rules)
    assert d.action is Action.DEFER and d.reasons == (R_PHONE_IN_CALL,) and d.call_at == NOW + timedelta(minutes=30)
    done = PhoneCall("R0", 1, sh(2025, 3, 4, 9, 58))
    assert decide(report(), [], day(done), NOW, rules).action is Action.CALL


def test_own_attempt_still_in_flight_defers() -> None:
    history = [RoundHistory(1, (Attempt(sh(2025, 3, 4, 9, 59), None),))]
    d = decide(report(), history, None, NOW, RULES)
    assert d.action is Action.DEFER and d.reasons == (R_PHONE_IN_CALL,) and d.call_at == sh(2025, 3, 4, 10, 30)


def test_phone_day_for_a_different_number_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="another number"):
        decide(report(), [], day(phone=GUARDIAN), NOW, RULES)
