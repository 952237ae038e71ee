"""Render survey prompt text into 8 kHz WAV files for Asterisk and the SIP dialer.

For each prompt name used by the templates, a recorded human prompt ``<recorded>/<name>.wav`` wins;
otherwise espeak-ng speaks the template text. Both go through the same sox conversion. A manifest
(``<out>/manifest.json``) records what each output was made from; a prompt whose text, source and
output file still match it is skipped, so a second run does no work and rewrites nothing.

CLI: ``callback-service prompts render [--templates DIR] [--out DIR] [--recorded DIR] [--check] [--json]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from callback_service.surveys import audio
from callback_service.surveys.errors import PromptRenderError, SurveyTemplateError
from callback_service.surveys.loader import load_all, prompt_texts

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
SOURCE_RECORDED = "recorded"
SOURCE_SYNTH = "espeak-ng"
DEFAULT_TEMPLATES = Path("survey_templates")  # same defaults as config.Settings, relative to the cwd
DEFAULT_OUT = Path("scripts_voice/audio")


@dataclass(frozen=True)
class PromptJob:
    name: str
    text: str
    source: str  # SOURCE_RECORDED | SOURCE_SYNTH
    input_sha256: str  # what the audio is made from: recorded bytes, or text + voice settings
    recorded: Path | None = None


@dataclass
class RenderReport:
    out_dir: str
    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except FileNotFoundError:
        return None


def plan(texts: dict[str, str], recorded_dir: Path) -> list[PromptJob]:
    """One job per prompt name, choosing recorded audio when it exists."""
    settings = json.dumps([audio.SOX_EFFECTS, audio.RATE_HZ, audio.BITS, audio.CHANNELS]).encode()
    jobs = []
    for name, text in sorted(texts.items()):
        recorded = recorded_dir / f"{name}.wav"
        if recorded.is_file():
            digest = _sha256(settings + b"\0" + recorded.read_bytes())
            jobs.append(PromptJob(name, text, SOURCE_RECORDED, digest, recorded))
        else:
            synth = json.dumps([text, audio.VOICE_PREFERENCE, audio.SYNTH_ARGS], ensure_ascii=False)
            jobs.append(PromptJob(name, text, SOURCE_SYNTH, _sha256(settings + b"\0" + synth.encode())))
    return jobs


def read_manifest(out_dir: Path) -> dict[str, dict[str, Any]]:
    path = out_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable prompt manifest %s: %s", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        log.warning("ignoring prompt manifest %s: unknown version", path)
        return {}
    prompts = data.get("prompts")
    if not isinstance(prompts, dict):
        return {}
    return {name: entry for name, entry in prompts.items() if isinstance(entry, dict)}


def _write_manifest(out_dir: Path, entries: dict[str, dict[str, Any]]) -> None:
    body = {
        "version": MANIFEST_VERSION,
        "format": {"rate_hz": audio.RATE_HZ, "bits": audio.BITS, "channels": audio.CHANNELS},
        "prompts": entries,
    }
    text = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path = out_dir / MANIFEST_NAME
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    _atomic_write(path, text.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def is_current(job: PromptJob, entry: dict[str, Any] | None, out_dir: Path) -> bool:
    if not entry or entry.get("input_sha256") != job.input_sha256 or entry.get("text") != job.text:
        return False
    return entry.get("output_sha256") == _file_sha256(out_dir / f"{job.name}.wav")


def stale_prompts(texts: dict[str, str], out_dir: Path, recorded_dir: Path) -> list[str]:
    """Prompt names whose output is missing or out of date (and outputs no template uses any more)."""
    manifest = read_manifest(out_dir)
    jobs = plan(texts, recorded_dir)
    stale = [j.name for j in jobs if not is_current(j, manifest.get(j.name), out_dir)]
    return stale + sorted(set(manifest) - set(texts))


def _render_one(job: PromptJob, out_dir: Path) -> dict[str, Any]:
    final = out_dir / f"{job.name}.wav"
    tmp = out_dir / f".{job.name}.tmp.wav"
    try:
        if job.recorded is not None:
            audio.convert(job.recorded, tmp)
        else:
            with tempfile.TemporaryDirectory(prefix="prompt-") as work:
                raw = Path(work) / f"{job.name}.raw.wav"
                audio.synthesize(job.text, raw)
                audio.convert(raw, tmp)
        seconds = audio.check_format(tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("rendered prompt %s from %s (%.1f s)", job.name, job.source, seconds)
    return {
        "text": job.text,
        "source": job.source,
        "input_sha256": job.input_sha256,
        "output_sha256": _file_sha256(final),
        "seconds": round(seconds, 3),
        "recorded": job.recorded.name if job.recorded else None,
        "voice": audio.espeak_voice() if job.recorded is None else None,
        "tools": audio.tool_versions(),
    }


def _remove_unused(
    manifest: dict[str, dict[str, Any]], keep: set[str], out_dir: Path, report: RenderReport
) -> None:
    for name in sorted(set(manifest) - keep):
        wav = out_dir / f"{name}.wav"
        # Only delete what this tool wrote: a file edited by hand since is left for a person to judge.
        if _file_sha256(wav) in (manifest[name].get("output_sha256"), None):
            wav.unlink(missing_ok=True)
            report.removed.append(name)
        else:
            report.warnings.append(f"{wav}: no template uses it any more, but it was changed by hand; kept")


def _bring_up_to_date(
    job: PromptJob,
    old: dict[str, Any] | None,
    out_dir: Path,
    entries: dict[str, dict[str, Any]],
    report: RenderReport,
) -> None:
    report.sources[job.name] = job.source
    if old is not None and is_current(job, old, out_dir):
        entries[job.name] = old
        report.unchanged.append(job.name)
        return
    if job.source == SOURCE_RECORDED and old and old.get("text") != job.text:
        report.warnings.append(f"{job.recorded}: the template text changed; check the recording still fits")
    entries[job.name] = _render_one(job, out_dir)
    report.rendered.append(job.name)


def render_prompts(texts: dict[str, str], out_dir: Path, recorded_dir: Path) -> RenderReport:
    """Bring ``out_dir`` up to date with ``texts`` (prompt name -> text)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out_dir)
    report = RenderReport(out_dir=str(out_dir))
    entries: dict[str, dict[str, Any]] = {}
    try:
        for job in plan(texts, recorded_dir):
            _bring_up_to_date(job, manifest.get(job.name), out_dir, entries, report)
    except BaseException:
        # Keep what was rendered before the failure, so the next run does not redo it.
        _write_manifest(out_dir, {**manifest, **entries})
        raise
    _remove_unused(manifest, set(texts), out_dir, report)
    _write_manifest(out_dir, entries)
    return report


