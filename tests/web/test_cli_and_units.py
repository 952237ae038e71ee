"""CLI hooks (users create/token), and the small parts: password policy, token bucket, snapshot cache,
security headers, the English catalog being complete and compiled."""

from __future__ import annotations

import argparse
import io
import json
import threading
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select
from support.web_seed import Seeded
from web_helpers import flask_app, logged_in

from callback_service.app import App
from callback_service.db.models import User
from callback_service.reporting.cache import SnapshotCache
from callback_service.reporting.filters import parse_filters
from callback_service.security.auth import password_problems
from callback_service.web import cli as web_cli
from callback_service.web.ratelimit import TokenBucket

WEB = Path(web_cli.__file__).resolve().parent


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    web_cli.add_users_parser(sub)
    web_cli.add_serve_parser(sub)
    return parser.parse_args(argv)


def test_cli_first_admin_must_change_password_and_api_token_works(sqlite_app: App, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("First#Admin2026\n"))
    assert web_cli.cmd_users(sqlite_app, _args(["users", "create", "--username", "root", "--role", "admin",
                                                "--password-stdin", "--json"])) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["must_change_password"] is True
    assert web_cli.cmd_users(sqlite_app, _args(["users", "create", "--username", "feed", "--role", "api"])) == 0
    capsys.readouterr()
    assert web_cli.cmd_users(sqlite_app, _args(["users", "token", "--username", "feed", "--json"])) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    with sqlite_app.sessions() as s:
        stored = s.scalars(select(User.api_token_hash).where(User.username == "feed")).one()
    assert stored and token not in stored
    client = flask_app(sqlite_app).test_client()
    r = client.post("/api/reports", json=[], headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    r = logged_in(flask_app(sqlite_app), "root", "First#Admin2026").get("/")
    assert r.headers["Location"] == "/account/password"


def test_cli_refuses_weak_passwords_and_station_users_without_a_station(
        sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))
    assert web_cli.cmd_users(sqlite_app, _args(["users", "create", "--username", "x", "--role", "legal",
                                                "--password-stdin"])) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("Good#Password1\n"))
    assert web_cli.cmd_users(sqlite_app, _args(["users", "create", "--username", "y", "--role", "station",
                                                "--password-stdin"])) == 2
    err = capsys.readouterr().err
    assert "至少三类" in err and "所属单位" in err


@pytest.mark.parametrize("password,ok", [("Abcdefgh1!", True), ("abcdefgh12", False), ("Ab1!", False),
                                         ("ABCDEFGH1x", True), ("xsup1Abc!!9", False)])
def test_password_policy(password: str, ok: bool) -> None:
    assert (password_problems(password, "sup1") == []) is ok


def test_token_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate_per_s=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("k") == pytest.approx(0.5)
    assert bucket.take("other") == 0.0
    now[0] = 0.5
    assert bucket.take("k") == 0.0 and bucket.take("k") > 0


def test_snapshot_cache_serves_stale_figures_while_one_refresh_runs(seeded: tuple[App, Seeded]) -> None:
    app, _ = seeded
    clock = [0.0]
    cache = SnapshotCache(app.sessions, ttl_s=60, clock=lambda: clock[0])
    calls: list[int] = []
    gate = threading.Event()
    real = cache._compute

    def counted(f):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 1:
            gate.wait(10)
        return real(f)
    cache._compute = counted  # type: ignore[method-assign]
    from datetime import date
    f = parse_filters({}, app.settings.tz, date.today())
    first = cache.get(f)
    assert cache.get(f) is first and len(calls) == 1          # fresh: served from memory
    clock[0] = 61
    assert cache.get(f) is first and cache.get(f) is first     # stale: old figures, one refresh started
    gate.set()
    for _ in range(100):
        if cache._entries[(f.start, f.end, f.tz.key)].snapshot is not first:
            break
        threading.Event().wait(0.05)
    assert len(calls) == 2 and cache.get(f) is not first


def test_pages_carry_security_headers(seeded: tuple[App, Seeded]) -> None:
    r = logged_in(flask_app(seeded[0]), "sup1").get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
    assert "cdn" not in r.get_data(as_text=True).lower()


def test_english_catalog_covers_every_string_and_is_compiled() -> None:
    ids = {msg[2] for msg in extract_from_dir(
        str(WEB), method_map=[("**.py", "python"), ("templates/**.html", "jinja2")], keywords={"_": None, "_l": None,
                                                                                           "gettext": None})}
    ids = {i if isinstance(i, str) else i[0] for i in ids}
    po_path = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    po = read_po(po_path.open("rb"), locale="en")
    untranslated = sorted(i for i in ids if not (po.get(i) and po.get(i).string))
    assert untranslated == []
    mo = read_mo(po_path.with_suffix(".mo").open("rb"))
    assert {m.id: m.string for m in mo if m.id} == {m.id: m.string for m in po if m.id}
