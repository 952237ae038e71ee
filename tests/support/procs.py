"""Real service subprocesses for the pipeline tests, always cleaned up (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Procs:
    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir, self.env = log_dir, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._termed: set[str] = set()

    def start(self, name: str, role: str, queues: str = "", **extra_env: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, **self.env, **extra_env, "PYTHONPATH": str(REPO / "tests")}
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "support.round_proc", role, queues], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
        if sig == signal.SIGKILL:
            proc.wait(timeout=30)

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def _term(self, name: str) -> None:
        # Once only: a second SIGTERM can land after Python has restored the default handler at exit.
        if self.procs[name].poll() is None and name not in self._termed:
            self._termed.add(name)
            self.procs[name].send_signal(signal.SIGTERM)

    def stop(self, name: str, timeout: float) -> int | None:
        """SIGTERM and wait; returns the exit status, or None when it had to be killed."""
        proc = self.procs[name]
        self._term(name)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            return None

    def stop_all(self, timeout: float = 30) -> dict[str, int | None]:
        for name in self.procs:
            self._term(name)
        return {name: self.stop(name, timeout) for name in self.procs}

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
