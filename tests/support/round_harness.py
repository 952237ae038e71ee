"""A callback round on the simulated network, shared by the pipeline tests and benchmarks/round.py.

Citizens answer with the keypresses and the recorded speech of the answer corpus
(tests/fixtures/answers). ``LoggedDialer`` is an observer around the SimulatedDialer: it appends
every call it places to a file (one ``attempt_id phone`` line, written before the call proceeds),
which is how the tests count calls across processes, and gives each call a duration.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from callback_service.app import App
from callback_service.db.models import CallAttempt, CallbackTask, Recording, Report, Score
from callback_service.intake.service import import_rows
from callback_service.telephony.dialer import CallRequest, CallResult, Dialer
from callback_service.telephony.simulated import Citizen, SimulatedDialer

REPO = Path(__file__).resolve().parents[2]
ANSWERS = REPO / "tests" / "fixtures" / "answers"
TZ = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)      # a Tuesday
MORNING = datetime(2026, 11, 25, 9, 5, tzinfo=TZ)       # due, early in the morning window


class ShiftedClock:
    """``base`` + real time elapsed since ``t0``: every process of a test shares one moving clock."""

    def __init__(self, base: datetime, t0: float | None = None) -> None:
        self.base, self.t0 = base, time.time() if t0 is None else t0

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=time.time() - self.t0)

    def env(self) -> dict[str, str]:
        return {"CBT_CLOCK_BASE": self.base.isoformat(), "CBT_CLOCK_T0": repr(self.t0)}

    @classmethod
    def from_env(cls, env: dict[str, str]) -> ShiftedClock:
        return cls(datetime.fromisoformat(env["CBT_CLOCK_BASE"]), float(env["CBT_CLOCK_T0"]))


def answer_clips() -> list[dict[str, Any]]:
    clips = yaml.safe_load((ANSWERS / "manifest.yaml").read_text(encoding="utf-8"))["clips"]
    return [c for c in clips if c["kind"] == "answer"]


def phone(i: int) -> str:
    return f"1383561{i:04d}"


@dataclass(frozen=True)
class CitizenSpec:
    """JSON-friendly, so subprocess workers build the same network."""
    outcome: str = "answer"
    digits: dict[str, str] | None = None
    speech: str | None = None

    def citizen(self) -> Citizen:
        return Citizen(self.outcome, dict(self.digits or {}), Path(self.speech) if self.speech else None)


def make_citizens(n: int, silent_every: int = 3, unanswered: bool = True) -> dict[str, CitizenSpec]:
    """``n`` citizens: 1 in 10 busy and 1 in 10 not answering (when ``unanswered``); the others
    press keys, and all but every ``silent_every``-th (1: nobody, 0: everybody) speak an answer clip."""
    clips, out = answer_clips(), {}
    for i in range(n):
        number = "+86" + phone(i)
        if unanswered and i % 10 in (7, 9):
            out[number] = CitizenSpec("busy" if i % 10 == 7 else "no_answer")
            continue
        clip = clips[i % len(clips)]
        digits = {"identity": "1", "receipt": "1", "attitude": "1", "satisfaction": clip["dtmf"] or ""}
        speaks = silent_every <= 0 or i % silent_every != 0
        if not speaks and not digits["satisfaction"]:
            digits["satisfaction"] = "1"
        out[number] = CitizenSpec("answer", digits, str(ANSWERS / clip["file"]) if speaks else None)
    return out


def save_citizens(citizens: dict[str, CitizenSpec], path: Path) -> None:
    path.write_text(json.dumps({k: v.__dict__ for k, v in citizens.items()}), encoding="utf-8")


def load_citizens(path: Path) -> dict[str, Citizen]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: CitizenSpec(**v).citizen() for k, v in data.items()}


def import_reports(app: App, n: int) -> None:
    base = {"received_at": RECEIVED.strftime("%Y-%m-%d %H:%M"), "station": "城关派出所", "channel": "walk_in"}
    rows = [(i + 1, {**base, "report_no": f"RND{i:05d}", "reporter_phone": phone(i)}) for i in range(n)]
    result = import_rows(app.sessions, rows, app.intake_limits)
    assert not result.rejected, result.rejected


class LoggedDialer(Dialer):
    """The simulated network, with every placed call appended to ``log_path`` before it proceeds."""

    def __init__(self, inner: SimulatedDialer, log_path: Path, call_seconds: float = 0.0) -> None:
        self.inner, self.log_path, self.call_seconds = inner, log_path, call_seconds
        self.name = inner.name

    def call(self, request: CallRequest) -> CallResult:
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{request.attempt_id} {request.phone_e164}\n".encode())
        finally:
            os.close(fd)
        time.sleep(self.call_seconds / 2)    # ringing and the first questions
        result = self.inner.call(request)
        time.sleep(self.call_seconds / 2)
        return result


def logged_dialer(citizens_path: Path, log_path: Path, clock: Callable[[], datetime],
                  call_seconds: float = 0.0) -> LoggedDialer:
    return LoggedDialer(SimulatedDialer(load_citizens(citizens_path), clock=clock), log_path, call_seconds)


def read_call_log(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line.split()[0]) for line in path.read_text().splitlines() if line.strip()]


def unsettled(app: App) -> dict[str, int]:
    """Work that is not finished yet; empty when the round has settled."""
    with app.sessions() as s:
        counts = {
            "attempts_in_flight": s.scalar(select(func.count()).select_from(CallAttempt).where(
                CallAttempt.state.in_(("created", "dialing")))),
            "recordings_pending": s.scalar(select(func.count()).select_from(Recording).where(
                Recording.kind == "answer", Recording.state.in_(("pending", "transcribing")))),
            "scores_pending": s.scalar(select(func.count()).select_from(CallAttempt).where(
                CallAttempt.score_state.in_(("waiting", "pending")))),
            "tickets_pending": s.scalar(select(func.count()).select_from(Score).where(
                Score.ticket_state == "pending")),
            "tasks_claimed": s.scalar(select(func.count()).select_from(CallbackTask).where(
                CallbackTask.status == "claimed")),
            "reports_new": s.scalar(select(func.count()).select_from(Report).where(Report.plan_state == "new")),
        }
    return {k: int(v or 0) for k, v in counts.items() if v}


def wait_settled(app: App, timeout_s: float, min_calls: Callable[[], bool] = lambda: True,
                 poll_s: float = 1.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    left = unsettled(app)
    while time.monotonic() < deadline:
        left = unsettled(app)
        if not left and min_calls():
            return {}
        time.sleep(poll_s)
    return left


def now_utc() -> datetime:
    return datetime.now(UTC)
