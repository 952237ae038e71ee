"""Satisfaction scoring of callback answers: DTMF key + transcript -> label, score, problem codes.

Entry points: ``combine.score_answer`` (one answer), ``factory.build_scorer`` (for app.py),
``lexicon.LexiconScorer`` (default, offline), ``transformers_scorer.TransformersScorer`` (optional
local model), ``train.train_scorer`` and the CLI hooks in ``cli.py``.
"""

from callback_service.scoring.base import Scorer, ScoreResult, ScoringError
from callback_service.scoring.combine import score_answer

__all__ = ["Scorer", "ScoreResult", "ScoringError", "score_answer"]
