"""The scheduler's step: plan new reports, revisit waiting ones, claim due calls, escalate SLAs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from callback_service.pipeline.context import StageContext
from callback_service.selection.claim import claim_due
from callback_service.selection.planner import plan_new, revisit_waiting
from callback_service.tickets.service import escalate_overdue

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class StepReport:
    planned: int = 0
    revisited: int = 0
    claimed: list[int] = field(default_factory=list)
    escalated: int = 0


def schedule_step(ctx: StageContext, now: datetime | None = None, claim_limit: int | None = None) -> StepReport:
    now = now or ctx.clock()
    report = StepReport()
    while True:
        with ctx.sessions() as session, session.begin():
            n = plan_new(session, now, ctx.plan, limit=BATCH)
        report.planned += n
        if n < BATCH:
            break
    with ctx.sessions() as session, session.begin():
        report.revisited = revisit_waiting(session, now, ctx.plan, limit=BATCH)
    with ctx.sessions() as session, session.begin():
        report.claimed = claim_due(session, now, ctx.plan, limit=claim_limit)
    with ctx.sessions() as session, session.begin():
        report.escalated = escalate_overdue(session, now)
    if report.planned or report.claimed or report.escalated:
        log.info("scheduler: planned %s, claimed %s, escalated %s", report.planned, len(report.claimed),
                 report.escalated)
    return report
