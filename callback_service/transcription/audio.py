"""Decode any audio file FFmpeg can read (via PyAV) to 16 kHz mono float32, or raise AudioError.

Limits are checked as early as possible: the byte size before opening, the declared duration before
decoding, and the decoded length while decoding, so a huge or endless file costs little to refuse.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from callback_service.transcription.base import AudioError

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int = 64 * 1024 * 1024     # a 10-minute 8 kHz 16-bit WAV is under 10 MB
    max_seconds: float = 600.0            # survey answers are seconds long; whole calls minutes


DEFAULT_LIMITS = AudioLimits()


def load_audio(path: str | Path, limits: AudioLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Return the samples of path as 16 kHz mono float32 in [-1, 1]."""
    path = Path(path)
    _check_file(path, limits)
    try:
        samples = _decode(path, limits)
    except av.error.FFmpegError as exc:
        raise AudioError(path, f"unreadable or corrupt audio ({_ffmpeg_reason(exc)})") from exc
    except (OSError, ValueError) as exc:
        raise AudioError(path, f"unreadable audio ({exc})") from exc
    if samples.size == 0:
        raise AudioError(path, "no audio samples (empty recording)")
    return samples


def _check_file(path: Path, limits: AudioLimits) -> None:
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise AudioError(path, "file not found") from exc
    except OSError as exc:
        raise AudioError(path, f"cannot stat file ({exc.strerror})") from exc
    if not path.is_file():
        raise AudioError(path, "not a regular file")
    if stat.st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    if stat.st_size > limits.max_bytes:
        raise AudioError(path, f"oversized file ({stat.st_size} bytes > limit {limits.max_bytes})")


def _decode(path: Path, limits: AudioLimits) -> np.ndarray:
    max_samples = int(limits.max_seconds * SAMPLE_RATE)
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        stream = _audio_stream(container, path)
        _check_declared_duration(stream, path, limits)
        for frame in container.decode(stream):
            frame.pts = None    # broken timestamps in phone recordings must not stop the resampler
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                total += chunks[-1].size
            if total > max_samples:
                raise AudioError(path, f"over-long audio (more than {limits.max_seconds:g} s)")
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    del resampler
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def _audio_stream(container: av.container.InputContainer, path: Path) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise AudioError(path, "no audio stream")
    return container.streams.audio[0]


def _check_declared_duration(stream: av.audio.stream.AudioStream, path: Path, limits: AudioLimits) -> None:
    if stream.duration is None or stream.time_base is None:
        return
    seconds = float(stream.duration * stream.time_base)
    if seconds > limits.max_seconds:
        raise AudioError(path, f"over-long audio ({seconds:.1f} s > limit {limits.max_seconds:g} s)")


def _ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def release_decoder_memory() -> None:
    """PyAV resamplers keep native buffers until a full collection (faster-whisper issue #390).

    A full collection costs milliseconds, so callers run it once per batch of files, not per file.
    """
    gc.collect()


def duration_seconds(samples: np.ndarray) -> float:
    return float(samples.size) / SAMPLE_RATE


@dataclass(frozen=True)
class SpeechSpan:
    start: int           # sample index, 16 kHz
    end: int


def speech_spans(samples: np.ndarray, *, threshold: float = 0.5, pad_ms: int = 200) -> list[SpeechSpan]:
    """Speech regions found by Silero VAD (bundled with faster-whisper); [] for silence or noise."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=threshold, min_silence_duration_ms=300, speech_pad_ms=pad_ms)
    return [SpeechSpan(s["start"], s["end"]) for s in get_speech_timestamps(samples, options)]
