"""The transformers wrapper: a local text-classification model as a Scorer.

The model directory is a site's Chinese sentiment/NLI classifier or one written by
``callback-service train-scorer``. It is only ever read from local disk (``local_files_only``); a
name that is not an existing directory is refused, so nothing is downloaded at run time.

Labels: a model trained here predicts the four contract labels directly. A third-party model's
labels are mapped through ``LABEL_SYNONYMS`` (positive/负面/neutral...) or an explicit
``label_map``; a label that maps to nothing is a configuration error, raised at load time.

Problem codes: the model predicts the label only. Problem codes (and so ``urgent``) come from the
lexicon's phrase rules on the same text: they are auditable evidence that ticket rules and
reviewers need, and seven rare codes are too sparse in a few hundred labelled answers for a
reliable multi-label head.

Library errors are mapped to ScoringError: a missing or malformed model is permanent, a runtime
failure during inference (e.g. out of memory) is transient.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from callback_service.contracts import (
    L_BASICALLY_SATISFIED,
    L_SATISFIED,
    L_UNKNOWN,
    L_UNSATISFIED,
    LABELS,
)
from callback_service.scoring.base import METHOD_MODEL, REVIEW_CONFIDENCE, Scorer, ScoreResult, ScoringError
from callback_service.scoring.lexicon import analyse
from callback_service.scoring.normalize import clean
from callback_service.scoring.pinyin_match import canonicalize

log = logging.getLogger(__name__)

LABEL_SYNONYMS = {
    **{label: label for label in LABELS},
    "positive": L_SATISFIED, "pos": L_SATISFIED, "正面": L_SATISFIED, "积极": L_SATISFIED,
    "满意": L_SATISFIED, "基本满意": L_BASICALLY_SATISFIED, "negative": L_UNSATISFIED,
    "neg": L_UNSATISFIED, "负面": L_UNSATISFIED, "消极": L_UNSATISFIED, "不满意": L_UNSATISFIED,
    "neutral": L_UNKNOWN, "中性": L_UNKNOWN, "未表态": L_UNKNOWN,
}
LABEL_SCORES = {L_SATISFIED: 95, L_BASICALLY_SATISFIED: 70, L_UNSATISFIED: 15, L_UNKNOWN: 50}
MAX_LENGTH = 128


def model_input(text: str | None) -> str:
    """The text a model sees: the lexicon's clean-up and homophone repair (慢意 -> 满意)."""
    return canonicalize(clean(text).text).text


def resolve_label_map(id2label: Mapping[int, str], label_map: Mapping[str, str] | None) -> list[str]:
    """Our label for each model output index, or ScoringError naming the labels it cannot place."""
    wanted = {**LABEL_SYNONYMS, **(label_map or {})}
    out, missing = [], []
    for index in sorted(id2label):
        name = str(id2label[index])
        target = wanted.get(name) or wanted.get(name.lower())
        if target not in LABELS:
            missing.append(name)
        out.append(target or "")
    if missing:
        raise ScoringError(f"model labels {missing} map to no satisfaction label; pass a label_map")
    return out


def _load(model_dir: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ScoringError(f"{model_dir}: cannot load model: {exc}") from exc
    model.eval()
    return tokenizer, model


class TransformersScorer(Scorer):
    name = "model"

    def __init__(self, model_dir: str | Path, *, label_map: Mapping[str, str] | None = None,
                 batch_size: int = 32, normalize: bool = True, threads: int | None = 1) -> None:
        path = Path(model_dir)
        if not path.is_dir():
            raise ScoringError(f"{model_dir}: scorer model directory does not exist (no downloads)")
        self.model_dir = path
        self.batch_size = batch_size
        self.normalize = normalize
        # Short answers through a small model: one thread is ~10x faster than two when the cores are
        # shared with Whisper or other workers. None leaves torch's setting alone (large models, GPU).
        self.threads = threads
        self._tokenizer, self._model = _load(path)
        self._labels = resolve_label_map(self._model.config.id2label, label_map)
        log.info("loaded scorer model %s (%d labels)", path, len(self._labels))

    def score(self, text: str) -> ScoreResult:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[ScoreResult]:
        out: list[ScoreResult] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start:start + self.batch_size])
            out.extend(self._result(text, probs) for text, probs in zip(batch, self._predict(batch)))
        return out

    def _predict(self, texts: list[str]) -> list[dict[str, float]]:
        import torch

        inputs = [model_input(t) if self.normalize else (t or "") for t in texts]
        previous = torch.get_num_threads()
        try:
            if self.threads:
                torch.set_num_threads(self.threads)
            enc = self._tokenizer(inputs, padding=True, truncation=True, max_length=MAX_LENGTH,
                                  return_tensors="pt")
            with torch.inference_mode():
                probs = torch.softmax(self._model(**enc).logits, dim=-1).tolist()
        except RuntimeError as exc:
            raise ScoringError(f"{self.model_dir}: inference failed: {exc}", transient=True) from exc
        finally:
            torch.set_num_threads(previous)
        return [self._per_label(row) for row in probs]

    def _per_label(self, row: list[float]) -> dict[str, float]:
        merged = dict.fromkeys(LABELS, 0.0)
        for label, p in zip(self._labels, row):
            merged[label] += p
        return merged

    def _result(self, text: str, probs: dict[str, float]) -> ScoreResult:
        label = max(probs, key=lambda k: probs[k])
        confidence = round(probs[label], 3)
        score = round(sum(LABEL_SCORES[k] * p for k, p in probs.items()))
        lexicon = analyse(text)
        reasons = (f"model:{label} ({confidence:.2f})",) + tuple(
            f"{h.code}:{h.phrase}" for h in lexicon.hits if not h.negated)
        return ScoreResult(label=label, score=score, confidence=confidence, problems=lexicon.problems,
                           urgent="safety" in lexicon.problems, reasons=reasons, method=METHOD_MODEL,
                           needs_review=confidence < REVIEW_CONFIDENCE,
                           extra={"probs": {k: round(v, 4) for k, v in probs.items()}})
