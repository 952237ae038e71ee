"""The dashboard's figures recomputed the slow, obvious way (Python over ORM rows), for comparison."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from callback_service.app import App
from callback_service.db.models import CallAttempt, CallbackTask, Report, Score, Ticket

KPI_RE = re.compile(r'data-metric="(\w+)"[^>]*>.*?<span class="kpi-value">([^<]*)</span>', re.S)
ACTIVE = ("open", "assigned", "rectifying", "reopened")


def shown(html: str) -> dict[str, str]:
    return dict(KPI_RE.findall(html))


def _rate(num: int, den: int) -> str:
    return "—" if not den else f"{num / den * 100:.1f}%"


def expected(app: App, days: int = 30, station_id: int | None = None) -> dict[str, str]:
    tz = app.settings.tz
    today = datetime.now(tz).date()
    lo = datetime.combine(today - timedelta(days=days - 1), time.min, tz)
    hi = datetime.combine(today + timedelta(days=1), time.min, tz)
    with app.sessions() as s:
        reports = {r.id: r for r in s.scalars(select(Report))
                   if lo <= r.received_at < hi and station_id in (None, r.station_id)}
        tasks = {t.id: t for t in s.scalars(select(CallbackTask)) if t.report_id in reports and t.round in (1, 2)}
        attempts = {a.id for a in s.scalars(select(CallAttempt)) if a.task_id in tasks}
        scores = [x for x in s.scalars(select(Score)) if x.attempt_id in attempts]
        tickets = list(s.scalars(select(Ticket)))
    problems = [t for t in tickets if t.report_id in reports and t.reason not in ("unreachable", "manual_contact")]
    backlog = [t for t in tickets if t.status != "verified" and station_id in (None, t.station_id)]
    now = datetime.now(UTC)
    finished = sum(t.status in ("done", "unreachable") for t in tasks.values())
    reached = sum(t.reached for t in tasks.values())
    answered = [x for x in scores if x.label != "unknown"]
    positive = sum(x.label in ("satisfied", "basically_satisfied") for x in answered)
    verified = sum(t.status == "verified" for t in problems)
    out: dict[str, Any] = {
        "reports": len(reports), "reached": reached, "reach_rate": _rate(reached, finished),
        "satisfaction_rate": _rate(positive, len(answered)), "problems": len(problems),
        "rectification_rate": _rate(verified, len(problems)), "open_tickets": len(backlog),
        "overdue_tickets": sum(t.status in ACTIVE and t.sla_due_at < now for t in backlog),
        "urgent": sum(x.urgent for x in scores)}
    return {k: str(v) for k, v in out.items()}
