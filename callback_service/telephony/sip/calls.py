"""pyVoIP calls with an end Event (``TrackedCall``) and the signalling state of our INVITEs.

Part of the pyVoIP wrapper; see ``phone.py`` for why these subclasses exist.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

# isort: off
# pyVoIP.SIP cannot be imported before pyVoIP.VoIP (circular import inside pyVoIP 1.6.8).
from pyVoIP.VoIP import CallState, InvalidStateError, VoIPCall
from pyVoIP import RTP, SIP
# isort: on

from callback_service.telephony.sip.rtp import G711RtpClient, InboundAudio


class TrackedCall(VoIPCall):
    """A pyVoIP call that signals its end through an Event instead of a polled state."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.ended = threading.Event()
        self.ended_by = ""
        self.route_set: list[str] = []
        self.inbound = InboundAudio()     # before super(): an incoming call creates its RTP there
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def create_rtp_clients(self, codecs: dict[int, RTP.PayloadType], ip: str, port: int,
                           request: SIP.SIPMessage, baseport: int) -> None:
        for i, connection in enumerate(request.body["c"]):
            self.RTPClients.append(G711RtpClient(codecs, ip, port, connection["address"], baseport + i,
                                                 self.sendmode, dtmf=self.dtmf_callback, inbound=self.inbound))

    def write_pcm(self, pcm: bytes) -> None:
        """Queue 16-bit 8 kHz PCM for sending; pyVoIP's sender thread paces it at 20 ms packets."""
        for client in self.RTPClients:
            client.write_pcm(pcm)  # type: ignore[attr-defined]

    def mark_ended(self, by: str) -> None:
        if not self.ended.is_set():
            self.ended_by = by
            self.ended.set()

    def bye(self) -> None:               # the far end sent BYE
        super().bye()
        self.state = CallState.ENDED
        self.mark_ended("remote_bye")

    def hangup(self) -> None:
        try:
            super().hangup()
        finally:
            self.mark_ended(self.ended_by or "local_hangup")

    def deny(self) -> None:
        # pyVoIP's deny() stops RTP clients that were never started and dies with AttributeError.
        if self.state != CallState.RINGING:
            raise InvalidStateError("Call is not ringing")
        self.sip.send(self.sip.gen_busy(self.request))  # type: ignore[attr-defined]
        self.state = CallState.ENDED
        self.phone.calls.pop(self.call_id, None)
        self.mark_ended("local_busy")

    def stop_media(self) -> None:
        for client in self.RTPClients:
            if hasattr(client, "sin"):      # started
                client.stop()

    def send_rfc2833(self, key: str, duration_ms: int = 120) -> None:
        """Send one key as RFC 4733 telephone-event packets (pyVoIP itself can only receive them)."""
        event = "0123456789*#ABCD".index(key)
        for client in self.RTPClients:
            pt = next((n for n, p in client.assoc.items() if p == RTP.PayloadType.EVENT), None)
            if pt is None or not hasattr(client, "sout"):
                continue
            stamp, ssrc, seq = random.randint(0, 2**31), client.outSSRC, random.randint(0, 2**15)
            steps = list(range(160, duration_ms * 8 + 1, 160)) + [duration_ms * 8] * 2
            for i, dur in enumerate(steps):
                end = 0x80 if dur == duration_ms * 8 and i >= len(steps) - 3 else 0
                header = bytes([0x80, (0x80 if i == 0 else 0) | pt]) + (seq + i).to_bytes(2, "big")
                packet = header + stamp.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
                packet += bytes([event, end | 10]) + dur.to_bytes(2, "big")
                client.sout.sendto(packet, (client.outIP, client.outPort))
                time.sleep(0.02)     # one packet per 20 ms, as a phone sends them

    def rtp_packets_received(self) -> int:
        return self.inbound.packets


class OutboundCall:
    """Signalling state of one INVITE we sent."""

    def __init__(self, send: Callable[[str], None], call: TrackedCall, invite: str) -> None:
        self._send = send
        self.call = call
        self.invite = invite
        self.call_id = call.call_id
        self.responded = threading.Event()      # any response (100 Trying included)
        self.final = threading.Event()          # a final response (>= 200)
        self.statuses: list[int] = []
        self.final_code: int | None = None
        self.final_reason = ""
        self.ringing_at: float | None = None    # monotonic time of the first 18x
        self.cancelled = False

    def on_response(self, code: int, reason: str) -> None:
        self.statuses.append(code)
        if 180 <= code < 200 and self.ringing_at is None:
            self.ringing_at = time.monotonic()
        if code >= 200 and not self.final.is_set():
            self.final_code, self.final_reason = code, reason
            self.final.set()
        self.responded.set()

    def retransmit(self) -> None:
        self._send(self.invite)
