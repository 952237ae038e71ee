"""Checks that decide whether a packed decode can be trusted or the answer is decoded again alone.

A failed check costs a second decode, never a wrong transcript, so the checks lean towards doubt.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from callback_service.transcription.decoding import DecodedClip
from callback_service.transcription.packing import Placement

_REPEAT_LONG = re.compile(r"(.{4,}).*\1", re.S)        # a phrase of 4+ characters said twice
_REPEAT_RUN = re.compile(r"(.{1,3})\1\1", re.S)         # a short unit three times in a row


@dataclass(frozen=True)
class GuardSettings:
    edge_tolerance: float = 0.5         # timestamps may stray this far outside the answer's span
    end_tolerance: float = 1.2          # the last end time may fall this far short of the span end
    min_avg_logprob: float = -1.0       # Whisper's own log_prob_threshold
    max_compression_ratio: float = 2.4  # Whisper's own compression_ratio_threshold
    max_chars_per_second: float = 9.0   # faster than any speaker: the decoder is looping


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _compact(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)


def looks_repetitive(text: str) -> bool:
    compact = _compact(text)
    return bool(_REPEAT_LONG.search(compact) or _REPEAT_RUN.search(compact))


def doubts(clip: DecodedClip, placement: Placement, text: str, settings: GuardSettings) -> list[str]:
    """Reasons to distrust this packed decode; empty when it can be kept."""
    reasons = []
    if not clip.finished or clip.dangling:
        reasons.append("unfinished")
    if not clip.segments or not text.strip():
        return reasons + ["empty"]
    reasons += _timing_doubts(clip, placement, settings)
    if clip.avg_logprob < settings.min_avg_logprob:
        reasons.append("low_logprob")
    if compression_ratio(text) > settings.max_compression_ratio or looks_repetitive(text):
        reasons.append("repetition")
    if len(_compact(text)) > settings.max_chars_per_second * max(placement.duration, 1.0):
        reasons.append("too_fast")
    return reasons


def _timing_doubts(clip: DecodedClip, placement: Placement, settings: GuardSettings) -> list[str]:
    tol = settings.edge_tolerance
    first, last = clip.segments[0], clip.segments[-1]
    reasons = []
    if first.start < placement.offset - tol or last.end > placement.end + tol:
        reasons.append("outside_span")
    if last.end < placement.end - settings.end_tolerance:
        reasons.append("ends_early")
    if any(s.end < s.start for s in clip.segments):
        reasons.append("bad_timestamps")
    return reasons
