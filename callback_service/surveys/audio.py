"""Wrapper around the audio tools prompt rendering uses: espeak-ng, sox and soxi.

Every call runs with check=True and a timeout; failures become ``PromptRenderError`` naming the file.
Output is 8 kHz, 16-bit signed, mono WAV with sox's canonical 44-byte header: what Asterisk's
Playback() reads for ``.wav`` and what the SIP dialer streams. Dither is off (``-D``) so the same input
always gives byte-identical output.
"""

from __future__ import annotations

import functools
import logging
import re
import struct
import subprocess
from pathlib import Path

from callback_service.surveys.errors import PromptRenderError

log = logging.getLogger(__name__)

RATE_HZ = 8000
BITS = 16
CHANNELS = 1
TIMEOUT_S = 60.0
# espeak-ng >= 1.50 names Mandarin "cmn" (pinyin variant reads Latin letters as pinyin); older
# releases call it "zh". mbrola voices (mb/...) need a separate binary and are never chosen.
VOICE_PREFERENCE = ("cmn-latn-pinyin", "cmn", "zh")
# espeak's default rate already speaks Mandarin at ~3.5 syllables/s, a little slower than natural
# speech: right for elderly callers on narrow-band lines, so it is pinned rather than lowered.
SPEED_WPM = 175
PEAK_DB = -3.0  # headroom for the telephone codec; normalising also evens out recorded prompts
SYNTH_ARGS = ("-s", str(SPEED_WPM), "-b", "1")
SOX_EFFECTS = ("remix", "-", "rate", "-h", str(RATE_HZ), "gain", "-n", str(PEAK_DB))
MIN_SECONDS = 0.2


def _run(cmd: list[str], file: Path, *, stdin: bytes | None = None) -> str:
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, check=True, timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise PromptRenderError(
            f"{file}: {cmd[0]} is not installed (apt-get install espeak-ng sox)"
        ) from None
    except subprocess.TimeoutExpired:
        raise PromptRenderError(
            f"{file}: {cmd[0]} timed out after {TIMEOUT_S:.0f} s", transient=True
        ) from None
    except subprocess.CalledProcessError as exc:
        err = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = err[-1] if err else "no message"
        raise PromptRenderError(f"{file}: {cmd[0]} failed (exit {exc.returncode}): {detail}") from None
    return done.stdout.decode("utf-8", "replace")


@functools.lru_cache(maxsize=1)
def espeak_voice() -> str:
    """The best installed Mandarin voice, by VOICE_PREFERENCE."""
    listing = _run(["espeak-ng", "--voices"], Path("espeak-ng"))
    installed = set()
    for line in listing.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and not cols[4].startswith("mb/"):
            installed.add(cols[1].lower())
    for voice in VOICE_PREFERENCE:
        if voice in installed:
            return voice
    raise PromptRenderError(f"espeak-ng has no Mandarin voice (looked for {', '.join(VOICE_PREFERENCE)})")


@functools.lru_cache(maxsize=1)
def tool_versions() -> str:
    espeak = _run(["espeak-ng", "--version"], Path("espeak-ng")).split("Data at")[0]
    sox = _run(["sox", "--version"], Path("sox"))
    return f"{' '.join(espeak.split())}; {' '.join(sox.split())}"


def synthesize(text: str, out_wav: Path) -> None:
    """Speak ``text`` into ``out_wav`` (espeak-ng's native rate; convert() makes it 8 kHz)."""
    cmd = ["espeak-ng", "-v", espeak_voice(), *SYNTH_ARGS, "-w", str(out_wav), "--stdin"]
    _run(cmd, out_wav, stdin=text.encode("utf-8"))


def convert(src: Path, dst: Path) -> None:
    """Any audio sox can read -> 8 kHz 16-bit mono WAV, peak-normalised, without dither."""
    cmd = [
        "sox",
        "-D",
        "-V1",
        str(src),
        "-t",
        "wav",
        "-r",
        str(RATE_HZ),
        "-b",
        str(BITS),
        "-c",
        str(CHANNELS),
        "-e",
        "signed-integer",
        str(dst),
        *SOX_EFFECTS,
    ]
    _run(cmd, src)


_SOXI_FIELDS = {
    "Channels": str(CHANNELS),
    "Sample Rate": str(RATE_HZ),
    "Precision": f"{BITS}-bit",
    "Sample Encoding": f"{BITS}-bit Signed Integer PCM",
}
_DURATION_RE = re.compile(r"= (\d+) samples")


def check_format(path: Path) -> float:
    """Fail unless ``path`` is 8 kHz 16-bit mono PCM WAV with a canonical header; return seconds."""
    pairs = (line.partition(":") for line in _run(["soxi", str(path)], path).splitlines())
    info = {k.strip(): v.strip() for k, _, v in pairs if v}
    for key, want in _SOXI_FIELDS.items():
        if info.get(key) != want:
            raise PromptRenderError(f"{path}: {key} is {info.get(key)!r}, expected {want!r}")
    _check_header(path)
    match = _DURATION_RE.search(info.get("Duration", ""))
    seconds = int(match.group(1)) / RATE_HZ if match else 0.0
    if seconds < MIN_SECONDS:
        raise PromptRenderError(f"{path}: only {seconds:.2f} s of audio")
    return seconds


def _check_header(path: Path) -> None:
    # A fixed 44-byte header keeps output byte-reproducible and readable by Python's wave module.
    with path.open("rb") as fh:
        head = fh.read(44)
    if len(head) < 44 or head[:4] != b"RIFF" or head[8:16] != b"WAVEfmt " or head[36:40] != b"data":
        raise PromptRenderError(f"{path}: not a canonical 44-byte PCM WAV header")
    fmt_size, fmt_tag = struct.unpack("<IH", head[16:22])
    if fmt_size != 16 or fmt_tag != 1:
        raise PromptRenderError(f"{path}: WAV format chunk is not plain PCM")
