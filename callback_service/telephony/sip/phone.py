"""The one wrapper around pyVoIP 1.6.8: a registered SIP phone that can dial out and take calls.

pyVoIP's user-agent core has gaps that break real calls through a proxy (seen with Kamailio 5.6 on
loopback). They are worked around here and in ``calls.py`` / ``sipmsg.py``, so the rest of the package
never touches pyVoIP directly:

1. ``SIPClient.invite`` sends the INVITE and then reads the shared socket itself, racing the receive
   thread, which leaves the socket non-blocking: it raised ``BlockingIOError`` (a socket timeout
   around ``invite`` only hid that). We never call it: ``SipPhone.dial`` registers the call, then sends
   the INVITE; the receive loop dispatches every response, so none can arrive before its call exists.
   The INVITE is retransmitted (RFC 3261 timer A) until the first response.
2. pyVoIP understands only 200, 404 and 503 to an INVITE; 486, 480, 408, 487, 484, 603 ... were
   dropped, leaving the call DIALING forever, and failure responses were never ACKed, so the proxy
   kept retransmitting them. ``OutboundCall`` records every status; failures are ACKed (17.1.1.3).
3. Its ACK for a 200 carried a new random To-tag and the To-URI as Request-URI (port lost); ours
   follows RFC 3261 13.2.2.4 (Contact as Request-URI, Record-Route as Route set, the response's tag).
4. Its BYE copied the INVITE's Via headers (the proxy's included) and reused the INVITE's branch;
   ours has a fresh Via and branch. A far-end hang-up was reported not to reach the caller's call
   state; with these fixes and the in-dialog routing in ``dialplans/kamailio.cfg`` it does on loopback
   (pinned by a test), but the dialer still ends calls by its own timeouts and on RTP silence, for
   far ends whose BYE never arrives.
5. No CANCEL at all: ``SipPhone.cancel`` sends one at the ring timeout, and an incoming CANCEL is
   answered 200 + 487 and ends the ringing call.
6. ``VoIPCall.deny`` (486) crashed with AttributeError after sending, stopping RTP that never started.
7. RTP ports were drawn at random without checking they are free, so phones on one host (and a local
   Asterisk) could clash: ports are probed before use, and each phone should get its own range.
8. The receive loop started only 1 s after registering (an early INVITE waited for it), died with an
   ``OSError`` traceback when the socket closed at stop, and de-registration against a dead server
   blocked for 30 s: started at once, quiet at stop, bounded by ``register_timeout_s``.

Audio: pyVoIP's ``read_audio(blocking=True)`` can block forever on a silent line, its non-blocking
read pads with silence whenever a packet is late (gaps in recordings on a busy host), and both
directions go through 8-bit samples. ``rtp.py`` keeps pyVoIP's RTP sockets and threads but moves
16-bit G.711 audio in and out itself. pyVoIP receives RFC 2833 key events but cannot send them
(``TrackedCall.send_rfc2833`` hand-crafts them for the simulated citizen).
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# isort: off
# pyVoIP.SIP cannot be imported before pyVoIP.VoIP (circular import inside pyVoIP 1.6.8).
from pyVoIP.VoIP import CallState, InvalidStateError, VoIPPhone
from pyVoIP import RTP, SIP
from pyVoIP.VoIP.status import PhoneStatus
from pyVoIP.util import acquired_lock_and_unblocked_socket
# isort: on

from callback_service.security.masking import mask_phone
from callback_service.telephony.dialer import DialerError
from callback_service.telephony.sip import sipmsg
from callback_service.telephony.sip.calls import OutboundCall, TrackedCall
from callback_service.telephony.sip.ports import free_udp_port, udp_port_free

log = logging.getLogger(__name__)

REGISTER_FAILURES = 3      # pyVoIP's REGISTER_FAILURE_THRESHOLD: after this many it marks the phone FAILED


class SipError(DialerError):
    """A SIP signalling failure (registration, transport). Transient unless stated otherwise."""


@dataclass(frozen=True)
class SipAccount:
    server: str
    port: int
    username: str
    password: str = ""
    local_ip: str = "127.0.0.1"
    local_port: int = 0                 # 0: pick a free port at start
    rtp_port_low: int = 40000
    rtp_port_high: int = 40999
    register_timeout_s: float = 5.0
    register_expires_s: int = 300


class _SipClient(SIP.SIPClient):
    """pyVoIP's SIP client with the response, ACK, BYE and CANCEL handling fixed (see module doc)."""

    owner: SipPhone

    def start(self) -> None:
        # pyVoIP starts the receive loop on a 1 s timer; an INVITE in that second waited for it.
        if self.NSD:
            raise RuntimeError("Attempted to start already started SIPClient")
        self.NSD = True
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((self.myIP, self.myPort))
        self.out = self.s
        self.register()
        threading.Thread(target=self.recv_loop, name=f"sip-recv-{self.myPort}", daemon=True).start()

    def recv_loop(self) -> None:
        while self.NSD:
            try:
                with acquired_lock_and_unblocked_socket(self.recvLock, self.s):
                    self.recv()
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                if self.NSD:
                    log.warning("SIP socket error on %s:%s", self.myIP, self.myPort)
                    time.sleep(0.05)

    def parse_message(self, message: SIP.SIPMessage) -> None:
        try:
            if message.type == SIP.SIPMessageType.RESPONSE:
                self._on_response(message)
            elif message.method == "CANCEL":
                self._on_cancel(message)
            else:
                super().parse_message(message)
        except Exception:  # the receive thread must survive anything one message does
            log.exception("SIP message handling failed on %s:%s", self.myIP, self.myPort)

    @property
    def via(self) -> str:
        return f"{self.myIP}:{self.myPort}"

    def _on_response(self, msg: SIP.SIPMessage) -> None:
        if msg.headers.get("CSeq", {}).get("method") != "INVITE":
            return
        code, reason = int(msg.status), msg.status.phrase
        out = self.owner.outbound.get(msg.headers["Call-ID"])
        if out is None:
            if 200 <= code < 300:   # a 200 after we gave up (it crossed our CANCEL): ACK, then hang up
                self.send(sipmsg.for_2xx("ACK", msg.headers, self.via))
                self.send(sipmsg.for_2xx("BYE", msg.headers, self.via))
            return
        out.on_response(code, reason)
        if 200 <= code < 300:
            if out.call.state == CallState.DIALING:
                out.call.answered(msg)
                out.call.route_set = sipmsg.route_set(msg.headers, caller=True)
            self.send(sipmsg.for_2xx("ACK", msg.headers, self.via))
        elif code >= 300:
            self.send(sipmsg.ack_non_2xx(out.invite, msg.headers))
            out.call.state = CallState.ENDED
            out.call.mark_ended(f"sip_{code}")
            self.owner.forget(out.call_id)

    def _on_cancel(self, msg: SIP.SIPMessage) -> None:
        self.send(self.gen_ok(msg))
        call = self.phone.calls.get(msg.headers["Call-ID"])
        if not isinstance(call, TrackedCall) or call.state != CallState.RINGING:
            return
        invite = call.request
        tag = self.tagLibrary.get(invite.headers["Call-ID"], self.gen_tag())
        self.send(sipmsg.request_terminated(invite.headers, self._gen_response_via_header(invite), tag))
        call.state = CallState.ENDED
        call.mark_ended("remote_cancel")
        self.phone.calls.pop(call.call_id, None)

    def gen_bye(self, request: SIP.SIPMessage) -> str:
        call = self.phone.calls.get(request.headers["Call-ID"])
        routes = getattr(call, "route_set", [])
        return sipmsg.bye(request.headers, self.tagLibrary[request.headers["Call-ID"]], self.via, routes,
                          f"<sip:{self.username}@{self.via}>")

    def send(self, text: str) -> None:
        try:
            self.out.sendto(text.encode("utf8"), (self.server, self.port))
        except OSError as exc:
            log.warning("could not send SIP %s: %s", text.split(" ", 1)[0], exc)


