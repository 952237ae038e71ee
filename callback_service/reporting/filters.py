"""Filters shared by the dashboard and the lists behind its figures.

Every figure is about a cohort of reports: those received in a local-date range, optionally one
station and one category. The same filter applied to a list gives exactly the rows a figure counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, cast, func
from sqlalchemy.sql import Select

from callback_service.db.models import Report

DEFAULT_DAYS = 30
MAX_DAYS = 732


@dataclass(frozen=True)
class Filters:
    start: date
    end: date                       # inclusive
    tz: ZoneInfo
    station_id: int | None = None
    category: str | None = None

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        lo = datetime.combine(self.start, time.min, self.tz)
        hi = datetime.combine(self.end + timedelta(days=1), time.min, self.tz)
        return lo, hi

    def scoped(self, station_scope: int | None) -> Filters:
        """Station users always see their own station, whatever the request asked for."""
        return self if station_scope is None else replace(self, station_id=station_scope)

    def as_args(self) -> dict[str, str]:
        args = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.station_id is not None:
            args["station"] = str(self.station_id)
        if self.category:
            args["category"] = self.category
        return args


def _date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def parse_filters(args: Mapping[str, Any], tz: ZoneInfo, today: date, default_days: int = DEFAULT_DAYS
                  ) -> Filters:
    end = _date(args.get("end"), today)
    start = _date(args.get("start"), end - timedelta(days=default_days - 1))
    if start > end:
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS)
    station = str(args.get("station") or "")
    category = str(args.get("category") or "").strip()[:100]
    return Filters(start=start, end=end, tz=tz, station_id=int(station) if station.isdigit() else None,
                   category=category or None)


def cohort(stmt: Select[Any], f: Filters) -> Select[Any]:
    """Restrict a statement that already selects from or joins ``reports`` to the filter's cohort."""
    lo, hi = f.bounds
    stmt = stmt.where(Report.received_at >= lo, Report.received_at < hi)
    if f.station_id is not None:
        stmt = stmt.where(Report.station_id == f.station_id)
    if f.category:
        stmt = stmt.where(Report.category == f.category)
    return stmt


def local_day(column: Any, tz: ZoneInfo, dialect: str, at: datetime) -> ColumnElement[Any]:
    """The local calendar date of a UTC timestamp column, computed in SQL."""
    if dialect == "postgresql":
        return cast(func.timezone(tz.key, column), Date)
    offset = at.astimezone(tz).utcoffset() or timedelta(0)
    # SQLite keeps naive UTC text; a fixed offset is exact for zones without DST (Asia/Shanghai).
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
