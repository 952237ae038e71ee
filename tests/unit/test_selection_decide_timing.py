"""decide(): channels, due and expiry, calling hours, holidays and time zones for round 1."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callback_service.contracts import (
    R_CHANNEL_NOT_ELIGIBLE,
    R_DUE,
    R_HOLIDAY,
    R_NOT_DUE,
    R_OUTSIDE_CALLING_HOURS,
    R_TRANSFER_NOT_ELIGIBLE,
    R_WINDOW_EXPIRED,
)
from callback_service.selection import Action, DialTo, ReportFacts, decide, in_window, rules_from_mapping
from callback_service.selection.codes import R_WEEKEND, S_FIRST_CALLBACK

SH = ZoneInfo("Asia/Shanghai")
RULES = rules_from_mapping({})
PHONE = "+8613812345678"


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


def report(received_at: datetime, **kw: object) -> ReportFacts:
    base = ReportFacts(report_no="R1", received_at=received_at, channel="walk_in",
                       phone_e164=PHONE, phone_valid=True)
    return replace(base, **kw)  # type: ignore[arg-type]


# Received Monday 2025-03-03 10:00: due Tuesday 10:00, expires Monday 2025-03-10 10:00.
RECEIVED = sh(2025, 3, 3, 10)


def test_due_walk_in_report_is_called_now_with_the_first_callback_survey() -> None:
    d = decide(report(RECEIVED), [], None, sh(2025, 3, 4, 10), RULES)
    assert d.action is Action.CALL and d.reasons == (R_DUE,)
    assert d.call_at == sh(2025, 3, 4, 10) and d.round == 1 and not d.second_round
    assert (d.dial_to, d.phone, d.survey) == (DialTo.REPORTER, PHONE, S_FIRST_CALLBACK)
    assert (d.due_at, d.expires_at) == (sh(2025, 3, 4, 10), sh(2025, 3, 10, 10))


def test_kiosk_reports_are_eligible_too() -> None:
    assert decide(report(RECEIVED, channel="kiosk"), [], None, sh(2025, 3, 4, 10), RULES).action is Action.CALL


@pytest.mark.parametrize("channel,reason", [
    ("transfer", R_TRANSFER_NOT_ELIGIBLE), ("phone", R_CHANNEL_NOT_ELIGIBLE),
])
def test_ineligible_channels_are_skipped_with_their_reason(channel: str, reason: str) -> None:
    d = decide(report(RECEIVED, channel=channel), [], None, sh(2025, 3, 4, 10), RULES)
    assert d.action is Action.SKIP and d.reasons == (reason,)
    assert d.call_at is None and d.phone is None and d.survey is None


def test_ineligible_channel_skips_key_categories_too_but_flags_the_second_round() -> None:
    d = decide(report(RECEIVED, channel="transfer", tags=frozenset({"minor"})), [], None, sh(2025, 3, 4, 10), RULES)
    assert d.action is Action.SKIP and d.reasons[0] == R_TRANSFER_NOT_ELIGIBLE and d.second_round


def test_eligible_channels_are_configurable() -> None:
    rules = rules_from_mapping({"round1": {"eligible_channels": ["walk_in", "kiosk", "phone"]}})
    assert decide(report(RECEIVED, channel="phone"), [], None, sh(2025, 3, 4, 10), rules).action is Action.CALL


def test_not_due_defers_to_the_due_time_when_that_is_inside_a_window() -> None:
    d = decide(report(RECEIVED), [], None, sh(2025, 3, 3, 10, 0, 1), RULES)
    assert d.action is Action.DEFER and d.reasons == (R_NOT_DUE,) and d.call_at == sh(2025, 3, 4, 10)
    assert d.phone == PHONE and d.survey == S_FIRST_CALLBACK


def test_one_second_before_due_defers_and_at_due_calls() -> None:
    assert decide(report(RECEIVED), [], None, sh(2025, 3, 4, 9, 59, 59), RULES).action is Action.DEFER
    assert decide(report(RECEIVED), [], None, sh(2025, 3, 4, 10), RULES).action is Action.CALL


def test_not_due_time_in_the_lunch_break_is_moved_to_the_afternoon_window() -> None:
    d = decide(report(sh(2025, 3, 3, 12, 40)), [], None, sh(2025, 3, 3, 13), RULES)
    assert d.action is Action.DEFER and d.call_at == sh(2025, 3, 4, 14, 30)
    assert d.reasons == (R_NOT_DUE, R_OUTSIDE_CALLING_HOURS)


def test_not_due_time_on_a_holiday_is_moved_past_the_holiday() -> None:
    # Qingming 2025: Fri 4 - Sun 6 April. Due Friday 10:00 -> Monday 09:00.
    d = decide(report(sh(2025, 4, 3, 10)), [], None, sh(2025, 4, 3, 11), RULES)
    assert d.action is Action.DEFER and d.call_at == sh(2025, 4, 7, 9)
    assert d.reasons == (R_NOT_DUE, R_HOLIDAY)


def test_due_report_on_a_holiday_waits_for_the_first_working_window() -> None:
    d = decide(report(sh(2025, 4, 3, 10)), [], None, sh(2025, 4, 5, 10), RULES)
    assert d.action is Action.DEFER and d.reasons == (R_HOLIDAY,) and d.call_at == sh(2025, 4, 7, 9)


@pytest.mark.parametrize("clock,action,call_at", [
    ((8, 59, 59), Action.DEFER, (9, 0)),
    ((9, 0, 0), Action.CALL, None),
    ((11, 59, 59), Action.CALL, None),
    ((12, 0, 0), Action.DEFER, (14, 30)),
    ((14, 29, 0), Action.DEFER, (14, 30)),
    ((14, 30, 0), Action.CALL, None),
    ((19, 59, 59), Action.CALL, None),
])
def test_due_report_respects_the_window_edges(clock: tuple[int, ...], action: Action,
                                              call_at: tuple[int, ...] | None) -> None:
    now = sh(2025, 3, 5, *clock)
    d = decide(report(RECEIVED), [], None, now, RULES)
    assert d.action is action
    if action is Action.CALL:
        assert d.call_at == now and d.reasons == (R_DUE,)
    else:
        assert d.call_at == sh(2025, 3, 5, *call_at) and d.reasons == (R_OUTSIDE_CALLING_HOURS,)


def test_at_20_00_the_call_moves_to_next_morning() -> None:
    d = decide(report(RECEIVED), [], None, sh(2025, 3, 5, 20), RULES)
    assert d.action is Action.DEFER and d.call_at == sh(2025, 3, 6, 9) and d.reasons == (R_OUTSIDE_CALLING_HOURS,)


def test_window_expired_exactly_seven_days_after_receipt() -> None:
    last_second = decide(report(RECEIVED), [], None, sh(2025, 3, 10, 9, 59, 59), RULES)
    assert last_second.action is Action.CALL
    d = decide(report(RECEIVED), [], None, sh(2025, 3, 10, 10), RULES)
    assert d.action is Action.SKIP and d.reasons == (R_WINDOW_EXPIRED,) and d.call_at is None


def test_expiry_is_reached_when_the_next_window_is_after_it() -> None:
    # Expires 2025-03-10 13:00, in the lunch break: at 12:00 no window remains before expiry.
    d = decide(report(sh(2025, 3, 3, 13)), [], None, sh(2025, 3, 10, 12), RULES)
    assert d.action is Action.SKIP and d.reasons == (R_WINDOW_EXPIRED, R_OUTSIDE_CALLING_HOURS)


def test_report_due_at_the_start_of_a_long_break_expires_during_it() -> None:
    # Received 2025-09-30: due 1 Oct (holiday), the break runs to 8 Oct, the window ends 7 Oct.
    d = decide(report(sh(2025, 9, 30, 10)), [], None, sh(2025, 9, 30, 11), RULES)
    assert d.action is Action.SKIP and d.reasons == (R_WINDOW_EXPIRED, R_NOT_DUE, R_HOLIDAY)


@pytest.mark.parametrize("received,first_call", [
    (sh(2024, 9, 30, 10), sh(2024, 10, 8, 9)),
    (sh(2025, 9, 30, 10), sh(2025, 10, 9, 9)),
    (sh(2025, 1, 27, 10), sh(2025, 2, 5, 9)),
    (sh(2024, 2, 9, 10), sh(2024, 2, 18, 9)),  # Sunday 18 Feb 2024 is a make-up working day
])
def test_with_a_longer_round_one_window_the_call_lands_on_the_first_day_after_the_break(
    received: datetime, first_call: datetime,
) -> None:
    rules = rules_from_mapping({"round1": {"expires_after_days": 14}, "calendar": {"call_on_weekends": False}})
    d = decide(report(received), [], None, received + timedelta(hours=1), rules)
    assert d.action is Action.DEFER and d.call_at == first_call and d.reasons == (R_NOT_DUE, R_HOLIDAY)


def test_quiet_weekends_defer_saturday_calls_to_monday() -> None:
    rules = rules_from_mapping({"calendar": {"call_on_weekends": False}})
    d = decide(report(sh(2025, 3, 6, 10)), [], None, sh(2025, 3, 8, 10), rules)
    assert d.action is Action.DEFER and d.call_at == sh(2025, 3, 10, 9) and d.reasons == (R_WEEKEND,)


def test_ordinary_saturday_is_callable_by_default() -> None:
    assert decide(report(sh(2025, 3, 6, 10)), [], None, sh(2025, 3, 8, 10), RULES).action is Action.CALL


def test_makeup_saturday_is_callable_with_quiet_weekends() -> None:
    rules = rules_from_mapping({"calendar": {"call_on_weekends": False}})
    d = decide(report(sh(2025, 10, 10, 10)), [], None, sh(2025, 10, 11, 10), rules)
    assert d.action is Action.CALL


def test_inputs_in_utc_and_other_offsets_give_the_same_decision() -> None:
    local = decide(report(RECEIVED), [], None, sh(2025, 3, 4, 12, 30), RULES)
    utc = decide(report(RECEIVED.astimezone(UTC)), [], None,
                 datetime(2025, 3, 4, 4, 30, tzinfo=UTC), RULES)
    ny = decide(report(RECEIVED.astimezone(ZoneInfo("America/New_York"))), [], None,
                sh(2025, 3, 4, 12, 30).astimezone(ZoneInfo("America/New_York")), RULES)
    assert local == utc == ny
    assert local.call_at == sh(2025, 3, 4, 14, 30) and local.call_at.utcoffset() == timedelta(hours=8)


def test_utc_input_that_is_already_the_next_local_day() -> None:
    # 2025-03-04 23:30 UTC is Wednesday 07:30 in Shanghai: the call waits for 09:00 that Wednesday.
    d = decide(report(RECEIVED), [], None, datetime(2025, 3, 4, 23, 30, tzinfo=UTC), RULES)
    assert d.action is Action.DEFER and d.call_at == sh(2025, 3, 5, 9)


def test_deferred_call_at_is_always_inside_a_window() -> None:
    for hour in range(24):
        d = decide(report(RECEIVED), [], None, sh(2025, 3, 5, hour, 17), RULES)
        assert d.call_at is not None and in_window(d.call_at, RULES)


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        decide(report(RECEIVED), [], None, datetime(2025, 3, 4, 10), RULES)
    with pytest.raises(ValueError, match="received_at must be timezone-aware"):
        decide(report(datetime(2025, 3, 3, 10)), [], None, sh(2025, 3, 4, 10), RULES)


def test_decision_serialises_for_the_cli() -> None:
    d = decide(report(RECEIVED), [], None, sh(2025, 3, 4, 10), RULES).as_dict()
    assert d == {
        "report_no": "R1", "round": 1, "action": "call", "reasons": ["due"],
        "call_at": "2025-03-04T10:00:00+08:00", "dial_to": "reporter", "phone": PHONE,
        "second_round": False, "survey": "first_callback",
        "due_at": "2025-03-04T10:00:00+08:00", "expires_at": "2025-03-10T10:00:00+08:00",
    }
