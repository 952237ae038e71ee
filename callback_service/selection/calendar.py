"""Calling days and calling windows in the rules' local time zone.

Day kinds come from ``chinese_calendar``: a statutory holiday is any day of an official holiday
period (in-lieu days and the weekend days inside the period included); a make-up working day
(调休) is a weekend day the State Council made a working day. ``chinese_calendar`` only knows a
finite range of years; outside it every weekday is a working day and weekends are plain weekends,
with one logged warning per year.
"""

from __future__ import annotations

import enum
import functools
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import chinese_calendar

from callback_service.contracts import R_HOLIDAY, R_OUTSIDE_CALLING_HOURS
from callback_service.selection.codes import R_WEEKEND
from callback_service.selection.ruleset import CalendarRules

log = logging.getLogger(__name__)


class CalendarView(Protocol):
    """What the calendar functions read: the zone and the calendar rules (``Rules`` has both)."""

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def calendar(self) -> CalendarRules: ...

# The longest official break is 8-9 days; a year bounds the search even for odd extra_holidays.
_MAX_SEARCH_DAYS = 400


class DayKind(enum.StrEnum):
    WORKDAY = "workday"
    MAKEUP_WORKDAY = "makeup_workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


class CalendarError(RuntimeError):
    """No calling window exists in the searchable future (the calendar rules allow no calls)."""


def require_aware(t: datetime, name: str = "time") -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t.isoformat()}")
    return t


def local(t: datetime, rules: CalendarView) -> datetime:
    return require_aware(t).astimezone(rules.tz)


def shift(t: datetime, delta: timedelta, rules: CalendarView) -> datetime:
    """``t + delta`` in elapsed time, as local time. Adding to an aware datetime directly adds
    wall-clock time, which is wrong across a DST change in the input's zone."""
    return (require_aware(t).astimezone(UTC) + delta).astimezone(rules.tz)


def day_kind(d: date, rules: CalendarView) -> DayKind:
    if d in rules.calendar.extra_holidays:
        return DayKind.HOLIDAY
    if d in rules.calendar.extra_workdays:
        return DayKind.MAKEUP_WORKDAY if d.weekday() >= 5 else DayKind.WORKDAY
    return _library_day_kind(d)


@functools.lru_cache(maxsize=4096)
def _library_day_kind(d: date) -> DayKind:
    weekend = d.weekday() >= 5
    try:
        rest, name = chinese_calendar.get_holiday_detail(d)
    except NotImplementedError:
        _warn_outside_data(d.year)
        return DayKind.WEEKEND if weekend else DayKind.WORKDAY
    if rest:
        return DayKind.HOLIDAY if name is not None else DayKind.WEEKEND
    return DayKind.MAKEUP_WORKDAY if weekend else DayKind.WORKDAY


@functools.cache
def _warn_outside_data(year: int) -> None:
    log.warning(
        "chinese_calendar has no holiday data for %s: treating only weekends as rest days; "
        "add that year's holidays to calendar.extra_holidays / extra_workdays", year,
    )


def is_statutory_holiday(d: date, rules: CalendarView) -> bool:
    return day_kind(d, rules) is DayKind.HOLIDAY


def is_calling_day(d: date, rules: CalendarView) -> bool:
    kind = day_kind(d, rules)
    if kind is DayKind.HOLIDAY:
        return False
    return kind is not DayKind.WEEKEND or rules.calendar.call_on_weekends


def in_window(t: datetime, rules: CalendarView) -> bool:
    """True when ``t`` falls on a calling day inside a window (start inclusive, end exclusive)."""
    lt = local(t, rules)
    if not is_calling_day(lt.date(), rules):
        return False
    clock = lt.time().replace(tzinfo=None)
    return any(w.start <= clock < w.end for w in rules.calendar.windows)


def next_window_open(t: datetime, rules: CalendarView) -> datetime:
    """The earliest window opening at or after ``t``, as a local aware datetime."""
    lt = local(t, rules)
    for offset in range(_MAX_SEARCH_DAYS):
        d = lt.date() + timedelta(days=offset)
        if not is_calling_day(d, rules):
            continue
        for window in rules.calendar.windows:
            opening = datetime.combine(d, window.start, tzinfo=rules.tz)
            if opening >= lt:
                return opening
    raise CalendarError(f"no calling window within {_MAX_SEARCH_DAYS} days of {lt.isoformat()}")


def next_day_open(t: datetime, rules: CalendarView) -> datetime:
    """The first window opening on a local calendar day after the day of ``t``."""
    lt = local(t, rules)
    midnight = datetime.combine(lt.date() + timedelta(days=1), datetime.min.time(), tzinfo=rules.tz)
    return next_window_open(midnight, rules)


def next_callable_at(t: datetime, rules: CalendarView) -> datetime:
    """``t`` itself when it is inside a window, else the next window opening (local time)."""
    return _next_callable(require_aware(t), rules.tz, rules.calendar)


@functools.lru_cache(maxsize=8192)
def _next_callable(t: datetime, tz: ZoneInfo, calendar: CalendarRules) -> datetime:
    # Planning asks this for the same instants (now, shared due times) thousands of times a pass;
    # the answer depends only on the instant, the zone and the calendar rules (all hashable).
    rules = _CalendarOnly(tz, calendar)
    return local(t, rules) if in_window(t, rules) else next_window_open(t, rules)


@dataclass(frozen=True)
class _CalendarOnly:
    """A hashable ``CalendarView`` (``Rules`` itself holds a mapping, so it cannot key the cache)."""

    tz: ZoneInfo
    calendar: CalendarRules


def placement_reasons(wanted: datetime, placed: datetime, rules: CalendarView) -> list[str]:
    """Why ``placed`` is later than ``wanted``: outside hours, and/or holiday / weekend days skipped."""
    if placed <= wanted:
        return []
    first, last = local(wanted, rules).date(), local(placed, rules).date()
    reasons = [] if not is_calling_day(first, rules) else [R_OUTSIDE_CALLING_HOURS]
    kinds = {day_kind(first + timedelta(days=i), rules) for i in range((last - first).days)}
    if DayKind.HOLIDAY in kinds:
        reasons.append(R_HOLIDAY)
    if DayKind.WEEKEND in kinds and not rules.calendar.call_on_weekends:
        reasons.append(R_WEEKEND)
    return reasons
