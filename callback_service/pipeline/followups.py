"""What became ready for the next stage once a stage has committed: the runners' "on ready" step.

The stage functions stay backend-neutral; a runner asks here, after the stage returned, which ids
to hand on. A lost hand-on is harmless: the sweep finds the same rows through ``work.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.db.models import CallAttempt, Recording, Score
from callback_service.pipeline import stages, work
from callback_service.pipeline.context import StageContext

Ready = list[tuple[str, list[int]]]
# Recordings transcribed together: Whisper packs short answers into shared 30 s windows.
TRANSCRIBE_BATCH = 32

STAGE_FUNCTIONS: dict[str, Callable[[StageContext, int], object]] = {
    "dial": stages.dial_attempt,
    "transcribe": stages.transcribe_recording,
    "score": stages.score_attempt,
    "tickets": stages.evaluate_tickets,
}


def _score_if_ready(session: Session, attempt_id: int) -> Ready:
    state = session.scalar(select(CallAttempt.score_state).where(CallAttempt.id == attempt_id))
    return [("score", [attempt_id])] if state == "pending" else []


def after_dial(session: Session, attempt_id: int) -> Ready:
    pending = list(session.scalars(select(Recording.id).where(
        Recording.attempt_id == attempt_id, Recording.kind == "answer", Recording.state == "pending",
        Recording.next_try_at.is_(None)).order_by(Recording.id)))
    return ([("transcribe", pending)] if pending else []) + _score_if_ready(session, attempt_id)


def after_transcribe(session: Session, recording_id: int) -> Ready:
    attempt_id = session.scalar(select(Recording.attempt_id).where(Recording.id == recording_id))
    return _score_if_ready(session, attempt_id) if attempt_id is not None else []


def after_score(session: Session, attempt_id: int) -> Ready:
    score_id = session.scalar(select(Score.id).where(Score.attempt_id == attempt_id,
                                                     Score.ticket_state == "pending"))
    return [("tickets", [score_id])] if score_id is not None else []


_AFTER: dict[str, Callable[[Session, int], Ready]] = {
    "dial": after_dial, "transcribe": after_transcribe, "score": after_score,
}


def run_stage(ctx: StageContext, stage: str, item_id: int) -> list[int]:
    """Run one stage on one id; returns the ids it worked on. Transcription takes other waiting
    recordings along into one model call (a redelivered message for them is then a no-op)."""
    if stage != "transcribe":
        STAGE_FUNCTIONS[stage](ctx, item_id)
        return [item_id]
    with ctx.sessions() as session:
        waiting = work.recordings_to_transcribe(session, ctx.clock(), TRANSCRIBE_BATCH)
    company = [r for r in waiting if r != item_id][:TRANSCRIBE_BATCH - 1]
    return list(stages.transcribe_recordings(ctx, [item_id, *company]))


def ready_after(ctx: StageContext, stage: str, item_ids: list[int]) -> Ready:
    after = _AFTER.get(stage)
    if after is None or not item_ids:
        return []
    merged: dict[str, list[int]] = {}
    with ctx.sessions() as session:
        for item_id in item_ids:
            for next_stage, ids in after(session, item_id):
                merged.setdefault(next_stage, []).extend(i for i in ids if i not in merged.get(next_stage, []))
    return list(merged.items())


def all_ready(ctx: StageContext, limit: int = 500) -> Ready:
    """Every stage's ready ids, as the sweep and the in-process dispatcher see them."""
    now = ctx.clock()
    with ctx.sessions() as session:
        return [
            ("dial", work.attempts_to_dial(session, limit)),
            ("transcribe", work.recordings_to_transcribe(session, now, limit)),
            ("score", work.attempts_to_score(session, limit)),
            ("tickets", work.scores_to_ticket(session, limit)),
        ]
