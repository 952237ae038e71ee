"""Audio decoding and rejection: every unusable file is an AudioError that names the file.

These run the real PyAV/FFmpeg decoder on real files; no Whisper model is loaded.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from callback_service.transcription.audio import SAMPLE_RATE, AudioLimits, load_audio
from callback_service.transcription.base import AudioError

ANSWERS = Path(__file__).resolve().parent.parent / "fixtures" / "answers"
CLIP = ANSWERS / "unrel_01.wav"          # 8 kHz 16-bit mono, about 3.2 s


def _wav_bytes() -> bytes:
    return CLIP.read_bytes()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _streaming_wav(path: Path, seconds: float) -> Path:
    """A WAV whose header claims an unknown length, as live recorders write it: no duration up front."""
    samples = (np.sin(np.arange(int(seconds * 8000)) * 0.3) * 8000).astype("<i2").tobytes()
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)      # PCM, mono, 8 kHz, 16-bit
    header = b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + fmt
    return _write(path, header + b"data" + struct.pack("<I", 0xFFFFFFFF) + samples)


BAD_FILES = {
    "empty": lambda d: _write(d / "empty.wav", b""),
    "header_only": lambda d: _write(d / "header_only.wav", _wav_bytes()[:44]),
    "truncated_header": lambda d: _write(d / "truncated_header.wav", _wav_bytes()[:30]),
    "random_bytes": lambda d: _write(d / "random.wav", np.random.default_rng(7).bytes(48_000)),
    "text_renamed": lambda d: _write(d / "notes.wav", "这不是录音，只是一段文字。\nnot audio\n".encode() * 50),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_unusable_files_raise_audio_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = BAD_FILES[kind](tmp_path)
    with pytest.raises(AudioError) as caught:
        load_audio(path)
    assert str(path) in str(caught.value)
    assert caught.value.path == str(path)
    assert caught.value.transient is False


def test_missing_file_and_directory_are_audio_errors(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.wav", tmp_path):
        with pytest.raises(AudioError, match=str(path)):
            load_audio(path)


def test_oversized_file_is_refused_before_decoding() -> None:
    with pytest.raises(AudioError, match=r"oversized.*limit 10000"):
        load_audio(CLIP, AudioLimits(max_bytes=10_000))


def test_over_long_audio_is_refused_from_its_declared_duration() -> None:
    with pytest.raises(AudioError, match=rf"{CLIP}.*over-long"):
        load_audio(CLIP, AudioLimits(max_seconds=2.0))


def test_over_long_audio_without_a_declared_duration_is_refused_while_decoding(tmp_path: Path) -> None:
    path = _streaming_wav(tmp_path / "stream.wav", 5.0)
    assert load_audio(path, AudioLimits(max_seconds=6.0)).size == pytest.approx(5 * SAMPLE_RATE, abs=400)
    with pytest.raises(AudioError, match="over-long"):
        load_audio(path, AudioLimits(max_seconds=2.0))


def test_phone_audio_is_resampled_to_16k_mono_float() -> None:
    with wave.open(str(CLIP)) as source:
        assert source.getframerate() == 8000
        expected = source.getnframes() * 2
    samples = load_audio(CLIP)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert samples.size == pytest.approx(expected, abs=64)
    assert 0.05 < float(np.abs(samples).max()) <= 1.0


@pytest.mark.parametrize("fmt, tool", [("flac", "sox"), ("mp3", "ffmpeg"), ("ogg", "ffmpeg")])
def test_other_formats_and_rates_decode_to_the_same_length(tmp_path: Path, fmt: str, tool: str) -> None:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed")
    out = tmp_path / f"clip.{fmt}"
    cmd = [exe, str(CLIP), "-r", "22050", str(out)] if tool == "sox" else \
        [exe, "-loglevel", "error", "-i", str(CLIP), "-ar", "44100", "-ac", "2", str(out)]
    subprocess.run(cmd, check=True, timeout=60)
    reference = load_audio(CLIP)
    assert abs(load_audio(out).size - reference.size) < 0.05 * SAMPLE_RATE   # codec padding only
