"""Write a batch of decisions back: tasks, decision rows, claims and attempts in a few bulk statements.

Nothing is written onto a claimed task (the running call's outcome decides what comes next), and
a decision row is added only when it changes the task's status, reasons or call time, so replanning
an unchanged report leaves no trace. Claims of existing tasks are conditional (``status =
'pending'``) and only the rows the UPDATE returns get an attempt: a lost race never makes a call.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from callback_service.contracts import R_MAX_ATTEMPTS
from callback_service.db.bulk import among, insert_rows
from callback_service.db.models import CallAttempt, CallbackTask, Report
from callback_service.db.models import Decision as DecisionRow
from callback_service.selection import categories as cat
from callback_service.selection.facts import Inputs, TaskRow
from callback_service.selection.model import Action, Decision, DialTo
from callback_service.tickets.rules import ticket_for_task_end
from callback_service.tickets.service import open_ticket

if TYPE_CHECKING:
    from callback_service.selection.planner import PlanContext

log = logging.getLogger(__name__)
TASK_STATUS = {Action.CALL: "pending", Action.DEFER: "pending", Action.SKIP: "skipped",
               Action.MANUAL: "manual", Action.UNREACHABLE: "unreachable", Action.DONE: "done"}
OPEN_TASK_STATUSES = ("pending", "claimed")
# The task columns a decision owns (the rest belong to the claim, the dialer and the outcome).
DECIDED = ("status", "reasons", "call_at", "survey", "dial_to", "phone_id", "priority", "due_at", "expires_at",
           "ended_at")
_TASKS, _REPORTS = cast(Table, CallbackTask.__table__), cast(Table, Report.__table__)
_ATTEMPTS, _DECISIONS = cast(Table, CallAttempt.__table__), cast(Table, DecisionRow.__table__)
_UPDATE_TASK = (update(_TASKS).where(_TASKS.c.id == bindparam("b_id"), _TASKS.c.status != "claimed")
                .values({c: bindparam(f"b_{c}") for c in (*DECIDED, "updated_at")}))


@dataclass
class _Write:
    item: Inputs
    decision: Decision
    key: str
    values: dict[str, Any]
    task: TaskRow | None  # None: a new task
    dirty: bool  # some decided column differs from the stored task
    changed: bool  # status, reasons or call time differ: worth a decision row
    claim: bool
    ticket: bool


class Writeback:
    def __init__(self, session: Session, now: datetime, ctx: PlanContext) -> None:
        self.session, self.now, self.ctx = session, now, ctx
        self.writes: list[_Write] = []
        self.states: dict[str, list[int]] = defaultdict(list)
        self.claims = 0

    def write(self, item: Inputs, decision: Decision, claim: bool = False) -> None:
        task = item.tasks.get(decision.round)
        if task is not None and task.status == "claimed":
            return
        status, reasons = TASK_STATUS[decision.action], list(decision.reasons)
        values: dict[str, Any] = {
            "status": status, "reasons": reasons, "call_at": decision.call_at,
            "survey": decision.survey or (task.survey if task else ""),
            "dial_to": str(decision.dial_to) if decision.dial_to else (task.dial_to if task else None),
            "phone_id": _phone_id(item, decision) or (task.phone_id if task else None),
            "priority": cat.priority_tier(item.facts, self.ctx.rules),
            "due_at": decision.due_at or (task.due_at if task else item.facts.received_at),
            "expires_at": decision.expires_at if decision.due_at or task is None else task.expires_at,
            "ended_at": task.ended_at if task else None,
        }
        ends = status not in OPEN_TASK_STATUSES and values["ended_at"] is None
        if ends:
            values["ended_at"] = self.now
        changed = task is None or (task.status, task.reasons, task.call_at) != (status, reasons, decision.call_at)
        dirty = task is None or changed or any(getattr(task, c) != values[c] for c in DECIDED)
        self.claims += claim
        self.writes.append(_Write(item, decision, f"r{decision.round}:{item.report_id}", values, task,
                                  dirty, changed, claim, ends))

    def plan_state(self, item: Inputs, state: str) -> None:
        if item.plan_state != state:
            self.states[state].append(item.report_id)

    def flush(self) -> list[int]:
        """Write everything; returns the new attempt ids in claim order."""
        ids = self._insert_tasks()
        self._update_tasks()
        attempt_nos = self._claim_existing() | {w.key: 1 for w in self.writes if w.claim and w.task is None}
        claimed = self._insert_attempts(ids, attempt_nos)
        self._insert_decisions(ids)
        for state, report_ids in self.states.items():
            self.session.execute(update(_REPORTS).where(among(self.session, _REPORTS.c.id, report_ids))
                                 .values(plan_state=state))
        self._file_tickets()
        return claimed

    def _insert_tasks(self) -> dict[str, int]:
        ids = {w.key: w.task.id for w in self.writes if w.task is not None}
        new = [w for w in self.writes if w.task is None]
        if not new:
            return ids
        wall = datetime.now(UTC)
        rows = [{**w.values, "report_id": w.item.report_id, "round": w.decision.round, "dedupe_key": w.key,
                 "attempts": 1 if w.claim else 0, "max_attempts": self.ctx.rules.retry.max_attempts,
                 "reached": False, "created_at": wall, "updated_at": wall, **self._claim_values(w.claim)}
                for w in new]
        ids.update(zip((w.key for w in new), insert_rows(self.session, _TASKS, rows), strict=True))
        return ids

    def _claim_values(self, claim: bool) -> dict[str, Any]:
        if not claim:  # executemany rows must all carry the same columns
            return {"claimed_by": None, "lease_until": None}
        return {"status": "claimed", "claimed_by": self.ctx.worker, "lease_until": self.now + self.ctx.lease}

    def _update_tasks(self) -> None:
        wall = datetime.now(UTC)
        rows = [{"b_id": w.task.id, "b_updated_at": wall, **{f"b_{c}": w.values[c] for c in DECIDED}}
                for w in self.writes if w.task is not None and w.dirty]
        if rows:
            self.session.execute(_UPDATE_TASK, rows)

    def _claim_existing(self) -> dict[str, int]:
        """Conditionally claim the pending tasks picked for a call; returns key -> new attempt number."""
        wanted = {w.task.id: w.key for w in self.writes if w.claim and w.task is not None}
        if not wanted:
            return {}
        stmt = (update(_TASKS).where(among(self.session, _TASKS.c.id, list(wanted)), _TASKS.c.status == "pending")
                .values(status="claimed", claimed_by=self.ctx.worker, lease_until=self.now + self.ctx.lease,
                        attempts=_TASKS.c.attempts + 1, updated_at=datetime.now(UTC))
                .returning(_TASKS.c.id, _TASKS.c.attempts))
        won = {wanted[tid]: n for tid, n in self.session.execute(stmt)}
        for tid, key in wanted.items():
            if key not in won:
                log.info("task %s was claimed by another scheduler", tid)
        return won

    def _insert_attempts(self, ids: dict[str, int], attempt_nos: dict[str, int]) -> list[int]:
        rows = [{"task_id": ids[w.key], "attempt_no": attempt_nos[w.key], "phone_id": w.values["phone_id"],
                 "dialer": self.ctx.dialer, "survey": w.values["survey"], "state": "created",
                 "started_at": self.now, "lease_until": self.now + self.ctx.lease, "worker": self.ctx.worker,
                 "score_state": "none", "qc_sampled": False}
                for w in self.writes if w.claim and w.key in attempt_nos]
        if not rows:
            return []
        return insert_rows(self.session, _ATTEMPTS, rows)

    def _insert_decisions(self, ids: dict[str, int]) -> None:
        rows = [{"report_id": w.item.report_id, "task_id": ids[w.key], "round": w.decision.round,
                 "action": str(w.decision.action), "reasons": w.values["reasons"],
                 "call_at": w.decision.call_at, "decided_at": self.now}
                for w in self.writes if w.changed]
        if rows:
            insert_rows(self.session, _DECISIONS, rows)

    def _file_tickets(self) -> None:
        """A round that ends without a call (unsafe, no number, key category unreachable) files a ticket."""
        for w in self.writes:
            if not w.ticket:
                continue
            key = bool(cat.key_tags(w.item.facts, self.ctx.rules))
            status = "unreachable" if R_MAX_ATTEMPTS in w.decision.reasons else w.values["status"]
            spec = ticket_for_task_end(status, key, list(w.decision.reasons))
            if spec is not None:
                report = self.session.get(Report, w.item.report_id)
                assert report is not None
                open_ticket(self.session, report, spec, self.now, self.ctx.tickets)


def _phone_id(item: Inputs, decision: Decision) -> int | None:
    if decision.dial_to is DialTo.GUARDIAN:
        return item.guardian_phone_id
    return item.phone_id if decision.dial_to else None
