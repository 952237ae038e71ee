"""A stand-in for Asterisk's manager port that replays recorded AMI transcripts over real TCP.

The transcript (tests/fixtures/ami/*.ami) is what a real Asterisk sent, split by ``>>> SENT`` blocks
that hold what the client sent at that point. For each action the client sends, the server picks the
first unused recorded block for the same action (for Originate: the same dialled number; a used block
is reused when no unused one is left) and sends the bytes recorded after it, rewritten for the
client's ids: ActionID, ChannelId (the channel's Uniqueid, ``;2`` for the Local channel's other half,
and a failed OriginateResponse's Uniqueid, as manager.c does), and CALLBACK_ID. An action with no
recorded block gets Asterisk's ``Invalid/unknown command`` error. Markers ``>>> CLOSE``,
``>>> PAUSE <s>`` and ``>>> DRIBBLE <n>`` are described in tests/fixtures/ami/derive_scenarios.py.

Everything the client sent is kept in ``received`` (bytes) and ``actions`` (parsed), and framing
faults (a bare CR or LF, a line without ``: ``) in ``errors``, for tests to assert on.
"""

from __future__ import annotations

import contextlib
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CRLF = b"\r\n"
_NUMBER_RE = re.compile(r"/\+?([0-9]+)@")


@dataclass
class Op:
    kind: str                  # "data" | "pause" | "close"
    data: bytes = b""
    seconds: float = 0.0


@dataclass
class Block:
    headers: list[tuple[str, str]]
    ops: list[Op] = field(default_factory=list)
    used: bool = False

    def get(self, key: str) -> str:
        return next((v for k, v in self.headers if k.lower() == key.lower()), "")

    @property
    def action(self) -> str:
        return self.get("Action").lower()


@dataclass
class Script:
    greeting: bytes
    preamble: list[Op]
    blocks: list[Block]
    dribble: int = 0


def load_script(path: Path) -> Script:
    lines = path.read_bytes().split(CRLF)
    start = 1 if lines[0].startswith(b">>> DRIBBLE") else 0
    script = Script(greeting=lines[start] + CRLF, preamble=[], blocks=[])
    if start:
        script.dribble = int(lines[0].split()[2])
    ops, sent = script.preamble, None
    for line in lines[start + 1:]:
        if sent is not None:
            if line:
                key, _, value = line.decode().partition(": ")
                sent.headers.append((key, value))
                continue
            ops, sent = sent.ops, None
        elif line == b">>> SENT":
            sent = Block(headers=[])
            script.blocks.append(sent)
        elif line.startswith(b">>> "):
            word, *arg = line[4:].decode().split()
            ops.append(Op("close") if word == "CLOSE" else Op("pause", seconds=float(arg[0])))
        elif ops and ops[-1].kind == "data":
            ops[-1].data += line + CRLF
        else:
            ops.append(Op("data", line + CRLF))
    return script


def _number(channel: str) -> str:
    match = _NUMBER_RE.search(channel)
    return match.group(1) if match else ""


def _variables(headers: list[tuple[str, str]]) -> dict[str, str]:
    pairs = [item for k, v in headers if k.lower() == "variable" for item in v.split(",")]
    return dict(p.split("=", 1) for p in pairs if "=" in p)


