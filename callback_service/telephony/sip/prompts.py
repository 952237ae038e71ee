"""Prompt audio for the SIP dialer: ``<prompts_dir>/<prompt>.wav``, loaded once and kept in memory."""

from __future__ import annotations

import threading
from pathlib import Path

from callback_service.surveys.model import Survey
from callback_service.telephony.dialer import DialerError
from callback_service.telephony.sip import audio


class PromptLibrary:
    def __init__(self, prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> bytes:
        """16-bit 8 kHz PCM of one prompt; a missing or broken file is a permanent DialerError."""
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._load(name)
            return self._cache[name]

    def require(self, survey: Survey) -> None:
        """Load every prompt the survey can play, so a missing one fails before anyone is called."""
        questions = list(survey.questions) + ([survey.goodbye] if survey.goodbye else [])
        for q in questions:
            self.get(q.prompt)

    def _load(self, name: str) -> bytes:
        path = self.prompts_dir / f"{name}.wav"
        try:
            pcm = audio.read_wav(path)
        except audio.AudioFileError as exc:
            raise DialerError(f"prompt {name!r}: {exc}", transient=False) from exc
        if not pcm:
            raise DialerError(f"prompt {name!r}: {path} is empty", transient=False)
        return pcm
