"""``callback-service run`` as a real process: graceful SIGTERM, restart, and the Redis broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from support.pipeline_env import REDIS_URL, RoundEnv
from support.procs import Procs, wait_for
from support.round_harness import import_reports, logged_dialer, read_call_log, unsettled, wait_settled

from callback_service.app import App
from callback_service.db.models import CallAttempt, CallbackTask
from callback_service.pipeline.service import Service, ServiceConfig

pytestmark = pytest.mark.slow


def _attempts(app: App) -> list[CallAttempt]:
    with app.sessions() as s:
        return list(s.scalars(select(CallAttempt).order_by(CallAttempt.id)))


def _all_called(app: App, n: int) -> bool:
    with app.sessions() as s:
        tasks = list(s.scalars(select(CallbackTask)))
    return len(tasks) == n and all(t.attempts > 0 for t in tasks)


def test_sigterm_finishes_calls_in_flight_hands_back_the_rest_and_a_restart_completes(
        tmp_path: Path, sqlite_app: App) -> None:
    env = RoundEnv(tmp_path, sqlite_app.settings.database_url, citizens=6, silent_every=1,
                   extra={"CBT_CALL_SECONDS": "4", "CBT_DIAL_THREADS": "2", "CBT_GRACE_S": "20"})
    app = env.app()
    import_reports(app, 6)
    procs = Procs(env.logs, env.env)
    try:
        procs.start("first", "all")
        wait_for(lambda: len(read_call_log(env.call_log)) >= 2, 90, "two calls in flight")
        assert procs.stop("first", timeout=40) == 0
        attempts = _attempts(app)
        dialled = read_call_log(env.call_log)
        assert len(dialled) == 2                                   # nothing new started after SIGTERM
        assert all(a.state == "ended" and a.disposition == "answered_complete" for a in attempts if a.id in dialled)
        assert {a.state for a in attempts if a.id not in dialled} <= {"created"}   # handed back, never dialled
        assert "stopping: no new claims" in procs.log("first")
        procs.start("second", "all")
        left = wait_settled(app, 120, lambda: _all_called(app, 6))
        assert left == {}, left
        assert procs.stop("second", timeout=40) == 0
    finally:
        procs.close()
    dialled = read_call_log(env.call_log)
    assert len(dialled) == len(set(dialled)) == 6
    assert all(a.score_state == "done" for a in _attempts(app))
    app.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"callback{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_round_runs_on_the_redis_broker(tmp_path: Path, sqlite_app: App, redis_prefix: str) -> None:
    env = RoundEnv(tmp_path, sqlite_app.settings.database_url, REDIS_URL, citizens=12, silent_every=1)
    app = env.app()
    import_reports(app, 12)
    dialer = logged_dialer(env.citizens_path, env.call_log, env.clock)
    ctx = app.stage_context(dialer=dialer)
    ctx.clock = env.clock
    service = Service(app, ServiceConfig(role="all", web=False, tick_s=1, dispatch_s=2, reconcile_s=5,
                                         leader_check_s=1, grace_s=10, min_free_bytes=0,
                                         queue_prefix=redis_prefix), ctx)
    service.start()
    try:
        left = wait_settled(app, 90, lambda: _all_called(app, 12))
    finally:
        service.stop()
    assert left == {}, left
    dialled = read_call_log(env.call_log)
    assert len(dialled) == len(set(dialled)) == 12
    assert unsettled(app) == {}
    app.close()
