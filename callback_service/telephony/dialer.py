"""The Dialer interface shared by the Asterisk, SIP and simulated backends.

A dialer places one call for one committed ``call_attempts`` row, walks the survey, and returns a
``CallResult``. The caller (the dial stage) records the result exactly once, keyed by attempt id.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from callback_service.surveys.model import Survey


class DialerError(Exception):
    """A dialer failure. ``transient`` errors are retried; permanent ones are recorded on the row."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class CallRequest:
    attempt_id: int
    phone_e164: str           # the number to dial, E.164 (+86...)
    survey: Survey
    recordings_dir: Path      # answers go to recordings_dir / RECORDING_PATH_TEMPLATE
    caller_id: str = ""
    timeout_s: float = 30.0   # ring timeout


@dataclass
class AnswerResult:
    question_id: str
    dtmf: str | None = None
    recording_path: Path | None = None   # absolute path of the answer WAV, if one was recorded
    duration_s: float | None = None


@dataclass
class CallResult:
    attempt_id: int
    disposition: str                      # one of contracts.DISPOSITIONS
    answers: list[AnswerResult] = field(default_factory=list)
    call_recording: Path | None = None    # whole-call recording (MixMonitor or equivalent)
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_cause: str | None = None
    detail: str = ""


class Dialer(abc.ABC):
    name: str = "abstract"

    @abc.abstractmethod
    def call(self, request: CallRequest) -> CallResult:
        """Place the call and block until it has ended. Raises DialerError."""

    def call_status(self, attempt_id: int) -> str | None:
        """For the reconciler: 'active' if the call is still up, 'gone' if it ended, None if unknown."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook: most dialers hold nothing to release
        """Release connections and registrations."""
