"""Transcription benchmark: the plain faster-whisper baseline against the project's pipeline.

Both run on the same clips in the same invocation, each in its own child process (so peak RSS is
its own), alternating ``--repeats`` times; the fastest run of each counts, which is fair on a busy
machine. Baseline: faster-whisper base int8, language="zh", beam_size=5, one clip at a time,
``--threads`` threads. CER is over the speech clips (answer, unrelated) after Simplified conversion
against the manifest text with punctuation stripped; non-speech clips must come out empty.

``--prompts`` instead measures initial prompts on the single-clip decoder: CER, and how often a
prompt makes Whisper write an answer word (满意) the speaker never said.

    .venv/bin/python benchmarks/transcribe.py [--corpus DIR] [--threads 2] [--repeats 2] [--prompts]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callback_service.transcription.metrics import corpus_cer  # noqa: E402
from callback_service.transcription.model import BUNDLED_NAME, ensure_bundled_model  # noqa: E402
from callback_service.transcription.text import to_simplified  # noqa: E402

SPEECH_KINDS = ("answer", "unrelated")
PROMPTS = {
    "none": None,
    "mandarin": "以下是普通话的句子。",
    "domain": "民警，派出所，报案，立案，回执。",
    "question": "您对民警的处理满意吗？",
    "answer_words": "满意，基本满意，不满意。",
}


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _baseline(model_dir: str, paths: list[str], threads: int, prompt: str | None = None) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
    list(model.transcribe(paths[0], language="zh", beam_size=5, initial_prompt=prompt)[0])   # warm-up
    wall, cpu = _clock()
    texts = []
    for path in paths:
        segments, _ = model.transcribe(path, language="zh", beam_size=5, initial_prompt=prompt)
        texts.append("".join(s.text for s in segments))
    return _timed(texts, wall, cpu)


def _pipeline(model_dir: str, paths: list[str], threads: int) -> dict[str, Any]:
    from callback_service.transcription.model import resolve_model
    from callback_service.transcription.whisper import WhisperTranscriber

    transcriber = WhisperTranscriber(resolve_model(model_dir, None, model_dir), device="cpu", threads=threads)
    transcriber.transcribe(paths[0])                                                            # warm-up
    wall, cpu = _clock()
    results = transcriber.transcribe_many(paths)
    out = _timed([r.text for r in results], wall, cpu)
    out["decoded_alone"] = sum("decoded_alone" in r.review_reasons for r in results)
    out["needs_review"] = sum(r.needs_review for r in results)
    return out


def _timed(texts: list[str], wall: float, cpu: float) -> dict[str, Any]:
    now_wall, now_cpu = _clock()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"texts": texts, "wall_s": now_wall - wall, "cpu_s": now_cpu - cpu, "peak_rss_mb": round(peak_kib / 1024, 1)}


def _child(queue: mp.Queue, fn_name: str, *args: Any) -> None:
    queue.put(globals()[fn_name](*args))


def run_isolated(fn_name: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, fn_name, *args))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _load_corpus(corpus: Path) -> tuple[list[dict[str, Any]], list[str], float]:
    from callback_service.transcription.audio import duration_seconds, load_audio

    clips = yaml.safe_load((corpus / "manifest.yaml").read_text(encoding="utf-8"))["clips"]
    paths = [str(corpus / c["file"]) for c in clips]
    return clips, paths, sum(duration_seconds(load_audio(p)) for p in paths)


def summarise(clips: list[dict[str, Any]], run: dict[str, Any], audio_s: float) -> dict[str, Any]:
    texts = [to_simplified(t) for t in run["texts"]]
    speech = [(c["text"], t) for c, t in zip(clips, texts) if c["kind"] in SPEECH_KINDS]
    silent = [t for c, t in zip(clips, texts) if c["kind"] not in SPEECH_KINDS]
    out = {"rtf": round(run["wall_s"] / audio_s, 4), "cpu_rtf": round(run["cpu_s"] / audio_s, 4),
           "cer": round(corpus_cer(speech), 4), "wall_s": round(run["wall_s"], 2),
           "peak_rss_mb": run["peak_rss_mb"], "non_speech_with_text": sum(bool(t.strip()) for t in silent)}
    out.update({k: run[k] for k in ("decoded_alone", "needs_review") if k in run})
    return out


def benchmark(args: argparse.Namespace, model_dir: str) -> dict[str, Any]:
    clips, paths, audio_s = _load_corpus(args.corpus)
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "pipeline": []}
    for _ in range(args.repeats):
        runs["baseline"].append(run_isolated("_baseline", model_dir, paths, args.threads))
        runs["pipeline"].append(run_isolated("_pipeline", model_dir, paths, args.threads))
    best = {k: min(v, key=lambda r: r["wall_s"]) for k, v in runs.items()}
    base, pipe = (summarise(clips, best[k], audio_s) for k in ("baseline", "pipeline"))
    return {
        "benchmark": "transcribe", "clips": len(clips), "speech_clips": sum(c["kind"] in SPEECH_KINDS for c in clips),
        "audio_seconds": round(audio_s, 1), "threads": args.threads, "cpus": os.cpu_count(), "repeats": args.repeats,
        "baseline": base, "pipeline": pipe,
        "speedup": round(base["rtf"] / pipe["rtf"], 2), "cpu_speedup": round(base["cpu_rtf"] / pipe["cpu_rtf"], 2),
        "per_clip": [{"file": c["file"], "reference": c["text"], "baseline": to_simplified(b), "pipeline": p}
                     for c, b, p in zip(clips, best["baseline"]["texts"], best["pipeline"]["texts"])]
        if args.per_clip else None,
    }


def _bare_manyi(text: str) -> bool:
    """满意 said without a negation in front (不满意, 不太满意 ... do not count)."""
    return "满意" in re.sub(r"不[太很大怎么特别]*满意", "", text)


def prompt_check(args: argparse.Namespace, model_dir: str) -> dict[str, Any]:
    """Does a prompt help, and does it make Whisper say 满意 where nobody did?"""
    clips, paths, _ = _load_corpus(args.corpus)
    report: dict[str, Any] = {"benchmark": "transcribe-prompts", "clips": len(clips), "prompts": {}}
    for name, prompt in PROMPTS.items():
        texts = [to_simplified(t) for t in run_isolated("_baseline", model_dir, paths, args.threads, prompt)["texts"]]
        speech = [(c["text"], t) for c, t in zip(clips, texts) if c["kind"] in SPEECH_KINDS]
        invented = [c["file"] for c, t in zip(clips, texts) if "满意" in t and "满意" not in c["text"]]
        flipped = [c["file"] for c, t in zip(clips, texts)
                   if "满意" in c["text"] and not _bare_manyi(c["text"]) and _bare_manyi(t)]
        report["prompts"][name] = {"prompt": prompt, "cer": round(corpus_cer(speech), 4),
                                   "invented_manyi": invented, "negative_lost_its_bu": flipped,
                                   "non_speech_with_text": [c["file"] for c, t in zip(clips, texts)
                                                            if c["kind"] not in SPEECH_KINDS and t.strip()]}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "fixtures" / "answers")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--per-clip", action="store_true", help="include every clip's transcripts")
    parser.add_argument("--prompts", action="store_true", help="measure initial prompts instead")
    args = parser.parse_args()
    model_dir = str(ensure_bundled_model(args.models_dir / BUNDLED_NAME).path)
    result = prompt_check(args, model_dir) if args.prompts else benchmark(args, model_dir)
    print(json.dumps({k: v for k, v in result.items() if v is not None}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
