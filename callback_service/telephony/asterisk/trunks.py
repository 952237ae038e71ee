"""Carrier trunks: the dial string for a number, and a per-trunk limit on concurrent calls."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import phonenumbers

from callback_service.telephony.asterisk.protocol import UnsafeValueError, check_header
from callback_service.telephony.dialer import DialerError

_E164_RE = re.compile(r"\+[1-9][0-9]{6,15}\Z")


@dataclass(frozen=True)
class Trunk:
    name: str
    # Asterisk dial string; placeholders: {e164} (+8613...), {digits} (8613...), {national} (13...,
    # or 0356... for a landline: the national format the carrier expects), e.g. "PJSIP/{national}@carrier"
    channel_template: str
    max_concurrent: int = 4

    def channel_for(self, phone_e164: str) -> str:
        if not _E164_RE.match(phone_e164):
            raise UnsafeValueError("phone number is not E.164 (+ and 7-16 digits)")
        national = _national_digits(phone_e164)
        return self.channel_template.format(e164=phone_e164, digits=phone_e164[1:], national=national)


def _national_digits(phone_e164: str) -> str:
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException as exc:
        raise UnsafeValueError(f"phone number cannot be parsed: {exc}") from None
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in text if ch.isdigit())


class TrunkPool:
    """Hands out a trunk with a free slot, waiting while all are full."""

    def __init__(self, trunks: tuple[Trunk, ...]) -> None:
        if not trunks:
            raise DialerError("no trunks configured", transient=False)
        for trunk in trunks:  # a bad template fails at start-up, not on the first call
            try:
                check_header("Channel", trunk.channel_for("+8613900000000"))
            except (KeyError, IndexError, ValueError) as exc:
                raise DialerError(f"trunk {trunk.name}: bad channel template ({exc})", transient=False) from None
        self._trunks = trunks
        self._busy = {t.name: 0 for t in trunks}
        self._cond = threading.Condition()

    def acquire(self, stop: threading.Event, timeout: float) -> Trunk:
        with self._cond:
            ok = self._cond.wait_for(lambda: stop.is_set() or self._free() is not None, timeout)
            trunk = self._free()
            if stop.is_set():
                raise DialerError("dialer is closed", transient=True)
            if not ok or trunk is None:
                raise DialerError("no free trunk slot", transient=True)
            self._busy[trunk.name] += 1
            return trunk

    def release(self, trunk: Trunk) -> None:
        with self._cond:
            self._busy[trunk.name] -= 1
            self._cond.notify()

    def wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def in_use(self) -> dict[str, int]:
        with self._cond:
            return dict(self._busy)

    def _free(self) -> Trunk | None:
        return next((t for t in self._trunks if self._busy[t.name] < t.max_concurrent), None)
