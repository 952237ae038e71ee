"""AsteriskDialer: the production call path over AMI.

One ``call()`` = one async Originate into the generic survey context with the survey in channel
variables (see variables.py and dialplans/extensions.conf), then a wait until the correlator has the
call's final disposition. Python walks nothing during the call. The calling thread blocks; a trunk
pool bounds concurrent calls per trunk. After an AMI reconnect, calls whose Originate went out on
the old connection are reconciled against ``CoreShowChannels``, never redialled.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

from callback_service.telephony.asterisk.actions import AmiDisconnected, AmiTimeout
from callback_service.telephony.asterisk.client import AmiClient, AmiSettings
from callback_service.telephony.asterisk.correlate import Correlator, TrackedCall
from callback_service.telephony.asterisk.protocol import Message, UnsafeValueError
from callback_service.telephony.asterisk.recordings import RecordingMapper
from callback_service.telephony.asterisk.trunks import Trunk, TrunkPool
from callback_service.telephony.asterisk.variables import pack_variables, survey_variables
from callback_service.telephony.dialer import CallRequest, CallResult, Dialer, DialerError

log = logging.getLogger(__name__)

_CALLER_NUMBER_RE = re.compile(r"\+?[0-9]{0,20}\Z")
_CALLER_NAME_FORBIDDEN = set('"<>\\')


@dataclass(frozen=True)
class AsteriskDialerSettings:
    ami: AmiSettings
    trunks: tuple[Trunk, ...]
    context: str = "callback-survey"
    exten: str = "s"
    priority: int = 1
    spool_prefix: str = "/var/spool/asterisk/callback/"
    prompt_dir: str = "callback"
    caller_name: str = ""
    amd: bool = False
    linger_s: float = 2.0          # wait this long after a hangup for the hangup handler's events
    originate_wait_s: float = 120.0  # an Originate may wait this long for AMI to become available
    slot_wait_s: float = 900.0     # call() may wait this long for a free trunk slot
    guard_s: float = 1800.0        # an unsettled call is checked against Asterisk this often
    tick_s: float = 0.1


def action_id_for(attempt_id: int) -> str:
    return f"cb-{attempt_id}"


def channel_id_for(attempt_id: int) -> str:
    return f"cb-{attempt_id}-chan"


class AsteriskDialer(Dialer):
    name = "asterisk"

    def __init__(self, settings: AsteriskDialerSettings) -> None:
        _caller_id(settings.caller_name, "")  # a bad setting fails at start-up, not on every call
        self.settings = settings
        self.correlator = Correlator(linger_s=settings.linger_s)
        self.client = AmiClient(settings.ami, on_event=self.correlator.dispatch, on_ready=self._on_ready)
        self._pool = TrunkPool(settings.trunks)
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="ami-settle", daemon=True)
        self._start_lock = threading.Lock()
        self._started = False

    def start(self) -> AsteriskDialer:
        with self._start_lock:
            if not self._started:
                self._started = True
                self.client.start()
                self._ticker.start()
        return self

    def call(self, request: CallRequest) -> CallResult:
        self.start()
        trunk = self._pool.acquire(self._stop, self.settings.slot_wait_s)
        try:
            return self._call_on(trunk, request)
        finally:
            self._pool.release(trunk)

    def call_status(self, attempt_id: int) -> str | None:
        call = self.correlator.get(attempt_id)
        if call is not None:
            return "gone" if call.result is not None else "active"
        if not self.client.ready:
            return None
        try:
            active = self.active_channels()
        except DialerError as exc:
            log.warning("call_status(%s): %s", attempt_id, exc)
            return None
        return "active" if channel_id_for(attempt_id) in active else "gone"

    def close(self) -> None:
        self._stop.set()
        self._pool.wake_all()
        if self._started:
            self.client.stop()
            self._ticker.join(5)

    def in_use(self) -> dict[str, int]:
        return self._pool.in_use()

    # --- one call ----------------------------------------------------------------------------------
    def _call_on(self, trunk: Trunk, request: CallRequest) -> CallResult:
        if self.correlator.get(request.attempt_id) is not None:
            raise DialerError(f"attempt {request.attempt_id} is already in progress", transient=False)
        call, headers = self._prepare(trunk, request)
        self.correlator.track(call)
        try:
            log.info("attempt %s: originate on trunk %s", call.attempt_id, trunk.name)
            self._originate(call, headers)
            return self._wait(call)
        finally:
            self.correlator.forget(call.attempt_id)

    def _prepare(self, trunk: Trunk, request: CallRequest) -> tuple[TrackedCall, list[tuple[str, str]]]:
        s = self.settings
        mapper = RecordingMapper(s.spool_prefix, request.recordings_dir)
        variables = survey_variables(request.attempt_id, request.survey, recording_dir=mapper.spool_dir(),
                                     prompt_dir=s.prompt_dir, amd=s.amd)
        headers = [("Channel", trunk.channel_for(request.phone_e164)), ("Context", s.context),
                   ("Exten", s.exten), ("Priority", str(s.priority)),
                   ("Timeout", str(max(1000, int(request.timeout_s * 1000))))]
        caller = _caller_id(s.caller_name, request.caller_id)
        headers += [("CallerID", caller)] if caller else []
        headers.append(("Async", "true"))
        headers += [("Variable", packed) for packed in pack_variables(variables)]
        headers.append(("ChannelId", channel_id_for(request.attempt_id)))
        call = TrackedCall(request.attempt_id, action_id_for(request.attempt_id),
                           channel_id_for(request.attempt_id), request.survey, mapper)
        return call, headers

    def _originate(self, call: TrackedCall, headers: list[tuple[str, str]]) -> None:
        pending = self.client.send("Originate", headers, action_id=call.action_id,
                                   timeout=self.settings.originate_wait_s)
        call.originate = pending
        try:
            response = pending.future.result(self.settings.originate_wait_s + 5)
        except AmiTimeout as exc:
            if not exc.written:
                raise DialerError("AMI unavailable; Originate was not sent", transient=True) from exc
            log.warning("attempt %s: Originate unanswered; waiting for events", call.attempt_id)
            return
        except AmiDisconnected:
            log.warning("attempt %s: AMI dropped before Originate was answered; will reconcile",
                        call.attempt_id)
            return
        if (response.response or "").lower() != "success":
            raise DialerError(f"Asterisk refused Originate: {response.get('Message')}", transient=False)

    def _wait(self, call: TrackedCall) -> CallResult:
        check_at = time.monotonic() + self.settings.guard_s
        while not call.done.wait(0.25):
            if self._stop.is_set():
                self.correlator.conclude(call.attempt_id, "dialer closed during the call")
            elif time.monotonic() > check_at:
                check_at = time.monotonic() + self.settings.guard_s
                self._check_still_up([call])
        assert call.result is not None
        return call.result

    # --- reconciliation ------------------------------------------------------------------------------
    def active_channels(self) -> dict[str, Message]:
        """Uniqueid -> CoreShowChannel event for every channel Asterisk has now."""
        pending = self.client.send("CoreShowChannels", [], timeout=10, resend=True, collect_list=True)
        try:
            response = pending.future.result(15)
        except TimeoutError as exc:
            raise DialerError("CoreShowChannels unanswered", transient=True) from exc
        if (response.response or "").lower() != "success":
            raise DialerError(f"CoreShowChannels refused: {response.get('Message')}", transient=True)
        return {item.get("Uniqueid") or "": item for item in pending.items}

    def _on_ready(self, generation: int) -> None:
        if generation > 1:  # runs off the reader thread: it waits for a response the reader delivers
            threading.Thread(target=self._reconcile, args=(generation,), name="ami-reconcile",
                             daemon=True).start()

    def _reconcile(self, generation: int) -> None:
        calls = [call for call in self.correlator.in_flight()
                 if call.originate is not None and 0 < call.originate.written_in < generation]
        if calls:
            log.info("AMI reconnected; reconciling %d in-flight calls", len(calls))
            self._check_still_up(calls)

    def _check_still_up(self, calls: list[TrackedCall]) -> None:
        try:
            active = self.active_channels()
        except DialerError as exc:
            log.warning("could not reconcile calls with Asterisk: %s", exc)
            return
        for call in calls:
            channel = active.get(call.channel_id)
            if channel is None:
                self.correlator.conclude(call.attempt_id, "call ended while AMI events were lost")
            elif channel.get("ChannelState") == "6":
                self.correlator.note_answered(call.attempt_id)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.settings.tick_s):
            self.correlator.tick()


def _caller_id(name: str, number: str) -> str:
    if not _CALLER_NUMBER_RE.match(number):
        raise UnsafeValueError("caller id number must be digits")
    if any(ch in _CALLER_NAME_FORBIDDEN or ord(ch) < 0x20 for ch in name):
        raise UnsafeValueError("caller id name has quote, angle bracket, backslash or control character")
    if name and number:
        return f'"{name}" <{number}>'
    return number

