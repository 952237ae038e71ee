"""The scheduler's step: claim due calls, plan (and claim from) new reports, escalate SLAs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from callback_service.pipeline.context import StageContext
from callback_service.selection.claim import claim_due, pacing_budget
from callback_service.selection.planner import plan_new
from callback_service.tickets.service import escalate_overdue

log = logging.getLogger(__name__)
BATCH = 2000


@dataclass
class StepReport:
    planned: int = 0
    claimed: list[int] = field(default_factory=list)
    escalated: int = 0


def schedule_step(ctx: StageContext, now: datetime | None = None, claim_limit: int | None = None) -> StepReport:
    """Claim due tasks (priority order), then plan new reports and claim from them with what pacing
    leaves, then escalate overdue tickets. ``claim_limit`` replaces pacing.

    The work grows with what is due and new, not with the reports already planned."""
    now = now or ctx.clock()
    report = StepReport()
    with ctx.sessions() as session, session.begin():
        budget = pacing_budget(session, now, ctx.plan) if claim_limit is None else claim_limit
        report.claimed = claim_due(session, now, ctx.plan, limit=budget)
    while True:
        with ctx.sessions() as session, session.begin():
            result = plan_new(session, now, ctx.plan, limit=BATCH, claim=budget - len(report.claimed))
        report.planned += result.planned
        report.claimed += result.claimed
        if result.planned + result.held < BATCH:
            break
    with ctx.sessions() as session, session.begin():
        report.escalated = escalate_overdue(session, now)
    if report.planned or report.claimed or report.escalated:
        log.info("scheduler: planned %s, claimed %s, escalated %s", report.planned, len(report.claimed),
                 report.escalated)
    return report
