"""Map database rows onto the pure inputs of ``selection.rules.decide``, for a batch of reports at once.

A handful of set-based queries per batch (reports with their phones, same-person reports in the
repeat window, tasks and attempts, the target numbers' recent calls) instead of several per report:
planning cost grows with the number of due reports, not with round trips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from callback_service.db.bulk import among
from callback_service.db.models import CallAttempt, CallbackTask, Phone, Report, Reporter
from callback_service.selection import categories as cat
from callback_service.selection.calendar import local
from callback_service.selection.model import Attempt, DialTo, PhoneCall, PhoneDay, ReportFacts, RoundHistory
from callback_service.selection.ruleset import Rules

IN_FLIGHT_STATES = ("created", "dialing")
PLAN_ROUNDS = (1, 2)
TASK_FIELDS = ("id", "round", "status", "reasons", "call_at", "survey", "dial_to", "phone_id", "priority",
               "due_at", "expires_at", "ended_at", "attempts")


@dataclass
class TaskRow:
    """The planner-owned columns of one round's task, as stored."""

    id: int
    round: int
    status: str
    reasons: list[Any]
    call_at: datetime | None
    survey: str
    dial_to: str | None
    phone_id: int | None
    priority: int
    due_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    attempts: int


@dataclass
class Inputs:
    """Everything ``decide_rounds`` needs about one report, plus the ids the planner writes back."""

    report_id: int
    station_id: int
    facts: ReportFacts
    phone_id: int | None
    guardian_phone_id: int | None
    plan_state: str
    history: list[RoundHistory] = field(default_factory=list)
    tasks: dict[int, TaskRow] = field(default_factory=dict)  # by round

    def target_phone_id(self, rules: Rules) -> int | None:
        """The phone row ``categories.dial_target`` would dial (None: no usable number)."""
        dial_to, _ = cat.dial_target(self.facts, rules)
        if dial_to is None:
            return None
        return self.guardian_phone_id if dial_to is DialTo.GUARDIAN else self.phone_id


def load_inputs(session: Session, report_ids: Sequence[int], rules: Rules) -> list[Inputs]:
    """The inputs of every report in ``report_ids``, in that order (ids that do not exist are dropped)."""
    if not report_ids:
        return []
    rows = _report_rows(session, report_ids)
    repeats = _repeat_counts(session, rows, rules)
    by_id = {r.id: _inputs(r, repeats.get(r.id, 1)) for r in rows}
    _attach_tasks(session, by_id)
    return [by_id[i] for i in report_ids if i in by_id]


def _report_rows(session: Session, ids: Sequence[int]) -> list[Any]:
    phone, guardian = aliased(Phone), aliased(Phone)
    stmt = (select(Report.id, Report.report_no, Report.received_at, Report.channel, Report.tags,
                   Report.do_not_call, Report.safe_to_call, Report.phone_id, Report.guardian_phone_id,
                   Report.station_id, Report.plan_state, Report.reporter_id,
                   phone.e164.label("p_e164"), phone.valid.label("p_valid"), phone.do_not_call.label("p_dnc"),
                   guardian.e164.label("g_e164"), guardian.valid.label("g_valid"),
                   Reporter.id_number_hash)
            .join(Reporter, Reporter.id == Report.reporter_id)
            .outerjoin(phone, phone.id == Report.phone_id)
            .outerjoin(guardian, guardian.id == Report.guardian_phone_id)
            .where(among(session, Report.id, ids)))
    return list(session.execute(stmt))


def _inputs(r: Any, repeat: int) -> Inputs:
    facts = ReportFacts(
        report_no=r.report_no, received_at=r.received_at, channel=r.channel, tags=frozenset(r.tags or ()),
        phone_e164=r.p_e164, phone_valid=bool(r.p_valid and r.p_e164),
        guardian_phone_e164=r.g_e164, guardian_valid=bool(r.g_valid and r.g_e164),
        do_not_call=bool(r.do_not_call or r.p_dnc), safe_to_call=r.safe_to_call,
        repeat_count_30d=repeat, phone_missing=r.phone_id is None)
    return Inputs(r.id, r.station_id, facts, r.phone_id, r.guardian_phone_id, r.plan_state)


