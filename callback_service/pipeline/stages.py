"""Stage functions: each takes one id, is idempotent (the row's state decides whether there is
anything to do) and records its errors on the row. Both runners call exactly these.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from callback_service.db.models import CallAttempt, Phone, Recording
from callback_service.db.session import updated_rows, with_retry
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.outcome import record_outcome
from callback_service.pipeline.scoring import score_one, tickets_for
from callback_service.pipeline.transcribe import (
    TranscribeOutcome,
    run_transcriber,
    run_transcriber_many,
    store_transcript,
)
from callback_service.telephony.dialer import CallRequest, CallResult, DialerError

log = logging.getLogger(__name__)


def _start_dialing(ctx: StageContext, attempt_id: int) -> CallRequest | None:
    """created -> dialing, committed before the dialer is asked, so a crash leaves a visible row."""
    now = ctx.clock()
    with ctx.sessions() as session, session.begin():
        won = updated_rows(session, update(CallAttempt).where(CallAttempt.id == attempt_id,
                                                        CallAttempt.state == "created")
                              .values(state="dialing", lease_until=now + ctx.plan.lease))
        if won != 1:
            return None
        attempt = session.get(CallAttempt, attempt_id)
        assert attempt is not None
        phone = session.get(Phone, attempt.phone_id) if attempt.phone_id else None
        survey = ctx.surveys.get(attempt.survey)
        if phone is None or not phone.e164 or survey is None:
            attempt.state, attempt.disposition = "ended", "failed"
            attempt.last_error = "no dialable number" if survey else f"unknown survey {attempt.survey!r}"
            return None
        return CallRequest(attempt_id=attempt_id, phone_e164=phone.e164, survey=survey,
                           recordings_dir=ctx.recordings_root, caller_id=ctx.caller_id,
                           timeout_s=ctx.ring_timeout_s)


def dial_attempt(ctx: StageContext, attempt_id: int) -> str | None:
    """Place the call for one committed attempt and record its outcome. Returns the disposition."""
    if ctx.dialer is None:
        raise RuntimeError("no dialer configured for the dial stage")
    request = _start_dialing(ctx, attempt_id)
    if request is None:
        return None
    try:
        result = ctx.dialer.call(request)
    except (DialerError, OSError) as exc:
        # The call may or may not have happened (an OSError: a recording could not be written, e.g. a
        # full disk); it is recorded as failed with the reason on the row and retried by the rules,
        # never redialled here.
        log.warning("dial attempt %s failed: %s", attempt_id, exc)
        result = CallResult(attempt_id, "failed", started_at=ctx.clock(), ended_at=ctx.clock(),
                            detail=str(exc) if isinstance(exc, DialerError) else f"recording: {exc}")
    # The call is over: a dropped database connection must not lose its outcome (idempotent retry).
    with_retry(lambda: record_outcome(ctx, attempt_id, result))
    return result.disposition


def _claim_recording(session: Session, ctx: StageContext, recording_id: int) -> Recording | None:
    now = ctx.clock()
    won = updated_rows(session, update(Recording).where(
        Recording.id == recording_id, Recording.state == "pending",
        (Recording.next_try_at.is_(None)) | (Recording.next_try_at <= now))
        .values(state="transcribing", lease_until=now + ctx.plan.lease, tries=Recording.tries + 1))
    return session.get(Recording, recording_id) if won == 1 else None


def transcribe_recording(ctx: StageContext, recording_id: int) -> str | None:
    """pending -> transcribing -> done | rejected | pending (transient error, retried later)."""
    with ctx.sessions() as session, session.begin():
        rec = _claim_recording(session, ctx, recording_id)
        if rec is None:
            return None
        path, tries = ctx.recordings_root / rec.path, rec.tries
    outcome = run_transcriber(ctx, path)

    def store() -> str | None:
        with ctx.sessions() as session, session.begin():
            return store_transcript(session, ctx, recording_id, outcome, tries)
    return with_retry(store)   # the model's work is not thrown away for a dropped connection


def transcribe_recordings(ctx: StageContext, recording_ids: list[int]) -> dict[int, str | None]:
    """``transcribe_recording`` for several ids with one model call; ids another worker holds are
    skipped. Returns the new state of each recording this call claimed."""
    claimed: list[tuple[int, Path, int]] = []
    with ctx.sessions() as session, session.begin():
        for recording_id in dict.fromkeys(recording_ids):
            rec = _claim_recording(session, ctx, recording_id)
            if rec is not None:
                claimed.append((recording_id, ctx.recordings_root / rec.path, rec.tries))
    if not claimed:
        return {}
    outcomes = run_transcriber_many(ctx, [path for _, path, _ in claimed])
    return {rid: with_retry(partial(_store, ctx, rid, outcome, tries))
            for (rid, _, tries), outcome in zip(claimed, outcomes)}


def _store(ctx: StageContext, recording_id: int, outcome: TranscribeOutcome, tries: int) -> str | None:
    with ctx.sessions() as session, session.begin():
        return store_transcript(session, ctx, recording_id, outcome, tries)


def score_attempt(ctx: StageContext, attempt_id: int) -> str | None:
    with ctx.sessions() as session, session.begin():
        return score_one(session, ctx, attempt_id)


def evaluate_tickets(ctx: StageContext, score_id: int) -> int:
    with ctx.sessions() as session, session.begin():
        return tickets_for(session, ctx, score_id)
