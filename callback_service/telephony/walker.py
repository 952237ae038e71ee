"""Walk a survey over an answered call, independent of the telephony backend.

A backend supplies a ``CallIO`` (play a prompt, collect keys, record an answer); ``walk_survey`` asks
the questions in template order, follows ``Survey.next_question_id`` branches and returns the answers
with the disposition of an answered call:

- ``answered_complete``: the survey ran to its end (including an early, template-directed end),
- ``answered_partial``: the far end hung up, or stayed silent through ``max_silent_questions``
  questions in a row, before the end,
- ``declined_unsafe``: ``safe_to_talk`` was not confirmed ("no", or no valid key): nothing about the
  case is said, and the goodbye is skipped so the call is as short as possible.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from callback_service import contracts
from callback_service.surveys.model import Question, Survey
from callback_service.surveys.schema import Q_SAFE_TO_TALK
from callback_service.telephony.dialer import AnswerResult

log = logging.getLogger(__name__)

SAFE_TO_TALK_YES = "yes"          # YES_NO_MAP value; anything else at safe_to_talk ends the call


class CallEnded(Exception):
    """Raised by a CallIO when the far end is gone."""


class CallIO(Protocol):
    """What the walker needs from one answered call."""

    @property
    def ended(self) -> bool: ...

    def play(self, prompt: str) -> None:
        """Play the named prompt to the end. Raises CallEnded."""

    def collect_dtmf(self, max_digits: int, timeout_s: float) -> str:
        """Keys pressed since the prompt started (up to max_digits), '' on timeout. Raises CallEnded."""

    def record(self, dest: Path, max_s: float, silence_s: float) -> float:
        """Record an answer into dest (WAV); seconds recorded, 0.0 if nobody spoke (then no file)."""


@dataclass
class WalkResult:
    disposition: str
    answers: list[AnswerResult] = field(default_factory=list)
    detail: str = ""


def answer_path(recordings_dir: Path, attempt_id: int, question_id: str) -> Path:
    """Absolute path of one answer recording (``CallResult`` promises absolute paths)."""
    relative = contracts.RECORDING_PATH_TEMPLATE.format(attempt_id=attempt_id, question_id=question_id)
    return (recordings_dir / relative).absolute()


class SurveyWalker:
    def __init__(self, io: CallIO, survey: Survey, *, recordings_dir: Path, attempt_id: int,
                 max_silent_questions: int = 2) -> None:
        self.io = io
        self.survey = survey
        self.recordings_dir = recordings_dir
        self.attempt_id = attempt_id
        self.max_silent_questions = max_silent_questions
        self.answers: list[AnswerResult] = []
        self._silent_run = 0

    def walk(self) -> WalkResult:
        try:
            return self._walk()
        except CallEnded as exc:
            return WalkResult(contracts.D_ANSWERED_PARTIAL, self.answers, f"hung up ({exc})")

    def _walk(self) -> WalkResult:
        qid: str | None = self.survey.questions[0].id if self.survey.questions else None
        while qid is not None:
            question = self.survey.question(qid)
            branch_key = self._ask(question)
            if question.id == Q_SAFE_TO_TALK and branch_key_value(question, branch_key) != SAFE_TO_TALK_YES:
                return WalkResult(contracts.D_DECLINED_UNSAFE, self.answers, "not safe to talk")
            if self._silent_run >= self.max_silent_questions:
                return WalkResult(contracts.D_ANSWERED_PARTIAL, self.answers, "no response from the far end")
            qid = self.survey.next_question_id(question, branch_key)
        if self.survey.goodbye is not None:
            self._goodbye(self.survey.goodbye)
        return WalkResult(contracts.D_ANSWERED_COMPLETE, self.answers)

    def _goodbye(self, goodbye: Question) -> None:
        try:
            self.io.play(goodbye.prompt)
        except CallEnded:
            pass                # every answer is in; a hang-up during the goodbye changes nothing

    def _ask(self, q: Question) -> str | None:
        """Ask one question, store its answer (none for announcements); return the branch key."""
        if q.kind == "say":
            self.io.play(q.prompt)
            return None
        if q.kind in ("dtmf", "both"):
            # "both" takes the key once and then records: a caller who answers by voice instead of
            # a key must not be re-prompted over their own answer.
            digits = self._ask_dtmf(q, q.retries if q.kind == "dtmf" else 0)
        else:
            self.io.play(q.prompt)
            digits = None
        answer = AnswerResult(question_id=q.id, dtmf=digits)
        self.answers.append(answer)       # before recording: a hang-up mid-answer keeps what was said
        if q.kind in ("speech", "both"):
            self._record(q, answer)
        self._silent_run = 0 if (answer.dtmf or answer.recording_path) else self._silent_run + 1
        return _branch_key(q, digits)

    def _ask_dtmf(self, q: Question, retries: int) -> str | None:
        """Prompt, then wait for a valid key; re-prompt up to ``retries`` times."""
        for attempt in range(retries + 1):
            self.io.play(q.prompt)
            digits = self.io.collect_dtmf(q.max_digits, q.dtmf_timeout_s)
            if digits and (not q.dtmf_map or digits in q.dtmf_map):
                return digits
            log.info("question %s: %s (attempt %d)", q.id, "invalid key" if digits else "no key", attempt + 1)
        return None

    def _record(self, q: Question, answer: AnswerResult) -> None:
        dest = answer_path(self.recordings_dir, self.attempt_id, q.id)
        seconds = self.io.record(dest, q.record_max_s, q.record_silence_s)
        if seconds > 0:
            answer.recording_path, answer.duration_s = dest, round(seconds, 2)
        if self.io.ended:
            raise CallEnded("during the answer")


def _branch_key(q: Question, digits: str | None) -> str | None:
    """The key ``Survey.next_question_id`` should follow: the digit if branched on, else its value."""
    if digits is None:
        return None
    if digits in q.branches:
        return digits
    return q.dtmf_map.get(digits, digits)


def branch_key_value(q: Question, key: str | None) -> str | None:
    """The answer value behind a branch key (a digit maps through dtmf_map)."""
    if key is None:
        return None
    return q.dtmf_map.get(key, key)
