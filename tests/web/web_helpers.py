"""Helpers for the web tests (a plain module: conftest files cannot be imported by name)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from callback_service.config import Settings, load_settings
from callback_service.web import create_app

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
from support.pgdb import PG_ADMIN_URL, pg_clone, pg_drop, pg_url  # noqa: E402, F401  (re-exported)
from support.web_seed import PASSWORD  # noqa: E402

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
FORM_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def settings_for(db_url: str, var_dir: Path, **overrides: Any) -> Settings:
    return load_settings(env={}, database_url=db_url, var_dir=var_dir, rules_path=REPO / "callback_rules.yaml",
                         surveys_dir=REPO / "survey_templates", prompts_dir=REPO / "scripts_voice" / "audio",
                         secret_key="test-secret", cookie_secure=False, **overrides)


def flask_app(app: Any) -> Flask:
    fa = create_app(app)
    fa.testing = True
    return fa


def csrf_token(client: FlaskClient, page: str = "/account/password") -> str:
    """A token from the page's meta tag (the log-in page when not logged in)."""
    r = client.get(page)
    html = (client.get("/login") if r.status_code == 302 else r).get_data(as_text=True)
    m = CSRF_RE.search(html) or FORM_CSRF_RE.search(html)
    assert m, f"no CSRF token on {page}"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    html = client.get("/login").get_data(as_text=True)
    token = FORM_CSRF_RE.search(html)
    assert token, "no CSRF token on the log-in page"
    return client.post("/login", data={"csrf_token": token.group(1), "username": username, "password": password})


def logged_in(fa: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    client = fa.test_client()
    r = login(client, username, password)
    assert r.status_code == 302, f"{username} could not log in"
    return client


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token(client)
    return client.post(url, data=payload, **kw)
