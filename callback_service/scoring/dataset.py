"""The committed labelled answers and the metrics every scorer is measured with.

``data/labelled.jsonl``: one answer a line, ``{"text", "dtmf", "label", "problems", "split"}``;
``split`` is ``train`` (seed training data for train-scorer) or ``test`` (held out: written
separately, phrased differently, never trained on).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from callback_service.contracts import LABELS, PROBLEM_CODES

LABELLED_PATH = Path(__file__).resolve().parent / "data" / "labelled.jsonl"


@dataclass(frozen=True)
class LabelledAnswer:
    text: str
    label: str
    problems: tuple[str, ...] = ()
    dtmf: str | None = None
    split: str = "train"

    @classmethod
    def from_record(cls, record: dict, *, default_split: str = "train") -> LabelledAnswer:
        label = record["label"]
        problems = tuple(record.get("problems") or ())
        if label not in LABELS:
            raise ValueError(f"bad label {label!r} for {record.get('text')!r}")
        if not set(problems) <= set(PROBLEM_CODES):
            raise ValueError(f"bad problem codes {problems!r} for {record.get('text')!r}")
        return cls(text=record.get("text") or "", label=label, problems=problems,
                   dtmf=record.get("dtmf"), split=record.get("split", default_split))


def load_labelled(split: str | None = None, path: Path = LABELLED_PATH) -> list[LabelledAnswer]:
    """The labelled set, or one split of it (``train`` / ``test``)."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(LabelledAnswer.from_record(json.loads(line)))
    return [r for r in rows if split is None or r.split == split]


@dataclass
class Metrics:
    n: int = 0
    correct: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def problem_f1(self) -> float:
        """Micro F1 over problem codes; 1.0 when there was nothing to find and nothing was found."""
        if not (self.tp + self.fp + self.fn):
            return 1.0
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    def add(self, gold: LabelledAnswer, label: str, problems: Iterable[str]) -> None:
        found, wanted = set(problems), set(gold.problems)
        self.n += 1
        self.correct += label == gold.label
        self.tp += len(found & wanted)
        self.fp += len(found - wanted)
        self.fn += len(wanted - found)
        if label != gold.label or found != wanted:
            self.errors.append({"text": gold.text, "dtmf": gold.dtmf, "gold": gold.label, "got": label,
                                "gold_problems": sorted(wanted), "got_problems": sorted(found)})

    def summary(self) -> dict:
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "problem_f1": round(self.problem_f1, 4)}


def evaluate(rows: Sequence[LabelledAnswer], predict) -> Metrics:
    """``predict(row) -> ScoreResult``; returns accuracy and problem micro F1 over ``rows``."""
    metrics = Metrics()
    for row in rows:
        result = predict(row)
        metrics.add(row, result.label, result.problems)
    return metrics
