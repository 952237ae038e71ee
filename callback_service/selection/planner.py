"""The planner: applies ``decide`` to reports and tasks, and claims due calls atomically.

A report's tasks (one per round, keyed ``r1:<id>``/``r2:<id>``) are the database image of the latest
decision. Claiming turns a due ``pending`` task into ``claimed`` and commits a ``call_attempts`` row
in the same transaction, before any dialer sees it; a conditional UPDATE (and, on PostgreSQL, row
locks on the task and the phone) makes two schedulers unable to claim the same call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from callback_service.contracts import R_MAX_ATTEMPTS
from callback_service.db.models import CallbackTask, Report
from callback_service.db.models import Decision as DecisionRow
from callback_service.selection import categories as cat
from callback_service.selection.facts import phone_day, repeat_count, report_facts, round_history
from callback_service.selection.model import TERMINAL_ACTIONS, Action, Decision
from callback_service.selection.rules import decide, decide_rounds
from callback_service.selection.ruleset import Rules
from callback_service.tickets.rules import ticket_for_task_end
from callback_service.tickets.service import TicketPolicy, open_ticket

log = logging.getLogger(__name__)
TASK_STATUS = {Action.CALL: "pending", Action.DEFER: "pending", Action.SKIP: "skipped",
               Action.MANUAL: "manual", Action.UNREACHABLE: "unreachable", Action.DONE: "done"}
OPEN_TASK_STATUSES = ("pending", "claimed")


@dataclass(frozen=True)
class PlanContext:
    rules: Rules
    tickets: TicketPolicy
    worker: str = "scheduler"
    dialer: str = "simulated"
    lease: timedelta = timedelta(minutes=10)


def _inputs(session: Session, report: Report, now: datetime, rules: Rules) -> tuple[Any, Any, Any]:
    facts = report_facts(report, repeat_count(session, report, rules))
    dial_to, _ = cat.dial_target(facts, rules)
    phone = None if dial_to is None else report.guardian_phone if dial_to == "guardian" else report.phone
    return facts, round_history(session, report.id), phone_day(session, phone, now, rules)


def evaluate(session: Session, report: Report, now: datetime, rules: Rules, round_no: int) -> Decision:
    facts, history, day = _inputs(session, report, now, rules)
    return decide(facts, history, day, now, rules, round_no=round_no)


def evaluate_rounds(session: Session, report: Report, now: datetime, rules: Rules) -> tuple[Decision, ...]:
    """Round 1's decision (even when finished) and, once round 1 is over, round 2's."""
    facts, history, day = _inputs(session, report, now, rules)
    return decide_rounds(facts, history, day, now, rules)


def _task_for(session: Session, report: Report, decision: Decision) -> CallbackTask:
    key = f"r{decision.round}:{report.id}"
    task = session.scalar(select(CallbackTask).where(CallbackTask.dedupe_key == key))
    if task is None:
        task = CallbackTask(report_id=report.id, round=decision.round, dedupe_key=key,
                            survey=decision.survey or "", due_at=decision.due_at or report.received_at,
                            expires_at=decision.expires_at, status="pending", attempts=0)
        session.add(task)
    return task


def _phone_id(report: Report, decision: Decision) -> int | None:
    if decision.dial_to == "guardian" and report.guardian_phone is not None:
        return report.guardian_phone.id
    return report.phone.id if report.phone is not None and decision.dial_to else None


def apply(session: Session, report: Report, decision: Decision, now: datetime, ctx: PlanContext) -> CallbackTask:
    """Write one decision onto its task (never onto a claimed task: the call's outcome decides)."""
    task = _task_for(session, report, decision)
    if task.status == "claimed":
        return task
    status = TASK_STATUS[decision.action]
    reasons = list(decision.reasons)
    changed = (task.status, task.reasons, task.call_at) != (status, reasons, decision.call_at)
    task.status, task.reasons, task.call_at = status, reasons, decision.call_at
    task.survey = decision.survey or task.survey
    task.dial_to = str(decision.dial_to) if decision.dial_to else task.dial_to
    task.phone_id = _phone_id(report, decision) or task.phone_id
    task.priority = cat.priority_tier(report_facts(report, 1), ctx.rules)
    if decision.due_at:
        task.due_at, task.expires_at = decision.due_at, decision.expires_at
    if status not in OPEN_TASK_STATUSES and task.ended_at is None:
        task.ended_at = now
        _file_task_ticket(session, report, task, decision, now, ctx)
    session.flush()
    if changed:
        session.add(DecisionRow(report_id=report.id, task_id=task.id, round=decision.round,
                                action=str(decision.action), reasons=reasons, call_at=decision.call_at,
                                decided_at=now))
    return task


def _file_task_ticket(session: Session, report: Report, task: CallbackTask, decision: Decision, now: datetime,
                      ctx: PlanContext) -> None:
    key = bool(cat.key_tags(report_facts(report, 1), ctx.rules))
    status = "unreachable" if R_MAX_ATTEMPTS in decision.reasons else task.status
    spec = ticket_for_task_end(status, key, list(decision.reasons))
    if spec is not None:
        open_ticket(session, report, spec, now, ctx.tickets)


def replan(session: Session, report: Report, now: datetime, ctx: PlanContext) -> tuple[Decision, ...]:
    """Write the decision of every round so far; the report is closed when the last one is final."""
    decisions = evaluate_rounds(session, report, now, ctx.rules)
    for decision in decisions:
        apply(session, report, decision, now, ctx)
    report.plan_state = "closed" if decisions[-1].action in TERMINAL_ACTIONS else "planned"
    return decisions


def _load_reports(session: Session, ids: list[int]) -> list[Report]:
    return list(session.scalars(select(Report).where(Report.id.in_(ids)).options(
        selectinload(Report.phone), selectinload(Report.guardian_phone), selectinload(Report.reporter))))


def plan_new(session: Session, now: datetime, ctx: PlanContext, limit: int = 1000) -> int:
    """Give every new report its first decision and task. Returns how many were planned."""
    ids = list(session.scalars(select(Report.id).where(Report.plan_state == "new").order_by(Report.id)
                               .limit(limit).with_for_update(skip_locked=True)))
    for report in _load_reports(session, ids):
        replan(session, report, now, ctx)
    return len(ids)


def revisit_waiting(session: Session, now: datetime, ctx: PlanContext, limit: int = 1000) -> int:
    """Planned reports with no open task (round 2 waiting for round 1's expiry) are looked at again."""
    open_task = select(CallbackTask.id).where(CallbackTask.report_id == Report.id,
                                              CallbackTask.status.in_(OPEN_TASK_STATUSES))
    ids = list(session.scalars(select(Report.id).where(Report.plan_state == "planned", ~open_task.exists())
                               .limit(limit)))
    for report in _load_reports(session, ids):
        replan(session, report, now, ctx)
    return len(ids)
