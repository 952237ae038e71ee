"""POST /api/reports: bearer-token auth, idempotency by report_no, 422/413/415/429, no CSRF needed."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.web_seed import Seeded
from web_helpers import flask_app, logged_in

from callback_service.app import App
from callback_service.db.models import AuditEntry, ImportBatch, Report

GOOD = {"report_no": "API202611280001", "received_at": "2026-11-27 09:30:00", "station": "北关派出所",
        "channel": "walk_in", "reporter_name": "孙某", "reporter_phone": "13800138000", "category": "盗窃"}
CHINESE = {"报案编号": "API202611280002", "报案时间": "2026-11-27 10:00:00", "受理单位": "南街派出所",
           "报案方式": "上门", "报案人": "周某", "联系电话": "13900139000", "案件类别": "诈骗"}


def _post(client: FlaskClient, body: Any, token: str | None, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    return client.post("/api/reports", data=data, headers=headers, content_type="application/json")


def _reports(app: App) -> int:
    with app.sessions() as s:
        return s.scalar(select(func.count()).select_from(Report)) or 0


def test_valid_token_imports_and_a_repost_is_a_duplicate(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = flask_app(app).test_client()
    before = _reports(app)
    r = _post(client, [GOOD, CHINESE], sd.api_token)
    assert r.status_code == 200
    assert r.get_json() == {"imported": 2, "duplicates": 0, "rejected": [], "warnings": []}
    again = _post(client, {"reports": [GOOD]}, sd.api_token)
    assert again.status_code == 200 and again.get_json()["duplicates"] == 1 and again.get_json()["imported"] == 0
    assert _reports(app) == before + 2
    with app.sessions() as s:
        batch = s.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
        assert batch is not None and batch.source == "api" and batch.actor == "api1"


def test_partly_rejected_body_is_422_with_the_row_errors(web: tuple[App, Seeded]) -> None:
    app, sd = web
    bad = {**GOOD, "report_no": "API202611280003", "received_at": "yesterday-ish"}
    r = _post(flask_app(app).test_client(), [GOOD, bad], sd.api_token)
    assert r.status_code == 422
    body = r.get_json()
    assert body["imported"] == 1
    assert [(p["line"], p["report_no"], p["field"]) for p in body["rejected"]] == [(2, "API202611280003",
                                                                                   "received_at")]
    assert set(body["rejected"][0]) == {"line", "report_no", "field", "error"}


def test_missing_wrong_or_session_credentials_are_401(web: tuple[App, Seeded]) -> None:
    app, sd = web
    fa = flask_app(app)
    assert _post(fa.test_client(), GOOD, None).status_code == 401
    assert _post(fa.test_client(), GOOD, sd.api_token + "x").status_code == 401
    r = _post(fa.test_client(), GOOD, None, Authorization=f"Basic {sd.api_token}")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert _post(logged_in(fa, "admin1"), GOOD, None).status_code == 401   # a page session is not enough
    with app.sessions() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "api.auth_failed")) == 4


def test_a_disabled_api_user_is_refused(web: tuple[App, Seeded]) -> None:
    app, sd = web
    from callback_service.db.models import User
    from callback_service.db.session import transaction
    with transaction(app.sessions) as s:
        s.scalars(select(User).where(User.username == "api1")).one().active = False
    assert _post(flask_app(app).test_client(), GOOD, sd.api_token).status_code == 401


def test_body_over_the_limit_is_413(web: tuple[App, Seeded]) -> None:
    app, sd = web
    app.settings = replace(app.settings, max_api_body_bytes=2000)
    big = [{**GOOD, "report_no": f"API2026112800{i:02d}"} for i in range(30)]
    r = _post(flask_app(app).test_client(), big, sd.api_token)
    assert r.status_code == 413 and "error" in r.get_json()
    assert _reports(app) == len(sd.reports)


def test_wrong_content_type_and_broken_json_are_client_errors(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = flask_app(app).test_client()
    r = client.post("/api/reports", data="report_no=1", headers={"Authorization": f"Bearer {sd.api_token}"},
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    assert _post(client, b'{"reports": [', sd.api_token).status_code == 400


def test_rate_limit_answers_429_with_retry_after(web: tuple[App, Seeded]) -> None:
    app, sd = web
    fa = flask_app(app)
    fa.config.update(API_BURST=3, API_RATE_PER_S=0.01)
    client = fa.test_client()
    codes = [_post(client, GOOD, sd.api_token).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = _post(client, GOOD, sd.api_token)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
