"""The reconciler: rows stuck in an in-flight state past their lease are handed back.

A dial attempt is never simply redialled: the dialer is asked whether the call is still up. If the
call is gone (or the dialer cannot tell), the attempt is closed as ``failed``, keeping any answer
recordings already on disk, and the selection rules schedule a retry like any failed call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from callback_service.contracts import D_ANSWERED_PARTIAL, D_FAILED, RECORDING_PATH_TEMPLATE
from callback_service.db.models import CallAttempt, Recording
from callback_service.db.session import updated_rows
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.outcome import record_outcome
from callback_service.selection.planner import revisit_waiting
from callback_service.telephony.dialer import AnswerResult, CallResult

log = logging.getLogger(__name__)
REVISIT_BATCH = 2000


@dataclass
class ReconcileReport:
    attempts_closed: int = 0
    attempts_extended: int = 0
    recordings_released: int = 0
    reports_revisited: int = 0

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def _recovered_answers(ctx: StageContext, attempt_id: int) -> list[AnswerResult]:
    directory = ctx.recordings_root / RECORDING_PATH_TEMPLATE.format(attempt_id=attempt_id, question_id="x").rsplit(
        "/", 1)[0]
    if not directory.is_dir():
        return []
    return [AnswerResult(question_id=p.stem, recording_path=p) for p in sorted(directory.glob("*.wav"))
            if p.name != "call.wav" and p.stat().st_size > 44]


def _close_lost_attempt(ctx: StageContext, attempt_id: int, now: datetime) -> None:
    answers = _recovered_answers(ctx, attempt_id)
    disposition = D_ANSWERED_PARTIAL if answers else D_FAILED
    result = CallResult(attempt_id, disposition, answers=answers, ended_at=now,
                        detail="worker lost during the call; closed by the reconciler")
    record_outcome(ctx, attempt_id, result)


def reconcile(ctx: StageContext) -> ReconcileReport:
    now, report = ctx.clock(), ReconcileReport()
    with ctx.sessions() as session:
        stuck = list(session.scalars(select(CallAttempt.id).where(
            CallAttempt.state == "dialing", CallAttempt.lease_until < now)))
    for attempt_id in stuck:
        status = ctx.dialer.call_status(attempt_id) if ctx.dialer is not None else None
        if status == "active":
            with ctx.sessions() as session, session.begin():
                session.execute(update(CallAttempt).where(CallAttempt.id == attempt_id)
                                .values(lease_until=now + ctx.plan.lease))
            report.attempts_extended += 1
            continue
        log.warning("attempt %s stuck in dialing past its lease (dialer says %s): closing", attempt_id, status)
        _close_lost_attempt(ctx, attempt_id, now)
        report.attempts_closed += 1
    with ctx.sessions() as session, session.begin():
        report.recordings_released = updated_rows(
            session, update(Recording).where(Recording.state == "transcribing", Recording.lease_until < now)
            .values(state="pending", lease_until=None))
    # A planned report always has an open task; one that lost it (a repair by hand, an old bug) is
    # planned again here rather than forgotten. This scans planned reports, so it is not in the tick.
    with ctx.sessions() as session, session.begin():
        report.reports_revisited = revisit_waiting(session, now, ctx.plan, limit=REVISIT_BATCH).planned
    return report
