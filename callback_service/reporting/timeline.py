"""One report's history, intake to closed ticket: answers "why was (or wasn't) this person called".

Events come from the rows each stage wrote (import batch, planner decisions, tasks, attempts,
answers, scores, tickets and their events), merged in time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.db.models import (
    Answer,
    CallAttempt,
    CallbackTask,
    Decision,
    ImportBatch,
    Report,
    Score,
    Ticket,
    TicketEvent,
)


@dataclass(frozen=True)
class Event:
    at: datetime | None
    kind: str                     # intake | decision | task | attempt | answer | score | ticket
    title: str                    # a code the template translates (action, status, disposition...)
    detail: dict[str, Any] = field(default_factory=dict)
    link: tuple[str, int] | None = None   # ("call", attempt_id) | ("ticket", ticket_id)


@dataclass
class Timeline:
    report: Report
    events: list[Event]
    tasks: list[CallbackTask]
    latest_decision: Decision | None


def _intake(session: Session, report: Report) -> list[Event]:
    batch = session.get(ImportBatch, report.import_batch_id) if report.import_batch_id else None
    detail: dict[str, Any] = {"received_at": report.received_at, "warnings": report.warnings}
    if batch is not None:
        detail.update(source=batch.source, filename=batch.filename, actor=batch.actor)
    return [Event(report.created_at, "intake", "imported", detail)]


def _decisions(session: Session, report: Report) -> tuple[list[Event], Decision | None]:
    rows = session.scalars(select(Decision).where(Decision.report_id == report.id)
                           .order_by(Decision.decided_at, Decision.id)).all()
    events = [Event(d.decided_at, "decision", d.action,
                    {"round": d.round, "reasons": d.reasons, "call_at": d.call_at}) for d in rows]
    return events, (rows[-1] if rows else None)


def _calls(session: Session, tasks: list[CallbackTask]) -> list[Event]:
    events: list[Event] = []
    for t in tasks:
        events.append(Event(t.created_at, "task", t.status,
                            {"round": t.round, "survey": t.survey, "due_at": t.due_at, "attempts": t.attempts,
                             "max_attempts": t.max_attempts, "reasons": t.reasons, "ended_at": t.ended_at}))
    attempts = session.scalars(select(CallAttempt).where(CallAttempt.task_id.in_([t.id for t in tasks]))
                               .order_by(CallAttempt.started_at)).all() if tasks else []
    for a in attempts:
        events.append(Event(a.started_at, "attempt", a.disposition or a.state,
                            {"attempt_no": a.attempt_no, "hangup_cause": a.hangup_cause, "dialer": a.dialer,
                             "ended_at": a.ended_at}, ("call", a.id)))
        events.extend(_answers_and_score(session, a))
    return events


def _answers_and_score(session: Session, a: CallAttempt) -> list[Event]:
    events = [Event(ans.created_at, "answer", ans.question_id, {"dtmf": ans.dtmf, "value": ans.value},
                    ("call", a.id))
              for ans in session.scalars(select(Answer).where(Answer.attempt_id == a.id).order_by(Answer.id))]
    score = session.scalar(select(Score).where(Score.attempt_id == a.id))
    if score is not None:
        events.append(Event(score.created_at, "score", score.label,
                            {"problems": score.problems, "urgent": score.urgent, "method": score.method},
                            ("call", a.id)))
    return events


def _tickets(session: Session, report: Report) -> list[Event]:
    events: list[Event] = []
    tickets = session.scalars(select(Ticket).where(Ticket.report_id == report.id).order_by(Ticket.id)).all()
    for t in tickets:
        for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)):
            events.append(Event(e.at, "ticket", e.to_status,
                                {"reason": t.reason, "from": e.from_status, "actor": e.actor, "note": e.note},
                                ("ticket", t.id)))
    return events


def report_timeline(session: Session, report: Report) -> Timeline:
    tasks = list(session.scalars(select(CallbackTask).where(CallbackTask.report_id == report.id)
                                 .order_by(CallbackTask.round, CallbackTask.id)))
    decision_events, latest = _decisions(session, report)
    events = _intake(session, report) + decision_events + _calls(session, tasks) + _tickets(session, report)
    events.sort(key=lambda e: (e.at is None, e.at.timestamp() if e.at else 0.0))
    return Timeline(report=report, events=events, tasks=tasks, latest_decision=latest)
