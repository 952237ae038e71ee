"""Telephone-band audio helpers: WAV in and out, pyVoIP's 8-bit sample format, levels and tones.

The project stores audio as 8 kHz, 16-bit signed mono WAV (prompts, answers, call recordings), and
that is also what crosses RTP (as G.711, see ``rtp.py``): pyVoIP's own 8-bit sample path is not used.
"""

from __future__ import annotations

import math
import subprocess
import warnings
import wave
from pathlib import Path

RATE = 8000
WIDTH = 2                       # bytes per sample of the project's PCM
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
SOX_TIMEOUT_S = 60

with warnings.catch_warnings():
    # Deprecated since 3.11, gone in 3.13; pyVoIP 1.6.8 needs it too, and the project pins 3.11.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop


class AudioFileError(Exception):
    """An audio file is missing, unreadable or cannot be converted; the message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


def read_wav(path: Path) -> bytes:
    """16-bit 8 kHz mono PCM of a WAV file; other formats are converted with sox."""
    if not path.is_file():
        raise AudioFileError(path, "no such file")
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (RATE, WIDTH, 1):
                return wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        if "unknown format" not in str(exc):
            raise AudioFileError(path, f"unreadable WAV ({exc})") from exc
    return _convert_with_sox(path)


def _convert_with_sox(path: Path) -> bytes:
    cmd = ["sox", str(path), "-t", "raw", "-r", str(RATE), "-e", "signed-integer", "-b", "16",
           "-c", "1", "-L", "-"]
    try:
        done = subprocess.run(cmd, check=True, capture_output=True, timeout=SOX_TIMEOUT_S)
    except FileNotFoundError as exc:
        raise AudioFileError(path, "sox is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise AudioFileError(path, f"sox failed: {exc.stderr.decode(errors='replace').strip()}") from exc
    except subprocess.TimeoutExpired as exc:
        raise AudioFileError(path, "sox timed out") from exc
    return done.stdout


def write_wav(path: Path, pcm: bytes) -> None:
    """Write 16-bit 8 kHz mono PCM atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(WIDTH)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    tmp.replace(path)


def duration_s(pcm: bytes) -> float:
    return len(pcm) / (RATE * WIDTH)


def rms(pcm: bytes) -> int:
    return audioop.rms(pcm, WIDTH) if pcm else 0


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(RATE * seconds)


def mix(base: bytes, overlay: bytes, at_sample: int) -> bytes:
    """Add ``overlay`` onto ``base`` starting at ``at_sample``, extending base as needed (clipping)."""
    start = at_sample * WIDTH
    if len(base) < start + len(overlay):
        base = base + b"\x00" * (start + len(overlay) - len(base))
    head, middle, tail = base[:start], base[start:start + len(overlay)], base[start + len(overlay):]
    return head + audioop.add(middle, overlay, WIDTH) + tail


# Standard DTMF frequency pairs (ITU-T Q.23): rows x columns.
DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")


def dtmf_frequencies(key: str) -> tuple[float, float]:
    for r, row in enumerate(DTMF_KEYS):
        if key in row:
            return DTMF_ROWS[r], DTMF_COLS[row.index(key)]
    raise ValueError(f"not a DTMF key: {key!r}")


def dtmf_tone(key: str, tone_s: float = 0.12, gap_s: float = 0.08, level: float = 0.3) -> bytes:
    """In-band DTMF for one key: the two sines at ``level`` of full scale each, then a silent gap."""
    low, high = dtmf_frequencies(key)
    amp = 32767 * level
    n = int(RATE * tone_s)
    samples = (int(amp * (math.sin(2 * math.pi * low * i / RATE) + math.sin(2 * math.pi * high * i / RATE)))
               for i in range(n))
    tone = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)
    return tone + silence(gap_s)


def beep(freq: float = 1000.0, seconds: float = 0.2, level: float = 0.3) -> bytes:
    amp = 32767 * level
    n = int(RATE * seconds)
    return b"".join(int(amp * math.sin(2 * math.pi * freq * i / RATE)).to_bytes(2, "little", signed=True)
                    for i in range(n))
