"""A logging filter that masks phone and ID numbers in every record, whatever the caller passed."""

from __future__ import annotations

import logging

from callback_service.security.masking import mask_text


class PiiMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def setup_logging(level: str = "INFO", json_format: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(PiiMaskingFilter())
    fmt = ('{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","message":"%(message)s"}'
           if json_format else "%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
