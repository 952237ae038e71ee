"""In-band DTMF detection (Goertzel) for far ends that send key presses only as tones.

pyVoIP reports RFC 2833/4733 telephone events, but many handsets, gateways and pyVoIP itself (which
cannot send them) put key presses in the audio. This detector runs on the received 8 kHz stream.

Per 205-sample block (25.6 ms, the classic choice: every DTMF frequency lands near a DFT bin) it
measures the eight DTMF frequencies. A block counts as a key when the strongest row and column tones
dominate their groups, carry most of the block's energy and are within the allowed twist. A key is
reported once, when two consecutive blocks agree, and again only after a gap.
"""

from __future__ import annotations

import numpy as np

from callback_service.telephony.sip.audio import DTMF_COLS, DTMF_KEYS, DTMF_ROWS, RATE

BLOCK = 205
MIN_BLOCK_RMS = 300.0          # about -40 dBFS: quieter blocks are not key presses
MIN_TONE_SHARE = 0.55          # row+column power as a share of the block's power at those bins
MAX_OTHER_RATIO = 0.2          # the runner-up in a group must be this much weaker
MAX_TWIST = 8.0                # power ratio between the row and the column tone (about 9 dB)

_FREQS = np.array(DTMF_ROWS + DTMF_COLS)
_N = np.arange(BLOCK)
_BASIS = np.exp(-2j * np.pi * np.outer(_FREQS, _N) / RATE)   # 8 x BLOCK
_WINDOW = np.hamming(BLOCK)


class DtmfDetector:
    """Feed 16-bit PCM in any chunk size; collect detected keys with ``pop_keys``."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float64)
        self._last: str | None = None      # key seen in the previous block
        self._reported: str | None = None  # key currently held down and already reported
        self._keys: list[str] = []

    def feed(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        self._pending = np.concatenate([self._pending, samples])
        while len(self._pending) >= BLOCK:
            block, self._pending = self._pending[:BLOCK], self._pending[BLOCK:]
            self._on_block(classify_block(block))

    def pop_keys(self) -> str:
        keys, self._keys = "".join(self._keys), []
        return keys

    def _on_block(self, key: str | None) -> None:
        if key is None:
            self._reported = None
        elif key == self._last and key != self._reported:
            self._keys.append(key)
            self._reported = key
        self._last = key


def classify_block(block: np.ndarray) -> str | None:
    """The DTMF key in one block of samples, or None."""
    if np.sqrt(np.mean(block * block)) < MIN_BLOCK_RMS:
        return None
    power = np.abs(_BASIS @ (block * _WINDOW)) ** 2
    rows, cols = power[:4], power[4:]
    r, c = int(np.argmax(rows)), int(np.argmax(cols))
    if not (_dominates(rows, r) and _dominates(cols, c)):
        return None
    if max(rows[r], cols[c]) > MAX_TWIST * min(rows[r], cols[c]):
        return None
    if rows[r] + cols[c] < MIN_TONE_SHARE * float(np.sum(power)):
        return None
    if not _tonal(block, rows[r] + cols[c]):
        return None
    return DTMF_KEYS[r][c]


def _dominates(group: np.ndarray, best: int) -> bool:
    others = np.delete(group, best)
    return bool(np.all(others < MAX_OTHER_RATIO * group[best]))


def _tonal(block: np.ndarray, tone_power: float) -> bool:
    """Speech has energy everywhere; a key press puts most of the block's energy into two tones."""
    # For a windowed sine of amplitude A the bin power is about (A * sum(window) / 2) ** 2 while the
    # block energy is A**2 * BLOCK / 2, so compare on that scale.
    total = float(np.sum((block * _WINDOW) ** 2))
    scale = float(np.sum(_WINDOW)) ** 2 / 4 / float(np.sum(_WINDOW ** 2)) * 2
    return tone_power >= 0.5 * scale * total
