"""``callback-service transcribe FILE... [--json] | --jsonl | --model-info``.

Exit status: 0 all transcribed, 1 some file could not be (its entry carries "error"), 2 usage,
3 no usable model or the transcriber failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from callback_service.transcription.base import Transcriber, TranscriptionError, TranscriptResult
from callback_service.transcription.factory import build_whisper

JSONL_BATCH = 32      # lines transcribed together: enough to fill packed windows, small enough to stream


def add_transcribe_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("transcribe", help="transcribe Mandarin answer recordings to Simplified text")
    p.add_argument("files", nargs="*", type=Path, help="audio files (any format FFmpeg reads)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print one JSON array, in input order")
    mode.add_argument("--jsonl", action="store_true",
                      help='read {"file": ...} lines on stdin, write one JSON line each')
    mode.add_argument("--model-info", action="store_true", help="print the resolved model as JSON and exit")
    p.add_argument("--model-path", default="", help="local CTranslate2 Whisper model directory")
    p.add_argument("--model-name", default="", help="model name for faster-whisper to download (needs internet)")
    p.add_argument("--models-dir", type=Path, default=Path("var") / "models", help="cache for the bundled model")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--compute-type", default="auto", help="auto: int8 on CPU, float16 on GPU")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: CTranslate2's default)")
    return p


def cmd_transcribe(args: argparse.Namespace, transcriber: Transcriber | None = None) -> int:
    if not (args.files or args.jsonl or args.model_info):
        print("transcribe: give audio files, --jsonl or --model-info", file=sys.stderr)
        return 2
    try:
        transcriber = transcriber or _build(args)
        if args.model_info:
            info = transcriber.model_info()
            print(json.dumps({"path": info.path, "name": info.name, "compute_type": info.compute_type}))
            return 0
        if args.jsonl:
            return _jsonl(transcriber, sys.stdin, sys.stdout)
        results = transcriber.transcribe_many(args.files)
    except TranscriptionError as exc:
        print(f"transcribe: {exc}", file=sys.stderr)
        return 3
    _print(results, as_json=args.json)
    return 1 if any(not r.ok for r in results) else 0


def _build(args: argparse.Namespace) -> Transcriber:
    return build_whisper(model_path=args.model_path, model_name=args.model_name, models_dir=args.models_dir,
                         device=args.device, compute_type=args.compute_type, threads=args.threads)


def _print(results: list[TranscriptResult], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.to_cli_dict() for r in results], ensure_ascii=False, indent=2))
        return
    for r in results:
        if not r.ok:
            print(f"ERROR {r.error}")
            continue
        flag = ", needs review" if r.needs_review else ""
        print(f"{r.file}  [{r.duration:.1f} s, confidence {r.confidence:.2f}{flag}]")
        print(f"    {r.text or '(no speech)'}")


def _jsonl(transcriber: Transcriber, source: TextIO, sink: TextIO) -> int:
    failed = False
    for batch in _batches(source, JSONL_BATCH):
        paths = [p for p in batch if isinstance(p, str)]
        results = iter(transcriber.transcribe_many(paths))
        for entry in batch:
            out = next(results).to_cli_dict() if isinstance(entry, str) else {"file": None, "error": entry.args[0]}
            failed = failed or "error" in out
            sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        sink.flush()
    return 1 if failed else 0


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str | ValueError]]:
    """Input lines as file paths, or as a ValueError naming what is wrong with the line."""
    batch: list[str | ValueError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(_file_of(line, number))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _file_of(line: str, number: int) -> str | ValueError:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as exc:
        return ValueError(f"line {number}: not JSON ({exc.msg})")
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or not entry["file"]:
        return ValueError(f'line {number}: expected {{"file": "PATH"}}')
    return str(entry["file"])
