"""CLI hooks: ``callback-service score`` and ``callback-service train-scorer``.

The lead's cli.py wires them: ``add_score_parser(sub)`` / ``cmd_score(args, scorer)`` and
``add_train_scorer_parser(sub)`` / ``cmd_train_scorer(args, extra)``, where ``scorer`` is the app's
AnswerScorer (else one is built from ``--model``) and ``extra`` the reviewer corrections.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any, TextIO

from callback_service.contracts import LABEL_ZH, PROBLEM_ZH
from callback_service.scoring.base import ScoreResult, ScoringError
from callback_service.scoring.factory import AnswerScorer, build_scorer, build_scorers

AnswerFn = Callable[[str | None, str | None], ScoreResult]


def add_score_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("score", help="score a spoken answer (text and/or DTMF key)")
    p.add_argument("text", nargs="?", default=None, help="the transcript of the answer")
    p.add_argument("--dtmf", default=None, help="key pressed: 1 满意, 2 基本满意, 3 不满意")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--jsonl", action="store_true",
                   help='read {"text", "dtmf"?} lines from stdin, write one result per line in order')
    p.add_argument("--model", default=None, metavar="DIR", help="local transformers model directory")
    return p


def add_train_scorer_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train-scorer", help="train the transformers scorer on the labelled answers")
    p.add_argument("--out", required=True, metavar="DIR", help="where to save the model")
    p.add_argument("--base", default=None, metavar="DIR", help="local checkpoint to fine-tune (default: from scratch)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--extra", default=None, metavar="FILE",
                   help='JSONL of extra {"text","label","problems"} records (e.g. reviewer corrections)')
    p.add_argument("--json", action="store_true")
    return p


def _human(result: ScoreResult) -> str:
    problems = "、".join(PROBLEM_ZH[p] for p in result.problems) or "无"
    flags = [f for f, on in (("URGENT", result.urgent), ("CONFLICT", result.conflict),
                             ("REVIEW", result.needs_review)) if on]
    lines = [f"{LABEL_ZH[result.label]} ({result.label})  score {result.score}  "
             f"confidence {result.confidence:.2f}  method {result.method}  {' '.join(flags)}".rstrip(),
             f"problems: {problems}"]
    lines += [f"  - {r}" for r in result.reasons]
    return "\n".join(lines)


def _jsonl(answer: AnswerFn, stdin: TextIO, stdout: TextIO) -> int:
    """One output line per non-blank input line, in order; a bad line gets an error object."""
    failed = 0
    for number, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, dtmf = record.get("text"), record.get("dtmf")
            out: dict[str, Any] = answer(None if dtmf is None else str(dtmf), text).to_cli_dict()
        except (ValueError, AttributeError) as exc:
            failed += 1
            out = {"error": f"line {number}: {exc}"}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    stdout.flush()
    return 2 if failed else 0


def cmd_score(args: argparse.Namespace, scorer: AnswerFn | None = None) -> int:
    try:
        answer = scorer or AnswerScorer(build_scorers(args.model))
    except ScoringError as exc:
        print(f"score: {exc}", file=sys.stderr)
        return 1
    if args.jsonl:
        return _jsonl(answer, sys.stdin, sys.stdout)
    if args.text is None and args.dtmf is None:
        print("score: give TEXT and/or --dtmf, or --jsonl", file=sys.stderr)
        return 2
    result = answer(args.dtmf, args.text)
    print(json.dumps(result.to_cli_dict(), ensure_ascii=False) if args.json else _human(result))
    return 0


def _read_extra(path: str | None) -> list[dict]:
    if not path:
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cmd_train_scorer(args: argparse.Namespace, extra: Iterable[dict] = ()) -> int:
    from callback_service.scoring.train import train_scorer

    try:
        records = [*extra, *_read_extra(args.extra)]
        report = train_scorer(args.out, base_dir=args.base, epochs=args.epochs, extra=records)
    except (OSError, ValueError, ScoringError) as exc:
        print(f"train-scorer: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
    else:
        print(f"saved {report.out_dir}: {report.examples} answers ({report.extra_examples} extra), "
              f"{report.epochs} epochs in {report.seconds:.0f}s; held-out accuracy "
              f"{report.test_accuracy:.3f} on {report.test_examples}")
    return 0


__all__ = ["add_score_parser", "cmd_score", "add_train_scorer_parser", "cmd_train_scorer", "build_scorer"]
