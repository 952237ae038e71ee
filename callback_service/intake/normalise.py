"""Field normalisation for intake: phones (E.164), ID numbers (GB 11643), times, booleans, enums."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric

from callback_service.security.masking import mask_id_number, mask_phone

CHANNEL_ALIASES = {
    "walk_in": "walk_in", "上门": "walk_in", "kiosk": "kiosk", "自助终端": "kiosk",
    "phone": "phone", "电话": "phone", "transfer": "transfer", "移交": "transfer",
}
TAG_ALIASES = {
    "domestic_violence": "domestic_violence", "家暴": "domestic_violence",
    "minor": "minor", "涉未成年人": "minor", "涉青少年": "minor",
    "porn_gambling_drugs": "porn_gambling_drugs", "黄赌毒": "porn_gambling_drugs",
    "mass_involvement": "mass_involvement", "涉众": "mass_involvement",
}
TRUE_WORDS = {"true", "是", "1", "yes", "y"}
FALSE_WORDS = {"false", "否", "0", "no", "n"}
MIN_YEAR, MAX_YEAR = 1970, 2100
_LOCAL_TIME = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2}) +(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class FieldError(ValueError):
    """A value that cannot be accepted; the import names the row and field."""


def clean_text(value: object) -> str:
    """NFKC (full-width digits and letters to ASCII), trimmed. Control characters are refused."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise FieldError(f"control character U+{ord(ch):04X} not allowed")
    return text


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    m = _LOCAL_TIME.match(text)
    try:
        if m:
            y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            parsed = datetime(y, mo, d, h, mi, s, tzinfo=tz)
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(f"unparseable time {text!r}") from None
    if parsed.tzinfo is None:
        raise FieldError(f"time {text!r} needs the YYYY-MM-DD HH:MM[:SS] form or an ISO 8601 offset")
    # Planning adds days and months to it: years near 1 or 9999 would overflow far from here.
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise FieldError(f"time {text!r} is out of range ({MIN_YEAR}-{MAX_YEAR})")
    return parsed


def parse_bool(text: str, default: bool | None) -> bool | None:
    low = text.lower()
    if low == "":
        return default
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise FieldError(f"not a boolean: {text!r} (use true/false/是/否/1/0)")


def parse_channel(text: str) -> str:
    try:
        return CHANNEL_ALIASES[text.lower() if text.isascii() else text]
    except KeyError:
        raise FieldError(f"unknown channel {text!r}") from None


def parse_tags(text: str) -> list[str]:
    tags: list[str] = []
    for part in re.split(r"[;；,，、]", text):
        part = part.strip()
        if not part:
            continue
        tag = TAG_ALIASES.get(part.lower() if part.isascii() else part)
        if tag is None:
            raise FieldError(f"unknown tag {part!r}")
        if tag not in tags:
            tags.append(tag)
    return sorted(tags)


@dataclass(frozen=True)
class PhoneValue:
    e164: str | None
    valid: bool
    kind: str
    masked: str


def normalise_phone(text: str, region: str = "CN") -> PhoneValue | None:
    """``0356-2021234`` -> ``+863562021234``; an invalid number is kept, flagged, never dropped."""
    if not text:
        return None
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return PhoneValue(None, False, "unknown", mask_phone(text))
    if not phonenumbers.is_valid_number(num):
        return PhoneValue(None, False, "unknown", mask_phone(text))
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    ntype = phonenumbers.number_type(num)
    kind = {phonenumbers.PhoneNumberType.MOBILE: "mobile",
            phonenumbers.PhoneNumberType.FIXED_LINE: "landline"}.get(ntype, "unknown")
    return PhoneValue(e164, True, kind, mask_phone(e164))


@dataclass(frozen=True)
class IdValue:
    number: str
    valid: bool
    hash: str
    masked: str


def normalise_id(text: str, key: str) -> IdValue | None:
    """GB 11643 check digit via python-stdnum; a bad checksum is a warning, not a rejection."""
    if not text:
        return None
    number = text.replace(" ", "").upper()
    try:
        ric.validate(number)
        valid = True
    except stdnum_exc.ValidationError:
        valid = False
    except (KeyError, IndexError, ValueError):   # python-stdnum's region table has gaps (110505 -> KeyError)
        valid = False
    if len(number) > 18 or not re.fullmatch(r"[0-9X]+", number):
        raise FieldError("ID number must be 15 or 18 digits (last may be X)")
    digest = hmac.new(key.encode(), number.encode(), hashlib.sha256).hexdigest()
    return IdValue(number, valid, digest, mask_id_number(number))
