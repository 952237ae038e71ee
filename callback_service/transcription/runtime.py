"""Loading faster-whisper models once per process (the one place that builds WhisperModel)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import ctranslate2
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

from callback_service.transcription.base import TranscriptionError
from callback_service.transcription.decoding import DEFAULT_LAYOUT, MemoryLayout, PackedDecoder
from callback_service.transcription.model import ResolvedModel

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[tuple[str, str, str, int], LoadedModel] = {}


@dataclass(frozen=True)
class LoadedModel:
    model: WhisperModel
    tokenizer: Tokenizer
    packed: PackedDecoder
    device: str
    compute_type: str


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def pick_compute_type(device: str, compute_type: str) -> str:
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


def load(resolved: ResolvedModel, device: str = "auto", compute_type: str = "auto", threads: int = 0,
         language: str = "zh", layout: MemoryLayout = DEFAULT_LAYOUT) -> LoadedModel:
    """The process-wide model for these settings, loaded on first use; safe to call from threads."""
    device = pick_device(device)
    compute_type = pick_compute_type(device, compute_type)
    key = (resolved.location, device, compute_type, threads)
    with _lock:
        if key not in _loaded:
            _loaded[key] = _build(resolved, device, compute_type, threads, language, layout)
        return _loaded[key]


def _build(resolved: ResolvedModel, device: str, compute_type: str, threads: int, language: str,
           layout: MemoryLayout) -> LoadedModel:
    log.info("loading Whisper model %s (%s) on %s/%s, %s threads",
             resolved.name, resolved.version, device, compute_type, threads or "default")
    try:
        model = WhisperModel(resolved.location, device=device, compute_type=compute_type, cpu_threads=threads,
                             local_files_only=resolved.source != "name")
    except (RuntimeError, ValueError, OSError) as exc:
        # A local model that will not load will not load on retry either; a hub download might.
        transient = resolved.source == "name"
        raise TranscriptionError(f"cannot load Whisper model {resolved.location}: {exc}", transient=transient) from exc
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    return LoadedModel(model, tokenizer, PackedDecoder(model, tokenizer, layout), device, compute_type)
