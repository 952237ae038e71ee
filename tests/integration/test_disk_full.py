"""A full recordings filesystem (a real tiny tmpfs): the failure shows on rows, in status and in the
metrics, and nothing is lost: once space is freed every held call is made and every answer scored.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from support.round_harness import (
    MORNING,
    LoggedDialer,
    import_reports,
    load_citizens,
    make_citizens,
    read_call_log,
    save_citizens,
    unsettled,
)

from callback_service.app import App, build_app
from callback_service.db.models import CallAttempt, Score
from callback_service.pipeline.inprocess import InProcessRunner
from callback_service.pipeline.metrics import render_metrics
from callback_service.pipeline.status import gather
from callback_service.pipeline.storage import DiskGuard
from callback_service.telephony.simulated import SimulatedDialer

pytestmark = pytest.mark.slow
pytest_plugins = ["support.pipeline_fixtures"]   # models_dir: one assembled speech model per session
CLIP_BYTES = 100_000     # the answer clips are 60-100 kB


class Clock:
    def __init__(self) -> None:
        self.now = MORNING

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 192 kB tmpfs: room for about two answers. Mounting needs root; elsewhere the test skips."""
    mount = tmp_path / "recordings"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k,mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True, timeout=30)


def grow(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=16m", str(mount)], check=True, timeout=30)


def _setup(tmp_path: Path, sqlite_app: App, mount: Path, n: int, min_free: int,
           models: Path) -> tuple[App, InProcessRunner, Clock]:
    app = build_app(replace(sqlite_app.settings, recordings_dir=mount, models_dir=models))
    import_reports(app, n)
    citizens = make_citizens(n, silent_every=0, unanswered=False)
    save_citizens(citizens, tmp_path / "citizens.json")
    clock = Clock()
    dialer = LoggedDialer(SimulatedDialer(load_citizens(tmp_path / "citizens.json"), clock=clock),
                          tmp_path / "calls.log")
    ctx = app.stage_context(dialer=dialer)
    ctx.clock = clock
    return app, InProcessRunner(ctx, dial_workers=1, guard=DiskGuard(mount, min_free)), clock


def _attempts(app: App) -> list[CallAttempt]:
    with app.sessions() as s:
        return list(s.scalars(select(CallAttempt).order_by(CallAttempt.id)))


def _assert_all_scored_once(app: App, tmp_path: Path, n: int) -> None:
    assert unsettled(app) == {}
    calls = read_call_log(tmp_path / "calls.log")
    assert len(calls) == len(set(calls))
    with app.sessions() as s:
        scored = {a.task_id for a in s.scalars(select(CallAttempt).join(Score, Score.attempt_id == CallAttempt.id))}
    assert len(scored) == n                       # every citizen's answer reached a score


def test_low_space_holds_calls_back_visibly_then_completes_them(tmp_path: Path, sqlite_app: App, tiny_fs: Path,
                                                                 models_dir: Path) -> None:
    app, runner, _ = _setup(tmp_path, sqlite_app, tiny_fs, 5, CLIP_BYTES, models_dir)
    runner.run_round()
    attempts = _attempts(app)
    ended = [a for a in attempts if a.state == "ended"]
    held = [a for a in attempts if a.state == "created"]
    assert 1 <= len(ended) <= 2 and all(a.disposition == "answered_complete" for a in ended)
    assert held and all("bytes free" in (a.last_error or "") for a in held)
    assert len(read_call_log(tmp_path / "calls.log")) == len(ended)      # no call without room to record
    status = gather(app, MORNING, min_free_bytes=CLIP_BYTES)
    assert not status["recordings_disk"]["ok"] and not status["healthy"]
    assert status["counts"]["attempts_held"] == len(held)
    body = render_metrics(app).decode()
    assert f"callback_calls_held {float(len(held))}" in body
    assert "callback_recordings_disk_full_total" in body
    grow(tiny_fs)
    runner.run_round()
    runner.shutdown()
    _assert_all_scored_once(app, tmp_path, 5)
    app.close()


def test_running_out_of_space_mid_call_fails_the_call_on_its_row_and_the_retry_succeeds(
        tmp_path: Path, sqlite_app: App, tiny_fs: Path, models_dir: Path) -> None:
    app, runner, clock = _setup(tmp_path, sqlite_app, tiny_fs, 3, 0, models_dir)
    runner.run_round()
    failed = [a for a in _attempts(app) if a.disposition == "failed"]
    assert failed and all("No space left on device" in (a.last_error or "") for a in failed)
    grow(tiny_fs)
    clock.now += timedelta(minutes=11)             # the rules retry a failed call after 10 minutes
    runner.run_round()
    runner.shutdown()
    _assert_all_scored_once(app, tmp_path, 3)
    app.close()
