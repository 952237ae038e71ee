"""Claiming due calls: one transaction turns a due task into a committed call attempt.

Pacing (per trunk: calls in flight and starts per minute) bounds each claim. On PostgreSQL the due
tasks are taken ``FOR UPDATE SKIP LOCKED`` and the phone rows are locked before the per-number checks,
so concurrent schedulers can neither claim one task twice nor call one number twice; on SQLite the
database write lock serialises claims. Claims are conditional UPDATEs either way.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from callback_service.db.models import CallAttempt, CallbackTask, Phone
from callback_service.db.session import updated_rows
from callback_service.selection.calendar import in_window, next_callable_at, next_day_open
from callback_service.selection.facts import IN_FLIGHT_STATES, phone_day
from callback_service.selection.pacing import starts_allowed
from callback_service.selection.planner import PlanContext, plan_reports

log = logging.getLogger(__name__)


def pacing_budget(session: Session, now: datetime, ctx: PlanContext) -> int:
    in_flight = session.scalar(select(func.count()).select_from(CallAttempt)
                               .where(CallAttempt.state.in_(IN_FLIGHT_STATES))) or 0
    recent = session.scalars(select(CallAttempt.started_at)
                             .where(CallAttempt.started_at > now - timedelta(minutes=1))).all()
    return starts_allowed(in_flight, recent, now, ctx.rules.pacing_for(None))


CHUNK = 2000


def claim_due(session: Session, now: datetime, ctx: PlanContext, limit: int | None = None) -> list[int]:
    """Claim due tasks and commit-ready attempt rows; returns the new attempt ids in priority order.

    Each due task's report is decided again (``planner.plan_reports``) right before the claim, so a
    number called meanwhile, a do-not-call flag or an expired window stops the call.
    """
    budget = pacing_budget(session, now, ctx) if limit is None else limit
    claimed: list[int] = []
    if budget <= 0:
        return claimed
    due = session.execute(
        select(CallbackTask.id, CallbackTask.report_id, CallbackTask.round)
        .where(CallbackTask.status == "pending", CallbackTask.call_at <= now)
        .order_by(CallbackTask.priority, CallbackTask.call_at, CallbackTask.id)
        .limit(budget * 4).with_for_update(skip_locked=True)).all()
    for task_id, _, rnd in due:
        if rnd == 3 and len(claimed) < budget:
            attempt_id = _claim_verification(session, task_id, now, ctx)
            if attempt_id is not None:
                claimed.append(attempt_id)
    reports = list(dict.fromkeys(report_id for _, report_id, rnd in due if rnd != 3))
    for start in range(0, len(reports), CHUNK):
        if len(claimed) >= budget:
            break
        claimed += plan_reports(session, reports[start:start + CHUNK], now, ctx, claim=budget - len(claimed)).claimed
    return claimed


def _lock_phone(session: Session, phone_id: int | None) -> Phone | None:
    if phone_id is None:
        return None
    return session.scalar(select(Phone).where(Phone.id == phone_id).with_for_update())


def _claim_verification(session: Session, task_id: int, now: datetime, ctx: PlanContext) -> int | None:
    task = session.get(CallbackTask, task_id)
    assert task is not None
    _lock_phone(session, task.phone_id)  # before reading the number's calls of the day
    if not _verification_due(session, task, now, ctx):
        return None
    won = updated_rows(session, update(CallbackTask)
                       .where(CallbackTask.id == task.id, CallbackTask.status == "pending")
                       .values(status="claimed", claimed_by=ctx.worker, lease_until=now + ctx.lease,
                               attempts=CallbackTask.attempts + 1))
    if won != 1:
        log.info("task %s was claimed by another scheduler", task.id)
        return None
    session.expire(task)
    attempt = CallAttempt(task_id=task.id, attempt_no=task.attempts, phone_id=task.phone_id, dialer=ctx.dialer,
                          survey=task.survey, state="created", started_at=now, lease_until=now + ctx.lease,
                          worker=ctx.worker)
    session.add(attempt)
    session.flush()
    return attempt.id


def _verification_due(session: Session, task: CallbackTask, now: datetime, ctx: PlanContext) -> bool:
    """Verification callbacks keep the calling windows and the one-task-per-number-per-day cap."""
    rules = ctx.rules
    if task.attempts >= rules.retry.max_attempts:
        task.status, task.ended_at, task.reasons = "unreachable", now, ["max_attempts"]
        return False
    if not in_window(now, rules):
        task.call_at = next_callable_at(now, rules)
        return False
    phone = session.get(Phone, task.phone_id) if task.phone_id else None
    day = phone_day(session, phone, now, rules)
    today = now.astimezone(rules.tz).date()
    others = [c for c in (day.calls if day else ()) if c.started_at.astimezone(rules.tz).date() == today
              and c.round != 3]
    if others or any(c.in_flight for c in (day.calls if day else ())):
        task.call_at, task.reasons = next_day_open(now, rules), ["phone_daily_cap"]
        return False
    return True
