"""The AMI wire format: CRLF framing, message parsing, and serialisation that refuses unsafe values.

AMI is line-oriented text: each message is ``Key: Value`` lines ended by ``\\r\\n`` and a blank line. A
header can repeat (``Variable`` in actions, ``ChanVariable`` in events), so a message keeps its headers
as an ordered list, with a first-value index for the common single lookups. Modern Asterisk (12+) never
sends ``Response: Follows`` for the actions this service uses, so no special mode exists for it; a line
without a colon is kept under the empty key rather than rejected, because an unknown module's event
must never break the connection.

Serialisation is the security boundary: a value holding CR or LF would end the header early and let
the rest of it be read by Asterisk as new headers or a whole new action (header injection). Every
value is therefore checked here, and an unsafe one raises ``UnsafeValueError``; nothing is ever
truncated or escaped into something else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from callback_service.telephony.dialer import DialerError

CRLF = b"\r\n"
FRAME_END = b"\r\n\r\n"
GREETING_PREFIX = "Asterisk Call Manager/"
# Far above any real AMI message; stops a misbehaving peer from growing our buffer without bound.
MAX_FRAME_BYTES = 1 << 20
# Asterisk's manager reads lines into a 1025-byte buffer and rejects longer ones ("line too long").
MAX_LINE_BYTES = 1024
# Asterisk keeps at most AST_MAX_MANHEADERS (128) lines of an action and silently drops the rest.
MAX_ACTION_HEADERS = 128

_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
# C0 controls except TAB, DEL, C1 controls and the Unicode line and paragraph separators. CR and LF are
# the injection vectors; the rest have no business in a header either and some terminals, log viewers
# and text tools treat them as line breaks.
_CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


class AmiProtocolError(DialerError):
    """The peer broke the AMI framing; the connection is dropped and re-established."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


class UnsafeValueError(DialerError, ValueError):
    """A value cannot be sent to Asterisk without changing the meaning of the message."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI message: an event, a response, or something this client does not know."""

    headers: tuple[tuple[str, str], ...]
    _first: dict[str, str] = field(repr=False, compare=False)

    @classmethod
    def of(cls, headers: Iterable[tuple[str, str]]) -> Message:
        items = tuple(headers)
        first: dict[str, str] = {}
        for key, value in items:
            first.setdefault(key.lower(), value)
        return cls(items, first)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._first.get(key.lower(), default)

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for k, value in self.headers if k.lower() == wanted]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._first

    @property
    def event(self) -> str | None:
        return self._first.get("event")

    @property
    def response(self) -> str | None:
        return None if "event" in self._first else self._first.get("response")

    @property
    def action_id(self) -> str | None:
        return self._first.get("actionid")


def parse_message(block: bytes) -> Message:
    """Parse one frame (without its terminating blank line)."""
    text = block.decode("utf-8", errors="replace")
    headers = []
    for line in text.split("\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        headers.append((key.strip(), value.strip()) if sep else ("", line))
    return Message.of(headers)


class FrameReader:
    """Turns a byte stream, fed in arbitrary pieces, into greeting + messages."""

    def __init__(self, *, expect_greeting: bool = True, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._scan_from = 0
        self._max = max_frame_bytes
        self.greeting: str | None = None if expect_greeting else ""

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        if self.greeting is None and not self._read_greeting():
            return []
        messages = []
        buf = self._buf
        start = 0
        while True:
            end = buf.find(FRAME_END, max(start, self._scan_from))
            if end < 0:
                break
            frame = bytes(buf[start:end]).lstrip(b"\r\n")
            if frame:
                messages.append(parse_message(frame))
            start = end + len(FRAME_END)
            self._scan_from = start
        if start:
            del buf[:start]
        # A terminator split across two reads starts at most 3 bytes before the new data.
        self._scan_from = max(0, len(buf) - 3)
        if len(buf) > self._max:
            raise AmiProtocolError(f"AMI frame larger than {self._max} bytes without terminator")
        return messages

    def _read_greeting(self) -> bool:
        end = self._buf.find(CRLF)
        if end < 0:
            if len(self._buf) > MAX_LINE_BYTES:
                raise AmiProtocolError("no AMI greeting line")
            return False
        line = self._buf[:end].decode("utf-8", errors="replace")
        if not line.startswith(GREETING_PREFIX):
            raise AmiProtocolError(f"not an Asterisk manager: greeting {line[:60]!r}")
        self.greeting = line
        del self._buf[: end + len(CRLF)]
        return True


def check_header(key: str, value: str) -> None:
    """Raise UnsafeValueError unless ``key: value`` is exactly one well-formed header line."""
    if not _KEY_RE.match(key):
        raise UnsafeValueError(f"AMI header name {key!r} is not a plain token")
    if not isinstance(value, str):
        raise UnsafeValueError(f"AMI header {key}: value must be text, not {type(value).__name__}")
    bad = _CONTROL_RE.search(value)
    if bad:
        raise UnsafeValueError(f"AMI header {key}: value contains control character {bad.group()!r}")
    if len(key) + 2 + len(value.encode("utf-8")) > MAX_LINE_BYTES:
        raise UnsafeValueError(f"AMI header {key}: line longer than {MAX_LINE_BYTES} bytes")


def encode_action(action: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialise an action. Every header is checked first; nothing is written half-way."""
    lines = [("Action", action), *headers]
    if len(lines) > MAX_ACTION_HEADERS:
        raise UnsafeValueError(f"AMI action {action}: {len(lines)} headers, Asterisk keeps only 128")
    for key, value in lines:
        check_header(key, value)
    text = "".join(f"{key}: {value}\r\n" for key, value in lines) + "\r\n"
    return text.encode("utf-8")
