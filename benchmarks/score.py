"""Scoring benchmark: accuracy, problem-code F1 and throughput per scorer on the held-out split.

    python benchmarks/score.py [--model DIR] [--rounds N]

Without --model the compact model is trained first (from scratch, into a temporary directory) and
its training time is reported. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callback_service.scoring.base import Scorer  # noqa: E402
from callback_service.scoring.combine import score_answer  # noqa: E402
from callback_service.scoring.dataset import LabelledAnswer, evaluate, load_labelled  # noqa: E402
from callback_service.scoring.lexicon import LexiconScorer  # noqa: E402


def _throughput(fn: Callable[[], int], min_seconds: float = 1.0) -> float:
    done, started = 0, time.perf_counter()
    while True:
        done += fn()
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return round(done / elapsed, 1)


def _measure(name: str, scorers: Sequence[Scorer], rows: list[LabelledAnswer]) -> dict[str, Any]:
    metrics = evaluate(rows, lambda r: score_answer(r.dtmf, r.text, scorers))
    speech = [r for r in rows if r.dtmf is None]
    text_only = evaluate(speech, lambda r: score_answer(None, r.text, scorers))

    def one_by_one() -> int:
        for r in rows:
            score_answer(r.dtmf, r.text, scorers)
        return len(rows)

    return {"scorer": name, **metrics.summary(), "speech_only_accuracy": round(text_only.accuracy, 4),
            "answers_per_s": _throughput(one_by_one)}


def _model(path: str | None, workdir: Path) -> tuple[Scorer, dict[str, Any]]:
    from callback_service.scoring.train import train_scorer
    from callback_service.scoring.transformers_scorer import TransformersScorer

    info: dict[str, Any] = {"model_dir": path}
    if path is None:
        report = train_scorer(workdir / "model")
        info = {"model_dir": None, "trained_from_scratch": True, "train_seconds": report.seconds,
                "train_examples": report.examples, "epochs": report.epochs}
        path = str(workdir / "model")
    return TransformersScorer(path), info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None, help="trained model directory (default: train one now)")
    args = parser.parse_args(argv)
    import torch

    rows = load_labelled("test")
    lexicon = LexiconScorer()
    out: dict[str, Any] = {"benchmark": "score", "held_out_answers": len(rows),
                           "python": platform.python_version(), "torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        model, info = _model(args.model, Path(tmp))
        out["model"] = info
        out["scorers"] = [_measure("lexicon", (lexicon,), rows), _measure("model", (model,), rows),
                          _measure("combined", (lexicon, model), rows)]
        texts = [r.text for r in rows]
        out["model_batched_answers_per_s"] = _throughput(lambda: len(model.score_many(texts)))
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
