"""Prompt rendering with the real espeak-ng and sox: format, no-op reruns, recorded-first, reproducibility."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from callback_service.surveys import audio
from callback_service.surveys.errors import PromptRenderError
from callback_service.surveys.loader import load_all, prompt_texts
from callback_service.surveys.prompts import (
    MANIFEST_NAME,
    add_prompts_parser,
    read_manifest,
    render_prompts,
    stale_prompts,
)

REPO = Path(__file__).resolve().parents[2]
TEXTS = {
    "greet": "您好，这里是测试市公安局，本次通话将全程录音。",
    "ask": "满意请按1，不满意请按2。",
}


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def _tone(path: Path, seconds: float = 1.0) -> Path:
    """A stand-in for a voice actor's recording: 44.1 kHz stereo, unlike the target format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", "-b", "24", str(path), "synth", str(seconds), "sine", "440"],
        check=True,
        timeout=30,
    )
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "audio", tmp_path / "recorded"


def test_renders_8khz_16bit_mono_wav_for_every_prompt(dirs: tuple[Path, Path]) -> None:
    out, recorded = dirs
    report = render_prompts(TEXTS, out, recorded)
    assert sorted(report.rendered) == ["ask", "greet"]
    for name in TEXTS:
        with wave.open(str(out / f"{name}.wav")) as wav:
            assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, 1)
            assert wav.getnframes() > 8000 * 0.5
        soxi = subprocess.run(
            ["soxi", str(out / f"{name}.wav")], capture_output=True, text=True, check=True, timeout=30
        ).stdout
        assert "Sample Rate    : 8000" in soxi and "Channels       : 1" in soxi
    manifest = read_manifest(out)
    assert manifest["greet"]["source"] == "espeak-ng" and manifest["greet"]["text"] == TEXTS["greet"]


def test_second_run_is_a_noop_and_rewrites_nothing(dirs: tuple[Path, Path]) -> None:
    out, recorded = dirs
    render_prompts(TEXTS, out, recorded)
    before = _snapshot(out)
    report = render_prompts(TEXTS, out, recorded)
    assert report.rendered == [] and sorted(report.unchanged) == ["ask", "greet"]
    assert _snapshot(out) == before
    assert stale_prompts(TEXTS, out, recorded) == []


def test_output_is_byte_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    render_prompts(TEXTS, first, tmp_path / "none")
    render_prompts(TEXTS, second, tmp_path / "none")
    for name in [f"{n}.wav" for n in TEXTS] + [MANIFEST_NAME]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    greet = (first / "greet.wav").read_bytes()
    (first / "greet.wav").unlink()
    assert render_prompts(TEXTS, first, tmp_path / "none").rendered == ["greet"]
    assert (first / "greet.wav").read_bytes() == greet


def test_recorded_prompt_wins_over_synthesis(dirs: tuple[Path, Path]) -> None:
    out, recorded = dirs
    render_prompts(TEXTS, out, recorded)
    synthesized = (out / "greet.wav").read_bytes()
    _tone(recorded / "greet.wav", seconds=1.0)
    report = render_prompts(TEXTS, out, recorded)
    assert report.rendered == ["greet"] and report.unchanged == ["ask"]
    assert report.sources == {"greet": "recorded", "ask": "espeak-ng"}
    converted = (out / "greet.wav").read_bytes()
    assert converted != synthesized
    assert audio.check_format(out / "greet.wav") == pytest.approx(1.0, abs=0.01)
    assert read_manifest(out)["greet"]["recorded"] == "greet.wav"
    assert render_prompts(TEXTS, out, recorded).rendered == []


def test_changed_text_rerenders_only_that_prompt(dirs: tuple[Path, Path]) -> None:
    out, recorded = dirs
    render_prompts(TEXTS, out, recorded)
    ask_before = (out / "ask.wav").read_bytes()
    changed = {**TEXTS, "ask": "满意请按1，基本满意请按2，不满意请按3。"}
    assert stale_prompts(changed, out, recorded) == ["ask"]
    assert render_prompts(changed, out, recorded).rendered == ["ask"]
    assert (out / "ask.wav").read_bytes() != ask_before


def test_output_edited_by_hand_is_rendered_again(dirs: tuple[Path, Path]) -> None:
    out, recorded = dirs
    render_prompts(TEXTS, out, recorded)
    good = (out / "ask.wav").read_bytes()
    (out / "ask.wav").write_bytes(good[:-100])
    assert render_prompts(TEXTS, out, recorded).rendered == ["ask"]
    assert (out / "ask.wav").read_bytes() == good


def test_prompt_no_template_uses_is_removed(dirs: tuple[Path, Path]) -> None:
    out, recorded = dirs
    render_prompts(TEXTS, out, recorded)
    report = render_prompts({"ask": TEXTS["ask"]}, out, recorded)
    assert report.removed == ["greet"] and not (out / "greet.wav").exists()
    assert set(read_manifest(out)) == {"ask"}


def test_unreadable_recorded_prompt_fails_naming_the_file(dirs: tuple[Path, Path]) -> None:
    out, recorded = dirs
    recorded.mkdir(parents=True)
    (recorded / "greet.wav").write_bytes(b"RIFF not really a wav file")
    with pytest.raises(PromptRenderError, match=r"recorded/greet\.wav: sox failed"):
        render_prompts(TEXTS, out, recorded)
    assert not list(out.glob(".*.tmp*")), "temporary files left behind"


def test_format_check_rejects_wrong_rate_naming_the_file(tmp_path: Path) -> None:
    wrong = tmp_path / "wideband.wav"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(wrong), "synth", "1", "sine", "440"],
        check=True,
        timeout=30,
    )
    with pytest.raises(PromptRenderError, match=r"wideband\.wav: Sample Rate is '16000', expected '8000'"):
        audio.check_format(wrong)


def test_cli_check_then_render_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("_common.yaml", "verification.yaml"):
        shutil.copy(REPO / "survey_templates" / name, templates)
    parser = argparse.ArgumentParser()
    add_prompts_parser(parser.add_subparsers(dest="command", required=True))

    def run(*extra: str) -> tuple[int, dict[str, object]]:
        args = parser.parse_args(
            [
                "prompts",
                "render",
                "--templates",
                str(templates),
                "--out",
                str(tmp_path / "voice" / "audio"),
                "--json",
                *extra,
            ]
        )
        code = args.func(args)
        return code, json.loads(capsys.readouterr().out)

    code, body = run("--check")
    assert code == 1 and "verification_intro" in body["stale"]
    code, body = run()
    assert code == 0 and len(body["rendered"]) == 6 and body["sources"]["common_goodbye"] == "espeak-ng"
    code, body = run("--check")
    assert code == 0 and body["stale"] == []


def test_cli_reports_template_errors_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO / "tests" / "unit" / "survey_corpus" / "dtmf_key_two_digits.yaml", tmp_path)
    (tmp_path / "_common.yaml").write_text("bureau_name: 测试市公安局\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_prompts_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["prompts", "render", "--templates", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert args.func(args) == 1
    assert "dtmf_key_two_digits.yaml: questions[1].dtmf_map: key '12'" in capsys.readouterr().err


def test_committed_prompt_audio_matches_the_templates() -> None:
    texts = prompt_texts(load_all(REPO / "survey_templates"), REPO / "survey_templates")
    out = REPO / "scripts_voice" / "audio"
    assert stale_prompts(texts, out, REPO / "scripts_voice" / "recorded") == [], (
        "run `callback-service prompts render` and commit scripts_voice/audio"
    )
    for name in texts:
        audio.check_format(out / f"{name}.wav")
