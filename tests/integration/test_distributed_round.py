"""A full callback round under faults: zero duplicate calls, zero lost callbacks.

Distributed: real RabbitMQ and PostgreSQL, the service's scheduler and worker roles as real
processes, the real transcriber and scorer. Faults: workers SIGKILLed mid-round, the broker
restarted, every database connection terminated, two schedulers at once with the leader killed.
Embedded: the InProcessRunner on SQLite meets the same assertions with two runners at once and one
of them shut down gracefully mid-round.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.pipeline_env import RoundEnv, rabbitmqctl, terminate_db_connections
from support.procs import Procs, wait_for
from support.round_harness import (
    MORNING,
    LoggedDialer,
    import_reports,
    load_citizens,
    read_call_log,
    unsettled,
    wait_settled,
)

from callback_service.app import App
from callback_service.contracts import ANSWERED_DISPOSITIONS, LABELS
from callback_service.db.models import CallAttempt, CallbackTask, Recording, Score, Transcript
from callback_service.pipeline.inprocess import InProcessRunner
from callback_service.pipeline.leader import current_leader
from callback_service.telephony.simulated import SimulatedDialer

pytest_plugins = ["support.pipeline_fixtures"]   # fixtures: pg_db, rabbit_vhost, models_dir
N_CALLS = 50
PIPELINE = "transcribe,score,tickets"
RECONCILED = "worker lost during the call"
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def calls(env: RoundEnv) -> int:
    return len(read_call_log(env.call_log))


def every_task_called(app: App, n: int = N_CALLS) -> bool:
    with app.sessions() as s:
        uncalled = s.scalar(select(func.count()).select_from(CallbackTask).where(CallbackTask.attempts == 0))
        planned = s.scalar(select(func.count()).select_from(CallbackTask))
    return planned == n and uncalled == 0


def transcripts(app: App) -> int:
    with app.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Transcript)) or 0)


def assert_no_duplicate_and_no_lost_calls(app: App, call_log: Path, now_after: object) -> tuple[int, set[str]]:
    """Returns how many answers were transcribed and the labels the scorer gave."""
    logged = read_call_log(call_log)
    dupes = [a for a, n in Counter(logged).items() if n > 1]
    assert not dupes, f"attempts dialled more than once: {dupes}"
    with app.sessions() as s:
        attempts = {a.id: a for a in s.scalars(select(CallAttempt))}
        # every call placed is on record and finished
        assert set(logged) <= set(attempts), f"calls without a row: {set(logged) - set(attempts)}"
        assert all(attempts[a].state == "ended" for a in logged)
        # a finished attempt that no dialer placed can only be one the reconciler closed
        for a in set(attempts) - set(logged):
            assert attempts[a].state == "ended" and RECONCILED in (attempts[a].last_error or ""), _history(s, a)
        per_phone = Counter(a.phone_id for a in attempts.values())
        tasks = list(s.scalars(select(CallbackTask)))
        assert sum(t.attempts for t in tasks) == len(attempts)
        assert sum(per_phone.values()) == len(attempts)
        transcribed, labels = _assert_every_answer_followed_through(s, attempts)
        _assert_every_task_has_a_future(tasks, now_after)
    return transcribed, labels


def _history(s, attempt_id: int) -> str:  # type: ignore[no-untyped-def]
    """For a failure message: the task of an attempt and all its attempts."""
    task = s.get(CallbackTask, s.get(CallAttempt, attempt_id).task_id)
    rows = s.scalars(select(CallAttempt).where(CallAttempt.task_id == task.id).order_by(CallAttempt.id))
    return (f"attempt {attempt_id}; task {task.id} {task.status} attempts={task.attempts} call_at={task.call_at}: "
            + "; ".join(f"#{a.id} no={a.attempt_no} {a.state} {a.disposition} {a.started_at} {a.last_error}"
                        for a in rows))


def _assert_every_answer_followed_through(s, attempts: dict[int, CallAttempt]):  # type: ignore[no-untyped-def]
    answered = [a for a in attempts.values() if a.disposition in ANSWERED_DISPOSITIONS]
    assert answered, "nobody answered: the round did not run"
    scores = {sc.attempt_id: sc for sc in s.scalars(select(Score))}
    for a in answered:
        assert a.score_state == "done" and a.id in scores, f"answered attempt {a.id} was never scored"
        assert scores[a.id].ticket_state == "done" and scores[a.id].label in LABELS
    transcribed = 0
    for rec in s.scalars(select(Recording).where(Recording.kind == "answer")):
        assert rec.state in ("done", "rejected"), (rec.id, rec.state, rec.last_error)
        if rec.state == "done":
            assert s.scalar(select(Transcript.id).where(Transcript.recording_id == rec.id)) is not None
            transcribed += 1
    return transcribed, {sc.label for sc in scores.values()}


def _assert_every_task_has_a_future(tasks: list[CallbackTask], now: object) -> None:
    for t in tasks:
        assert t.status in ("done", "pending", "unreachable", "manual", "expired"), (t.id, t.status)
        if t.status == "pending":
            assert t.call_at is not None and t.call_at > now, f"task {t.id} pending with nothing scheduled"


def test_distributed_round_survives_kills_broker_restart_db_drop_and_two_schedulers(
        tmp_path: Path, pg_db: str, rabbit_vhost: str, models_dir: Path) -> None:
    env = RoundEnv(tmp_path, pg_db, rabbit_vhost, citizens=N_CALLS, models_dir=models_dir,
                   extra={"CBT_CALL_SECONDS": "0.6", "CBT_DIAL_THREADS": "6"})
    app = env.app()
    import_reports(app, N_CALLS)
    procs = Procs(env.logs, env.env)
    try:
        for name, role, queues in (("sched-a", "scheduler", ""), ("sched-b", "scheduler", ""),
                                   ("dial-1", "worker", "dial"), ("pipe-1", "worker", PIPELINE)):
            procs.start(name, role, queues)
        wait_for(lambda: calls(env) >= 8, 90, "the first calls")
        procs.kill("dial-1")                                   # mid-call: 6 calls of 0.6 s in flight
        procs.start("dial-2", "worker", "dial")
        wait_for(lambda: transcripts(app) >= 2, 120, "the first transcripts")
        procs.kill("pipe-1")                                   # mid-transcription or mid-score
        procs.start("pipe-2", "worker", PIPELINE)
        rabbitmqctl("stop_app")
        time.sleep(2)
        rabbitmqctl("start_app")
        wait_for(lambda: calls(env) >= 25, 120, "calls after the broker restart")
        assert terminate_db_connections(pg_db) > 0
        with app.sessions() as s:
            holder = current_leader(s).holder
        leader_name = "sched-a" if holder and f":{procs.pid('sched-a')}:" in holder else "sched-b"
        procs.kill(leader_name)
        survivor = "sched-b" if leader_name == "sched-a" else "sched-a"
        left = wait_settled(app, 180, lambda: every_task_called(app))
        assert left == {}, f"round did not settle: {left}"
        assert "leadership taken" in procs.log(survivor)
        codes = procs.stop_all(timeout=40)
        bad = {n: c for n, c in codes.items() if n not in ("dial-1", "pipe-1", leader_name) and c != 0}
        assert not bad, f"not stopped cleanly by SIGTERM: {bad}"
    finally:
        procs.close()
    transcribed, labels = assert_no_duplicate_and_no_lost_calls(app, env.call_log, env.clock())
    assert transcribed >= 15 and {"satisfied", "unsatisfied"} <= labels     # the real model and scorer ran
    app.close()


def test_embedded_round_two_runners_and_a_graceful_stop(tmp_path: Path, sqlite_app: App, models_dir: Path) -> None:
    env = RoundEnv(tmp_path, sqlite_app.settings.database_url, citizens=N_CALLS, models_dir=models_dir)
    app = env.app()
    import_reports(app, N_CALLS)

    def runner() -> InProcessRunner:
        dialer = LoggedDialer(SimulatedDialer(load_citizens(env.citizens_path), clock=lambda: MORNING),
                              env.call_log, call_seconds=0.1)
        ctx = app.stage_context(dialer=dialer)
        ctx.clock = lambda: MORNING
        return InProcessRunner(ctx, dial_workers=4)

    first, second = runner(), runner()
    threads = [threading.Thread(target=r.run_round, name=f"round-{i}") for i, r in enumerate((first, second))]
    for t in threads:
        t.start()
    wait_for(lambda: calls(env) >= 10, 120, "the first calls")
    assert first.drain(grace_s=30)                 # calls in flight finish; queued ones are handed back
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    third = runner()                               # the restarted process picks up what was handed back
    third.run_round()
    for r in (second, third):
        r.shutdown()
    assert unsettled(app) == {}
    assert every_task_called(app)
    transcribed, labels = assert_no_duplicate_and_no_lost_calls(app, env.call_log, MORNING)
    assert transcribed >= 20 and {"satisfied", "unsatisfied"} <= labels
    app.close()


def test_sigkill_during_calls_is_reconciled_not_redialled(tmp_path: Path, pg_db: str,
                                                           rabbit_vhost: str) -> None:
    """Calls cut off by a killed worker are closed by the leader's reconciler after their lease."""
    env = RoundEnv(tmp_path, pg_db, rabbit_vhost, citizens=12, silent_every=1, lease_seconds=5,
                   extra={"CBT_CALL_SECONDS": "4", "CBT_DIAL_THREADS": "6"})
    app = env.app()
    import_reports(app, 12)
    procs = Procs(env.logs, env.env)
    try:
        procs.start("sched", "scheduler")
        procs.start("dial-1", "worker", "dial")
        procs.start("pipe", "worker", "score,tickets")
        wait_for(lambda: calls(env) >= 3, 90, "calls in flight")
        procs.kill("dial-1", signal.SIGKILL)
        killed = set(read_call_log(env.call_log))
        procs.start("dial-2", "worker", "dial")
        left = wait_settled(app, 120, lambda: every_task_called(app, 12))
        assert left == {}, left
    finally:
        procs.stop_all(timeout=30)
        procs.close()
    with app.sessions() as s:
        cut = [s.get(CallAttempt, a) for a in killed]
    assert any(a is not None and RECONCILED in (a.last_error or "") for a in cut)
    assert_no_duplicate_and_no_lost_calls(app, env.call_log, env.clock())
    app.close()
