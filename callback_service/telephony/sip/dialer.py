"""``SipDialer``: places survey calls directly over SIP with pyVoIP (no Asterisk in the path).

One registered SIP account; each ``call`` sends an INVITE, waits for the answer within the ring
timeout (CANCEL after it), walks the survey over RTP and hangs up. Final SIP responses map onto the
shared dispositions (``SIP_DISPOSITIONS``). The pyVoIP workarounds are documented in ``phone.py``.

Timeouts that end an answered call even when no BYE arrives: RTP silence (``rtp_timeout_s``), the
walker's "no response to N questions in a row", and a hard ``max_call_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import phonenumbers

from callback_service import contracts as c
from callback_service.security.masking import mask_phone
from callback_service.telephony.dialer import CallRequest, CallResult, Dialer, DialerError
from callback_service.telephony.sip import audio
from callback_service.telephony.sip.calls import OutboundCall
from callback_service.telephony.sip.media import CallAudio
from callback_service.telephony.sip.phone import SipAccount, SipError, SipPhone
from callback_service.telephony.sip.prompts import PromptLibrary
from callback_service.telephony.walker import SurveyWalker, answer_path

if TYPE_CHECKING:
    from callback_service.config import Settings

log = logging.getLogger(__name__)

SIP_DISPOSITIONS: dict[int, str] = {
    486: c.D_BUSY, 600: c.D_BUSY, 603: c.D_BUSY,
    408: c.D_NO_ANSWER, 480: c.D_NO_ANSWER, 487: c.D_NO_ANSWER,
    503: c.D_CONGESTION,
    404: c.D_INVALID_NUMBER, 410: c.D_INVALID_NUMBER, 484: c.D_INVALID_NUMBER, 485: c.D_INVALID_NUMBER,
    604: c.D_INVALID_NUMBER,
}
T1_S = 0.5                      # RFC 3261 timer T1: INVITE retransmission starts here and doubles
CANCEL_WAIT_S = 4.0             # after CANCEL, wait this long for the 487 (or a crossing 200)
GONE_MEMORY = 10_000


def disposition_for_status(code: int) -> str:
    return SIP_DISPOSITIONS.get(code, c.D_FAILED)


@dataclass(frozen=True)
class SipDialerSettings:
    account: SipAccount
    prompts_dir: Path
    number_format: str = "national"     # "national": 13900000001 / 01012345678; "e164": +86...
    dial_prefix: str = ""               # e.g. a trunk's outside-line prefix
    invite_timeout_s: float = 8.0       # no response at all to the INVITE: the server is down
    rtp_timeout_s: float = 8.0
    max_call_s: float = 600.0
    record_start_timeout_s: float = 5.0  # how long to wait for the caller to start speaking
    record_beep: bool = True
    record_call: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> SipDialerSettings:
        """For the composition root. Local port and RTP range are optional Settings fields for now."""
        account = SipAccount(
            server=settings.sip_server, port=settings.sip_port, username=settings.sip_username,
            password=settings.sip_password, local_ip=settings.sip_local_ip,
            local_port=int(getattr(settings, "sip_local_port", 0)),
            rtp_port_low=int(getattr(settings, "sip_rtp_port_low", SipAccount.rtp_port_low)),
            rtp_port_high=int(getattr(settings, "sip_rtp_port_high", SipAccount.rtp_port_high)),
        )
        return cls(account=account, prompts_dir=Path(settings.prompts_dir))


def dial_string(phone_e164: str, number_format: str = "national", prefix: str = "") -> str | None:
    """What goes into the INVITE's user part, or None when the number cannot be dialled."""
    try:
        number = phonenumbers.parse(phone_e164, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number_format == "e164":
        digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    else:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        digits = "".join(ch for ch in national if ch.isdigit())
    return prefix + digits if digits else None


class SipCallIO:
    """The walker's CallIO over one answered pyVoIP call."""

    def __init__(self, media: CallAudio, prompts: PromptLibrary, settings: SipDialerSettings) -> None:
        self.media = media
        self.prompts = prompts
        self.settings = settings

    @property
    def ended(self) -> bool:
        return self.media.ended

    def play(self, prompt: str) -> None:
        self.media.flush_digits()          # keys count from the start of the prompt that asks for them
        self.media.play(self.prompts.get(prompt))

    def collect_dtmf(self, max_digits: int, timeout_s: float) -> str:
        return self.media.collect_digits(max_digits, timeout_s)

    def record(self, dest: Path, max_s: float, silence_s: float) -> float:
        if self.settings.record_beep and not self.ended:
            self.media.play(audio.beep())
        pcm = self.media.capture(max_s, silence_s, self.settings.record_start_timeout_s)
        if not pcm:
            return 0.0
        try:
            audio.write_wav(dest, pcm)
        except OSError as exc:
            log.error("cannot write the answer recording %s: %s", dest, exc)
            return 0.0
        return audio.duration_s(pcm)


class SipDialer(Dialer):
    name = "sip"

    def __init__(self, settings: SipDialerSettings, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        # The pipeline's clock: retries are scheduled from the call's end, so the times on the
        # CallResult must be on the same clock as the planner (a demo or test clock included).
        self.clock = clock or _now
        self.prompts = PromptLibrary(settings.prompts_dir)
        self._phone: SipPhone | None = None
        self._lock = threading.Lock()
        self._active: dict[int, OutboundCall] = {}
        self._gone: OrderedDict[int, None] = OrderedDict()   # recently ended attempts, for the reconciler

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Register now (otherwise the first call does); raises SipError (transient)."""
        self._ensure_phone()

    def _ensure_phone(self) -> SipPhone:
        with self._lock:
            # Only a phone that gave up is replaced: during a periodic re-registration it is briefly
            # not "registered", and replacing it then would cut the calls it carries.
            if self._phone is None or self._phone.failed:
                if self._phone is not None:
                    self._phone.stop()
                phone = SipPhone(self.settings.account)
                phone.start()
                self._phone = phone
            return self._phone

    def close(self) -> None:
        with self._lock:
            if self._phone is not None:
                self._phone.stop()
                self._phone = None

    def call_status(self, attempt_id: int) -> str | None:
        if attempt_id in self._active:
            return "active"
        return "gone" if attempt_id in self._gone else None

    def _remember_gone(self, attempt_id: int) -> None:
        self._gone[attempt_id] = None
        while len(self._gone) > GONE_MEMORY:
            self._gone.popitem(last=False)

    # --- one call -----------------------------------------------------------------------------
    def call(self, request: CallRequest) -> CallResult:
        started = self.clock()
        number = dial_string(request.phone_e164, self.settings.number_format, self.settings.dial_prefix)
        if number is None:
            return CallResult(request.attempt_id, c.D_INVALID_NUMBER, started_at=started, ended_at=self.clock(),
                              detail="number cannot be dialled")
        self.prompts.require(request.survey)
        _prepare_attempt_dir(request)
        phone = self._ensure_phone()
        log.info("attempt %s: dialling %s", request.attempt_id, mask_phone(request.phone_e164))
        out = phone.dial(number)
        self._active[request.attempt_id] = out
        try:
            return self._place(phone, out, request, started)
        finally:
            phone.drop(out)
            self._active.pop(request.attempt_id, None)
            self._remember_gone(request.attempt_id)

    def _place(self, phone: SipPhone, out: OutboundCall, request: CallRequest, started: datetime) -> CallResult:
        code = self._await_final(phone, out, request.timeout_s)
        if code is not None and 200 <= code < 300 and not out.cancelled:
            return self._answered(phone, out, request, started)
        if code is not None and 200 <= code < 300:      # answered just as our CANCEL went out
            phone.hangup(out.call)
        disposition = c.D_NO_ANSWER if out.cancelled else disposition_for_status(code or 0)
        cause = f"{code} {out.final_reason}".strip() if code else "ring timeout"
        log.info("attempt %s: %s (%s)", request.attempt_id, disposition, cause)
        return CallResult(request.attempt_id, disposition, started_at=started, ended_at=self.clock(),
                          hangup_cause=cause, detail=_detail(code))

    def _await_final(self, phone: SipPhone, out: OutboundCall, ring_timeout_s: float) -> int | None:
        """The final response code, or None after a ring timeout (a CANCEL was sent)."""
        t0 = time.monotonic()
        ring_deadline = t0 + ring_timeout_s
        interval, next_retransmit = T1_S, t0 + T1_S
        while not out.final.is_set():
            now = time.monotonic()
            if not out.responded.is_set():
                if now - t0 >= self.settings.invite_timeout_s:
                    phone.forget(out.call_id)
                    raise SipError(f"no response to INVITE from {self.settings.account.server}:"
                                   f"{self.settings.account.port} in {self.settings.invite_timeout_s:.0f} s")
                if now >= next_retransmit:
                    out.retransmit()
                    interval = min(interval * 2, 4.0)
                    next_retransmit = now + interval
            if now >= ring_deadline:
                return self._cancel(phone, out)
            wake = ring_deadline if out.responded.is_set() else min(ring_deadline, next_retransmit)
            out.final.wait(timeout=max(0.0, wake - now))
        return out.final_code

    def _cancel(self, phone: SipPhone, out: OutboundCall) -> int | None:
        phone.cancel(out)
        out.final.wait(timeout=CANCEL_WAIT_S)
        if not out.final.is_set():
            phone.forget(out.call_id)
        return out.final_code

    def _answered(self, phone: SipPhone, out: OutboundCall, request: CallRequest,
                  started: datetime) -> CallResult:
        answered_at = self.clock()
        setup_s = time.monotonic() - (out.ringing_at or time.monotonic())
        log.info("attempt %s: answered (%.2f s after ringing)", request.attempt_id, setup_s)
        media = CallAudio(out.call, rtp_timeout_s=self.settings.rtp_timeout_s)
        watchdog = threading.Timer(self.settings.max_call_s, out.call.mark_ended, args=("max_call_duration",))
        watchdog.daemon = True
        watchdog.start()
        try:
            walker = SurveyWalker(SipCallIO(media, self.prompts, self.settings), request.survey,
                                  recordings_dir=request.recordings_dir, attempt_id=request.attempt_id)
            walked = walker.walk()
        finally:
            watchdog.cancel()
            remote_ended = out.call.ended.is_set()
            phone.hangup(out.call)
            media.close()
        call_wav = self._save_call_recording(media, request)
        cause = out.call.ended_by if remote_ended else "local_hangup"
        log.info("attempt %s: %s (%s)", request.attempt_id, walked.disposition, cause)
        return CallResult(request.attempt_id, walked.disposition, answers=walked.answers,
                          call_recording=call_wav, started_at=started, answered_at=answered_at,
                          ended_at=self.clock(), hangup_cause=cause, detail=walked.detail)

    def _save_call_recording(self, media: CallAudio, request: CallRequest) -> Path | None:
        if not self.settings.record_call:
            return None
        path = _attempt_dir(request) / c.CALL_RECORDING_NAME
        try:
            audio.write_wav(path, media.call_recording())
        except OSError as exc:
            log.error("attempt %s: cannot write the call recording %s: %s", request.attempt_id, path, exc)
            return None
        return path


def _attempt_dir(request: CallRequest) -> Path:
    return answer_path(request.recordings_dir, request.attempt_id, "_").parent


def _prepare_attempt_dir(request: CallRequest) -> None:
    """Fail before dialling, not after the citizen answered, when recordings cannot be stored."""
    path = _attempt_dir(request)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DialerError(f"recordings directory {path}: {exc}", transient=False) from exc


def _detail(code: int | None) -> str:
    if code in (401, 407):
        return "the SIP server wants INVITE authentication, which this dialer does not do"
    return ""


def _now() -> datetime:
    return datetime.now(UTC)
