"""Record a finished call exactly once: attempt, answers, recordings, then the task's next step."""

from __future__ import annotations

import logging
import random
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.contracts import ANSWERED_DISPOSITIONS, CALL_RECORDING_NAME, D_DECLINED_UNSAFE
from callback_service.db.models import Answer, CallAttempt, CallbackTask, Recording, Report
from callback_service.pipeline.context import StageContext
from callback_service.security.at_rest import AtRestError, seal
from callback_service.selection.planner import replan
from callback_service.selection.verification import after_verification_call
from callback_service.telephony.dialer import AnswerResult, CallResult

log = logging.getLogger(__name__)


class RecordingPathError(ValueError):
    """A dialer reported a recording outside the recordings root."""


def relative_recording_path(root: Path, path: Path) -> str:
    try:
        resolved, base = path.resolve(), root.resolve()
    except (OSError, ValueError, RuntimeError) as exc:   # a NUL byte, a symlink loop
        raise RecordingPathError(f"recording {path.name!r} has an unusable path: {exc}") from None
    if not resolved.is_relative_to(base):
        raise RecordingPathError(f"recording {path.name} is outside the recordings directory")
    return resolved.relative_to(base).as_posix()


def _recording(ctx: StageContext, attempt: CallAttempt, qid: str, kind: str, path: Path) -> Recording:
    state = "pending" if kind == "answer" else "stored"
    rec = Recording(attempt_id=attempt.id, question_id=qid, kind=kind, state=state)
    try:
        rec.path = relative_recording_path(ctx.recordings_root, path)
    except RecordingPathError as exc:
        rec.path, rec.state, rec.last_error = path.name, "rejected", str(exc)
        return rec
    try:
        sealed = seal(ctx.recordings_root / rec.path, ctx.recording_key)   # encrypts when a key is set
    except AtRestError as exc:
        rec.state, rec.last_error = "failed", str(exc)
        return rec
    rec.size_bytes, rec.sha256, rec.encrypted = sealed.size_bytes, sealed.sha256, sealed.encrypted
    if rec.size_bytes is None:
        rec.state, rec.last_error = "failed", "recording file missing"
    return rec


def _store_answer(session: Session, ctx: StageContext, attempt: CallAttempt, ans: AnswerResult) -> None:
    survey = ctx.surveys.get(attempt.survey)
    value = None
    if ans.dtmf and survey is not None:
        try:
            value = survey.question(ans.question_id).dtmf_map.get(ans.dtmf)
        except KeyError:
            value = None
    rec = None
    if ans.recording_path is not None:
        rec = _recording(ctx, attempt, ans.question_id, "answer", ans.recording_path)
        rec.duration_s = ans.duration_s
        session.add(rec)
        session.flush()
    session.add(Answer(attempt_id=attempt.id, question_id=ans.question_id, dtmf=ans.dtmf, value=value,
                       recording_id=rec.id if rec else None))


def record_outcome(ctx: StageContext, attempt_id: int, result: CallResult) -> bool:
    """Returns False when the outcome had already been recorded (at-least-once delivery is safe)."""
    now = ctx.clock()
    with ctx.sessions() as session, session.begin():
        attempt = session.scalar(select(CallAttempt).where(CallAttempt.id == attempt_id).with_for_update())
        if attempt is None or attempt.state == "ended":
            return False
        _fill_attempt(session, ctx, attempt, result, now)
        _advance_task(session, ctx, attempt, now)
    ctx.emit("call_outcome", disposition=result.disposition, dialer=attempt.dialer)
    return True


def _fill_attempt(session: Session, ctx: StageContext, attempt: CallAttempt, result: CallResult,
                  now: datetime) -> None:
    attempt.state, attempt.disposition = "ended", result.disposition
    attempt.answered_at, attempt.ended_at = result.answered_at, result.ended_at or now
    attempt.hangup_cause, attempt.lease_until = result.hangup_cause, None
    attempt.last_error = result.detail if result.disposition == "failed" else None
    seen: set[str] = set()
    for ans in result.answers:
        if ans.question_id not in seen:  # a dialer re-reporting a question must not break the row
            seen.add(ans.question_id)
            _store_answer(session, ctx, attempt, ans)
    if result.call_recording is not None:
        session.add(_recording(ctx, attempt, CALL_RECORDING_NAME, "call", result.call_recording))
    session.flush()
    answered = result.disposition in ANSWERED_DISPOSITIONS and result.disposition != D_DECLINED_UNSAFE
    if answered:
        pending = [r for r in attempt.recordings if r.kind == "answer" and r.state == "pending"]
        attempt.score_state = "waiting" if pending else "pending"
        attempt.qc_sampled = random.random() < ctx.qc_sample_rate


def _advance_task(session: Session, ctx: StageContext, attempt: CallAttempt, now: datetime) -> None:
    task = session.get(CallbackTask, attempt.task_id)
    assert task is not None
    task.lease_until, task.claimed_by = None, None
    if task.round == 3:
        after_verification_call(task, attempt.disposition or "failed", attempt.ended_at or now, ctx.plan.rules)
        return
    task.status = "pending"
    task.reached = task.reached or attempt.disposition in ("answered_complete", "answered_partial")
    report = session.get(Report, task.report_id)
    assert report is not None
    replan(session, report, now, ctx.plan)
