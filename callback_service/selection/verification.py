"""After a verification call ends: done when answered, retried in a window, unreachable at the cap."""

from __future__ import annotations

from datetime import datetime

from callback_service.contracts import D_ANSWERED_COMPLETE, D_ANSWERED_PARTIAL
from callback_service.db.models import CallbackTask
from callback_service.selection.retry import next_retry_at
from callback_service.selection.ruleset import Rules


def after_verification_call(task: CallbackTask, disposition: str, ended: datetime, rules: Rules) -> None:
    if disposition in (D_ANSWERED_COMPLETE, D_ANSWERED_PARTIAL):
        task.status, task.reached, task.ended_at, task.reasons = "done", True, ended, ["reached"]
        return
    retry_at = next_retry_at(disposition, ended, rules)
    if retry_at is None or task.attempts >= rules.retry.max_attempts:
        task.status, task.ended_at, task.reasons = "unreachable", ended, ["max_attempts", disposition]
        return
    task.status, task.call_at, task.reasons = "pending", retry_at, ["retry", disposition]
