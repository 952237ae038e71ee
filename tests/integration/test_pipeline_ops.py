"""Leader election, status, metrics, retention and queue errors, on real SQLite and PostgreSQL."""

from __future__ import annotations

import json
from argparse import Namespace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from support.pipeline_env import PG_ADMIN_URL
from support.round_harness import MORNING, import_reports, phone

from callback_service.app import App
from callback_service.db.models import AuditEntry, CallAttempt, Recording, Report, Score, Ticket, Transcript
from callback_service.pipeline.broker import QueueBus, QueueError, make_broker
from callback_service.pipeline.inprocess import InProcessRunner
from callback_service.pipeline.leader import LeaseLeader, PgAdvisoryLeader, current_leader, make_leader
from callback_service.pipeline.metrics import render_metrics
from callback_service.pipeline.retention import apply_retention
from callback_service.pipeline.scheduler import schedule_step
from callback_service.pipeline.status import cmd_status, gather
from callback_service.security.audit import verify_chain
from callback_service.telephony.simulated import Citizen, SimulatedDialer
from callback_service.tickets.rules import ScoreFacts, tickets_for_score
from callback_service.tickets.service import open_ticket


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _terminate(app: App, application_name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                  {"n": application_name})
    admin.dispose()


def test_one_leader_at_a_time_and_leadership_moves_when_the_leader_goes(app: App) -> None:
    clock = Clock(datetime(2026, 1, 5, tzinfo=UTC))
    if app.engine.dialect.name == "postgresql":
        a, b = PgAdvisoryLeader(app.engine, "host:1:a"), PgAdvisoryLeader(app.engine, "host:2:b")
    else:
        a, b = (LeaseLeader(app.sessions, h, lease=timedelta(seconds=60), clock=clock)
                for h in ("host:1:a", "host:2:b"))
    assert a.ensure() and not b.ensure()
    assert a.ensure()                                   # renewal keeps it
    with app.sessions() as s:
        assert current_leader(s, clock.now).holder == "host:1:a"
    if isinstance(a, PgAdvisoryLeader):
        _terminate(app, "cbs-leader host:1:a")          # the leader's connection dies: so does its lock
    else:
        clock.now += timedelta(seconds=61)              # the leader stopped renewing
    assert b.ensure()
    assert not a.ensure()
    with app.sessions() as s:
        assert current_leader(s, clock.now).holder == "host:2:b"
    b.release()
    assert a.ensure()
    a.release()
    with app.sessions() as s:
        assert current_leader(s, clock.now).holder is None


def test_make_leader_uses_the_advisory_lock_on_postgresql_and_a_lease_on_sqlite(app: App) -> None:
    leader = make_leader(app.engine, app.sessions, "x")
    expected = PgAdvisoryLeader if app.engine.dialect.name == "postgresql" else LeaseLeader
    assert isinstance(leader, expected)
    leader.release()


def _run_unanswered_round(app: App, n: int) -> Clock:
    import_reports(app, n)
    clock = Clock(MORNING)
    dialer = SimulatedDialer({"+86" + phone(i): Citizen("busy" if i % 2 else "no_answer") for i in range(n)},
                             clock=clock)
    ctx = app.stage_context(dialer=dialer)
    ctx.clock = clock
    runner = InProcessRunner(ctx, dial_workers=2)
    runner.run_round()
    runner.shutdown()
    return clock