class AmiReplayServer:
    def __init__(self, script: Script | Path, *, port: int = 0) -> None:
        self.script = load_script(script) if isinstance(script, Path) else script
        self.received = bytearray()
        self.actions: list[list[tuple[str, str]]] = []
        self.errors: list[str] = []
        self.connections = 0
        self._ids: dict[str, str] = {}
        self._callbacks: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", port))
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self.port = self._listener.getsockname()[1]

    def __enter__(self) -> AmiReplayServer:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        for conn in list(self._conns):
            _close(conn)
        for thread in self._threads:
            thread.join(5)

    def named(self, action: str) -> list[dict[str, str]]:
        return [dict(a) for a in self.actions if dict(a).get("Action", "").lower() == action.lower()]

    # --- connections ---------------------------------------------------------------------------------
    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conns.append(conn)
            self.connections += 1
            out: queue.Queue[Op | None] = queue.Queue()
            self._spawn(self._writer, conn, out)
            self._spawn(self._reader, conn, out)

    def _reader(self, conn: socket.socket, out: queue.Queue[Op | None]) -> None:
        out.put(Op("data", self.script.greeting))
        for op in self.script.preamble:
            out.put(op)
        buf = b""
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self.received += data
            buf += data
            while b"\r\n\r\n" in buf:
                raw, buf = buf.split(b"\r\n\r\n", 1)
                for op in self._respond(self._parse(raw)):
                    out.put(op)
        out.put(None)

    def _writer(self, conn: socket.socket, out: queue.Queue[Op | None]) -> None:
        while (op := out.get()) is not None:
            if op.kind == "pause":
                self._stop.wait(op.seconds)
            elif op.kind == "close":
                _close(conn)
                return
            else:
                self._send(conn, op.data)

    def _send(self, conn: socket.socket, data: bytes) -> None:
        step = self.script.dribble or len(data)
        try:
            for i in range(0, len(data), step):
                conn.sendall(data[i:i + step])
                if self.script.dribble:
                    time.sleep(0.0002)
        except OSError:
            pass

    # --- actions -----------------------------------------------------------------------------------------
    def _parse(self, raw: bytes) -> list[tuple[str, str]]:
        headers = []
        for line in raw.split(CRLF):
            if b"\r" in line or b"\n" in line:
                self.errors.append(f"bare CR or LF in {line!r}")
            key, sep, value = line.decode("utf-8", "replace").partition(": ")
            if not sep:
                self.errors.append(f"line without ': ' {line!r}")
            headers.append((key, value))
        with self._lock:
            self.actions.append(headers)
        return headers

    def _respond(self, headers: list[tuple[str, str]]) -> list[Op]:
        action = dict((k.lower(), v) for k, v in headers)
        block = self._match(action)
        client_id = action.get("actionid", "")
        if block is None:
            return [Op("data", f"Response: Error\r\nActionID: {client_id}\r\n"
                               "Message: Invalid/unknown command\r\n\r\n".encode())]
        if block.action == "login" and action.get("secret") != block.get("Secret"):
            return [Op("data", f"Response: Error\r\nActionID: {client_id}\r\n"
                               "Message: Authentication failed\r\n\r\n".encode()), Op("close")]
        ids = {block.get("ActionID"): client_id}
        if block.action == "originate":
            ids.update(self._learn_call(block, headers))
        ops = [Op(op.kind, self._rewrite(op.data, ids), op.seconds) for op in block.ops]
        return ops + [Op("close")] if block.action == "logoff" else ops

    def _match(self, action: dict[str, str]) -> Block | None:
        name = action.get("action", "").lower()
        number = _number(action.get("channel", ""))
        candidates = [b for b in self.script.blocks
                      if b.action == name and (name != "originate" or _number(b.get("Channel")) == number)]
        block = next((b for b in candidates if not b.used), candidates[0] if candidates else None)
        if block is not None:
            block.used = True
        return block

    def _learn_call(self, block: Block, headers: list[tuple[str, str]]) -> dict[str, str]:
        """Learn the client's ids for this call; later blocks (after a reconnect) use them too."""
        sent = dict(headers)
        channel_id, recorded_id = sent.get("ChannelId", ""), block.get("ChannelId")
        if channel_id and not recorded_id:  # as Asterisk would have named the recorded channels
            uids = re.findall(rb"Event: Newchannel\r\n(?:.*\r\n)*?Uniqueid: (.*)\r\n",
                              b"".join(op.data for op in block.ops))
            recorded_id = uids[0].decode() if uids else ""
            if len(uids) > 1:
                self._ids[uids[1].decode()] = channel_id + ";2"
        if channel_id and recorded_id:
            self._ids[recorded_id] = channel_id
            self._ids[recorded_id + ";2"] = channel_id + ";2"
        recorded_cb = _variables(block.headers).get("CALLBACK_ID")
        client_cb = _variables(headers).get("CALLBACK_ID")
        if recorded_cb and client_cb:
            self._callbacks[recorded_cb] = client_cb
        return {"<unknown>": channel_id} if channel_id else {}

    def _rewrite(self, data: bytes, ids: dict[str, str]) -> bytes:
        if not data:
            return data
        mapping = {**self._ids, **ids}
        lines = data.decode("latin-1").split("\r\n")
        event = ""
        for i, line in enumerate(lines):
            key, sep, value = line.partition(": ")
            if not sep:
                event = "" if not line else event
                continue
            event = value if key == "Event" else event
            if value == "<unknown>" and not (key == "Uniqueid" and event == "OriginateResponse"):
                continue
            if key == "CallbackId":
                value = self._callbacks.get(value, value)
            elif key == "File":
                for old, new in self._callbacks.items():
                    value = value.replace(f"/{old}-", f"/{new}-").replace(f"/{old}/", f"/{new}/")
            else:
                value = mapping.get(value, value)
            lines[i] = f"{key}: {value}"
        return "\r\n".join(lines).encode("latin-1")


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()