def render_templates(
    templates_dir: Path,
    out_dir: Path,
    recorded_dir: Path | None = None,
    *,
    bureau_name: str | None = None,
    check_only: bool = False,
) -> RenderReport:
    """Load every template and render (or, with ``check_only``, just list) the prompts it needs."""
    recorded_dir = recorded_dir if recorded_dir is not None else out_dir.parent / "recorded"
    texts = prompt_texts(load_all(templates_dir, bureau_name=bureau_name), templates_dir)
    if check_only:
        return RenderReport(out_dir=str(out_dir), stale=stale_prompts(texts, out_dir, recorded_dir))
    return render_prompts(texts, out_dir, recorded_dir)


# --- CLI hook (wired by callback_service/cli.py) ---------------------------------------------------


def add_prompts_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("prompts", help="survey prompt audio")
    sub = parser.add_subparsers(dest="prompts_command", required=True)
    render = sub.add_parser("render", help="render template prompts to 8 kHz WAV for the dialers")
    render.add_argument("--templates", type=Path, default=DEFAULT_TEMPLATES, help="survey template dir")
    render.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output dir for <prompt>.wav")
    render.add_argument(
        "--recorded",
        type=Path,
        default=None,
        help="recorded prompts <prompt>.wav (default: <out>/../recorded)",
    )
    render.add_argument("--bureau-name", default=None, help="override bureau_name from the templates")
    render.add_argument("--check", action="store_true", help="render nothing; exit 1 if any prompt is stale")
    render.add_argument("--json", action="store_true", help="machine-readable output")
    render.set_defaults(func=cmd_prompts)


def cmd_prompts(args: argparse.Namespace) -> int:
    if getattr(args, "prompts_command", "render") != "render":
        print(f"unknown prompts command {args.prompts_command!r}", file=sys.stderr)
        return 2
    try:
        report = render_templates(
            args.templates, args.out, args.recorded, bureau_name=args.bureau_name, check_only=args.check
        )
    except (SurveyTemplateError, PromptRenderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False, sort_keys=True))
    else:
        _print_report(report, args.check)
    return 1 if args.check and report.stale else 0


def _print_report(report: RenderReport, check: bool) -> None:
    if check:
        state = f"stale: {', '.join(report.stale)}" if report.stale else "all prompts up to date"
        print(f"{report.out_dir}: {state}")
        return
    for name in report.rendered:
        print(f"rendered  {name}  ({report.sources[name]})")
    for name in report.removed:
        print(f"removed   {name}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{report.out_dir}: {len(report.rendered)} rendered, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed"
    )
