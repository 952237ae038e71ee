"""``callback-service tickets``: list tickets with their SLA state (report numbers only, no PII)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from callback_service.db.models import Ticket
from callback_service.tickets.states import ACTIVE_STATUSES, STATUSES


def list_tickets(session: Session, now: datetime, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    q = select(Ticket).options(joinedload(Ticket.report), joinedload(Ticket.station))
    if status:
        q = q.where(Ticket.status == status)
    q = q.order_by(Ticket.sla_due_at, Ticket.id).limit(limit)
    return [_row(t, now) for t in session.scalars(q)]


def _row(t: Ticket, now: datetime) -> dict[str, Any]:
    active = t.status in ACTIVE_STATUSES
    return {
        "id": t.id, "report_no": t.report.report_no, "station": t.station.name, "reason": t.reason,
        "problems": list(t.problems), "severity": t.severity, "status": t.status,
        "sla_due_at": t.sla_due_at.isoformat(), "overdue": bool(active and t.sla_due_at < now),
        "escalated": t.escalated_at is not None, "created_at": t.created_at.isoformat(),
    }
