"""Every event class the issue names leaves an audit entry, by whichever door it came in.

log-ins and failed log-ins, user and role changes (web and CLI), imports (CLI, API, web upload, and
a strict import that was rolled back), pages showing unmasked personal data (reveals, the call page
with its transcripts), recording plays and downloads (also one that skips byte 0), label corrections,
ticket transitions (done and refused), CSV exports. Configuration has no editing UI: its pages are
read-only and refuse writes; it changes by deploy.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from support.web_seed import PASSWORD, Seeded
from web_helpers import flask_app, logged_in, login, post

from callback_service.app import App
from callback_service.cli import cmd_import
from callback_service.db.models import AuditEntry, User
from callback_service.security.audit import verify_chain

ROW = "报案编号,报案时间,受理单位,报案方式,联系电话\n{no},2026-11-20 09:00,北关派出所,上门,13700137000\n"


def _log(app: App) -> list[tuple[str, str, str]]:
    with app.sessions() as s:
        rows = s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)).all()
    return [(a, b, json.dumps(d, ensure_ascii=False)) for a, b, d in rows]


def _uid(app: App, username: str) -> int:
    with app.sessions() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


def _people(app: App, fa: object, sd: Seeded) -> None:
    anon = fa.test_client()  # type: ignore[attr-defined]
    login(anon, "sup1", "Wrong-password-1")
    login(anon, "nobody", "Wrong-password-1")
    admin = logged_in(fa, "admin1")  # type: ignore[arg-type]
    post(admin, "/admin/users", {"username": "duty3", "role": "station", "station": sd.stations["城东派出所"],
                                 "password": "Duty#Station33"})
    uid = _uid(app, "duty3")
    post(admin, f"/admin/users/{uid}/role", {f"u{uid}-role": "supervisor", f"u{uid}-station": ""})
    post(admin, f"/admin/users/{uid}/active/0")
    post(admin, f"/admin/users/{_uid(app, 'api1')}/token")
    post(admin, "/logout")


def _imports(app: App, sd: Seeded, sup: FlaskClient, tmp: Path) -> None:
    post(sup, "/admin/import", {"file": (io.BytesIO(ROW.format(no="WEB1").encode()), "web.csv")},
         content_type="multipart/form-data")
    (tmp / "cli.csv").write_text(ROW.format(no="CLI1"), encoding="utf-8")
    assert cmd_import(app, argparse.Namespace(file=str(tmp / "cli.csv"), strict=False, json=True)) == 0
    (tmp / "strict.csv").write_text(ROW.format(no="CLI2") + "CLI3,bad-time,北关派出所,上门,1\n", encoding="utf-8")
    assert cmd_import(app, argparse.Namespace(file=str(tmp / "strict.csv"), strict=True, json=True)) == 2
    api = flask_app(app).test_client()
    body = json.dumps({"report_no": "API1", "received_at": "2026-11-20 09:00", "station": "北关派出所",
                       "channel": "walk_in"})
    api.post("/api/reports", data=body, content_type="application/json",
             headers={"Authorization": f"Bearer {sd.api_token}"})
    api.post("/api/reports", data=body, content_type="application/json", headers={"Authorization": "Bearer x"})


def _oversight(app: App, sd: Seeded, legal: FlaskClient, sup: FlaskClient) -> None:
    report = sd.reports[sd.report_of["dv_bg"]]
    post(legal, f"/reports/{report}/reveal/phone")
    legal.get(f"/calls/{sd.attempts['dv_bg']}")
    legal.get(f"/audio/{sd.call_recordings['dv_bg']}")
    legal.get(f"/audio/{sd.answer_recordings['dv_bg']}?download=1")
    sup.get(f"/audio/{sd.answer_recordings['sat_1']}", headers={"Range": "bytes=1-"})   # skips byte 0
    post(legal, f"/calls/{sd.attempts['conflict']}/correct", {"label": "satisfied", "note": "n"})
    ticket = sd.tickets["unsat_bg"]
    post(sup, f"/tickets/{ticket}/transition", {"to_status": "assigned"})
    post(sup, f"/tickets/{ticket}/transition", {"to_status": "verified"})     # refused: wrong state
    sup.get("/tickets/export.csv?status=open")


def test_every_event_class_is_audited_with_its_actor(web: tuple[App, Seeded], tmp_path: Path) -> None:
    app, sd = web
    fa = flask_app(app)
    start = len(_log(app))
    sup, legal = logged_in(fa, "sup1"), logged_in(fa, "legal1")
    _imports(app, sd, sup, tmp_path)
    _people(app, fa, sd)    # rotates api1's token: after the API import
    post(sup, "/account/password", {"current": PASSWORD, "new": "Another#Pass2027", "confirm": "Another#Pass2027"})
    _oversight(app, sd, legal, logged_in(fa, "sup1", "Another#Pass2027"))
    log = _log(app)[start:]
    seen = {(actor, action) for actor, action, _ in log}
    expected = {
        ("sup1", "login.failed"), ("nobody", "login.failed"), ("admin1", "login"), ("admin1", "logout"),
        ("admin1", "user.create"), ("admin1", "user.role"), ("admin1", "user.disable"), ("admin1", "user.token"),
        ("sup1", "user.password"), ("sup1", "import"), ("cli", "import"), ("cli", "import.aborted"),
        ("api1", "import"), ("anonymous", "api.auth_failed"), ("legal1", "pii.reveal"), ("legal1", "call.view"),
        ("legal1", "recording.play"), ("legal1", "recording.download"), ("sup1", "recording.play"),
        ("legal1", "score.correct"), ("sup1", "ticket.transition"), ("sup1", "ticket.transition_refused"),
        ("sup1", "export.tickets"),
    }
    assert expected - seen == set()
    sources = {json.loads(d)["source"] for _, action, d in log if action == "import"}
    assert sources == {"web", "file", "api"}
    with app.sessions() as s:
        assert verify_chain(s).ok


@pytest.mark.parametrize("url", ["/admin/rules", "/admin/surveys", "/admin/surveys/first_callback"])
def test_configuration_is_read_only_in_the_ui(seeded: tuple[App, Seeded], url: str) -> None:
    admin = logged_in(flask_app(seeded[0]), "admin1")
    assert admin.get(url).status_code == 200
    for method in ("post", "put", "delete", "patch"):
        assert getattr(admin, method)(url).status_code == 405
