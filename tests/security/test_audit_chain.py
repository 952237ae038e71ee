"""Audit integrity: ``callback-service audit verify`` finds tampering, and the database refuses it.

Tampering is done the way an attacker with database access would: on SQLite by dropping the append-
only trigger, on PostgreSQL as the superuser with triggers switched off for the session. The service's
own PostgreSQL role (``callback-service audit grants``) cannot do either.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sec_tally import TALLY
from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from support.web_seed import Seeded

from callback_service.app import App
from callback_service.config import ConfigError, load_settings
from callback_service.db.models import AuditEntry
from callback_service.db.session import make_session_factory, transaction
from callback_service.intake.service import import_rows
from callback_service.pipeline.retention import apply_retention
from callback_service.security import audit
from callback_service.security.audit import verify_chain
from callback_service.security.cli import add_audit_parser, cmd_audit
from callback_service.security.db_roles import RoleNameError, runtime_grants


def _run(app: App, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_audit_parser(parser.add_subparsers(dest="command", required=True))
    code = cmd_audit(app, parser.parse_args(["audit", *argv]))
    return code, capsys.readouterr().out


def _entries(app: App, n: int = 5) -> list[int]:
    with transaction(app.sessions) as s:
        return [audit.record(s, "sup1", "pii.reveal", "report", i, {"field": "phone", "n": i}, "10.0.0.1").id
                for i in range(n)]


def _is_pg(app: App) -> bool:
    return app.engine.dialect.name == "postgresql"


def _tamper(app: App, sql: str, **params: object) -> None:
    """Run ``sql`` against audit_log with the append-only protection out of the way."""
    with app.engine.begin() as c:
        if _is_pg(app):
            c.execute(text("SET LOCAL session_replication_role = replica"))   # superuser only
        else:
            c.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            c.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        c.execute(text(sql), params)


def test_verify_passes_an_intact_chain_and_prints_its_head(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _entries(app)
    code, out = _run(app, capsys, "verify", "--json")
    result = json.loads(out)
    assert code == 0 and result["ok"] is True and result["entries"] == len(ids) and result["first_bad_id"] is None
    assert result["head"]["id"] == ids[-1]
    code, out = _run(app, capsys, "verify")
    assert code == 0 and out.startswith(f"audit chain intact: {len(ids)} entries verified; head {ids[-1]}:")


@pytest.mark.parametrize("change", ["detail", "actor", "at", "action"])
def test_an_edited_row_is_detected_and_named(app: App, capsys: pytest.CaptureFixture[str], change: str) -> None:
    ids = _entries(app)
    target = ids[2]
    sql = {"detail": "UPDATE audit_log SET detail = :v WHERE id = :id",
           "actor": "UPDATE audit_log SET actor = 'nobody' WHERE id = :id",
           "at": "UPDATE audit_log SET at = :t WHERE id = :id",
           "action": "UPDATE audit_log SET action = 'login' WHERE id = :id"}[change]
    _tamper(app, sql, v=json.dumps({"field": "name"}), t=datetime(2020, 1, 1, tzinfo=UTC), id=target)
    code, out = _run(app, capsys, "verify", "--json")
    result = json.loads(out)
    assert code == 1 and result["ok"] is False and result["first_bad_id"] == target
    assert result["entries"] == 2 and "edited" in result["problem"]
    code, out = _run(app, capsys, "verify")
    assert code == 1 and f"BROKEN at entry {target}" in out
    TALLY.add("audit tampering: edit one field of a row", "detected, first bad entry named")


def test_a_deleted_or_inserted_row_breaks_the_link(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _entries(app)
    _tamper(app, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
    code, out = _run(app, capsys, "verify", "--json")
    assert code == 1 and json.loads(out)["first_bad_id"] == ids[2] and "link" in json.loads(out)["problem"]
    TALLY.add("audit tampering: delete a row in the middle", "detected, first bad entry named")
    _tamper(app, "INSERT INTO audit_log (id, at, actor, action, object_type, object_id, detail, ip, prev_hash, hash) "
                 "VALUES (:id, :at, 'x', 'login', 'user', '1', :d, '', :p, :h)",
            id=ids[1], at=datetime.now(UTC), d="{}", p="0" * 64, h="f" * 64)
    code, out = _run(app, capsys, "verify", "--json")
    assert code == 1 and json.loads(out)["first_bad_id"] == ids[1]
    TALLY.add("audit tampering: insert a forged row", "detected, first bad entry named")


def test_a_log_cut_short_is_detected_with_an_anchor(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _entries(app)
    head = json.loads(_run(app, capsys, "verify", "--json")[1])["head"]
    anchor = f"{head['id']}:{head['hash']}"
    assert _run(app, capsys, "verify", "--anchor", anchor)[0] == 0
    _tamper(app, "DELETE FROM audit_log WHERE id >= :id", id=ids[3])
    assert _run(app, capsys, "verify")[0] == 0          # the chain alone cannot see a cut tail
    code, out = _run(app, capsys, "verify", "--anchor", anchor, "--json")
    assert code == 1 and json.loads(out)["first_bad_id"] == head["id"] and "missing" in json.loads(out)["problem"]
    assert _run(app, capsys, "verify", "--anchor", "12:abc")[0] == 2
    TALLY.add("audit tampering: cut the newest rows off the log", "detected with an anchor")


def test_the_triggers_refuse_update_delete_and_truncate_even_for_the_owner(app: App) -> None:
    _entries(app, 2)
    statements = ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"]
    statements += ["TRUNCATE audit_log"] if _is_pg(app) else []
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as c:
            c.execute(text(sql))
        TALLY.add("audit: UPDATE/DELETE/TRUNCATE as the table owner", "refused by trigger")
    with app.sessions() as s:
        assert verify_chain(s).ok and s.scalar(select(func.count()).select_from(AuditEntry)) == 2


@pytest.fixture
def runtime_role(app: App) -> Iterator[tuple[str, str]]:
    """A fresh non-superuser login role with ``runtime_grants`` on this test's database."""
    role = f"cbt_app_{uuid.uuid4().hex[:8]}"
    with app.engine.begin() as c:
        c.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'app-pw' NOSUPERUSER NOCREATEDB NOCREATEROLE"))
        for statement in runtime_grants(role):
            c.execute(text(statement))
    url = app.engine.url.set(username=role, password="app-pw").render_as_string(hide_password=False)
    yield role, url
    with app.engine.begin() as c:
        c.execute(text(f'DROP OWNED BY "{role}"'))
        c.execute(text(f'DROP ROLE "{role}"'))


