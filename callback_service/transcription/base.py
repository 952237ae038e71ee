"""The Transcriber interface, its result types and its errors.

Stages and the CLI depend on this module only; ``whisper.py`` is one implementation.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class AudioError(Exception):
    """The audio file itself is unusable (corrupt, empty, oversized, over-long, unreadable).

    Always permanent: retrying the same bytes cannot succeed, so the stage records it on the row.
    """

    transient = False

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class TranscriptionError(Exception):
    """The transcriber failed for a reason other than the audio (model missing, runtime failure)."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class ModelInfo:
    path: str            # directory the model was loaded from, or the name given to faster-whisper
    name: str            # e.g. "whisper-base"
    version: str         # e.g. "sha256:d01c3014881c" for a verified local model
    compute_type: str    # e.g. "int8", "float16"
    device: str          # "cpu" or "cuda"


@dataclass(frozen=True)
class TranscriptSegment:
    start: float         # seconds from the start of the file
    end: float
    text: str
    confidence: float    # 0..1, exp(mean token log-probability) damped by the no-speech probability


@dataclass
class TranscriptResult:
    file: str
    text: str
    segments: list[TranscriptSegment] = field(default_factory=list)
    confidence: float = 0.0
    language_probability: float = 0.0
    duration: float = 0.0
    needs_review: bool = False
    model_name: str = ""
    model_version: str = ""
    review_reasons: list[str] = field(default_factory=list)
    error: str | None = None          # set only by transcribe_recording / transcribe_many on bad audio

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_cli_dict(self) -> dict[str, Any]:
        """The ``callback-service transcribe --json`` shape (issue 6 contract)."""
        out: dict[str, Any] = {
            "file": self.file,
            "text": self.text,
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in self.segments],
            "confidence": round(self.confidence, 4),
            "duration": round(self.duration, 3),
            "needs_review": self.needs_review,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def error_result(path: str | Path, error: AudioError) -> TranscriptResult:
    """The result recorded for a file that cannot be transcribed; always flagged for review."""
    return TranscriptResult(
        file=str(path), text="", needs_review=True, review_reasons=["audio_error"], error=str(error)
    )


class Transcriber(abc.ABC):
    """Speech to text for one answer recording at a time, or a batch of them."""

    name: str = "abstract"

    @abc.abstractmethod
    def transcribe(self, path: str | Path) -> TranscriptResult:
        """Transcribe one file. Raises AudioError (bad file) or TranscriptionError."""

    def transcribe_many(self, paths: Sequence[str | Path]) -> list[TranscriptResult]:
        """Transcribe files in input order; a bad file yields an error result, not an exception."""
        results = []
        for path in paths:
            try:
                results.append(self.transcribe(path))
            except AudioError as exc:
                results.append(error_result(path, exc))
        return results

    @abc.abstractmethod
    def model_info(self) -> ModelInfo:
        """What model this transcriber runs, for logs, the CLI and the transcripts table."""


def transcribe_recording(transcriber: Transcriber, path: str | Path) -> TranscriptResult:
    """Transcribe one recording for the DB stage: bad audio becomes an error result, never raises.

    TranscriptionError still propagates: the stage retries transient ones and records permanent ones.
    """
    try:
        return transcriber.transcribe(path)
    except AudioError as exc:
        return error_result(path, exc)
