"""Retry placement (lunch, nights, holidays, make-up days) and round progress from attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callback_service.contracts import (
    D_ANSWERED_COMPLETE,
    D_ANSWERED_PARTIAL,
    D_BUSY,
    D_CONGESTION,
    D_DECLINED_UNSAFE,
    D_FAILED,
    D_INVALID_NUMBER,
    D_MACHINE,
    D_NO_ANSWER,
)
from callback_service.selection import (
    Attempt,
    RoundHistory,
    in_window,
    next_retry_at,
    round_progress,
    rules_from_mapping,
)
from callback_service.selection.retry import retry_delay

SH = ZoneInfo("Asia/Shanghai")
RULES = rules_from_mapping({})


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


@pytest.mark.parametrize("disposition,minutes", [
    (D_NO_ANSWER, 120), (D_BUSY, 30), (D_CONGESTION, 10), (D_FAILED, 10), (D_MACHINE, 120),
    (D_DECLINED_UNSAFE, 1440),
])
def test_default_retry_delays(disposition: str, minutes: int) -> None:
    assert retry_delay(disposition, RULES) == timedelta(minutes=minutes)


@pytest.mark.parametrize("disposition", [D_ANSWERED_COMPLETE, D_ANSWERED_PARTIAL, D_INVALID_NUMBER])
def test_answered_and_dead_numbers_are_not_retried(disposition: str) -> None:
    assert next_retry_at(disposition, sh(2025, 3, 4, 10), RULES) is None


@pytest.mark.parametrize("disposition,at,expected", [
    (D_NO_ANSWER, sh(2025, 3, 4, 9, 30), sh(2025, 3, 4, 11, 30)),
    (D_NO_ANSWER, sh(2025, 3, 4, 10), sh(2025, 3, 4, 14, 30)),  # 12:00 is the lunch break
    (D_NO_ANSWER, sh(2025, 3, 4, 12, 31), sh(2025, 3, 4, 14, 31)),
    (D_BUSY, sh(2025, 3, 4, 10), sh(2025, 3, 4, 10, 30)),
    (D_BUSY, sh(2025, 3, 4, 11, 29, 59), sh(2025, 3, 4, 11, 59, 59)),
    (D_BUSY, sh(2025, 3, 4, 11, 30), sh(2025, 3, 4, 14, 30)),
    (D_BUSY, sh(2025, 3, 4, 11, 45), sh(2025, 3, 4, 14, 30)),
    (D_CONGESTION, sh(2025, 3, 4, 11, 55), sh(2025, 3, 4, 14, 30)),
    (D_FAILED, sh(2025, 3, 4, 14, 20), sh(2025, 3, 4, 14, 30)),
    (D_FAILED, sh(2025, 3, 4, 14, 25), sh(2025, 3, 4, 14, 35)),
])
def test_retry_across_lunch(disposition: str, at: datetime, expected: datetime) -> None:
    assert next_retry_at(disposition, at, RULES) == expected


@pytest.mark.parametrize("disposition,at,expected", [
    (D_NO_ANSWER, sh(2025, 3, 4, 17, 59, 59), sh(2025, 3, 4, 19, 59, 59)),
    (D_NO_ANSWER, sh(2025, 3, 4, 18), sh(2025, 3, 5, 9)),
    (D_NO_ANSWER, sh(2025, 3, 4, 19, 30), sh(2025, 3, 5, 9)),
    (D_BUSY, sh(2025, 3, 4, 19, 45), sh(2025, 3, 5, 9)),
    (D_CONGESTION, sh(2025, 3, 4, 19, 55), sh(2025, 3, 5, 9)),
    (D_DECLINED_UNSAFE, sh(2025, 3, 4, 19, 30), sh(2025, 3, 5, 19, 30)),
    (D_DECLINED_UNSAFE, sh(2025, 3, 4, 12, 30), sh(2025, 3, 5, 14, 30)),
])
def test_retry_across_the_night(disposition: str, at: datetime, expected: datetime) -> None:
    assert next_retry_at(disposition, at, RULES) == expected


@pytest.mark.parametrize("at,expected", [
    (sh(2025, 9, 30, 19), sh(2025, 10, 9, 9)),  # 2025 National Day 1-8 Oct
    (sh(2024, 9, 30, 18, 30), sh(2024, 10, 8, 9)),  # 2024 National Day 1-7 Oct
    (sh(2025, 1, 27, 19), sh(2025, 2, 5, 9)),  # 2025 Spring Festival 28 Jan - 4 Feb
    (sh(2024, 2, 9, 19), sh(2024, 2, 18, 9)),  # 2024 Spring Festival 10-17 Feb; 18 Feb is make-up
    (sh(2025, 1, 25, 19), sh(2025, 1, 26, 9)),  # Sunday 26 Jan 2025 is a make-up working day
])
def test_retry_across_holidays_lands_on_the_next_working_window(at: datetime, expected: datetime) -> None:
    assert next_retry_at(D_NO_ANSWER, at, RULES) == expected


def test_retry_on_friday_evening_goes_to_the_makeup_saturday_with_quiet_weekends() -> None:
    quiet = rules_from_mapping({"calendar": {"call_on_weekends": False}})
    assert next_retry_at(D_NO_ANSWER, sh(2025, 2, 7, 19), quiet) == sh(2025, 2, 8, 9)
    assert next_retry_at(D_NO_ANSWER, sh(2025, 3, 7, 19), quiet) == sh(2025, 3, 10, 9)
    assert next_retry_at(D_NO_ANSWER, sh(2025, 3, 7, 19), RULES) == sh(2025, 3, 8, 9)


def test_retry_from_a_utc_time_lands_in_a_shanghai_window() -> None:
    at = datetime(2025, 3, 4, 3, 45, tzinfo=UTC)  # 11:45 in Shanghai
    result = next_retry_at(D_BUSY, at, RULES)
    assert result == sh(2025, 3, 4, 14, 30) and result is not None and result.utcoffset() == timedelta(hours=8)


def test_retry_delays_are_configurable() -> None:
    rules = rules_from_mapping({"retry": {"delay_minutes": {"busy": 45}}})
    assert next_retry_at(D_BUSY, sh(2025, 3, 4, 10), rules) == sh(2025, 3, 4, 10, 45)
    assert next_retry_at(D_NO_ANSWER, sh(2025, 3, 4, 9), rules) == sh(2025, 3, 4, 11)


@pytest.mark.parametrize("disposition", [D_NO_ANSWER, D_BUSY, D_CONGESTION, D_FAILED, D_MACHINE, D_DECLINED_UNSAFE])
def test_every_retry_lands_inside_a_window(disposition: str) -> None:
    for minute in range(0, 24 * 60, 7):
        at = sh(2025, 9, 26) + timedelta(minutes=minute * 13)
        result = next_retry_at(disposition, at, RULES)
        assert result is not None and in_window(result, RULES) and result >= at + retry_delay(disposition, RULES)


# --- round progress ---------------------------------------------------------------------------
def history(*attempts: tuple[datetime, str | None]) -> RoundHistory:
    return RoundHistory(1, tuple(Attempt(t, d) for t, d in attempts))


def test_reached_on_answer() -> None:
    p = round_progress(history((sh(2025, 3, 4, 10), D_NO_ANSWER), (sh(2025, 3, 4, 14, 30), D_ANSWERED_PARTIAL)), RULES)
    assert p.reached_at == sh(2025, 3, 4, 14, 30) and p.ended_at == p.reached_at and len(p.attempts) == 2


def test_declined_unsafe_is_not_reached() -> None:
    p = round_progress(history((sh(2025, 3, 4, 10), D_DECLINED_UNSAFE)), RULES)
    assert p.reached_at is None and p.ended_at is None


def test_exhausted_after_max_attempts() -> None:
    times = [sh(2025, 3, 4, 10), sh(2025, 3, 4, 14, 30), sh(2025, 3, 5, 9)]
    two = round_progress(history(*[(t, D_NO_ANSWER) for t in times[:2]]), RULES)
    three = round_progress(history(*[(t, D_BUSY) for t in times]), RULES)
    assert two.ended_at is None and three.exhausted_at == times[2]
    five = rules_from_mapping({"retry": {"max_attempts": 5}})
    assert round_progress(history(*[(t, D_BUSY) for t in times]), five).ended_at is None


def test_round_end_uses_the_call_end_when_known() -> None:
    end = sh(2025, 3, 4, 10, 4)
    p = round_progress(RoundHistory(1, (Attempt(sh(2025, 3, 4, 10), D_ANSWERED_COMPLETE, end),)), RULES)
    assert p.ended_at == end


def test_invalid_number_ends_the_round() -> None:
    p = round_progress(history((sh(2025, 3, 4, 10), D_INVALID_NUMBER)), RULES)
    assert p.invalid_at == sh(2025, 3, 4, 10) and p.reached_at is None


def test_attempts_are_ordered_by_start_and_later_ones_are_ignored() -> None:
    p = round_progress(history(
        (sh(2025, 3, 4, 15), D_NO_ANSWER), (sh(2025, 3, 4, 10), D_ANSWERED_COMPLETE),
    ), RULES)
    assert p.reached_at == sh(2025, 3, 4, 10) and len(p.attempts) == 1


def test_call_in_flight_is_neither_ended_nor_counted_as_exhausting() -> None:
    p = round_progress(history((sh(2025, 3, 4, 10), D_NO_ANSWER), (sh(2025, 3, 4, 14, 30), None)), RULES)
    assert p.in_flight and p.ended_at is None


def test_unknown_disposition_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown call disposition 'hung_up'"):
        round_progress(history((sh(2025, 3, 4, 10), "hung_up")), RULES)