def _repeat_counts(session: Session, rows: Sequence[Any], rules: Rules) -> dict[int, int]:
    """Reports by the same valid phone or the same ID-number hash in each report's repeat window.

    SQL narrows the candidates to the batch's overall window; ``categories.repeat_count`` applies the
    exact closed window per report, so the edges are defined in one place.
    """
    if not rows:
        return {}
    start = min(r.received_at for r in rows) - rules.round2.repeat_window
    end = max(r.received_at for r in rows)
    others: dict[int, dict[int, datetime]] = defaultdict(dict)
    by_phone = [r.id for r in rows if r.phone_id is not None and r.p_valid]
    if by_phone:
        this, other = aliased(Report), aliased(Report)
        stmt = (select(this.id, other.id, other.received_at)
                .join(other, and_(other.phone_id == this.phone_id, other.id != this.id))
                .where(among(session, this.id, by_phone), other.received_at >= start, other.received_at <= end))
        for rid, oid, received in session.execute(stmt):
            others[rid][oid] = received
    by_hash = [r.id for r in rows if r.id_number_hash]
    if by_hash:
        this, other = aliased(Report), aliased(Report)
        mine, theirs = aliased(Reporter), aliased(Reporter)
        stmt = (select(this.id, other.id, other.received_at)
                .join(mine, mine.id == this.reporter_id)
                .join(theirs, theirs.id_number_hash == mine.id_number_hash)
                .join(other, and_(other.reporter_id == theirs.id, other.id != this.id))
                .where(among(session, this.id, by_hash), other.received_at >= start, other.received_at <= end))
        for rid, oid, received in session.execute(stmt):
            others[rid][oid] = received
    received_at = {r.id: r.received_at for r in rows}
    return {rid: cat.repeat_count(received_at[rid], seen.values(), rules) for rid, seen in others.items()}


def _attach_tasks(session: Session, by_id: dict[int, Inputs]) -> None:
    cols = [getattr(CallbackTask, f) for f in TASK_FIELDS]
    task_report: dict[int, Inputs] = {}
    for report_id, *values in session.execute(
            select(CallbackTask.report_id, *cols)
            .where(among(session, CallbackTask.report_id, list(by_id)), CallbackTask.round.in_(PLAN_ROUNDS))):
        task = TaskRow(*values)
        by_id[report_id].tasks[task.round] = task
        task_report[task.id] = by_id[report_id]
    if not task_report:
        return
    attempts: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for task_id, rnd, started, disposition, ended in session.execute(
            select(CallAttempt.task_id, CallbackTask.round, CallAttempt.started_at, CallAttempt.disposition,
                   CallAttempt.ended_at)
            .join(CallbackTask, CallbackTask.id == CallAttempt.task_id)
            .where(among(session, CallAttempt.task_id, list(task_report)))
            .order_by(CallAttempt.started_at, CallAttempt.id)):
        attempts[(task_report[task_id].report_id, rnd)].append(Attempt(started, disposition, ended))
    for (report_id, rnd), items in sorted(attempts.items()):
        by_id[report_id].history.append(RoundHistory(rnd, tuple(items)))


def day_start(now: datetime, rules: Rules) -> datetime:
    """Calls from the start of yesterday (local) on: the rules look at the target day only."""
    return local(now, rules).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def phone_days(session: Session, phones: Iterable[int], now: datetime, rules: Rules) -> dict[int, PhoneDay]:
    """Recent calls to each phone row in ``phones`` (by phone id); numbers without an E.164 are left out."""
    ids = sorted(set(phones))
    if not ids:
        return {}
    days = {pid: PhoneDay(e164, []) for pid, e164 in
            session.execute(select(Phone.id, Phone.e164).where(among(session, Phone.id, ids), Phone.e164.is_not(None)))}
    # Two index-driven steps rather than one join: with stale statistics on call_attempts (it
    # grows fast inside a tick) PostgreSQL planned the join as scans of tasks and reports per batch.
    calls = [row for row in session.execute(
        select(CallAttempt.phone_id, CallAttempt.task_id, CallAttempt.started_at, CallAttempt.state)
        .where(among(session, CallAttempt.phone_id, ids), CallAttempt.started_at >= day_start(now, rules)))
        if row.phone_id in days]
    if not calls:
        return days
    owners = {task_id: (no, rnd) for task_id, no, rnd in session.execute(
        select(CallbackTask.id, Report.report_no, CallbackTask.round)
        .join(Report, Report.id == CallbackTask.report_id)
        .where(among(session, CallbackTask.id, sorted({row.task_id for row in calls}))))}
    for pid, task_id, started, state in calls:
        no, rnd = owners[task_id]
        add_call(days[pid], PhoneCall(no, rnd, started, in_flight=state in IN_FLIGHT_STATES))
    return days


def add_call(day: PhoneDay, call: PhoneCall) -> None:
    """Record a call (also one claimed earlier in this planning pass) on the number's day."""
    calls = day.calls
    assert isinstance(calls, list)
    calls.append(call)


def phone_day(session: Session, phone: Phone | None, now: datetime, rules: Rules) -> PhoneDay | None:
    if phone is None or not phone.e164:
        return None
    return phone_days(session, [phone.id], now, rules).get(phone.id)
