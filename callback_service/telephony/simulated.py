"""A SIMULATED telephone network for the demo and for load tests: no audio crosses any wire.

Each number is mapped to a scripted ``Citizen``: answer (with keypresses and a pre-recorded spoken
answer copied in as the "recording"), busy, no answer, or failure. It walks the same survey templates
as the real dialers and returns the same ``CallResult``. Never use it where a real call is required.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from callback_service.contracts import (
    D_ANSWERED_COMPLETE,
    D_BUSY,
    D_DECLINED_UNSAFE,
    D_FAILED,
    D_INVALID_NUMBER,
    D_NO_ANSWER,
    RECORDING_PATH_TEMPLATE,
)
from callback_service.surveys.model import Question, Survey
from callback_service.telephony.dialer import AnswerResult, CallRequest, CallResult, Dialer

OUTCOMES = ("answer", "busy", "no_answer", "failed", "invalid")
_OUTCOME_DISPOSITION = {"busy": D_BUSY, "no_answer": D_NO_ANSWER, "failed": D_FAILED,
                        "invalid": D_INVALID_NUMBER}


@dataclass(frozen=True)
class Citizen:
    outcome: str = "answer"
    digits: dict[str, str] = field(default_factory=dict)    # question id -> key; "*" for any other
    speech: Path | None = None                               # WAV spoken at every speech question
    outcomes_after: tuple[str, ...] = ()                     # outcomes of later calls, in order


class SimulatedDialer(Dialer):
    name = "simulated"

    def __init__(self, citizens: dict[str, Citizen], default: Citizen | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.citizens = citizens
        self.clock = clock or (lambda: datetime.now(UTC))
        self.default = default or Citizen(outcome="no_answer")
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def _outcome(self, phone: str, citizen: Citizen) -> str:
        with self._lock:
            n = self._calls.get(phone, 0)
            self._calls[phone] = n + 1
        script = (citizen.outcome, *citizen.outcomes_after)
        return script[min(n, len(script) - 1)]

    def call(self, request: CallRequest) -> CallResult:
        citizen = self.citizens.get(request.phone_e164, self.default)
        now = self.clock()
        outcome = self._outcome(request.phone_e164, citizen)
        if outcome != "answer":
            return CallResult(request.attempt_id, _OUTCOME_DISPOSITION[outcome], started_at=now, ended_at=now,
                              detail="simulated network")
        result = CallResult(request.attempt_id, D_ANSWERED_COMPLETE, started_at=now, answered_at=now,
                            detail="simulated network")
        self._walk(request, citizen, result)
        result.ended_at = self.clock()
        return result

    def _walk(self, request: CallRequest, citizen: Citizen, result: CallResult) -> None:
        survey: Survey = request.survey
        question: Question | None = survey.questions[0] if survey.questions else None
        while question is not None:
            answer = self._answer(request, citizen, question)
            if answer is not None:
                result.answers.append(answer)
            value = question.dtmf_map.get(answer.dtmf or "") if answer else None
            if question.id == "safe_to_talk" and value == "no":
                result.disposition = D_DECLINED_UNSAFE
                return
            nxt = survey.next_question_id(question, answer.dtmf if answer else None)
            question = survey.question(nxt) if nxt else None

    def _answer(self, request: CallRequest, citizen: Citizen, q: Question) -> AnswerResult | None:
        if q.kind == "say":
            return None
        answer = AnswerResult(question_id=q.id)
        if q.kind in ("dtmf", "both"):
            answer.dtmf = citizen.digits.get(q.id, citizen.digits.get("*")) or None
        if q.kind in ("speech", "both") and citizen.speech is not None:
            target = request.recordings_dir / RECORDING_PATH_TEMPLATE.format(
                attempt_id=request.attempt_id, question_id=q.id)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(citizen.speech, target)
            answer.recording_path = target
        return answer
