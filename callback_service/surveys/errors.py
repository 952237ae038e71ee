"""Errors raised by survey loading and prompt rendering."""

from __future__ import annotations

from pathlib import Path


class SurveyTemplateError(ValueError):
    """A survey template is invalid. The message names the file and the field path."""

    def __init__(self, file: Path | str, field: str, message: str) -> None:
        self.file = Path(file)
        self.field = field
        self.reason = message
        where = f"{self.file.name}: {field}" if field else self.file.name
        super().__init__(f"{where}: {message}")


class PromptRenderError(RuntimeError):
    """A prompt could not be rendered or failed the format check. ``transient`` errors may be retried."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
