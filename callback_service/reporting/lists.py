"""The lists behind the dashboard figures: calls (and the review queue), tickets, reports.

Each takes the same cohort filters as the dashboard, so a figure and its list agree row for row, and
an optional station scope that a station user can never widen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from callback_service.contracts import L_BASICALLY_SATISFIED, L_SATISFIED, L_UNKNOWN, L_UNSATISFIED
from callback_service.db.models import (
    CallAttempt,
    CallbackTask,
    LabelCorrection,
    Phone,
    Recording,
    Report,
    Score,
    Station,
    Ticket,
    Transcript,
)
from callback_service.reporting.filters import Filters, cohort
from callback_service.reporting.metrics import CONTACT_REASONS, SURVEY_ROUNDS
from callback_service.tickets import states

PAGE_SIZE = 50
LABEL_SETS = {
    "answered": (L_SATISFIED, L_BASICALLY_SATISFIED, L_UNSATISFIED),
    "positive": (L_SATISFIED, L_BASICALLY_SATISFIED),
    L_SATISFIED: (L_SATISFIED,), L_BASICALLY_SATISFIED: (L_BASICALLY_SATISFIED,),
    L_UNSATISFIED: (L_UNSATISFIED,), L_UNKNOWN: (L_UNKNOWN,),
}
# Review reasons in order of urgency; the queue sorts on the first that applies.
FLAGS = ("urgent", "unsatisfied", "problem", "conflict", "low_confidence", "qc_sample")


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    page: int
    has_next: bool


def _page(session: Session, stmt: Select[Any], page: int) -> Page:
    page = max(page, 1)
    rows = list(session.execute(stmt.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all())
    return Page(rows=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)


def _scope(stmt: Select[Any], column: Any, station_scope: int | None) -> Select[Any]:
    return stmt if station_scope is None else stmt.where(column == station_scope)


# --- calls and the review queue ------------------------------------------------------------------

def _flag_conditions() -> dict[str, ColumnElement[bool]]:
    low_asr = exists(select(Transcript.id).join(Recording, Recording.id == Transcript.recording_id)
                     .where(Recording.attempt_id == CallAttempt.id, Transcript.needs_review.is_(True)))
    has_problem = cast(Score.problems, String) != "[]"
    return {
        "urgent": Score.urgent.is_(True),     # the scorer and reviewers set it for every safety problem
        "unsatisfied": Score.label == L_UNSATISFIED,
        "problem": and_(Score.id.is_not(None), has_problem),
        "conflict": Score.conflict.is_(True),
        "low_confidence": or_(Score.needs_review.is_(True), low_asr, CallAttempt.review_flag.is_not(None)),
        "qc_sample": CallAttempt.qc_sampled.is_(True),
    }


def _calls_base() -> Select[Any]:
    conds = _flag_conditions()
    priority = case(*[(cond, i) for i, cond in enumerate(conds.values())], else_=len(conds))
    reviewed = exists(select(LabelCorrection.id).where(LabelCorrection.score_id == Score.id))
    return (select(CallAttempt.id.label("attempt_id"), CallAttempt.started_at, CallAttempt.disposition,
                   CallbackTask.round, Report.id.label("report_id"), Report.report_no, Report.category,
                   Report.tags, Station.name.label("station"), Score.label, Score.problems, Score.urgent,
                   Score.conflict, Score.confidence, CallAttempt.qc_sampled, priority.label("priority"),
                   reviewed.label("reviewed"),
                   *[c.label("flag_" + name) for name, c in conds.items()])
            .select_from(CallAttempt)
            .join(CallbackTask, CallbackTask.id == CallAttempt.task_id)
            .join(Report, Report.id == CallbackTask.report_id)
            .join(Station, Station.id == Report.station_id)
            .outerjoin(Score, Score.attempt_id == CallAttempt.id))


def review_queue(session: Session, station_scope: int | None, page: int = 1, include_reviewed: bool = False,
                 flag: str | None = None, since: datetime | None = None) -> Page:
    """Flagged calls, most urgent first. Two steps: rank ids over attempts and scores only, then
    fetch the details of one page, so a large backlog costs one narrow scan, not a wide join."""
    conds = _flag_conditions()
    priority = case(*[(c, i) for i, c in enumerate(conds.values())], else_=len(conds)).label("priority")
    wanted = [conds[flag]] if flag in conds else list(conds.values())
    ranked = (select(CallAttempt.id, priority, CallAttempt.started_at).select_from(CallAttempt)
              .outerjoin(Score, Score.attempt_id == CallAttempt.id).where(or_(*wanted)))
    if since is not None:
        ranked = ranked.where(CallAttempt.started_at >= since)
    if not include_reviewed:
        ranked = ranked.where(~exists(select(LabelCorrection.id).where(LabelCorrection.score_id == Score.id)))
    if station_scope is not None:
        ranked = (ranked.join(CallbackTask, CallbackTask.id == CallAttempt.task_id)
                  .join(Report, Report.id == CallbackTask.report_id).where(Report.station_id == station_scope))
    page = max(page, 1)
    top = (ranked.order_by(priority, CallAttempt.started_at.desc(), CallAttempt.id.desc())
           .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE).subquery())
    stmt = (_calls_base().join(top, top.c.id == CallAttempt.id)
            .order_by(top.c.priority, top.c.started_at.desc(), top.c.id.desc()))
    rows = list(session.execute(stmt).all())
    return Page(rows=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)


def call_list(session: Session, f: Filters, station_scope: int | None, label: str | None = None,
              urgent: bool = False, page: int = 1) -> Page:
    """Scored first/second-round calls of a cohort: the rows behind the satisfaction figures."""
    stmt = cohort(_calls_base().where(Score.id.is_not(None), CallbackTask.round.in_(SURVEY_ROUNDS)),
                  f.scoped(station_scope))
    if label in LABEL_SETS:
        stmt = stmt.where(Score.label.in_(LABEL_SETS[label]))
    if urgent:
        stmt = stmt.where(Score.urgent.is_(True))
    return _page(session, stmt.order_by(CallAttempt.started_at.desc()), page)


def flags_of(row: Any) -> list[str]:
    return [name for name in FLAGS if getattr(row, "flag_" + name, False)]


# --- tickets -------------------------------------------------------------------------------------

def ticket_list(session: Session, station_scope: int | None, now: datetime, status: str | None = None,
                overdue: bool = False, f: Filters | None = None, problems_only: bool = False,
                page: int = 1) -> Page:
    stmt = (select(Ticket.id, Ticket.reason, Ticket.severity, Ticket.status, Ticket.sla_due_at,
                   Ticket.created_at, Ticket.escalated_at, Ticket.problems, Report.report_no,
                   Station.name.label("station"))
            .join(Report, Report.id == Ticket.report_id).join(Station, Station.id == Ticket.station_id))
    if status == "active":
        stmt = stmt.where(Ticket.status.in_(states.ACTIVE_STATUSES))
    elif status == "open":
        stmt = stmt.where(Ticket.status != states.VERIFIED)
    elif status in states.STATUSES:
        stmt = stmt.where(Ticket.status == status)
    if overdue:
        stmt = stmt.where(Ticket.status.in_(states.ACTIVE_STATUSES), Ticket.sla_due_at < now)
    if problems_only:
        stmt = stmt.where(Ticket.reason.not_in(CONTACT_REASONS))
    if f is not None:
        stmt = cohort(stmt, f.scoped(station_scope))
    stmt = _scope(stmt, Ticket.station_id, station_scope)
    active_first = case((Ticket.status.in_(states.ACTIVE_STATUSES), 0), else_=1)
    return _page(session, stmt.order_by(active_first, Ticket.sla_due_at, Ticket.id), page)


# --- reports -------------------------------------------------------------------------------------

def _prefix(number: str) -> str:
    escaped = number.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def report_list(session: Session, f: Filters, station_scope: int | None, number: str = "",
                plan_state: str | None = None, callback: str | None = None, page: int = 1) -> Page:
    stmt = (select(Report.id, Report.report_no, Report.received_at, Report.channel, Report.category,
                   Report.tags, Report.plan_state, Station.name.label("station"),
                   Phone.raw_masked.label("phone_masked"))
            .join(Station, Station.id == Report.station_id).outerjoin(Phone, Phone.id == Report.phone_id))
    if number:
        # A report number finds its report whatever the date range.
        stmt = stmt.where(Report.report_no.like(_prefix(number), escape="\\"))
        stmt = _scope(stmt, Report.station_id, station_scope)
    else:
        stmt = cohort(stmt, f.scoped(station_scope))
    if plan_state:
        stmt = stmt.where(Report.plan_state == plan_state)
    if callback in ("finished", "reached"):
        cond = (CallbackTask.reached.is_(True) if callback == "reached"
                else CallbackTask.status.in_(("done", "unreachable")))
        stmt = stmt.where(exists(select(CallbackTask.id).where(
            CallbackTask.report_id == Report.id, CallbackTask.round.in_(SURVEY_ROUNDS), cond)))
    return _page(session, stmt.order_by(Report.received_at.desc(), Report.id.desc()), page)
