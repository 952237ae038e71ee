"""The planner: applies ``decide`` to batches of reports, writes tasks back, and claims due calls.

A report's tasks (one per round, keyed ``r1:<id>``/``r2:<id>``) are the database image of the latest
decision. ``plan_reports`` loads a batch's inputs set-based (``facts``), decides each report in
order, and writes every task, decision and claim of the batch in a few bulk statements
(``writeback``). Claiming turns a due task into ``claimed`` and commits a ``call_attempts`` row in
the same transaction, before any dialer sees it. On PostgreSQL the batch's target phone rows are
locked ``FOR UPDATE SKIP LOCKED`` before their calls of the day are read, so two schedulers can
never call one number twice; a report whose number another scheduler holds waits for the next pass.
On SQLite every write transaction begins ``IMMEDIATE`` and so runs alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.db.bulk import among
from callback_service.db.models import CallbackTask, Phone, Report
from callback_service.selection import categories as cat
from callback_service.selection.facts import Inputs, add_call, load_inputs, phone_days
from callback_service.selection.model import TERMINAL_ACTIONS, Action, Decision, PhoneCall
from callback_service.selection.rules import decide_rounds
from callback_service.selection.ruleset import Rules
from callback_service.selection.writeback import OPEN_TASK_STATUSES, Writeback
from callback_service.tickets.service import TicketPolicy

log = logging.getLogger(__name__)
__all__ = ["OPEN_TASK_STATUSES", "PlanContext", "PlanResult", "plan_new", "plan_reports", "replan",
           "revisit_waiting"]


@dataclass(frozen=True)
class PlanContext:
    rules: Rules
    tickets: TicketPolicy
    worker: str = "scheduler"
    dialer: str = "simulated"
    lease: timedelta = timedelta(minutes=10)


@dataclass
class PlanResult:
    decisions: dict[int, tuple[Decision, ...]] = field(default_factory=dict)  # by report id
    claimed: list[int] = field(default_factory=list)  # new attempt ids, in claim order
    held: int = 0  # reports left for the next pass: another scheduler holds their number

    @property
    def planned(self) -> int:
        return len(self.decisions)

    def extend(self, other: PlanResult) -> None:
        self.decisions.update(other.decisions)
        self.claimed += other.claimed
        self.held += other.held


def evaluate_many(session: Session, report_ids: Sequence[int], now: datetime,
                  rules: Rules) -> list[tuple[Inputs, tuple[Decision, ...]]]:
    """What ``plan_reports`` would decide for each report, writing nothing (the dry run)."""
    items = load_inputs(session, report_ids, rules)
    days = phone_days(session, (p for i in items if (p := i.target_phone_id(rules))), now, rules)
    return [(i, decide_rounds(i.facts, i.history, days.get(i.target_phone_id(rules) or 0), now, rules))
            for i in items]


def plan_reports(session: Session, report_ids: Sequence[int], now: datetime, ctx: PlanContext,
                 claim: int = 0, prioritise: bool = False) -> PlanResult:
    """Decide and write back every round of each report; claim up to ``claim`` due calls.

    Reports are decided in the given order (``prioritise``: by ``categories.priority_key``), and a
    claim is visible to the later reports of the batch, so one number gets one call.
    """
    rules, result = ctx.rules, PlanResult()
    items = load_inputs(session, report_ids, rules)
    if prioritise:
        items.sort(key=lambda i: cat.priority_key(i.facts, rules))
    targets = {i.report_id: i.target_phone_id(rules) for i in items}
    if claim > 0:
        held = _lock_phones(session, {p for p in targets.values() if p is not None})
        result.held = sum(1 for p in targets.values() if p in held)
        items = [i for i in items if targets[i.report_id] not in held]
    days = phone_days(session, (p for p in targets.values() if p is not None), now, rules)
    out = Writeback(session, now, ctx)
    for item in items:
        day = days.get(targets[item.report_id] or 0)
        decisions = decide_rounds(item.facts, item.history, day, now, rules)
        last = decisions[-1]
        task = item.tasks.get(last.round)
        take = (last.action is Action.CALL and out.claims < claim
                and (task is None or task.status == "pending"))
        for decision in decisions:
            out.write(item, decision, claim=take and decision is last)
        if take and day is not None:
            add_call(day, PhoneCall(item.facts.report_no, last.round, now, in_flight=True))
        out.plan_state(item, "closed" if last.action in TERMINAL_ACTIONS else "planned")
        result.decisions[item.report_id] = decisions
    result.claimed = out.flush()
    return result


def _lock_phones(session: Session, phone_ids: set[int]) -> set[int]:
    """Lock the numbers about to be called; returns those another transaction holds (PostgreSQL)."""
    if not phone_ids or session.get_bind().dialect.name != "postgresql":
        return set()
    got = set(session.scalars(select(Phone.id).where(among(session, Phone.id, sorted(phone_ids))).order_by(Phone.id)
                              .with_for_update(skip_locked=True)))
    return phone_ids - got


def replan(session: Session, report: Report, now: datetime, ctx: PlanContext) -> tuple[Decision, ...]:
    """Re-decide one report after a call (no claim: the next scheduler pass claims what is due)."""
    session.flush()
    decisions = plan_reports(session, [report.id], now, ctx).decisions[report.id]
    session.expire(report)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, CallbackTask) and obj.report_id == report.id:
            session.expire(obj)
    return decisions


def plan_new(session: Session, now: datetime, ctx: PlanContext, limit: int = 1000, claim: int = 0) -> PlanResult:
    """Give new reports (oldest first) their first decisions and tasks, claiming up to ``claim`` calls."""
    ids = list(session.scalars(select(Report.id).where(Report.plan_state == "new")
                               .order_by(Report.received_at, Report.id)
                               .limit(limit).with_for_update(skip_locked=True)))
    return plan_reports(session, ids, now, ctx, claim=claim, prioritise=True)


def revisit_waiting(session: Session, now: datetime, ctx: PlanContext, limit: int = 1000,
                    claim: int = 0) -> PlanResult:
    """Planned reports with no open task (round 2 waiting for round 1's expiry) are looked at again."""
    open_task = select(CallbackTask.id).where(CallbackTask.report_id == Report.id,
                                              CallbackTask.status.in_(OPEN_TASK_STATUSES))
    ids = list(session.scalars(select(Report.id).where(Report.plan_state == "planned", ~open_task.exists())
                               .order_by(Report.id).limit(limit).with_for_update(skip_locked=True)))
    return plan_reports(session, ids, now, ctx, claim=claim, prioritise=True)