def _refused(c: Connection, sql: str) -> str:
    try:
        with c.begin_nested():
            c.execute(text(sql))
    except DBAPIError as exc:
        return str(exc.orig).splitlines()[0]
    return ""


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_the_runtime_role_runs_the_service_but_cannot_touch_audit_rows(app: App, runtime_role: tuple[str, str]
                                                                       ) -> None:
    role, url = runtime_role
    engine = create_engine(url)
    try:
        result = import_rows(make_session_factory(engine), [(1, {
            "report_no": "RR1", "received_at": "2026-11-24 09:00", "station": "城关派出所", "channel": "phone",
            "reporter_phone": "13800138000"})], app.intake_limits, actor=role)
        assert result.imported == 1   # the grants are enough for normal work, audit INSERT included
        with engine.connect() as c:
            errors = {sql: _refused(c, sql) for sql in (
                "UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_update ON audit_log", "SET session_replication_role = replica",
                "DROP TABLE audit_log")}
            c.rollback()
    finally:
        engine.dispose()
    assert all(errors.values()), errors
    assert all("permission denied" in e or "must be owner" in e for e in errors.values()), errors
    TALLY.add("audit: app role UPDATE/DELETE/TRUNCATE/disable or drop trigger/replica mode/DROP TABLE",
              "refused by PostgreSQL privileges", len(errors))
    with app.sessions() as s:
        assert verify_chain(s).ok and s.scalar(select(AuditEntry.actor).order_by(AuditEntry.id.desc())) == role


def test_grants_refuse_role_names_that_are_not_plain_identifiers() -> None:
    for bad in ('app"; DROP TABLE audit_log; --', "App", "", "a b", "x" * 64):
        with pytest.raises(RoleNameError):
            runtime_grants(bad)
        TALLY.add("audit grants: SQL in the role name", "refused: RoleNameError")
    assert 'GRANT SELECT, INSERT ON "audit_log" TO "callback_app"' in runtime_grants("callback_app")


def test_retention_never_deletes_audit_rows(web: tuple[App, Seeded]) -> None:
    app, _ = web
    with app.sessions() as s:
        before = dict(s.execute(select(AuditEntry.id, AuditEntry.hash)).tuples().all())
    report = apply_retention(app.sessions, app.settings.recordings_path, 30, datetime.now(UTC) + timedelta(days=3650))
    assert report.recordings > 0 and report.transcripts > 0
    with app.sessions() as s:
        after = dict(s.execute(select(AuditEntry.id, AuditEntry.hash)).tuples().all())
        assert verify_chain(s).ok
    assert {k: after.get(k) for k in before} == before
    assert len(after) == len(before) + report.recordings + report.transcripts


def test_audit_retention_below_six_months_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="6 months"):
        load_settings(env={}, audit_retention_days=90)
