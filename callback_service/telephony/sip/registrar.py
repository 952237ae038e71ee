"""Run a private Kamailio SIP registrar/proxy for the loopback tests and the demo network.

Each instance gets its own runtime directory (pid file, log), a UDP port chosen at run time (so it never
collides with a local Asterisk on 5060 or with a parallel test run) and is always stopped and cleaned
up, also when start-up fails. Readiness is proven at the protocol level: an OPTIONS ping must come
back ``200 OK`` before ``start()`` returns.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from types import TracebackType
from typing import Self

from callback_service.telephony.sip.ports import free_udp_port, udp_port_free

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG = REPO_ROOT / "dialplans" / "kamailio.cfg"
START_ATTEMPTS = 3            # a free port can be taken between choosing and checking it: retry then
STOP_GRACE_S = 5.0


class RegistrarError(RuntimeError):
    """Kamailio is missing, or could not be started or reached."""


class _PortTaken(RegistrarError):
    pass


def sip_options_ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a SIP server at host:port answers an out-of-dialog OPTIONS with 200."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(timeout_s)
        local_port = sock.getsockname()[1]
        sock.sendto(_options_request(host, port, local_port).encode(), (host, port))
        try:
            data = sock.recv(4096)
        except (TimeoutError, ConnectionRefusedError):
            return False
    return data.startswith(b"SIP/2.0 200")


def _options_request(host: str, port: int, local_port: int) -> str:
    tag = uuid.uuid4().hex[:8]
    return (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@{host}>;tag={tag}\r\n"
        f"To: <sip:{host}:{port}>\r\n"
        f"Call-ID: {uuid.uuid4().hex}@{host}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    )


class KamailioRegistrar:
    """A Kamailio process in the foreground (``-DD -E``), owned by this object."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, config: Path = DEFAULT_CONFIG,
                 binary: str = "kamailio", startup_timeout_s: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.config = config
        self.binary = binary
        self.startup_timeout_s = startup_timeout_s
        self.runtime_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reaper: weakref.finalize | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        executable = shutil.which(self.binary) or shutil.which(self.binary, path="/usr/sbin:/sbin")
        if executable is None:
            raise RegistrarError(f"{self.binary} is not installed (apt-get install -y kamailio)")
        if not self.config.is_file():
            raise RegistrarError(f"Kamailio config {self.config} does not exist")
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="kamailio-"))
        fixed_port = self.port
        try:
            for attempt in range(1, START_ATTEMPTS + 1):
                self.port = fixed_port or free_udp_port(self.host)
                try:
                    self._launch(executable)
                    return
                except _PortTaken:
                    if fixed_port or attempt == START_ATTEMPTS:
                        raise
                    log.warning("UDP port %s was taken meanwhile; trying another", self.port)
        except BaseException:
            self.stop()     # never leave a half-started Kamailio or its directory behind
            raise

    def stop(self) -> None:
        self._terminate()
        self._remove_runtime_dir()

    def _launch(self, executable: str) -> None:
        assert self.runtime_dir is not None
        # Kamailio binds with SO_REUSEADDR, so a second instance on a taken port would start and
        # silently share the traffic: refuse a port anyone holds.
        if not udp_port_free(self.host, self.port):
            raise _PortTaken(f"UDP port {self.host}:{self.port} is already in use")
        log_path = self.runtime_dir / "kamailio.log"
        cmd = [
            executable, "-DD", "-E", "-f", str(self.config), "-A", f"SIP_PORT={self.port}",
            "-P", str(self.runtime_dir / "kamailio.pid"), "-Y", str(self.runtime_dir),
            "-m", "32", "-M", "8",
        ]
        with open(log_path, "wb") as log_file:
            # Own session, so a stray child can be reaped by process group without touching others.
            self._proc = subprocess.Popen(cmd, cwd=self.runtime_dir, stdout=log_file,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        # Safety net for an owner that never calls stop() (a failing test): reap at GC or exit.
        self._reaper = weakref.finalize(self, _reap, self._proc, self.runtime_dir)
        self._wait_ready(log_path)
        log.info("Kamailio listening on udp:%s:%s (pid %s)", self.host, self.port, self._proc.pid)

    def _wait_ready(self, log_path: Path) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise RegistrarError(f"Kamailio exited during start-up: {_tail(log_path)}")
            if sip_options_ping(self.host, self.port, timeout_s=0.2):
                return
        raise RegistrarError(
            f"Kamailio did not answer OPTIONS on {self.host}:{self.port} within "
            f"{self.startup_timeout_s:.0f} s: {_tail(log_path)}"
        )

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if self._reaper is not None:
            self._reaper.detach()
            self._reaper = None
        if proc is not None:
            _reap(proc)

    def _remove_runtime_dir(self) -> None:
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = None


def _reap(proc: subprocess.Popen[bytes], runtime_dir: Path | None = None) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("Kamailio pid %s ignored SIGTERM; killing its process group", proc.pid)
            _kill_group(proc.pid)
            proc.wait(timeout=STOP_GRACE_S)
    _kill_group(proc.pid)  # children normally exit with the main process; make sure of it
    if runtime_dir is not None:
        shutil.rmtree(runtime_dir, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(text.strip().splitlines()[-lines:])
