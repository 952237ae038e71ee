"""WhisperTranscriber: Mandarin answer recordings to Simplified text with faster-whisper.

Route per file: no speech (Silero VAD) gives an empty transcript without running Whisper; a short
answer is packed with others into shared 30-second windows (packing.py, decoding.py) and kept only
if guards.py trusts it, otherwise it is decoded again alone; a long recording is decoded alone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from callback_service.transcription.audio import (
    DEFAULT_LIMITS,
    SAMPLE_RATE,
    AudioLimits,
    SpeechSpan,
    duration_seconds,
    load_audio,
    release_decoder_memory,
    speech_spans,
)
from callback_service.transcription.base import (
    AudioError,
    ModelInfo,
    Transcriber,
    TranscriptionError,
    TranscriptResult,
    TranscriptSegment,
    error_result,
)
from callback_service.transcription.decoding import DecodedClip, MemoryLayout
from callback_service.transcription.guards import GuardSettings, doubts
from callback_service.transcription.model import ResolvedModel
from callback_service.transcription.packing import PackingPlan, Placement
from callback_service.transcription.runtime import LoadedModel, load, pick_compute_type, pick_device
from callback_service.transcription.text import clean_segment_text, is_hallucination, join_segments

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WhisperSettings:
    language: str = "zh"
    beam_size: int = 5                    # decoding alone (fallback, long recordings): the careful path
    # Packed answers are checked by guards.py and decoded again alone when doubtful, so a narrow beam
    # suffices: beam 2 matched beam 5's CER on the corpus at about 20% less CPU.
    packed_beam_size: int = 2
    pack: bool = True
    packing: PackingPlan = PackingPlan()
    layout: MemoryLayout = MemoryLayout()
    guards: GuardSettings = GuardSettings()
    vad_threshold: float = 0.5
    no_speech_threshold: float = 0.6      # a segment more likely silence than speech is dropped
    review_confidence: float = 0.5        # below this the transcript is flagged for a person
    min_language_probability: float = 0.5
    alone_margin: float = 0.5             # seconds kept around the speech when decoding alone
    # No initial prompt by default: one naming the answer words makes Whisper write them on
    # unrelated audio (measured with benchmarks/transcribe.py --prompts).
    initial_prompt: str | None = None
    batch_files: int = 48                 # files decoded per packing round (bounds memory)


@dataclass
class _Speech:
    """One loaded file on its way through the pipeline."""
    path: str
    samples: np.ndarray
    spans: list[SpeechSpan]
    reasons: list[str] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.spans[0].start

    @property
    def trimmed(self) -> np.ndarray:
        return self.samples[self.spans[0].start:self.spans[-1].end]


class WhisperTranscriber(Transcriber):
    name = "faster-whisper"

    def __init__(self, resolved: ResolvedModel, *, device: str = "auto", compute_type: str = "auto",
                 threads: int = 0, settings: WhisperSettings | None = None,
                 limits: AudioLimits = DEFAULT_LIMITS) -> None:
        self.resolved = resolved
        self.settings = settings or WhisperSettings()
        self.limits = limits
        self._load_args = (device, compute_type, threads)

    @property
    def runtime(self) -> LoadedModel:
        device, compute_type, threads = self._load_args
        return load(self.resolved, device, compute_type, threads, self.settings.language, self.settings.layout)

    def model_info(self) -> ModelInfo:
        """Without loading the model: the device and compute type it will run with."""
        device = pick_device(self._load_args[0])
        compute_type = pick_compute_type(device, self._load_args[1])
        return ModelInfo(self.resolved.location, self.resolved.name, self.resolved.version, compute_type, device)

    def transcribe(self, path: str | Path) -> TranscriptResult:
        try:
            samples = load_audio(path, self.limits)
        finally:
            release_decoder_memory()
        return self._transcribe_loaded([(str(path), samples)])[0]

    def transcribe_many(self, paths: Sequence[str | Path]) -> list[TranscriptResult]:
        results: list[TranscriptResult | None] = [None] * len(paths)
        step = self.settings.batch_files
        for first in range(0, len(paths), step):
            batch = [(i, paths[i]) for i in range(first, min(first + step, len(paths)))]
            loaded = []
            for i, path in batch:
                try:
                    loaded.append((i, str(path), load_audio(path, self.limits)))
                except AudioError as exc:
                    log.warning("cannot transcribe %s", exc)
                    results[i] = error_result(path, exc)
            release_decoder_memory()
            for (i, _, _), result in zip(loaded, self._transcribe_loaded([(p, s) for _, p, s in loaded])):
                results[i] = result
        return [r for r in results if r is not None]

    # --- routing -------------------------------------------------------------------------------------

    def _transcribe_loaded(self, files: list[tuple[str, np.ndarray]]) -> list[TranscriptResult]:
        items = [_Speech(path, samples, speech_spans(samples, threshold=self.settings.vad_threshold))
                 for path, samples in files]
        results: dict[int, TranscriptResult] = {}
        packable: list[tuple[int, np.ndarray]] = []
        for i, item in enumerate(items):
            if not item.spans:
                results[i] = self._result(item, [], 0.0)
            elif self.settings.pack and self.settings.packing.fits(item.trimmed):
                packable.append((i, item.trimmed))
            else:
                results[i] = self._decode_alone(item, long=not self.settings.packing.fits(item.trimmed))
        results.update(self._decode_packed(items, packable))
        return [results[i] for i in range(len(items))]

    def _decode_packed(self, items: list[_Speech],
                       packable: list[tuple[int, np.ndarray]]) -> dict[int, TranscriptResult]:
        windows = self.settings.packing.plan(packable)
        if not windows:
            return {}
        decoded = self._guarded(self.runtime.packed.decode_windows, windows, self.settings.packed_beam_size)
        placements = [p for window in windows for p in window.placements]
        return {p.index: self._from_packed(items[p.index], p, decoded[p.index]) for p in placements}

    @staticmethod
    def _guarded(fn, *args):  # type: ignore[no-untyped-def]
        try:
            return fn(*args)
        except RuntimeError as exc:     # CTranslate2 reports allocation and device failures this way
            raise TranscriptionError(f"Whisper decoding failed: {exc}", transient=True) from exc

    # --- packed answers ------------------------------------------------------------------------------

    def _from_packed(self, item: _Speech, placement: Placement, decoded: tuple[DecodedClip, float]) -> TranscriptResult:
        clip, language_probability = decoded
        segments, dropped = self._packed_segments(item, placement, clip)
        text = join_segments(segments)
        reasons = doubts(clip, placement, text, self.settings.guards)
        if reasons:
            log.debug("packed decode of %s not trusted (%s); decoding it alone", item.path, ", ".join(reasons))
            return self._decode_alone(item, long=False, language_probability=language_probability)
        item.reasons += dropped
        return self._result(item, segments, language_probability)

    def _packed_segments(self, item: _Speech, placement: Placement,
                         clip: DecodedClip) -> tuple[list[TranscriptSegment], list[str]]:
        tokenizer = self.runtime.tokenizer
        shift = item.start / SAMPLE_RATE - placement.offset
        confidence = math.exp(clip.avg_logprob)
        segments, dropped = [], []
        for seg in clip.segments:
            text = clean_segment_text(tokenizer.decode(list(seg.tokens)))
            if is_hallucination(text):
                dropped.append("hallucination_removed")
            elif text:
                segments.append(self._segment(item, seg.start + shift, seg.end + shift, text, confidence))
        return segments, dropped

    # --- decoding alone (untrusted packed answers, long recordings) ----------------------------------

    def _decode_alone(self, item: _Speech, *, long: bool,
                      language_probability: float | None = None) -> TranscriptResult:
        margin = int(self.settings.alone_margin * SAMPLE_RATE)
        begin = 0 if long else max(0, item.spans[0].start - margin)
        audio = item.samples if long else item.samples[begin:item.spans[-1].end + margin]
        rt = self.runtime
        raw = self._guarded(self._faster_whisper, rt, audio, long)
        if language_probability is None:
            language_probability = self._language_probability(rt, audio)
        segments = []
        for seg in raw:
            text = clean_segment_text(seg.text)
            if seg.no_speech_prob > self.settings.no_speech_threshold or not text:
                continue
            if is_hallucination(text):
                item.reasons.append("hallucination_removed")
                continue
            confidence = math.exp(seg.avg_logprob) * (1.0 - seg.no_speech_prob)
            offset = begin / SAMPLE_RATE
            segments.append(self._segment(item, seg.start + offset, seg.end + offset, text, confidence))
        item.reasons.append("decoded_alone")
        return self._result(item, segments, language_probability)

    def _faster_whisper(self, rt: LoadedModel, audio: np.ndarray, long: bool):  # type: ignore[no-untyped-def]
        segments, _ = rt.model.transcribe(
            audio, language=self.settings.language, beam_size=self.settings.beam_size,
            condition_on_previous_text=False, initial_prompt=self.settings.initial_prompt,
            vad_filter=long, temperature=(0.0, 0.2, 0.4, 0.6, 0.8),
            compression_ratio_threshold=self.settings.guards.max_compression_ratio,
            log_prob_threshold=self.settings.guards.min_avg_logprob,
            no_speech_threshold=self.settings.no_speech_threshold,
        )
        return list(segments)

    def _language_probability(self, rt: LoadedModel, audio: np.ndarray) -> float:
        _, _, probs = rt.model.detect_language(audio[: 30 * SAMPLE_RATE])
        return next((p for lang, p in probs if lang == self.settings.language), 0.0)

    # --- results ----------------------------------------------------------------------------------

    @staticmethod
    def _segment(item: _Speech, start: float, end: float, text: str, confidence: float) -> TranscriptSegment:
        total = duration_seconds(item.samples)
        start, end = min(max(start, 0.0), total), min(max(end, 0.0), total)
        return TranscriptSegment(round(start, 2), round(max(start, end), 2), text, round(confidence, 4))

    def _result(self, item: _Speech, segments: list[TranscriptSegment],
                language_probability: float) -> TranscriptResult:
        text = join_segments(segments)
        confidence = _weighted_confidence(segments) if segments else (1.0 if not item.spans else 0.0)
        reasons = list(dict.fromkeys(item.reasons))
        if item.spans and not text:
            reasons.append("speech_without_text")
        if text and confidence < self.settings.review_confidence:
            reasons.append("low_confidence")
        if text and language_probability < self.settings.min_language_probability:
            reasons.append("language_uncertain")
        review = any(r in reasons for r in ("speech_without_text", "low_confidence", "language_uncertain",
                                            "hallucination_removed"))
        return TranscriptResult(
            file=item.path, text=text, segments=segments, confidence=round(confidence, 4),
            language_probability=round(language_probability, 4), duration=round(duration_seconds(item.samples), 3),
            needs_review=review, model_name=self.resolved.name, model_version=self.resolved.version,
            review_reasons=reasons,
        )


def _weighted_confidence(segments: list[TranscriptSegment]) -> float:
    weights = [max(len(s.text), 1) for s in segments]
    return sum(w * s.confidence for w, s in zip(weights, segments)) / sum(weights)