class _Phone(VoIPPhone):
    """VoIPPhone whose calls are TrackedCalls and whose RTP ports are probed before use."""

    def _create_Call(self, request: SIP.SIPMessage, sess_id: int) -> None:
        call_id = request.headers["Call-ID"]
        call = TrackedCall(self, CallState.RINGING, request, sess_id, self.myIP, sendmode=self.recvmode)
        call.route_set = sipmsg.route_set(request.headers, caller=False)
        self.calls[call_id] = call

    def request_port(self, blocking: bool = True) -> int:
        for _ in range(2):
            with self.portsLock:
                candidates = [p for p in range(self.rtpPortLow, self.rtpPortHigh + 1)
                              if p not in self.assignedPorts]
                random.shuffle(candidates)
                for port in candidates:
                    if udp_port_free(self.myIP, port):
                        self.assignedPorts.append(port)
                        return port
            self.release_ports()
        raise SipError(f"no free RTP port in {self.rtpPortLow}-{self.rtpPortHigh}")


IncomingHandler = Callable[[TrackedCall], None]


class SipPhone:
    """A registered SIP user agent: ``start``, ``dial``/incoming calls, ``stop``."""

    def __init__(self, account: SipAccount, on_incoming: IncomingHandler | None = None) -> None:
        self.account = account
        self.local_port = account.local_port or free_udp_port(account.local_ip)
        self.outbound: dict[str, OutboundCall] = {}
        self._lock = threading.Lock()
        self._phone = _Phone(account.server, account.port, account.username, account.password,
                             myIP=account.local_ip, callCallback=on_incoming,  # type: ignore[arg-type]
                             sipPort=self.local_port,
                             rtpPortLow=account.rtp_port_low, rtpPortHigh=account.rtp_port_high)
        self._phone.sip = self._make_client()

    def _make_client(self) -> _SipClient:
        a = self.account
        client = _SipClient(a.server, a.port, a.username, a.password, phone=self._phone,
                            myIP=a.local_ip, myPort=self.local_port, callCallback=self._phone.callback,
                            fatalCallback=self._phone.fatal)
        client.owner = self
        client.register_timeout = a.register_timeout_s  # type: ignore[assignment]
        client.default_expires = a.register_expires_s
        return client

    @property
    def sip(self) -> _SipClient:
        return self._phone.sip  # type: ignore[return-value]

    @property
    def registered(self) -> bool:
        return self._phone.get_status() == PhoneStatus.REGISTERED

    @property
    def failed(self) -> bool:
        """Registration given up (pyVoIP stops the phone after repeated failures)."""
        return self._phone.get_status() in (PhoneStatus.FAILED, PhoneStatus.INACTIVE)

    def start(self) -> None:
        """Bind and register; raises SipError when the server does not accept us in time."""
        try:
            self._phone.start()
        except OSError as exc:
            raise SipError(f"SIP socket {self.account.local_ip}:{self.local_port}: {exc}") from exc
        deadline = time.monotonic() + self.account.register_timeout_s * REGISTER_FAILURES + 1
        while time.monotonic() < deadline and self._phone.get_status() == PhoneStatus.REGISTERING:
            time.sleep(0.02)   # pyVoIP retries registration on its own timer thread; nothing to wait on
        if not self.registered:
            self.stop()
            raise SipError(f"SIP registration of {mask_phone(self.account.username)!r} at "
                           f"{self.account.server}:{self.account.port} failed")

    def stop(self) -> None:
        try:
            self._phone.stop()
        except (OSError, InvalidStateError) as exc:
            log.warning("SIP phone stop: %s", exc)

    def dial(self, number: str) -> OutboundCall:
        port = self._phone.request_port()
        media = {port: {0: RTP.PayloadType.PCMU, 101: RTP.PayloadType.EVENT}}
        call_id = self.sip.gen_call_id()
        sess_id = self.sip.sessID.next()
        invite = self.sip.gen_invite(number, str(sess_id), media, RTP.TransmitType.SENDRECV,  # type: ignore[arg-type]
                                     sipmsg.branch(), call_id)
        call = TrackedCall(self._phone, CallState.DIALING, SIP.SIPMessage(invite.encode("utf8")),
                           sess_id, self.account.local_ip, ms=media, sendmode=self._phone.sendmode)
        out = OutboundCall(self.send, call, invite)
        with self._lock:
            self._phone.calls[call_id] = call
            self.outbound[call_id] = out
        self.send(invite)
        return out

    def cancel(self, out: OutboundCall) -> None:
        out.cancelled = True
        self.send(sipmsg.cancel(out.invite))

    def hangup(self, call: TrackedCall) -> None:
        try:
            if call.state == CallState.ANSWERED:
                call.hangup()
        except InvalidStateError:
            pass                            # the far end's BYE got there first
        finally:
            call.stop_media()
            call.mark_ended(call.ended_by or "local_hangup")
            self.forget(call.call_id)

    def join_call_threads(self, timeout_s: float) -> None:
        """Wait for the incoming-call handler threads pyVoIP started."""
        deadline = time.monotonic() + timeout_s
        for thread in list(self._phone.threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._phone.calls.pop(call_id, None)

    def drop(self, out: OutboundCall) -> None:
        """Stop tracking responses for a finished INVITE (late retransmissions are then stray)."""
        with self._lock:
            self.outbound.pop(out.call_id, None)

    def send(self, text: str) -> None:
        self.sip.send(text)
