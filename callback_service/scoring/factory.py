"""Builds the answer scorer from settings; called by the composition root (app.py) only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from callback_service.scoring.base import Scorer, ScoreResult
from callback_service.scoring.combine import score_answer
from callback_service.scoring.lexicon import LexiconScorer


class AnswerScorer:
    """``(dtmf, text) -> ScoreResult`` with the lexicon and, when configured, a local model."""

    def __init__(self, scorers: Sequence[Scorer]) -> None:
        self.scorers = tuple(scorers)

    def __call__(self, dtmf: str | None, text: str | None) -> ScoreResult:
        return score_answer(dtmf, text, self.scorers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.scorers)


def build_scorers(model_path: str | Path | None) -> tuple[Scorer, ...]:
    """The lexicon always; the transformers model too when a local model directory is given."""
    if not model_path:
        return (LexiconScorer(),)
    from callback_service.scoring.transformers_scorer import TransformersScorer

    return (LexiconScorer(), TransformersScorer(model_path))


def build_scorer(settings: Any) -> AnswerScorer:
    """From ``settings.scorer_model_path`` (empty: lexicon only). Raises ScoringError on a bad model."""
    return AnswerScorer(build_scorers(getattr(settings, "scorer_model_path", "") or None))
