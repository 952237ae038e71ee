"""The table of AMI actions waiting to be written or answered.

Every entry has a deadline and leaves the table on its response, on its deadline, or when the
connection drops with the action written but unanswered (unless it is safe to re-send): the table
cannot grow without bound, unlike asterisk-ami's futures dict.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from callback_service.telephony.asterisk.protocol import Message
from callback_service.telephony.dialer import DialerError


class AmiDisconnected(DialerError):
    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


class AmiTimeout(DialerError):
    def __init__(self, message: str, *, written: bool) -> None:
        super().__init__(message, transient=True)
        self.written = written


@dataclass
class PendingAction:
    action_id: str
    name: str
    payload: bytes
    deadline: float
    resend: bool = False          # safe to write again after a reconnect (read-only queries)
    collect_list: bool = False    # the answer is a Success + events ending in "EventList: Complete"
    future: Future[Message] = field(default_factory=Future)
    written: bool = False
    written_in: int = 0           # the connection generation it was written on
    items: list[Message] = field(default_factory=list)
    response: Message | None = None


class ActionTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingAction] = {}
        self._outbox: list[str] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def add(self, pending: PendingAction) -> None:
        with self._lock:
            if pending.action_id in self._pending:
                raise DialerError(f"ActionID {pending.action_id} already pending", transient=False)
            self._pending[pending.action_id] = pending
            self._outbox.append(pending.action_id)

    def take_unsent(self) -> PendingAction | None:
        """The next action to write, marked written (a failed write is then treated as ambiguous)."""
        with self._lock:
            while self._outbox:
                pending = self._pending.get(self._outbox.pop(0))
                if pending is not None and not pending.future.done():
                    pending.written = True
                    return pending
        return None

    def resolve(self, msg: Message) -> None:
        """A Response arrived; list actions wait for their closing event."""
        with self._lock:
            pending = self._pending.get(msg.action_id or "")
            if pending is None:
                return
            if pending.collect_list and (msg.response or "").lower() == "success":
                pending.response = msg
                return
            del self._pending[pending.action_id]
        _succeed(pending.future, msg)

    def collect(self, msg: Message) -> bool:
        """True if the event belongs to a list action (and so is not a call event)."""
        with self._lock:
            pending = self._pending.get(msg.action_id or "")
            if pending is None or not pending.collect_list:
                return False
            if (msg.get("EventList") or "").lower() != "complete":
                pending.items.append(msg)
                return True
            del self._pending[pending.action_id]
        _succeed(pending.future, pending.response or msg)
        return True

    def expire(self, now: float) -> None:
        with self._lock:
            expired = [p for p in self._pending.values() if p.deadline <= now]
            for pending in expired:
                del self._pending[pending.action_id]
                if pending.action_id in self._outbox:
                    self._outbox.remove(pending.action_id)
        for pending in expired:
            state = "unanswered" if pending.written else "never sent (AMI unavailable)"
            _fail(pending.future, AmiTimeout(f"AMI {pending.name} {state}", written=pending.written))

    def connection_lost(self, reason: str) -> None:
        """Fail written, unanswered actions unless re-sendable; queue the rest for the next session."""
        with self._lock:
            failed = [p for p in self._pending.values() if p.written and not p.resend]
            for pending in failed:
                del self._pending[pending.action_id]
            requeue = [p.action_id for p in self._pending.values() if p.written]
            for pending in self._pending.values():
                pending.written, pending.written_in = False, 0
                pending.items, pending.response = [], None
            self._outbox[:0] = [a for a in requeue if a not in self._outbox]
        for pending in failed:
            _fail(pending.future, AmiDisconnected(
                f"AMI connection lost before {pending.name} was answered: {reason}"))

    def fail_all(self, exc: Exception) -> None:
        with self._lock:
            stopped, self._pending, self._outbox = list(self._pending.values()), {}, []
        for pending in stopped:
            _fail(pending.future, exc)


def _succeed(future: Future[Message], msg: Message) -> None:
    if not future.done():
        future.set_result(msg)


def _fail(future: Future[Message], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
