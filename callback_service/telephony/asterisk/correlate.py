"""Per-call state machine: AMI events in, one CallResult out.

Calls are keyed by identifiers this service chose, never by timestamps or channel names: the
Originate ActionID (``OriginateResponse``), the ChannelId given at Originate, which Asterisk uses as
the channel's Uniqueid (``Hangup``, ``UserEvent``), and the attempt id the dialplan echoes as
``CallbackId``. Events may arrive in any order (a ``Hangup`` before the ``OriginateResponse``, a
``UserEvent`` from the hangup handler after the ``Hangup``), so an answered call settles only when
both its hangup and its ``SurveyEnd`` are in, or ``linger_s`` after the first of them. A call's result
is computed exactly once; later events for it are ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from callback_service import contracts as c
from callback_service.surveys.model import Survey
from callback_service.telephony.asterisk.actions import PendingAction
from callback_service.telephony.asterisk.outcome import answered_disposition, failure_disposition
from callback_service.telephony.asterisk.protocol import Message
from callback_service.telephony.asterisk.recordings import RecordingMapper, RecordingPathError
from callback_service.telephony.dialer import AnswerResult, CallResult

log = logging.getLogger(__name__)

REASON_ANSWERED = 4
RECORD_NO_FILE = frozenset({"SKIP", "ERROR", ""})


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class TrackedCall:
    attempt_id: int
    action_id: str
    channel_id: str
    survey: Survey
    recordings: RecordingMapper
    started_at: datetime = field(default_factory=now_utc)
    originate: PendingAction | None = None
    reason: int | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    own_cause: int | None = None
    leg_cause: int | None = None
    cause_text: str = ""
    end: dict[str, str] | None = None
    answers: dict[str, AnswerResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    settle_at: float | None = None
    result: CallResult | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def hung_up(self) -> bool:
        return self.ended_at is not None

    @property
    def cause(self) -> int | None:
        return self.own_cause if self.own_cause else (self.leg_cause or self.own_cause)


class Correlator:
    def __init__(self, *, linger_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._linger = linger_s
        self._clock = clock
        self._lock = threading.Lock()
        self._by_attempt: dict[int, TrackedCall] = {}
        self._by_action: dict[str, TrackedCall] = {}
        self._by_channel: dict[str, TrackedCall] = {}
        self._handlers: dict[str, Callable[[TrackedCall, Message], None]] = {
            "OriginateResponse": self._on_originate_response,
            "Hangup": self._on_hangup,
            "UserEvent": self._on_user_event,
        }
        self.events_seen = 0

    # --- registry --------------------------------------------------------------------------------
    def track(self, call: TrackedCall) -> None:
        with self._lock:
            self._by_attempt[call.attempt_id] = call
            self._by_action[call.action_id] = call
            self._by_channel[call.channel_id] = call

    def forget(self, attempt_id: int) -> None:
        with self._lock:
            call = self._by_attempt.pop(attempt_id, None)
            if call:
                self._by_action.pop(call.action_id, None)
                self._by_channel.pop(call.channel_id, None)

    def get(self, attempt_id: int) -> TrackedCall | None:
        with self._lock:
            return self._by_attempt.get(attempt_id)

    def in_flight(self) -> list[TrackedCall]:
        with self._lock:
            return [call for call in self._by_attempt.values() if call.result is None]

    def __len__(self) -> int:
        return len(self._by_attempt)

    # --- events ------------------------------------------------------------------------------------
    def dispatch(self, msg: Message) -> None:
        """Feed one AMI event. Events for calls we do not track, and unknown events, are ignored."""
        self.events_seen += 1
        handler = self._handlers.get(msg.event or "")
        if handler is None:
            return
        with self._lock:
            call = self._route(msg)
            if call is None or call.result is not None:
                return
            handler(call, msg)
            self._settle(call)

    def _route(self, msg: Message) -> TrackedCall | None:
        if msg.event == "OriginateResponse":
            return self._by_action.get(msg.action_id or "")
        uid = msg.get("Uniqueid") or ""
        call = self._by_channel.get(uid) or self._by_channel.get(msg.get("Linkedid") or "")
        if call is None and msg.event == "UserEvent":
            attempt = msg.get("CallbackId") or ""
            call = self._by_attempt.get(int(attempt)) if attempt.isdigit() else None
        return call

    def _on_originate_response(self, call: TrackedCall, msg: Message) -> None:
        reason = msg.get("Reason") or ""
        call.reason = int(reason) if reason.isdigit() else 0
        if call.reason == REASON_ANSWERED and call.answered_at is None:
            call.answered_at = now_utc()

    def _on_hangup(self, call: TrackedCall, msg: Message) -> None:
        cause_raw = msg.get("Cause") or ""
        cause = int(cause_raw) if cause_raw.isdigit() else None
        if msg.get("Uniqueid") == call.channel_id:
            call.own_cause, call.ended_at = cause, now_utc()
            call.cause_text = call.cause_text or (msg.get("Cause-txt") or "")
        elif cause and not call.leg_cause:
            call.leg_cause = cause
            call.cause_text = msg.get("Cause-txt") or call.cause_text

    def _on_user_event(self, call: TrackedCall, msg: Message) -> None:
        attempt = msg.get("CallbackId")
        if attempt is not None and attempt != str(call.attempt_id):
            log.warning("UserEvent for attempt %s arrived on the channel of attempt %s; ignored",
                        attempt, call.attempt_id)
            return
        kind = msg.get("UserEvent")
        if kind == c.USEREVENT_ANSWER:
            self._answer(call, msg.get("Question") or "").dtmf = msg.get("Digits") or None
        elif kind == c.USEREVENT_RECORDING:
            self._on_recording(call, msg)
        elif kind == c.USEREVENT_END:
            call.end = {k: v for k, v in msg.headers if k}

    def _on_recording(self, call: TrackedCall, msg: Message) -> None:
        answer = self._answer(call, msg.get("Question") or "")
        status = (msg.get("Status") or "").upper()
        if status in RECORD_NO_FILE:
            call.notes.append(f"{answer.question_id}: no recording ({status or 'no status'})")
            return
        try:
            answer.recording_path = call.recordings.to_local(msg.get("File") or "")
        except RecordingPathError as exc:
            log.warning("attempt %s: %s", call.attempt_id, exc)
            call.notes.append(f"{answer.question_id}: recording path rejected")

    @staticmethod
    def _answer(call: TrackedCall, question_id: str) -> AnswerResult:
        if question_id not in call.answers:
            call.answers[question_id] = AnswerResult(question_id=question_id)
        return call.answers[question_id]

    # --- settling ----------------------------------------------------------------------------------
    def _settle(self, call: TrackedCall) -> None:
        if call.reason is None:
            return
        if call.reason != REASON_ANSWERED:
            self._finish(call, failure_disposition(call.reason, call.cause))
        elif call.hung_up and call.end is not None:
            self._finish(call, answered_disposition(call.survey, call.answers, call.end))
        elif (call.hung_up or call.end is not None) and call.settle_at is None:
            call.settle_at = self._clock() + self._linger

    def tick(self) -> None:
        """Settle answered calls whose linger time has run out."""
        now = self._clock()
        with self._lock:
            for call in list(self._by_attempt.values()):
                if call.result is None and call.settle_at is not None and call.settle_at <= now:
                    self._finish(call, answered_disposition(call.survey, call.answers, call.end))

    def note_answered(self, attempt_id: int) -> None:
        """Asterisk shows the channel Up although its OriginateResponse was lost in an outage."""
        with self._lock:
            call = self._by_attempt.get(attempt_id)
            if call is not None and call.reason is None:
                call.reason, call.answered_at = REASON_ANSWERED, now_utc()
                call.notes.append("answer inferred from channel state after reconnect")
                self._settle(call)

    def conclude(self, attempt_id: int, note: str, disposition: str | None = None) -> None:
        """Settle a call from outside the event stream (lost AMI session, Originate error)."""
        with self._lock:
            call = self._by_attempt.get(attempt_id)
            if call is None or call.result is not None:
                return
            call.notes.append(note)
            if disposition is None:
                disposition = (answered_disposition(call.survey, call.answers, call.end)
                               if call.reason == REASON_ANSWERED or call.answers else c.D_FAILED)
            self._finish(call, disposition)

    def _finish(self, call: TrackedCall, disposition: str) -> None:
        answered = call.reason == REASON_ANSWERED
        order = {q.id: i for i, q in enumerate(call.survey.questions)}
        detail = [f"originate reason {call.reason}" if call.reason is not None else "no originate result"]
        if call.cause is not None:
            detail.append(f"hangup cause {call.cause} {call.cause_text}".rstrip())
        if call.end is not None:
            detail.append(f"survey end {call.end.get('Status', '?')} at {call.end.get('Question') or '-'}")
        call.result = CallResult(
            attempt_id=call.attempt_id,
            disposition=disposition,
            answers=sorted(call.answers.values(), key=lambda a: order.get(a.question_id, len(order))),
            call_recording=(call.recordings.call_recording(call.attempt_id)
                            if answered and disposition != c.D_MACHINE else None),
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at or now_utc(),
            hangup_cause=str(call.cause) if call.cause is not None else None,
            detail="; ".join(detail + call.notes),
        )
        call.done.set()
