"""Calling days and windows: window edges, statutory holidays, make-up days (调休), time zones."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from callback_service.contracts import R_HOLIDAY, R_OUTSIDE_CALLING_HOURS
from callback_service.selection import calendar as cal
from callback_service.selection.calendar import (
    DayKind,
    day_kind,
    in_window,
    is_calling_day,
    next_callable_at,
    next_day_open,
    next_window_open,
    placement_reasons,
)
from callback_service.selection.codes import R_WEEKEND
from callback_service.selection.ruleset import rules_from_mapping

SH = ZoneInfo("Asia/Shanghai")
RULES = rules_from_mapping({})
QUIET_WEEKENDS = rules_from_mapping({"calendar": {"call_on_weekends": False}})


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


# The official breaks and their make-up days, as chinese_calendar records them.
BREAKS = {
    "2024 Spring Festival": (date(2024, 2, 10), date(2024, 2, 17), [date(2024, 2, 4), date(2024, 2, 18)]),
    "2024 National Day": (date(2024, 10, 1), date(2024, 10, 7), [date(2024, 9, 29), date(2024, 10, 12)]),
    "2025 Spring Festival": (date(2025, 1, 28), date(2025, 2, 4), [date(2025, 1, 26), date(2025, 2, 8)]),
    "2025 National Day": (date(2025, 10, 1), date(2025, 10, 8), [date(2025, 9, 28), date(2025, 10, 11)]),
}


@pytest.mark.parametrize("name", BREAKS)
def test_library_data_matches_the_breaks_these_tests_rely_on(name: str) -> None:
    first, last, makeup = BREAKS[name]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert all(chinese_calendar.get_holiday_detail(d)[1] is not None for d in days)
    assert all(chinese_calendar.is_holiday(d) for d in days)
    assert chinese_calendar.is_workday(first - timedelta(days=1))
    assert chinese_calendar.is_workday(last + timedelta(days=1))
    assert all(d.weekday() >= 5 and chinese_calendar.is_workday(d) for d in makeup)


@pytest.mark.parametrize("name", BREAKS)
def test_every_day_of_an_official_break_is_a_holiday_and_never_callable(name: str) -> None:
    first, last, _ = BREAKS[name]
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        assert day_kind(d, RULES) is DayKind.HOLIDAY
        assert not is_calling_day(d, RULES)
        assert not in_window(datetime.combine(d, datetime.min.time(), SH).replace(hour=10), RULES)


@pytest.mark.parametrize("name", BREAKS)
def test_makeup_days_are_callable_even_when_weekends_are_quiet(name: str) -> None:
    for d in BREAKS[name][2]:
        assert day_kind(d, RULES) is DayKind.MAKEUP_WORKDAY
        assert is_calling_day(d, QUIET_WEEKENDS)
        assert in_window(sh(d.year, d.month, d.day, 9), QUIET_WEEKENDS)


def test_in_lieu_day_at_the_end_of_2025_national_day_is_a_holiday() -> None:
    assert chinese_calendar.is_in_lieu(date(2025, 10, 8))
    assert day_kind(date(2025, 10, 8), RULES) is DayKind.HOLIDAY
    assert day_kind(date(2025, 10, 9), RULES) is DayKind.WORKDAY


def test_ordinary_weekend_is_callable_by_default_and_quiet_when_configured() -> None:
    saturday = date(2025, 3, 8)
    assert day_kind(saturday, RULES) is DayKind.WEEKEND
    assert is_calling_day(saturday, RULES)
    assert not is_calling_day(saturday, QUIET_WEEKENDS)


@pytest.mark.parametrize("clock,inside", [
    ((8, 59, 59), False), ((9, 0, 0), True), ((11, 59, 59), True), ((12, 0, 0), False),
    ((14, 29, 0), False), ((14, 29, 59), False), ((14, 30, 0), True), ((19, 59, 59), True),
    ((20, 0, 0), False), ((0, 0, 0), False), ((23, 59, 59), False),
])
def test_window_edges_start_inclusive_end_exclusive(clock: tuple[int, int, int], inside: bool) -> None:
    assert in_window(sh(2025, 3, 4, *clock), RULES) is inside


@pytest.mark.parametrize("clock,opening", [
    ((8, 59, 59), (2025, 3, 4, 9, 0)),
    ((9, 0, 0), (2025, 3, 4, 9, 0)),
    ((9, 0, 1), (2025, 3, 4, 14, 30)),
    ((12, 0, 0), (2025, 3, 4, 14, 30)),
    ((14, 29, 0), (2025, 3, 4, 14, 30)),
    ((14, 30, 0), (2025, 3, 4, 14, 30)),
    ((19, 59, 59), (2025, 3, 5, 9, 0)),
    ((20, 0, 0), (2025, 3, 5, 9, 0)),
])
def test_next_window_open_is_the_first_opening_at_or_after(clock: tuple[int, ...], opening: tuple[int, ...]) -> None:
    assert next_window_open(sh(2025, 3, 4, *clock), RULES) == sh(*opening)


@pytest.mark.parametrize("clock,expected", [
    ((8, 59, 59), (9, 0, 0)), ((9, 0, 0), (9, 0, 0)), ((11, 59, 59), (11, 59, 59)), ((12, 0, 0), (14, 30, 0)),
    ((14, 29, 0), (14, 30, 0)), ((14, 30, 0), (14, 30, 0)), ((19, 59, 59), (19, 59, 59)),
])
def test_next_callable_at_keeps_a_time_inside_a_window(clock: tuple[int, ...], expected: tuple[int, ...]) -> None:
    assert next_callable_at(sh(2025, 3, 4, *clock), RULES) == sh(2025, 3, 4, *expected)


def test_after_evening_window_the_next_call_is_next_morning() -> None:
    assert next_callable_at(sh(2025, 3, 4, 20), RULES) == sh(2025, 3, 5, 9)


@pytest.mark.parametrize("start,expected", [
    (sh(2024, 9, 30, 20), sh(2024, 10, 8, 9)),  # 2024 National Day ends on Mon 7 Oct
    (sh(2025, 9, 30, 20), sh(2025, 10, 9, 9)),  # 2025 National Day runs to Wed 8 Oct
    (sh(2025, 1, 27, 20), sh(2025, 2, 5, 9)),  # 2025 Spring Festival 28 Jan - 4 Feb
    (sh(2024, 2, 9, 20), sh(2024, 2, 18, 9)),  # 2024 Spring Festival ends Sat 17 Feb; Sun 18 is make-up
])
def test_next_window_skips_a_whole_official_break(start: datetime, expected: datetime) -> None:
    assert next_window_open(start, RULES) == expected
    assert next_window_open(start, QUIET_WEEKENDS) == expected


def test_quiet_weekends_skip_saturday_and_sunday() -> None:
    assert next_window_open(sh(2025, 3, 7, 20), QUIET_WEEKENDS) == sh(2025, 3, 10, 9)
    assert next_window_open(sh(2025, 3, 7, 20), RULES) == sh(2025, 3, 8, 9)


def test_quiet_weekends_still_call_on_the_makeup_saturday_after_national_day() -> None:
    assert next_window_open(sh(2025, 10, 10, 20), QUIET_WEEKENDS) == sh(2025, 10, 11, 9)


@pytest.mark.parametrize("t", [
    datetime(2025, 3, 4, 1, 0, tzinfo=UTC),  # 09:00 in Shanghai
    datetime(2025, 3, 4, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")),  # 09:00 in Shanghai
    datetime(2025, 3, 3, 20, 0, tzinfo=ZoneInfo("America/New_York")),  # EST: 09:00 in Shanghai
    datetime(2025, 3, 4, 6, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # 09:00 in Shanghai
])
def test_window_is_judged_in_shanghai_time_whatever_the_input_offset(t: datetime) -> None:
    assert in_window(t, RULES)
    assert not in_window(t - timedelta(seconds=1), RULES)
    result = next_callable_at(t, RULES)
    assert result == t and result.utcoffset() == timedelta(hours=8)


def test_utc_evening_is_already_the_next_shanghai_morning() -> None:
    # 2025-03-03 23:30 UTC is Tuesday 07:30 in Shanghai: the next opening is that Tuesday, 09:00.
    assert next_window_open(datetime(2025, 3, 3, 23, 30, tzinfo=UTC), RULES) == sh(2025, 3, 4, 9)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        in_window(datetime(2025, 3, 4, 10), RULES)


def test_next_day_open_skips_the_rest_of_today() -> None:
    assert next_day_open(sh(2025, 3, 4, 8), RULES) == sh(2025, 3, 5, 9)
    assert next_day_open(sh(2025, 9, 30, 8), RULES) == sh(2025, 10, 9, 9)


def test_placement_reasons_name_hours_and_skipped_days() -> None:
    assert placement_reasons(sh(2025, 3, 4, 10), sh(2025, 3, 4, 10), RULES) == []
    assert placement_reasons(sh(2025, 3, 4, 12), sh(2025, 3, 4, 14, 30), RULES) == [R_OUTSIDE_CALLING_HOURS]
    assert placement_reasons(sh(2025, 10, 2, 10), sh(2025, 10, 9, 9), RULES) == [R_HOLIDAY]
    assert placement_reasons(sh(2025, 9, 30, 20), sh(2025, 10, 9, 9), RULES) == [R_OUTSIDE_CALLING_HOURS, R_HOLIDAY]
    assert placement_reasons(sh(2025, 3, 7, 20), sh(2025, 3, 10, 9), QUIET_WEEKENDS) == [
        R_OUTSIDE_CALLING_HOURS, R_WEEKEND,
    ]


def test_years_without_library_data_fall_back_to_weekends_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cal._library_day_kind.cache_clear()
    cal._warn_outside_data.cache_clear()
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_holiday(date(2031, 1, 1))
    with caplog.at_level(logging.WARNING, logger=cal.__name__):
        assert day_kind(date(2031, 1, 1), RULES) is DayKind.WORKDAY  # New Year: unknown, so a workday
        assert day_kind(date(2031, 1, 4), RULES) is DayKind.WEEKEND
        assert next_window_open(sh(2031, 1, 3, 20), QUIET_WEEKENDS) == sh(2031, 1, 6, 9)
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_extra_holidays_and_workdays_override_the_library() -> None:
    rules = rules_from_mapping({"calendar": {
        "extra_holidays": ["2031-01-01"], "extra_workdays": ["2031-01-04", "2025-10-03"],
    }})
    assert day_kind(date(2031, 1, 1), rules) is DayKind.HOLIDAY
    assert day_kind(date(2031, 1, 4), rules) is DayKind.MAKEUP_WORKDAY
    assert day_kind(date(2025, 10, 3), rules) is DayKind.WORKDAY
    assert next_window_open(sh(2030, 12, 31, 20), rules) == sh(2031, 1, 2, 9)


def test_custom_windows_replace_the_defaults() -> None:
    rules = rules_from_mapping({"calendar": {"calling_windows": ["10:00-11:00"]}})
    assert not in_window(sh(2025, 3, 4, 9, 30), rules)
    assert next_window_open(sh(2025, 3, 4, 11), rules) == sh(2025, 3, 5, 10)
