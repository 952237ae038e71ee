"""Decoding packed answers on CTranslate2's Whisper, one answer per decoder sequence.

Each packed answer is decoded against its own view of the window's encoder output:

* frames outside the answer are replaced by the encoder output of a silent window, so the decoder
  cannot hear a neighbour, which is what makes the split back into answers exact;
* only the answer's frames, a little context, and the first and last second of the window are kept.
  Cross-attention over 1500 frames is most of CTranslate2's decoding time on CPU; the edge frames
  stay because the decoder parks attention there (dropping them makes it loop or stop early);
* the decoder is started at the answer's offset with a timestamp token, and the timestamps it emits
  are checked against the answer's span by the caller (guards.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

from callback_service.transcription.packing import FRAMES_PER_SECOND, WINDOW_FRAMES, Placement, Window

TIME_PRECISION = 0.02
MAX_TOKENS_PER_SECOND = 14      # Mandarin runs at 3-7 characters a second, plus timestamp tokens


@dataclass(frozen=True)
class MemoryLayout:
    context: float = 0.5        # seconds of (silenced) context kept either side of an answer
    edge: float = 1.0           # seconds kept at the start and end of the window


DEFAULT_LAYOUT = MemoryLayout()


@dataclass(frozen=True)
class DecodedSegment:
    start: float                # seconds from the window start
    end: float
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class DecodedClip:
    index: int
    segments: tuple[DecodedSegment, ...]
    avg_logprob: float
    finished: bool              # ended with end-of-text rather than at the length limit
    dangling: bool              # text after the last timestamp (no end time)


def encode(model: WhisperModel, audio: np.ndarray) -> np.ndarray:
    """Encoder output of one 30-second window, on the host (memories are assembled in numpy)."""
    features = model.feature_extractor(audio)[..., :-1][:, :WINDOW_FRAMES * 2]
    view = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[np.newaxis]))
    return np.asarray(model.model.encode(view, to_cpu=True))


class PackedDecoder:
    """Encodes windows and decodes their answers; stateless apart from the silent-window encoding."""

    def __init__(self, model: WhisperModel, tokenizer: Tokenizer, layout: MemoryLayout = DEFAULT_LAYOUT,
                 max_batch: int = 16):
        self.model = model
        self.max_batch = max_batch
        self.tokenizer = tokenizer
        self.layout = layout
        self._silence = encode(model, np.zeros(WINDOW_FRAMES * 2 * 160, dtype=np.float32))

    def decode_windows(self, windows: Sequence[Window], beam_size: int) -> dict[int, tuple[DecodedClip, float]]:
        """Each answer's decode and its probability of being in the configured language, by clip index.

        Answers of all windows are decoded together, in batches of similar memory width: one decoder
        step then serves many answers, and little padding is needed to give a batch one shape.
        """
        jobs = []
        for window in windows:
            encoded = encode(self.model, window.render())
            jobs += [(p, encoded, self._frames_for(p)) for p in window.placements]
        jobs.sort(key=lambda job: len(job[2]))
        decoded: dict[int, tuple[DecodedClip, float]] = {}
        for first in range(0, len(jobs), self.max_batch):
            decoded.update(self._decode_batch(jobs[first:first + self.max_batch], beam_size))
        return decoded

    def _decode_batch(self, jobs: list[tuple[Placement, np.ndarray, list[int]]],
                      beam_size: int) -> dict[int, tuple[DecodedClip, float]]:
        width = max(len(frames) for _, _, frames in jobs)
        memory = np.stack([self._memory(encoded, p, self._widen(frames, width)) for p, encoded, frames in jobs])
        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(memory))
        prompts = [self._prompt(p) for p, _, _ in jobs]
        max_length = len(prompts[0]) + int(max(p.duration for p, _, _ in jobs) * MAX_TOKENS_PER_SECOND) + 8
        results = self.model.model.generate(
            view, prompts, beam_size=beam_size, max_length=max_length, return_scores=True,
            max_initial_timestamp_index=WINDOW_FRAMES, suppress_blank=True, suppress_tokens=[-1],
        )
        languages = self._languages(jobs)
        return {p.index: (self._parse(p.index, r, max_length), lang)
                for (p, _, _), r, lang in zip(jobs, results, languages)}

    def _languages(self, jobs: list[tuple[Placement, np.ndarray, list[int]]]) -> list[float]:
        """Language identification on the answer's own frames only: a quarter of the decoding memory."""
        spans = [p.frame_range() for p, _, _ in jobs]
        width = max(hi - lo for lo, hi in spans)
        starts = [min(lo, WINDOW_FRAMES - width) for lo, _ in spans]
        memory = np.stack([self._memory(encoded, p, list(range(start, start + width)))
                           for (p, encoded, _), start in zip(jobs, starts)])
        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(memory))
        return [self._language_probability(r) for r in self.model.model.detect_language(view)]

    def _language_probability(self, ranked: list[tuple[str, float]]) -> float:
        wanted = f"<|{self.tokenizer.language_code}|>"
        return next((p for token, p in ranked if token == wanted), 0.0)

    def _frames_for(self, placement: Placement) -> list[int]:
        lo, hi = placement.frame_range()
        ctx = int(self.layout.context * FRAMES_PER_SECOND)
        edge = int(self.layout.edge * FRAMES_PER_SECOND)
        keep = set(range(edge)) | set(range(WINDOW_FRAMES - edge, WINDOW_FRAMES))
        keep |= set(range(max(0, lo - ctx), min(WINDOW_FRAMES, hi + ctx)))
        return sorted(keep)

    @staticmethod
    def _widen(frames: list[int], width: int) -> list[int]:
        """Pad with more silenced frames after the answer so every sequence in the batch has one shape."""
        kept = set(frames)
        extra = (i for i in range(frames[len(frames) // 2], WINDOW_FRAMES) if i not in kept)
        extra_before = (i for i in range(frames[len(frames) // 2], -1, -1) if i not in kept)
        padding = [i for _, i in zip(range(width - len(frames)), extra)]
        padding += [i for _, i in zip(range(width - len(frames) - len(padding)), extra_before)]
        return sorted(kept | set(padding))

    def _memory(self, encoded: np.ndarray, placement: Placement, frames: list[int]) -> np.ndarray:
        view = self._silence[0].copy()
        lo, hi = placement.frame_range()
        view[lo:hi] = encoded[0, lo:hi]
        return view[frames]

    def _prompt(self, placement: Placement) -> list[int]:
        start = self.tokenizer.timestamp_begin + int(round(placement.offset / TIME_PRECISION))
        return [*self.tokenizer.sot_sequence, start]

    def _parse(self, index: int, result: ctranslate2.models.WhisperGenerationResult, max_length: int) -> DecodedClip:
        # The result repeats the forced start timestamp; end-of-text is stripped.
        tokens = list(result.sequences_ids[0])
        segments, dangling = split_segments(tokens, self.tokenizer)
        finished = len(tokens) + len(self.tokenizer.sot_sequence) < max_length - 2
        avg = float(result.scores[0]) * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        return DecodedClip(index, tuple(segments), avg, finished, dangling)


def split_segments(tokens: list[int], tokenizer: Tokenizer) -> tuple[list[DecodedSegment], bool]:
    """Timestamped segments of a decoded sequence, and whether text was left without an end time."""
    begin, segments = tokenizer.timestamp_begin, []
    start: float | None = None
    text: list[int] = []
    for token in tokens:
        if token < tokenizer.eot:
            text.append(token)
        elif token >= begin:
            stamp = (token - begin) * TIME_PRECISION
            if text and start is not None:
                segments.append(DecodedSegment(start, stamp, tuple(text)))
                text = []
                start = None
            else:
                start = stamp
    return segments, bool(text)
