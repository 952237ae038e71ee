"""SIP dialer building blocks that need no network: DTMF detection, end-pointing, numbers, messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from callback_service import contracts as c
from callback_service.telephony.sip import audio, sipmsg
from callback_service.telephony.sip.dialer import dial_string, disposition_for_status
from callback_service.telephony.sip.dtmf import DtmfDetector
from callback_service.telephony.sip.media import EndPointer

ANSWERS = Path(__file__).resolve().parents[1] / "fixtures" / "answers"


def over_the_line(pcm: bytes) -> bytes:
    """What the far end hears: G.711 u-law on the wire, and back."""
    return audio.audioop.ulaw2lin(audio.audioop.lin2ulaw(pcm, 2), 2)


def detect(pcm: bytes, chunk: int = 320) -> str:
    detector = DtmfDetector()
    for i in range(0, len(pcm), chunk):
        detector.feed(pcm[i:i + chunk])
    return detector.pop_keys()


def test_every_key_survives_the_g711_path_and_is_detected_once() -> None:
    keys = "1234567890*#ABCD"
    assert detect(over_the_line(b"".join(audio.dtmf_tone(k) for k in keys))) == keys


def test_a_held_key_counts_once_and_a_repeated_key_twice() -> None:
    held = audio.dtmf_tone("5", tone_s=0.6)
    assert detect(over_the_line(held)) == "5"
    assert detect(over_the_line(audio.dtmf_tone("5") + audio.dtmf_tone("5"))) == "55"


def test_quiet_tones_and_speech_are_not_keys() -> None:
    assert detect(audio.dtmf_tone("1", level=0.003)) == ""
    clips = sorted(ANSWERS.glob("*.wav"))
    assert clips, "the answer corpus is missing"
    assert {clip.name: detect(audio.read_wav(clip)) for clip in clips} == {clip.name: "" for clip in clips}


def test_a_key_over_speech_is_still_heard() -> None:
    speech = audio.read_wav(ANSWERS / "sat_01.wav")[: audio.RATE * 2 * 2]
    tone = audio.dtmf_tone("7", tone_s=0.2)
    quieter = audio.audioop.mul(speech, 2, 0.3)
    assert detect(over_the_line(audio.mix(quieter, tone, audio.RATE))) == "7"


def _timeline(*parts: tuple[str, float]) -> bytearray:
    out = b""
    for kind, seconds in parts:
        out += audio.silence(seconds) if kind == "quiet" else audio.beep(440, seconds, 0.2)
    return bytearray(out)


def test_end_pointer_keeps_speech_with_pre_roll_and_stops_after_the_silence() -> None:
    line = _timeline(("quiet", 1.0), ("voice", 2.0), ("quiet", 3.0))
    ep = EndPointer(0, max_s=10, silence_s=1.5, start_timeout_s=5)
    assert ep.update(line)
    assert ep.pos == pytest.approx(audio.RATE * 4.5, abs=audio.FRAME_SAMPLES)
    assert audio.duration_s(ep.slice(line)) == pytest.approx(0.3 + 2.0 + 0.5, abs=0.05)


def test_end_pointer_gives_nothing_when_nobody_speaks_and_caps_at_max() -> None:
    quiet = _timeline(("quiet", 3.0))
    ep = EndPointer(0, max_s=10, silence_s=1.0, start_timeout_s=2)
    assert ep.update(quiet) and ep.slice(quiet) == b""
    talk = _timeline(("voice", 5.0))
    capped = EndPointer(0, max_s=3, silence_s=1.0, start_timeout_s=2)
    assert capped.update(talk)
    assert audio.duration_s(capped.slice(talk)) == pytest.approx(3.0, abs=0.05)


def test_end_pointer_waits_while_the_line_is_still_growing() -> None:
    line = _timeline(("voice", 1.0), ("quiet", 0.5))
    ep = EndPointer(0, max_s=10, silence_s=1.0, start_timeout_s=2)
    assert not ep.update(line)
    line += _timeline(("quiet", 0.6))
    assert ep.update(line)


@pytest.mark.parametrize(("e164", "fmt", "prefix", "expected"), [
    ("+8613900000001", "national", "", "13900000001"),
    ("+861012345678", "national", "", "01012345678"),
    ("+8613900000001", "e164", "", "+8613900000001"),
    ("+8613900000001", "national", "9", "913900000001"),
    ("not a number", "national", "", None),
])
def test_dial_string(e164: str, fmt: str, prefix: str, expected: str | None) -> None:
    assert dial_string(e164, fmt, prefix) == expected


@pytest.mark.parametrize(("code", "disposition"), [
    (486, c.D_BUSY), (600, c.D_BUSY), (480, c.D_NO_ANSWER), (408, c.D_NO_ANSWER), (487, c.D_NO_ANSWER),
    (503, c.D_CONGESTION), (404, c.D_INVALID_NUMBER), (484, c.D_INVALID_NUMBER), (403, c.D_FAILED),
    (500, c.D_FAILED),
])
def test_sip_status_maps_to_a_shared_disposition(code: int, disposition: str) -> None:
    assert disposition_for_status(code) == disposition
    assert disposition in c.DISPOSITIONS


INVITE = (
    "INVITE sip:13900000001@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n"
    "To: <sip:13900000001@127.0.0.1>\r\nFrom: <sip:callback@127.0.0.1>;tag=caller1\r\n"
    "Call-ID: cid-1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n"
)
RESPONSE = {
    "From": {"raw": "<sip:callback@127.0.0.1>", "tag": "caller1"},
    "To": {"raw": "<sip:13900000001@127.0.0.1>", "tag": "callee9"},
    "Call-ID": "cid-1", "CSeq": {"check": "7", "method": "INVITE"},
    "Contact": "<sip:13900000001@127.0.0.1:5080>",
    "Record-Route": "<sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>",
}


def test_failure_ack_and_cancel_reuse_the_invite_transaction() -> None:
    ack = sipmsg.ack_non_2xx(INVITE, RESPONSE)
    assert ack.startswith("ACK sip:13900000001@127.0.0.1 SIP/2.0\r\n")
    assert "branch=z9hG4bKabc" in ack and "CSeq: 7 ACK" in ack and "tag=callee9" in ack
    cancel = sipmsg.cancel(INVITE)
    assert "branch=z9hG4bKabc" in cancel and "CSeq: 7 CANCEL" in cancel and "tag=callee9" not in cancel


def test_ack_for_200_targets_the_contact_through_the_reversed_route_set() -> None:
    ack = sipmsg.for_2xx("ACK", RESPONSE, "127.0.0.1:5070")
    assert ack.startswith("ACK sip:13900000001@127.0.0.1:5080 SIP/2.0\r\n")
    assert ack.index("Route: <sip:10.0.0.2;lr>") < ack.index("Route: <sip:10.0.0.1;lr>")
    assert "branch=z9hG4bKabc" not in ack and "To: <sip:13900000001@127.0.0.1>;tag=callee9" in ack


def test_bye_from_the_callee_swaps_from_and_to() -> None:
    invite = dict(RESPONSE, Contact="<sip:callback@127.0.0.1:5070>")
    invite["To"] = {"raw": "<sip:13900000001@127.0.0.1>", "tag": ""}
    bye = sipmsg.bye(invite, "callee9", "127.0.0.1:5080", [], "<sip:13900000001@127.0.0.1:5080>")
    assert bye.startswith("BYE sip:callback@127.0.0.1:5070 SIP/2.0\r\n")
    assert "From: <sip:13900000001@127.0.0.1>;tag=callee9" in bye
    assert "To: <sip:callback@127.0.0.1>;tag=caller1" in bye and "CSeq: 8 BYE" in bye


def _packet(n: int) -> bytes:
    return n.to_bytes(2, "little", signed=True) * 160


def test_inbound_audio_reorders_and_waits_for_a_late_packet() -> None:
    from callback_service.telephony.sip.rtp import InboundAudio

    inbound = InboundAudio()
    inbound.push(1000, _packet(1))
    inbound.push(1320, _packet(3))           # packet 2 (ts 1160) is late
    assert inbound.pull() == _packet(1)
    inbound.push(1160, _packet(2))
    assert inbound.pull() == _packet(2) + _packet(3)
    inbound.push(1160, _packet(9))           # a duplicate of what was already played is dropped
    assert inbound.pull() == b"" and inbound.packets == 4


def test_inbound_audio_fills_a_lost_packet_with_silence_after_the_hold_back() -> None:
    from callback_service.telephony.sip.rtp import HOLDBACK_PACKETS, InboundAudio

    inbound = InboundAudio()
    inbound.push(0, _packet(1))
    later = [(160 * i, _packet(i + 1)) for i in range(2, 3 + HOLDBACK_PACKETS)]
    for stamp, pcm in later[:-1]:
        inbound.push(stamp, pcm)
    assert inbound.pull() == _packet(1)      # still hoping for the missing packet
    inbound.push(*later[-1])
    assert inbound.pull() == b"\x00\x00" * 160 + b"".join(p for _, p in later)


def test_inbound_audio_survives_timestamp_wrap_and_realigns_after_a_skip() -> None:
    from callback_service.telephony.sip.rtp import InboundAudio

    inbound = InboundAudio()
    inbound.push(2**32 - 160, _packet(1))
    inbound.push(0, _packet(2))
    assert inbound.pull() == _packet(1) + _packet(2)
    inbound.skip(800)                         # the reader filled 0.1 s of silence itself
    inbound.push(160, _packet(7))            # from before the skip: dropped
    inbound.push(960, _packet(8))            # 320 + 800 samples after the first packet
    assert inbound.pull() == _packet(8)
