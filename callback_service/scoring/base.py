"""The Scorer interface, its result type and its errors.

Stages, the CLI and ``combine.py`` depend on this module only; ``lexicon.py`` and
``transformers_scorer.py`` are the implementations.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from callback_service.contracts import LABELS, PROBLEM_CODES

METHOD_DTMF = "dtmf"
METHOD_LEXICON = "lexicon"
METHOD_MODEL = "model"
METHOD_HUMAN = "human"
METHODS = (METHOD_DTMF, METHOD_LEXICON, METHOD_MODEL, METHOD_HUMAN)

# Below this a result goes to the flagged-call review queue even without a DTMF/speech conflict.
REVIEW_CONFIDENCE = 0.5


class ScoringError(Exception):
    """A scorer could not run (model directory missing or unreadable, runtime failure).

    ``transient`` errors (e.g. out of memory) may be retried; a missing or malformed model is permanent.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def order_problems(codes: Iterable[str]) -> tuple[str, ...]:
    """Deduplicate problem codes into the canonical contracts order; unknown codes are a bug."""
    wanted = set(codes)
    unknown = wanted.difference(PROBLEM_CODES)
    if unknown:
        raise ValueError(f"unknown problem codes: {sorted(unknown)}")
    return tuple(code for code in PROBLEM_CODES if code in wanted)


@dataclass(frozen=True)
class ScoreResult:
    label: str
    score: int                      # 0..100, 100 = fully satisfied; 50 for unknown
    confidence: float               # 0..1
    problems: tuple[str, ...] = ()  # subset of contracts.PROBLEM_CODES, in that order
    urgent: bool = False            # always true when "safety" is among the problems
    reasons: tuple[str, ...] = ()   # matched phrases or model evidence, for reviewers
    method: str = METHOD_LEXICON
    conflict: bool = False          # DTMF and speech disagree
    needs_review: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}")
        if not 0 <= self.score <= 100 or not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"score/confidence out of range: {self.score}, {self.confidence}")
        object.__setattr__(self, "problems", order_problems(self.problems))
        # Safety is never allowed to be silent, whatever produced the result.
        if "safety" in self.problems and not self.urgent:
            object.__setattr__(self, "urgent", True)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = list(self.problems)
        out["reasons"] = list(self.reasons)
        out.pop("extra")
        return out

    def to_cli_dict(self) -> dict[str, Any]:
        """The ``callback-service score --json`` / ``--jsonl`` shape."""
        return {
            "label": self.label, "score": self.score, "confidence": round(self.confidence, 3),
            "problems": list(self.problems), "urgent": self.urgent, "reasons": list(self.reasons),
            "method": self.method, "conflict": self.conflict, "needs_review": self.needs_review,
        }


class Scorer(abc.ABC):
    """Turns the transcript of one spoken answer into a ScoreResult. Implementations are thread-safe."""

    name: str = "scorer"

    @abc.abstractmethod
    def score(self, text: str) -> ScoreResult:
        """Score one answer's text; an empty text yields label ``unknown``."""

    def score_many(self, texts: Sequence[str]) -> list[ScoreResult]:
        """Score several answers; model scorers override this to batch."""
        return [self.score(text) for text in texts]