def test_status_counts_work_and_names_the_oldest_stuck_item(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    clock = _run_unanswered_round(app, 4)
    with app.sessions() as s, s.begin():
        attempt = s.scalars(select(CallAttempt).order_by(CallAttempt.id)).first()
        attempt.state, attempt.lease_until = "dialing", clock.now - timedelta(minutes=5)
    summary = gather(app, clock.now, min_free_bytes=0)
    assert summary["database"]["reachable"] and summary["database"]["revision"]["up_to_date"]
    assert summary["counts"]["attempts"] == {"ended": 3, "dialing": 1}
    assert summary["counts"]["tasks"] == {"pending": 4}
    assert summary["oldest_stuck"]["id"] == attempt.id and summary["oldest_stuck"]["stuck_seconds"] == 300
    assert not summary["healthy"]
    assert cmd_status(app, Namespace(json=True)) == 1     # real time: the row is stuck even longer
    printed = json.loads(capsys.readouterr().out)
    assert printed["oldest_stuck"]["type"] == "attempt"


def test_status_says_when_the_database_is_unreachable(tmp_path: Path, app: App) -> None:
    from dataclasses import replace

    from callback_service.app import build_app
    broken = build_app(replace(app.settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    try:
        assert cmd_status(broken, Namespace(json=False)) == 2
    finally:
        broken.close()


def test_metrics_expose_queue_depths_call_outcomes_and_tickets(app: App) -> None:
    _run_unanswered_round(app, 4)
    body = render_metrics(app).decode()
    assert 'callback_queue_depth{stage="dial"} 0.0' in body
    assert 'callback_call_outcomes_total{dialer="simulated",disposition="busy"}' in body
    assert 'callback_stage_seconds_count{stage="dial"}' in body
    assert "callback_calls_held 0.0" in body
    assert "callback_database_up 1.0" in body
    assert "callback_recordings_free_bytes" in body
    families = [line.split()[2] for line in body.splitlines() if line.startswith("# TYPE")]
    assert len(families) == len(set(families))


def test_metrics_fit_the_web_apps_metrics_route(app: App) -> None:
    """The web /metrics adds these families to its own: no name may be declared twice."""
    from prometheus_client import CollectorRegistry, generate_latest

    from callback_service.pipeline.metrics import metrics_source, process_metrics
    from callback_service.web.views.health import core_metrics
    _run_unanswered_round(app, 2)

    class Both:
        def collect(self):  # type: ignore[no-untyped-def]
            with app.sessions() as s:
                yield from core_metrics(s)
                yield from metrics_source(app)(s)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Both())  # type: ignore[arg-type]
    body = generate_latest(registry).decode() + process_metrics().decode()
    families = [line.split()[2] for line in body.splitlines() if line.startswith("# TYPE")]
    assert len(families) == len(set(families)), sorted(families)


def _old_recording(app: App, now: datetime) -> tuple[int, int, Path]:
    import_reports(app, 1)
    ctx = app.stage_context()
    attempt_id = schedule_step(ctx, MORNING).claimed[0]
    root = app.settings.recordings_path
    path = root / f"{attempt_id}" / "comment.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + b"\0" * 100)
    old = now - timedelta(days=app.settings.retention_days + 1)
    with app.sessions() as s, s.begin():
        rec = Recording(attempt_id=attempt_id, question_id="comment", kind="answer", path=f"{attempt_id}/comment.wav",
                        state="done", created_at=old)
        s.add(rec)
        s.flush()
        s.add(Transcript(recording_id=rec.id, text="民警态度很差", model="m", created_at=old))
        from callback_service.db.models import Answer
        s.add(Answer(attempt_id=attempt_id, question_id="comment", recording_id=rec.id))
        s.add(Score(attempt_id=attempt_id, label="unsatisfied", score=20, confidence=0.9, method="lexicon",
                    text="民警态度很差", ticket_state="done"))
        report = s.scalars(select(Report)).one()
        for spec in tickets_for_score(ScoreFacts("unsatisfied", ("attitude",), False)):
            open_ticket(s, report, spec, now, app.ticket_policy, source_attempt_id=attempt_id)
        return rec.id, attempt_id, path


def test_retention_deletes_old_recordings_and_transcripts_audits_each_and_keeps_tickets(app: App) -> None:
    now = datetime.now(UTC)
    rec_id, attempt_id, path = _old_recording(app, now)
    with app.sessions() as s:
        tickets_before = s.scalar(select(func.count()).select_from(Ticket))
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    report = apply_retention(app.sessions, app.settings.recordings_path, app.settings.retention_days, now)
    assert (report.recordings, report.transcripts, report.file_errors) == (1, 1, 0)
    assert not path.exists()
    with app.sessions() as s:
        rec = s.get(Recording, rec_id)
        assert rec.state == "deleted" and rec.deleted_at is not None
        tr = s.scalars(select(Transcript)).one()
        assert tr.text == "" and tr.deleted_at is not None
        score = s.scalars(select(Score)).one()
        assert score.text == "" and score.label == "unsatisfied"
        assert s.scalar(select(func.count()).select_from(Ticket)) == tickets_before >= 1
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "retention")))
        assert sorted(actions) == ["recording.delete", "transcript.delete"]
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before + 2
        assert verify_chain(s).ok
    again = apply_retention(app.sessions, app.settings.recordings_path, app.settings.retention_days, now)
    assert (again.recordings, again.transcripts) == (0, 0)


def test_retention_keeps_recent_recordings(app: App) -> None:
    now = datetime.now(UTC)
    rec_id, _, path = _old_recording(app, now)
    with app.sessions() as s, s.begin():
        s.get(Recording, rec_id).created_at = now - timedelta(days=3)
    report = apply_retention(app.sessions, app.settings.recordings_path, app.settings.retention_days, now)
    assert report.recordings == 0 and path.exists()


def test_an_unreachable_broker_is_a_transient_queue_error() -> None:
    bus = QueueBus("amqp://guest:guest@127.0.0.1:1/%2F")
    with pytest.raises(QueueError) as err:
        bus.publish("dial", [1])
    assert err.value.transient and "guest:***@" in str(err.value)
    bus.close()


def test_an_unsupported_broker_url_is_a_permanent_error() -> None:
    with pytest.raises(QueueError) as err:
        make_broker("kafka://127.0.0.1:9092")
    assert not err.value.transient
