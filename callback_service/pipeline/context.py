"""What the stage functions need, handed to them by the composition root (app.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from callback_service.selection.planner import PlanContext
from callback_service.surveys.model import Survey
from callback_service.telephony.dialer import Dialer


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class StageContext:
    sessions: sessionmaker[Session]
    plan: PlanContext
    surveys: dict[str, Survey]
    recordings_root: Path
    dialer: Dialer | None = None
    # Built on first use: a dial-only worker never loads the speech model.
    get_transcriber: Callable[[], Any] | None = None   # -> transcription.base.Transcriber
    get_scorer: Callable[[], Any] | None = None        # -> callable (dtmf, text) -> ScoreResult
    caller_id: str = ""
    recording_key: Any = None   # MultiFernet when recordings are encrypted at rest (security/at_rest.py)
    ring_timeout_s: float = 30.0
    max_transcribe_tries: int = 3
    qc_sample_rate: float = 0.05
    clock: Callable[[], datetime] = field(default=utcnow)
    on_event: Callable[[str, dict[str, Any]], None] | None = None   # metrics hook

    @property
    def transcriber(self) -> Any:
        if self.get_transcriber is None:
            raise RuntimeError("no transcriber configured for this worker")
        return self.get_transcriber()

    @property
    def scorer(self) -> Any:
        if self.get_scorer is None:
            raise RuntimeError("no scorer configured for this worker")
        return self.get_scorer()

    def emit(self, name: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event(name, data)
