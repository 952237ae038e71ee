"""Builds the transcriber from settings; called by the composition root (app.py) and the CLI only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callback_service.transcription.audio import DEFAULT_LIMITS, AudioLimits
from callback_service.transcription.model import BUNDLED_NAME, resolve_model
from callback_service.transcription.whisper import WhisperTranscriber


def build_whisper(*, model_path: str | Path | None = None, model_name: str | None = None,
                  models_dir: str | Path = Path("var") / "models", device: str = "auto",
                  compute_type: str = "auto", threads: int = 0,
                  limits: AudioLimits = DEFAULT_LIMITS) -> WhisperTranscriber:
    """Resolve the model (building the bundled one under models_dir if needed); loading is lazy."""
    resolved = resolve_model(model_path or None, model_name or None, Path(models_dir) / BUNDLED_NAME)
    return WhisperTranscriber(resolved, device=device, compute_type=compute_type, threads=threads, limits=limits)


def build_transcriber(settings: Any) -> WhisperTranscriber:
    """From the ``whisper_*``, ``max_audio_*`` and ``models_path`` settings (see config.py)."""
    return build_whisper(
        model_path=settings.whisper_model_path,
        model_name=settings.whisper_model_name,
        models_dir=settings.models_path,
        device=settings.whisper_device,
        compute_type=settings.whisper_compute_type,
        threads=settings.whisper_threads,
        limits=AudioLimits(max_bytes=settings.max_audio_bytes, max_seconds=settings.max_audio_seconds),
    )
