"""Masking of phone and ID numbers for pages, logs and CLI output."""

from __future__ import annotations

import re

_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<!\d)(\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)(\+?86[- ]?)?(0\d{2,3})[- ]?(\d{3,4})(\d{4})(?!\d)")
_E164_RE = re.compile(r"\+86(\d{3})\d{4,5}(\d{4})(?!\d)")


def mask_phone(value: str | None) -> str:
    """``13812345678`` / ``+8613812345678`` -> ``138****5678``; landlines keep area code and last 4."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if digits.startswith("0") and len(digits) >= 10:
        area = 3 if digits[1] in "12" else 4
        return f"{digits[:area]}-****{digits[-4:]}"
    if len(digits) > 4 and not digits.startswith("0"):
        area = 3 if digits[0] in "12" else 4  # E.164 landline without the trunk 0
        if len(digits) >= 9:
            return f"0{digits[:area - 1]}-****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 1) + digits[-2:] if len(digits) > 2 else "**"


def mask_id_number(value: str | None) -> str:
    """``140502199001011234`` -> ``140502********1234``."""
    if not value:
        return ""
    v = value.strip().upper()
    if len(v) == 18:
        return f"{v[:6]}********{v[-4:]}"
    if len(v) > 6:
        return f"{v[:3]}{'*' * (len(v) - 5)}{v[-2:]}"
    return "*" * len(v)


def mask_text(text: str) -> str:
    """Mask every phone or ID number pattern inside free text (used by the logging filter)."""
    text = _ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    text = _E164_RE.sub(lambda m: f"+86{m.group(1)}****{m.group(2)}", text)
    text = _MOBILE_RE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}", text)
    return _LANDLINE_RE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}-****{m.group(4)}", text)
