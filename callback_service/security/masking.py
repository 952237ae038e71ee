"""Masking of phone and ID numbers for pages, logs and CLI output."""

from __future__ import annotations

import re
import unicodedata

# Applied after _ascii_forms, so full-width and other Unicode digits are caught as well.
_SEP = r"[ \-.]?"
_CC = r"(?:\+86|0086|\+?86)"
# 18 digits are an ID even glued to letters ("ID140502..."); the rarer 15-digit form only standing alone,
# so that long report numbers ("JJ2026...") stay readable in logs.
_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_ID15_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{5})(\d{4})(?![0-9A-Za-z])")     # first-generation IDs
_MOBILE_RE = re.compile(rf"(?<!\d)({_CC}{_SEP})?(1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?!\d)")
_INTL_LANDLINE_RE = re.compile(rf"(?<!\d)({_CC}{_SEP})\(?([1-9]\d{{1,2}})\)?{_SEP}(\d{{3,4}}){_SEP}(\d{{4}})(?!\d)")
_LANDLINE_RE = re.compile(rf"(?<!\d)\(?(0\d{{2,3}})\)?{_SEP}(\d{{3,4}}){_SEP}(\d{{4}})(?!\d)")
_E164_RE = re.compile(r"(?<!\d)\+(\d)[\d \-.]{4,16}(\d{4})(?!\d)")             # any other country
_FULLWIDTH = {0xFF0B: "+", 0xFF0D: "-", 0xFF08: "(", 0xFF09: ")", 0xFF0E: ".", 0x3000: " ", 0xFF38: "X",
              0xFF58: "x", 0x2010: "-", 0x2011: "-", 0x2012: "-", 0x2013: "-", 0x2212: "-"}
_NON_ASCII_DIGIT = re.compile(r"[^\x00-\x7f]")


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


def _ascii_forms(text: str) -> str:
    """Full-width and other Unicode digits (１３８…, ٣) and full-width + - ( ) as ASCII."""
    if text.isascii():
        return text

    def one(m: re.Match[str]) -> str:
        ch = m.group()
        digit = unicodedata.decimal(ch, None)
        return str(digit) if digit is not None else _FULLWIDTH.get(ord(ch), ch)
    return _NON_ASCII_DIGIT.sub(one, text)


def mask_text(text: str) -> str:
    """Mask every phone or ID number pattern inside free text (logs): mobiles and landlines with or
    without +86/0086, separators or parentheses, E.164 numbers, 18- and 15-digit IDs, in ASCII or
    full-width digits. Only the last four digits (and area or country codes) survive."""
    text = _ascii_forms(text)
    text = _ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    text = _ID15_RE.sub(lambda m: f"{m.group(1)}*****{m.group(3)}", text)
    text = _MOBILE_RE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}", text)
    text = _INTL_LANDLINE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}-****{m.group(4)}", text)
    text = _LANDLINE_RE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return _E164_RE.sub(lambda m: f"+{m.group(1)}****{m.group(2)}", text)
