"""Pure mapping from what Asterisk reported to a call disposition (contracts.DISPOSITIONS).

Unanswered calls: ``OriginateResponse`` Reason (enum ast_control_frame_type: 0 failed, 1 hung up while
ringing, 3 ring timeout, 4 answered, 5 busy, 8 congestion), refined by the Q.850 hangup cause when
one is known. Answered calls: the ``SurveyEnd`` UserEvent's Status from the dialplan's hangup
handler; if that event was lost (an AMI outage), the reported answers are walked through the survey
to tell a finished survey from an interrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping

from callback_service import contracts as c
from callback_service.surveys.model import Question, Survey
from callback_service.surveys.schema import Q_SAFE_TO_TALK
from callback_service.telephony.dialer import AnswerResult

REASON_DISPOSITION = {1: c.D_NO_ANSWER, 3: c.D_NO_ANSWER, 5: c.D_BUSY, 8: c.D_CONGESTION}
# Q.850: 1 unallocated number, 3 no route to destination, 28 invalid number format.
CAUSE_INVALID_NUMBER = frozenset({1, 3, 28})
CAUSE_BUSY = frozenset({17})
CAUSE_NO_ANSWER = frozenset({18, 19, 21})
CAUSE_CONGESTION = frozenset({34, 38, 41, 42})

END_COMPLETE = "COMPLETE"
END_DECLINED = "DECLINED"
END_MACHINE = "MACHINE"
END_HANGUP = "HANGUP"


def failure_disposition(reason: int, cause: int | None) -> str:
    if cause in CAUSE_INVALID_NUMBER:
        return c.D_INVALID_NUMBER
    if reason in REASON_DISPOSITION:
        return REASON_DISPOSITION[reason]
    if cause in CAUSE_BUSY:
        return c.D_BUSY
    if cause in CAUSE_CONGESTION:
        return c.D_CONGESTION
    if cause in CAUSE_NO_ANSWER:
        return c.D_NO_ANSWER
    return c.D_FAILED


def answered_disposition(
    survey: Survey, answers: Mapping[str, AnswerResult], end: Mapping[str, str] | None
) -> str:
    status = (end or {}).get("Status", "").upper()
    if status == END_MACHINE or (end or {}).get("AmdStatus", "").upper() == END_MACHINE:
        return c.D_MACHINE
    if status == END_DECLINED:
        return c.D_DECLINED_UNSAFE
    if status == END_COMPLETE:
        return c.D_ANSWERED_COMPLETE
    if status == END_HANGUP:
        return c.D_ANSWERED_PARTIAL
    return infer_from_answers(survey, answers)


def infer_from_answers(survey: Survey, answers: Mapping[str, AnswerResult]) -> str:
    """Walk the survey with the reported answers, as the dialplan did."""
    question: Question | None = survey.questions[0] if survey.questions else None
    for _ in range(len(survey.questions) * 3 + 1):
        if question is None:
            return c.D_ANSWERED_COMPLETE
        answer = answers.get(question.id)
        if question.kind != "say" and not _answered(question, answer):
            return c.D_ANSWERED_PARTIAL
        key = _branch_key(question, answer.dtmf if answer else None)
        target = question.branches.get(key or "", question.branches.get("*"))
        if target == "goodbye" and question.id == Q_SAFE_TO_TALK:
            return c.D_DECLINED_UNSAFE
        next_id = survey.next_question_id(question, key)
        question = survey.question(next_id) if next_id else None
    return c.D_ANSWERED_PARTIAL


def _answered(question: Question, answer: AnswerResult | None) -> bool:
    if answer is None:
        return False
    if question.kind == "speech":
        return answer.recording_path is not None
    return True


def _branch_key(question: Question, digits: str | None) -> str | None:
    if not digits:
        return None
    if digits in question.branches:
        return digits
    return question.dtmf_map.get(digits, digits)
