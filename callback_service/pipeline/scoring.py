"""The scoring and ticket stages: combine DTMF and transcripts into a score, then file tickets."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.db.models import CallAttempt, CallbackTask, Report, Score, Transcript
from callback_service.pipeline.context import StageContext
from callback_service.tickets.rules import ScoreFacts, tickets_for_score
from callback_service.tickets.service import apply_verification, open_ticket

log = logging.getLogger(__name__)
SATISFACTION_QUESTION = "satisfaction"
# Keypresses on the survey's factual questions that reveal a problem on their own.
DTMF_PROBLEMS = {("receipt", "no"): "no_receipt", ("attitude", "poor"): "attitude", ("safety", "unsafe"): "safety",
                 ("rectified", "no"): "no_feedback"}
KEY_TAGS = frozenset({"domestic_violence", "minor", "porn_gambling_drugs", "mass_involvement"})


def _inputs(session: Session, attempt: CallAttempt) -> tuple[str | None, str, list[str], bool]:
    dtmf, texts, problems, low_conf = None, [], [], False
    for ans in attempt.answers:
        if ans.question_id == SATISFACTION_QUESTION and ans.dtmf:
            dtmf = ans.dtmf
        found = DTMF_PROBLEMS.get((ans.question_id, ans.value or ""))
        if found:
            problems.append(found)
        if ans.recording_id is not None:
            tr = session.scalar(select(Transcript).where(Transcript.recording_id == ans.recording_id))
            if tr is not None and tr.text:
                texts.append(tr.text)
                low_conf = low_conf or tr.needs_review
    return dtmf, "。".join(texts), problems, low_conf


def score_one(session: Session, ctx: StageContext, attempt_id: int) -> str | None:
    attempt = session.scalar(select(CallAttempt).where(CallAttempt.id == attempt_id).with_for_update())
    if attempt is None or attempt.score_state != "pending":
        return None
    dtmf, text, dtmf_problems, low_conf = _inputs(session, attempt)
    result = ctx.scorer(dtmf, text or None)
    problems = sorted(set(result.problems) | set(dtmf_problems))
    task = session.get(CallbackTask, attempt.task_id)
    verification = task is not None and task.round == 3
    score = Score(attempt_id=attempt.id, label=result.label, score=int(result.score),
                  confidence=float(result.confidence), problems=problems,
                  urgent=bool(result.urgent or "safety" in problems), reasons=list(result.reasons),
                  method=result.method, conflict=bool(result.conflict),
                  needs_review=bool(result.needs_review or result.conflict or low_conf), text=text, dtmf=dtmf,
                  ticket_state="done" if verification else "pending")
    session.add(score)
    attempt.score_state = "done"
    if verification and task is not None:
        apply_verification(session, task, result.label, ctx.clock(), ctx.plan.tickets)
    session.flush()
    ctx.emit("scored", label=result.label, method=result.method)
    return result.label


def tickets_for(session: Session, ctx: StageContext, score_id: int) -> int:
    score = session.scalar(select(Score).where(Score.id == score_id).with_for_update())
    if score is None or score.ticket_state != "pending":
        return 0
    attempt = session.get(CallAttempt, score.attempt_id)
    task = session.get(CallbackTask, attempt.task_id) if attempt else None
    report = session.get(Report, task.report_id) if task else None
    filed = 0
    if report is not None:
        facts = ScoreFacts(label=score.label, problems=tuple(score.problems), urgent=score.urgent,
                           key_category=bool(KEY_TAGS & set(report.tags or ())), text=score.text)
        for spec in tickets_for_score(facts):
            if open_ticket(session, report, spec, ctx.clock(), ctx.plan.tickets, source_attempt_id=score.attempt_id):
                filed += 1
    score.ticket_state = "done"
    return filed
