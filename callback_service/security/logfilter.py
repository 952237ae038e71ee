"""Logging that never writes an unmasked phone or ID number, and cannot be fed forged lines.

``PiiMaskingFilter`` masks the message, arguments, exception text and stack of every record, whatever
the caller passed, for any handler it is attached to. The exception text is formatted by the filter
itself: a formatter would otherwise render the traceback (and the numbers in the exception message)
after the filter has run. ``MaskingFormatter`` masks the final line once more and, since report fields
and AMI events can carry line breaks, escapes CR/LF in the message so one record is one line; the
JSON form is real JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from callback_service.security.masking import mask_text

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_EXC_FORMATTER = logging.Formatter()


class PiiMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXC_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class MaskingFormatter(logging.Formatter):
    def __init__(self, json_format: bool = False) -> None:
        super().__init__(_TEXT_FORMAT)
        self.json_format = json_format

    def format(self, record: logging.LogRecord) -> str:
        message = _one_line(mask_text(record.getMessage()))
        extra = "\n".join(mask_text(t) for t in (self._exception(record), record.stack_info) if t)
        if self.json_format:
            doc: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname,
                                   "logger": record.name, "message": message}
            if extra:
                doc["exception"] = extra
            return json.dumps(doc, ensure_ascii=False)
        record.message, record.asctime = message, self.formatTime(record)
        return self.formatMessage(record) + ("\n" + extra if extra else "")

    def _exception(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return record.exc_text or ""


def setup_logging(level: str = "INFO", json_format: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(PiiMaskingFilter())
    handler.setFormatter(MaskingFormatter(json_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
