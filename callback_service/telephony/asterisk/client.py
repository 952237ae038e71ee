"""The long-lived AMI connection: login, keepalive, reconnect, action/response matching.

Decision on ``asterisk-ami`` (the library named in pyproject): this package does not use it. Its
reader sets a 3 s socket timeout that ends idle listeners, its login sends no ``Events`` header, its
futures table is never pruned, it writes with ``send`` instead of ``sendall``, it collapses repeated
event headers into one dict entry, and it writes header values without any CR/LF check, so a value
could inject headers. Hardening around it would mean replacing its reader, writer and parser, which
is all of it; the replacement (protocol.py, actions.py and this module) is smaller than the patches
would be and is tested against recorded Asterisk traffic. The dependency can be dropped.

Behaviour:
- one reader thread owns the socket; a socket timeout only wakes it for housekeeping, never ends it;
- login sends ``Events`` (default ``system,call,user``: Asterisk sends ``FullyBooted`` at login only
  when the session receives ``system`` events, see manager.c action_login);
- the session is *ready* at ``FullyBooted`` (or ``boot_grace_s`` after login if it never comes);
- actions submitted while not ready wait and are written when ready; one that was written but not
  answered when the connection dropped fails with ``AmiDisconnected`` unless marked ``resend``
  (read-only queries): an Originate is never sent twice;
- Ping after ``ping_interval_s`` of silence; no answer within ``ping_timeout_s`` drops the connection;
- reconnect with doubling back-off and a logged reason each time, until ``stop()``.
Callbacks (``on_event``, ``on_ready``) run on the reader thread and must not block.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from callback_service.telephony.asterisk.actions import ActionTable, AmiDisconnected, PendingAction
from callback_service.telephony.asterisk.protocol import AmiProtocolError, FrameReader, Message, encode_action
from callback_service.telephony.dialer import DialerError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "callback"
    secret: str = ""
    events: str = "system,call,user"
    connect_timeout_s: float = 5.0
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 10.0
    action_timeout_s: float = 30.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    boot_grace_s: float = 10.0
    wake_s: float = 0.5


@dataclass
class _Session:
    login_id: str
    last_rx: float
    login_sent: bool = False
    logged_in_at: float | None = None
    ping_id: str | None = None
    ping_sent_at: float | None = None


class AmiClient:
    def __init__(self, settings: AmiSettings, *, on_event: Callable[[Message], None],
                 on_ready: Callable[[int], None] | None = None) -> None:
        self.settings = settings
        self._on_event = on_event
        self._on_ready = on_ready or (lambda generation: None)
        self._actions = ActionTable()
        self._sock_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._closing = threading.Event()
        self._ready = threading.Event()
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.generation = 0
        self.last_error = ""

    # --- public API ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ami-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Log off politely (waiting briefly for Asterisk's Goodbye), then end the reader."""
        self._closing.set()
        if self._ready.is_set():
            with contextlib.suppress(DialerError, TimeoutError):
                self.send("Logoff", [], timeout=1.0).future.result(1.5)
        self._stop.set()
        self._close_socket()
        if self._thread:
            self._thread.join(timeout)
        self._actions.fail_all(AmiDisconnected("AMI client stopped"))

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def pending_count(self) -> int:
        return len(self._actions)

    def send(self, name: str, headers: list[tuple[str, str]], *, action_id: str | None = None,
             timeout: float | None = None, resend: bool = False, collect_list: bool = False,
             ) -> PendingAction:
        """Queue an action; its ``future`` resolves to the response (for list actions the list's
        events are in ``items``). Raises UnsafeValueError before anything is queued."""
        action_id = action_id or self._next_id(name.lower())
        payload = encode_action(name, [("ActionID", action_id), *headers])
        deadline = time.monotonic() + (timeout or self.settings.action_timeout_s)
        pending = PendingAction(action_id, name, payload, deadline, resend, collect_list)
        self._actions.add(pending)
        self._flush()
        return pending

    # --- connection loop ------------------------------------------------------------------------
    def _run(self) -> None:
        delay = self.settings.backoff_initial_s
        while not self._stop.is_set():
            try:
                self._session()
                reason = "connection closed by Asterisk"
            except (OSError, DialerError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if self._ready.is_set():  # the session worked: start the back-off afresh
                delay = self.settings.backoff_initial_s
            self._lost(reason)
            if self._stop.is_set() or self._closing.is_set():
                break
            log.warning("AMI %s:%s unavailable (%s); reconnecting in %.1fs",
                        self.settings.host, self.settings.port, reason, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, self.settings.backoff_max_s)

    def _session(self) -> None:
        s = self.settings
        sock = socket.create_connection((s.host, s.port), timeout=s.connect_timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.settimeout(s.wake_s)
        with self._sock_lock:
            self._sock = sock
        reader = FrameReader()
        state = _Session(login_id=self._next_id("login"), last_rx=time.monotonic())
        while not self._stop.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                self._housekeeping(state)
                continue
            if not data:
                return
            state.last_rx = time.monotonic()
            for msg in reader.feed(data):
                self._handle(msg, state)
            if reader.greeting and not state.login_sent:
                self._login(state)
            self._housekeeping(state)

    def _login(self, state: _Session) -> None:
        s = self.settings
        headers = [("ActionID", state.login_id), ("Username", s.username), ("Secret", s.secret),
                   ("Events", s.events)]
        self._write(encode_action("Login", headers))
        state.login_sent = True

    def _handle(self, msg: Message, state: _Session) -> None:
        if msg.event is None and msg.action_id == state.login_id:
            if (msg.response or "").lower() != "success":
                raise DialerError(f"AMI login refused: {msg.get('Message')}", transient=True)
            state.logged_in_at = time.monotonic()
        elif msg.event is None:
            if msg.action_id and msg.action_id == state.ping_id:
                state.ping_id = state.ping_sent_at = None
            self._actions.resolve(msg)
        elif msg.event == "FullyBooted" and state.logged_in_at is not None:
            self._become_ready()
        elif not self._actions.collect(msg):
            try:
                self._on_event(msg)
            except Exception:  # one bad event must not end the connection
                log.exception("AMI event handler failed on %s", msg.event)

    def _become_ready(self) -> None:
        if self._ready.is_set():
            return
        self.generation += 1
        self._ready.set()
        log.info("AMI session ready (connection %d)", self.generation)
        self._flush()
        self._on_ready(self.generation)

    def _housekeeping(self, state: _Session) -> None:
        now = time.monotonic()
        s = self.settings
        if state.logged_in_at and not self._ready.is_set() and now - state.logged_in_at > s.boot_grace_s:
            log.warning("AMI sent no FullyBooted within %.0fs of login; proceeding", s.boot_grace_s)
            self._become_ready()
        if state.ping_sent_at is not None and now - state.ping_sent_at > s.ping_timeout_s:
            raise AmiProtocolError(f"no answer to Ping within {s.ping_timeout_s:g}s")
        if self._ready.is_set() and state.ping_id is None and now - state.last_rx > s.ping_interval_s:
            state.ping_id, state.ping_sent_at = self._next_id("ping"), now
            self._write(encode_action("Ping", [("ActionID", state.ping_id)]))
        self._actions.expire(now)

    # --- writing ------------------------------------------------------------------------------------
    def _flush(self) -> None:
        while self._ready.is_set():
            pending = self._actions.take_unsent()
            if pending is None:
                return
            pending.written_in = self.generation
            try:
                self._write(pending.payload)
            except AmiDisconnected:
                return  # the reader sees the broken socket and settles what was pending

    def _write(self, payload: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise AmiDisconnected("not connected")
        try:
            with self._send_lock:
                sock.sendall(payload)
        except OSError as exc:
            self._close_socket()
            raise AmiDisconnected(f"write failed: {exc}") from exc

    def _lost(self, reason: str) -> None:
        self._ready.clear()
        self._close_socket()
        self.last_error = reason
        self._actions.connection_lost(reason)

    def _close_socket(self) -> None:
        with self._sock_lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"
