"""Trunk dial strings and the per-trunk concurrency limit."""

from __future__ import annotations

import threading
import time

import pytest

from callback_service.telephony.asterisk.protocol import UnsafeValueError
from callback_service.telephony.asterisk.trunks import Trunk, TrunkPool
from callback_service.telephony.dialer import DialerError


@pytest.mark.parametrize(("phone", "channel"), [
    ("+8613900000001", "PJSIP/13900000001@carrier"),      # mobile: no trunk prefix
    ("+863566110000", "PJSIP/03566110000@carrier"),       # landline: national trunk prefix 0
    ("+861088886666", "PJSIP/01088886666@carrier"),
])
def test_numbers_are_dialled_in_national_format(phone: str, channel: str) -> None:
    assert Trunk("carrier", "PJSIP/{national}@carrier").channel_for(phone) == channel


def test_other_placeholders_give_e164_with_and_without_plus() -> None:
    assert Trunk("t", "PJSIP/{digits}@t;{e164}").channel_for("+8613900000001") == "PJSIP/8613900000001@t;+8613900000001"


@pytest.mark.parametrize("phone", ["13900000001", "+86 139 0000 0001", "+8613900000001\r\nAction: Hangup",
                                   "+86139000000011234567890", ""])
def test_anything_but_plain_e164_is_refused(phone: str) -> None:
    with pytest.raises(UnsafeValueError):
        Trunk("t", "PJSIP/{national}@t").channel_for(phone)


def test_pool_fills_the_first_trunk_then_the_next_then_waits() -> None:
    a, b = Trunk("a", "PJSIP/{national}@a", 2), Trunk("b", "PJSIP/{national}@b", 1)
    pool, stop = TrunkPool((a, b)), threading.Event()
    assert [pool.acquire(stop, 1).name for _ in range(3)] == ["a", "a", "b"]
    started = time.monotonic()
    with pytest.raises(DialerError, match="no free trunk") as caught:
        pool.acquire(stop, 0.2)
    assert caught.value.transient and time.monotonic() - started >= 0.2
    threading.Timer(0.1, pool.release, args=(b,)).start()
    assert pool.acquire(stop, 5).name == "b"
    assert pool.in_use() == {"a": 2, "b": 1}


def test_closing_wakes_callers_waiting_for_a_slot() -> None:
    pool, stop = TrunkPool((Trunk("a", "x/{national}", 1),)), threading.Event()
    pool.acquire(stop, 1)

    def close() -> None:
        stop.set()
        pool.wake_all()

    threading.Timer(0.1, close).start()
    started = time.monotonic()
    with pytest.raises(DialerError, match="closed"):
        pool.acquire(stop, 30)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("template", ["PJSIP/{number}@carrier", "PJSIP/{national}@carrier\r\nAction: Hangup",
                                      "PJSIP/{0}@x"])
def test_a_bad_trunk_template_fails_at_start_up(template: str) -> None:
    with pytest.raises(DialerError, match="trunk t") as caught:
        TrunkPool((Trunk("t", template),))
    assert caught.value.transient is False
