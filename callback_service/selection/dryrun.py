"""``callback-service plan``: what the planner would decide now, without changing anything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.db.models import Report
from callback_service.security.masking import mask_phone
from callback_service.selection.planner import evaluate_many
from callback_service.selection.ruleset import Rules

OPEN_PLAN_STATES = ("new", "planned")


def dry_run(session: Session, now: datetime, rules: Rules, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """One decision per open report, in report order. The caller's transaction is rolled back."""
    last_id = 0
    while True:
        ids = list(session.scalars(select(Report.id).where(Report.plan_state.in_(OPEN_PLAN_STATES),
                                                            Report.id > last_id)
                                   .order_by(Report.id).limit(batch)))
        if not ids:
            return
        for _, decisions in evaluate_many(session, ids, now, rules):
            for decision in decisions:
                out = decision.as_dict()
                out["phone"] = mask_phone(decision.phone) if decision.phone else None
                yield out
        last_id = ids[-1]
