"""Dashboard figures as plain SQL aggregates over a cohort of reports.

Four grouped queries (reports, callback rounds, scores, tickets), each grouped by local day, station
and category, are merged in Python; the trend, the per-station table and the per-category breakdown
are roll-ups of that one result. Ticket backlog figures (open, overdue) are current state and ignore
the date range.

Definitions (shown as tooltips on the dashboard):
  callbacks finished  first/second-round tasks that ended (done or unreachable)
  callbacks done      of those, the ones where the person was reached
  reach rate          done / finished
  answered            scored first/second-round calls with an opinion (label other than unknown)
  satisfaction rate   (satisfied + basically satisfied) / answered
  problems found      tickets about the service (every reason except unreachable / manual contact)
  rectification rate  verified (销号) problem tickets / problems found
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callback_service.contracts import L_BASICALLY_SATISFIED, L_SATISFIED, L_UNKNOWN, L_UNSATISFIED
from callback_service.db.models import CallAttempt, CallbackTask, Report, Score, Station, Ticket
from callback_service.reporting.filters import Filters, as_date, cohort, local_day
from callback_service.tickets import states

CONTACT_REASONS = ("unreachable", "manual_contact")
SURVEY_ROUNDS = (1, 2)
TOP_CATEGORIES = 12
Key = tuple[date, int, str]


@dataclass
class Counts:
    reports: int = 0
    finished: int = 0
    reached: int = 0
    answered: int = 0
    satisfied: int = 0
    basically: int = 0
    unsatisfied: int = 0
    urgent: int = 0
    problems: int = 0
    verified: int = 0

    def add(self, other: Counts) -> None:
        # spelled out: this runs thousands of times per page, and fields()/setattr are slow
        self.reports += other.reports
        self.finished += other.finished
        self.reached += other.reached
        self.answered += other.answered
        self.satisfied += other.satisfied
        self.basically += other.basically
        self.unsatisfied += other.unsatisfied
        self.urgent += other.urgent
        self.problems += other.problems
        self.verified += other.verified

    @staticmethod
    def _rate(num: int, den: int) -> float | None:
        return round(num / den, 4) if den else None

    @property
    def reach_rate(self) -> float | None:
        return self._rate(self.reached, self.finished)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate(self.satisfied + self.basically, self.answered)

    @property
    def rectification_rate(self) -> float | None:
        return self._rate(self.verified, self.problems)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(reach_rate=self.reach_rate, satisfaction_rate=self.satisfaction_rate,
                   rectification_rate=self.rectification_rate)
        return out


@dataclass
class StationRow:
    station_id: int
    name: str
    counts: Counts
    open_tickets: int = 0
    overdue_tickets: int = 0


@dataclass
class Dashboard:
    filters: Filters
    totals: Counts
    by_day: list[tuple[date, Counts]]
    by_station: list[StationRow]
    by_category: list[tuple[str, Counts]]
    open_tickets: int
    overdue_tickets: int
    generated_at: datetime
    categories: list[str] = field(default_factory=list)

    def by_week(self) -> list[tuple[date, Counts]]:
        weeks: dict[date, Counts] = defaultdict(Counts)
        for day, c in self.by_day:
            weeks[day - timedelta(days=day.weekday())].add(c)
        return sorted(weeks.items())


@dataclass(frozen=True)
class Snapshot:
    """Every figure for a date range, all stations and categories; filters are applied in Python."""

    start: date
    end: date
    cube: dict[Key, Counts]
    backlog: dict[tuple[int, str], tuple[int, int]]     # (station, category) -> (open, overdue)
    computed_at: datetime
    # the cube summed over category and over day: what most filters need, precomputed once
    day_station: dict[tuple[date, int], Counts] = field(default_factory=dict)
    station_category: dict[tuple[int, str], Counts] = field(default_factory=dict)


def _grouped(session: Session, f: Filters, measures: list[Any], join: Any = None, where: Any = None
             ) -> list[Any]:
    day = local_day(Report.received_at, f.tz, session.get_bind().dialect.name, f.bounds[0]).label("day")
    stmt = select(day, Report.station_id, Report.category, *measures)
    stmt = stmt.select_from(join) if join is not None else stmt.select_from(Report)
    if where is not None:
        stmt = stmt.where(*where)
    stmt = cohort(stmt, replace(f, station_id=None, category=None))
    return list(session.execute(stmt.group_by(day, Report.station_id, Report.category)).all())


def _cube(session: Session, f: Filters) -> dict[Key, Counts]:
    cube: dict[Key, Counts] = defaultdict(Counts)

    def put(rows: list[Any], names: tuple[str, ...]) -> None:
        for row in rows:
            c = cube[(as_date(row[0]), row[1], row[2])]
            for name, value in zip(names, row[3:]):
                setattr(c, name, int(value or 0))

    put(_grouped(session, f, [func.count()]), ("reports",))
    task_join = CallbackTask.__table__.join(Report.__table__, Report.id == CallbackTask.report_id)
    put(_grouped(session, f, [
        func.count().filter(CallbackTask.status.in_(("done", "unreachable"))),
        func.count().filter(CallbackTask.reached.is_(True))],
        task_join, [CallbackTask.round.in_(SURVEY_ROUNDS)]), ("finished", "reached"))
    score_join = (Score.__table__.join(CallAttempt.__table__, CallAttempt.id == Score.attempt_id)
                  .join(CallbackTask.__table__, CallbackTask.id == CallAttempt.task_id)
                  .join(Report.__table__, Report.id == CallbackTask.report_id))
    put(_grouped(session, f, [
        func.count().filter(Score.label != L_UNKNOWN),
        func.count().filter(Score.label == L_SATISFIED),
        func.count().filter(Score.label == L_BASICALLY_SATISFIED),
        func.count().filter(Score.label == L_UNSATISFIED),
        func.count().filter(Score.urgent.is_(True))],
        score_join, [CallbackTask.round.in_(SURVEY_ROUNDS)]),
        ("answered", "satisfied", "basically", "unsatisfied", "urgent"))
    ticket_join = Ticket.__table__.join(Report.__table__, Report.id == Ticket.report_id)
    put(_grouped(session, f, [func.count(), func.count().filter(Ticket.status == states.VERIFIED)],
                 ticket_join, [Ticket.reason.not_in(CONTACT_REASONS)]), ("problems", "verified"))
    return cube


def _backlog(session: Session, now: datetime) -> dict[tuple[int, str], tuple[int, int]]:
    """(station, category) -> (open, overdue) for tickets not yet verified, whatever their date."""
    stmt = (select(Ticket.station_id, Report.category, func.count(),
                   func.count().filter(Ticket.status.in_(states.ACTIVE_STATUSES), Ticket.sla_due_at < now))
            .join(Report, Report.id == Ticket.report_id)
            .where(Ticket.status != states.VERIFIED).group_by(Ticket.station_id, Report.category))
    return {(sid, cat): (int(o or 0), int(d or 0)) for sid, cat, o, d in session.execute(stmt).all()}


def _sum(cube: Mapping[Any, Counts], key: Any) -> dict[Any, Counts]:
    out: dict[Any, Counts] = defaultdict(Counts)
    for k, c in cube.items():
        out[key(k)].add(c)
    return dict(out)


def compute_snapshot(session: Session, f: Filters, now: datetime) -> Snapshot:
    cube = dict(_cube(session, f))
    return Snapshot(start=f.start, end=f.end, cube=cube, backlog=_backlog(session, now), computed_at=now,
                    day_station=_sum(cube, lambda k: (k[0], k[1])),
                    station_category=_sum(cube, lambda k: (k[1], k[2])))


def _rollup(cube: dict[Key, Counts], index: int) -> dict[Any, Counts]:
    out: dict[Any, Counts] = defaultdict(Counts)
    for key, c in cube.items():
        out[key[index]].add(c)
    return out


def _days(f: Filters, by_day: dict[date, Counts]) -> list[tuple[date, Counts]]:
    n = (f.end - f.start).days + 1
    return [(d, by_day.get(d, Counts())) for d in (f.start + timedelta(days=i) for i in range(n))]


def _categories(by_cat: dict[str, Counts]) -> list[tuple[str, Counts]]:
    ranked = sorted(by_cat.items(), key=lambda kv: (-kv[1].reports, kv[0]))
    head, tail = ranked[:TOP_CATEGORIES], ranked[TOP_CATEGORIES:]
    if tail:
        rest = Counts()
        for _, c in tail:
            rest.add(c)
        head.append(("其他", rest))
    return [(name or "未分类", c) for name, c in head]


def _matches(f: Filters, station: int, category: str) -> bool:
    return (f.station_id is None or station == f.station_id) and (not f.category or category == f.category)


def _views(snap: Snapshot, f: Filters) -> tuple[dict[Any, Counts], dict[Any, Counts], dict[Any, Counts]]:
    """(by day, by station, by category) under the filter, from the smallest precomputed table."""
    if f.category:
        cube = {k: c for k, c in snap.cube.items() if _matches(f, k[1], k[2])}
        return _rollup(cube, 0), _rollup(cube, 1), _rollup(cube, 2)
    day_station = {k: c for k, c in snap.day_station.items() if f.station_id in (None, k[1])}
    station_category = {k: c for k, c in snap.station_category.items() if f.station_id in (None, k[0])}
    return (_sum(day_station, lambda k: k[0]), _sum(day_station, lambda k: k[1]),
            _sum(station_category, lambda k: k[1]))


def build_dashboard(snap: Snapshot, f: Filters, station_names: dict[int, str]) -> Dashboard:
    """The dashboard for one filter, from a snapshot of the same date range."""
    by_day, by_station, by_category = _views(snap, f)
    backlog: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (sid, cat), (o, d) in snap.backlog.items():
        if _matches(f, sid, cat):
            backlog[sid][0] += o
            backlog[sid][1] += d
    totals = Counts()
    for c in by_station.values():
        totals.add(c)
    ids = [f.station_id] if f.station_id is not None else sorted(
        set(by_station) | set(backlog), key=lambda sid: station_names.get(sid, ""))
    rows = [StationRow(sid, station_names.get(sid, str(sid)), by_station.get(sid, Counts()), *backlog.get(sid, [0, 0]))
            for sid in ids]
    menu: dict[str, int] = defaultdict(int)
    for (sid, cat), c in snap.station_category.items():
        if cat and f.station_id in (None, sid):
            menu[cat] += c.reports
    return Dashboard(filters=f, totals=totals, by_day=_days(f, by_day), by_station=rows,
                     by_category=_categories(by_category),
                     open_tickets=sum(v[0] for v in backlog.values()),
                     overdue_tickets=sum(v[1] for v in backlog.values()), generated_at=snap.computed_at,
                     categories=sorted(menu, key=lambda c: -menu[c]))


def station_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Station.id, Station.name)).tuples().all())


def dashboard(session: Session, f: Filters, now: datetime) -> Dashboard:
    """Uncached: compute and build in one go."""
    return build_dashboard(compute_snapshot(session, f, now), f, station_names(session))
