"""Ticket persistence: idempotent filing, role-checked transitions, SLA escalation, verification.

Every change writes a TicketEvent (who, when, note) and an audit entry in the caller's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callback_service.contracts import L_BASICALLY_SATISFIED, L_SATISFIED, L_UNSATISFIED
from callback_service.db.models import CallbackTask, Report, Ticket, TicketEvent
from callback_service.security import audit
from callback_service.tickets import states
from callback_service.tickets.rules import SlaPolicy, TicketSpec

log = logging.getLogger(__name__)
SYSTEM = "system"


@dataclass(frozen=True)
class TicketPolicy:
    sla: SlaPolicy
    verification_delay: timedelta = timedelta(hours=24)


def open_ticket(session: Session, report: Report, spec: TicketSpec, now: datetime, policy: TicketPolicy,
                source_attempt_id: int | None = None) -> Ticket | None:
    """File a ticket unless one is already open for this report and reason. Returns the new ticket."""
    existing = session.scalar(select(Ticket.id).where(
        Ticket.report_id == report.id, Ticket.reason == spec.reason, Ticket.status != states.VERIFIED))
    if existing is not None:
        return None
    ticket = Ticket(report_id=report.id, reason=spec.reason, problems=list(spec.problems),
                    severity=spec.severity, status=states.OPEN, station_id=report.station_id,
                    source_attempt_id=source_attempt_id, sla_due_at=policy.sla.due(spec.severity, now),
                    summary=spec.summary, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:  # another worker filed the same ticket first
        return None
    session.add(TicketEvent(ticket_id=ticket.id, from_status=None, to_status=states.OPEN, actor=SYSTEM,
                            note=spec.summary, at=now))
    audit.record(session, SYSTEM, "ticket.open", "ticket", ticket.id,
                 {"report_no": report.report_no, "reason": spec.reason, "severity": spec.severity})
    if spec.severity == "urgent":
        log.warning("URGENT ticket %s for report %s: %s", ticket.id, report.report_no, spec.reason)
    return ticket


def transition(session: Session, ticket: Ticket, to_status: str, actor: str, role: str, note: str,
               now: datetime, policy: TicketPolicy, same_station: bool = False) -> TicketEvent:
    states.check_transition(ticket.status, to_status, role, same_station, note)
    from_status = ticket.status
    ticket.status, ticket.updated_at = to_status, now
    if to_status == states.RESOLVED:
        ticket.resolved_at = now
        _schedule_verification(session, ticket, now, policy)
    elif to_status == states.VERIFIED:
        ticket.verified_at = now
    elif to_status == states.REOPENED:
        ticket.resolved_at = None
        ticket.sla_due_at = policy.sla.due(ticket.severity, now)
        ticket.escalated_at = None
    event = TicketEvent(ticket_id=ticket.id, from_status=from_status, to_status=to_status, actor=actor,
                        note=note, at=now)
    session.add(event)
    audit.record(session, actor, "ticket.transition", "ticket", ticket.id,
                 {"from": from_status, "to": to_status, "note": note[:500]})
    session.flush()
    return event


def _schedule_verification(session: Session, ticket: Ticket, now: datetime, policy: TicketPolicy) -> None:
    report = session.get(Report, ticket.report_id)
    assert report is not None
    n = session.scalar(select(func.count()).select_from(CallbackTask).where(CallbackTask.ticket_id == ticket.id))
    phone = report.guardian_phone if "minor" in report.tags and report.guardian_phone else report.phone
    callable_ = phone is not None and phone.valid and not phone.do_not_call and not report.do_not_call
    due = now + policy.verification_delay
    session.add(CallbackTask(
        report_id=report.id, round=3, dedupe_key=f"v:{ticket.id}:{(n or 0) + 1}", ticket_id=ticket.id,
        status="pending" if callable_ else "manual", survey="verification",
        dial_to=("guardian" if phone is report.guardian_phone else "reporter") if callable_ else None,
        phone_id=phone.id if callable_ and phone else None, priority=1, call_at=due, due_at=due,
        expires_at=due + timedelta(days=7), reasons=["verification"] if callable_ else ["no_reachable_phone"]))


def apply_verification(session: Session, task: CallbackTask, label: str | None, now: datetime,
                       policy: TicketPolicy) -> str | None:
    """Close the loop from a verification callback's answer. Returns the ticket's new status."""
    ticket = session.get(Ticket, task.ticket_id) if task.ticket_id else None
    if ticket is None or ticket.status != states.RESOLVED:
        return None
    if label in (L_SATISFIED, L_BASICALLY_SATISFIED):
        transition(session, ticket, states.VERIFIED, SYSTEM, "system", "回访核实：群众满意，销号", now, policy)
    elif label == L_UNSATISFIED:
        transition(session, ticket, states.REOPENED, SYSTEM, "system", "回访核实：群众仍不满意，重开", now, policy)
    else:
        return None
    return ticket.status


def escalate_overdue(session: Session, now: datetime, limit: int = 1000) -> int:
    """Overdue active tickets escalate to the legal unit once per SLA period."""
    rows = session.scalars(select(Ticket).where(
        Ticket.status.in_(states.ACTIVE_STATUSES), Ticket.sla_due_at < now, Ticket.escalated_at.is_(None))
        .order_by(Ticket.sla_due_at).limit(limit).with_for_update(skip_locked=True)).all()
    for t in rows:
        t.escalated_at = now
        session.add(TicketEvent(ticket_id=t.id, from_status=t.status, to_status=t.status, actor=SYSTEM,
                                note="超过办理时限，已升级至法制大队督办", at=now))
        audit.record(session, SYSTEM, "ticket.escalate", "ticket", t.id, {"severity": t.severity})
    return len(rows)
