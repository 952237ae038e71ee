"""The transcription stage's two halves: run the model outside any transaction, then store."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callback_service.db.models import CallAttempt, Recording, Transcript
from callback_service.pipeline.context import StageContext
from callback_service.security.at_rest import AtRestError, plaintext
from callback_service.transcription.base import AudioError, TranscriptionError

log = logging.getLogger(__name__)


@dataclass
class TranscribeOutcome:
    result: Any = None          # TranscriptResult
    error: str | None = None
    transient: bool = False
    seconds: float = 0.0


def run_transcriber(ctx: StageContext, path: Path) -> TranscribeOutcome:
    started = time.perf_counter()
    try:
        with plaintext(path, ctx.recording_key) as audio:   # a private decrypted copy if encrypted
            result = ctx.transcriber.transcribe(audio)
    except AtRestError as exc:
        return TranscribeOutcome(error=str(exc), transient=False)
    except AudioError as exc:
        return TranscribeOutcome(error=str(exc), transient=False)
    except TranscriptionError as exc:
        return TranscribeOutcome(error=str(exc), transient=exc.transient)
    except Exception as exc:  # an unexpected model failure must not kill the worker
        log.exception("transcriber crashed on %s", path.name)
        return TranscribeOutcome(error=f"{exc.__class__.__name__}: {exc}", transient=True)
    return TranscribeOutcome(result=result, seconds=time.perf_counter() - started)


def run_transcriber_many(ctx: StageContext, paths: list[Path]) -> list[TranscribeOutcome]:
    """One model call for several recordings: Whisper packs short answers into shared windows, several
    times faster than one call each. A bad file fails alone; a model failure fails the batch."""
    started = time.perf_counter()
    try:
        with ExitStack() as stack:
            audio = [stack.enter_context(plaintext(p, ctx.recording_key)) for p in paths]
            results = ctx.transcriber.transcribe_many(audio)
    except (AtRestError, AudioError) as exc:
        if len(paths) == 1:
            return [TranscribeOutcome(error=str(exc), transient=False)]
        return [outcome for p in paths for outcome in run_transcriber_many(ctx, [p])]  # find the bad file
    except TranscriptionError as exc:
        return [TranscribeOutcome(error=str(exc), transient=exc.transient) for _ in paths]
    except Exception as exc:  # an unexpected model failure must not kill the worker
        log.exception("transcriber crashed on a batch of %s recordings", len(paths))
        return [TranscribeOutcome(error=f"{exc.__class__.__name__}: {exc}", transient=True) for _ in paths]
    seconds = time.perf_counter() - started
    audio_s = sum(r.duration or 0.0 for r in results if r.error is None) or 1.0
    return [TranscribeOutcome(error=r.error, transient=False) if r.error is not None
            else TranscribeOutcome(result=r, seconds=seconds * (r.duration or 0.0) / audio_s) for r in results]


def store_transcript(session: Session, ctx: StageContext, recording_id: int, outcome: TranscribeOutcome,
                     tries: int) -> str | None:
    rec = session.scalar(select(Recording).where(Recording.id == recording_id).with_for_update())
    if rec is None or rec.state != "transcribing":
        return None  # the reconciler handed it to another worker meanwhile
    rec.lease_until = None
    if outcome.result is not None:
        _insert_transcript(session, ctx, rec, outcome)
        rec.state, rec.last_error = "done", None
    elif not outcome.transient:
        rec.state, rec.last_error = "rejected", outcome.error
    elif tries >= ctx.max_transcribe_tries:
        rec.state, rec.last_error = "failed", outcome.error
    else:
        rec.state, rec.last_error = "pending", outcome.error
        rec.next_try_at = ctx.clock() + timedelta(seconds=30 * 2 ** tries)
    if rec.state != "pending":
        mark_ready_for_scoring(session, rec.attempt_id)
    return rec.state


def _insert_transcript(session: Session, ctx: StageContext, rec: Recording, outcome: TranscribeOutcome) -> None:
    if session.scalar(select(Transcript.id).where(Transcript.recording_id == rec.id)) is not None:
        return
    r = outcome.result
    duration = r.duration or 0.0
    session.add(Transcript(
        recording_id=rec.id, text=r.text, confidence=r.confidence, language_prob=r.language_probability,
        segments=[{"start": s.start, "end": s.end, "text": s.text, "confidence": s.confidence} for s in r.segments],
        duration_s=duration, needs_review=r.needs_review, model=f"{r.model_name}@{r.model_version}"[:128],
        rtf=(outcome.seconds / duration) if duration else None))
    rec.duration_s = rec.duration_s or duration
    ctx.emit("transcribed", seconds=outcome.seconds, duration=duration)


def mark_ready_for_scoring(session: Session, attempt_id: int) -> None:
    """An attempt is scored once none of its answer recordings is still waiting for a transcript."""
    waiting = session.scalar(select(func.count()).select_from(Recording).where(
        Recording.attempt_id == attempt_id, Recording.kind == "answer",
        Recording.state.in_(("pending", "transcribing"))))
    if not waiting:
        attempt = session.get(CallAttempt, attempt_id)
        if attempt is not None and attempt.score_state == "waiting":
            attempt.score_state = "pending"
