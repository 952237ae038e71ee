"""Log-in: lockout, CSRF, cookie flags, idle timeout, forced password change, TOTP, audit entries."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select
from support.web_seed import PASSWORD, Seeded
from web_helpers import flask_app, logged_in, login, post

from callback_service.app import App
from callback_service.db.models import AuditEntry, User
from callback_service.db.session import transaction
from callback_service.security.auth import create_user


def _actions(app: App, actor: str) -> list[str]:
    """The audit actions of one actor, leaving out what the seed data did in their name."""
    with app.sessions() as s:
        rows = s.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor).order_by(AuditEntry.id))
        return [a for a in rows if not a.startswith("ticket.")]


def test_lockout_after_max_failures_refuses_even_the_right_password(web: tuple[App, Seeded]) -> None:
    app, _ = web
    client = flask_app(app).test_client()
    for _ in range(app.settings.login_max_failures):
        assert login(client, "sup1", "wrong-Password1").status_code == 200
    r = login(client, "sup1")
    assert r.status_code == 200 and "临时锁定" in r.get_data(as_text=True)
    failures = app.settings.login_max_failures - 1
    assert _actions(app, "sup1") == ["login.failed"] * failures + ["login.lockout", "login.failed"]
    with transaction(app.sessions) as s:   # the lockout period passes
        user = s.scalars(select(User).where(User.username == "sup1")).one()
        assert user.locked_until is not None
        user.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    assert login(client, "sup1").status_code == 302
    assert _actions(app, "sup1")[-1] == "login"


def test_unknown_user_gets_the_same_message_as_a_wrong_password(web: tuple[App, Seeded]) -> None:
    client = flask_app(web[0]).test_client()
    a = login(client, "nobody", "whatever-Pass1").get_data(as_text=True)
    b = login(client, "sup1", "whatever-Pass1").get_data(as_text=True)
    assert "用户名或密码错误" in a and "用户名或密码错误" in b


def test_forms_without_a_csrf_token_are_refused(web: tuple[App, Seeded]) -> None:
    app, sd = web
    fa = flask_app(app)
    anonymous = fa.test_client()
    assert anonymous.post("/login", data={"username": "sup1", "password": PASSWORD}).status_code == 400
    client = logged_in(fa, "sup1")
    url = f"/calls/{sd.attempts['unsat_bg']}/correct"
    assert client.post(url, data={"label": "satisfied"}).status_code == 400
    assert client.post(url, data={"label": "satisfied", "csrf_token": "forged"}).status_code == 400
    assert post(client, url, {"label": "satisfied"}).status_code == 302


def test_session_cookie_is_httponly_lax_and_secure_when_configured(web: tuple[App, Seeded]) -> None:
    app, _ = web
    client = flask_app(app).test_client()
    r = login(client, "sup1")
    cookie = [v for k, v in r.headers.items() if k == "Set-Cookie" and v.startswith("cbs_session=")][-1]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    app.settings = app.settings.__class__(**{**app.settings.__dict__, "cookie_secure": True})
    secure = flask_app(app).test_client()
    r = login(secure, "sup1")
    assert any("Secure" in v for k, v in r.headers.items() if k == "Set-Cookie")


def test_idle_session_is_logged_out(web: tuple[App, Seeded]) -> None:
    app, _ = web
    client = logged_in(flask_app(app), "sup1")
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - app.settings.session_idle_minutes * 60 - 5
    r = client.get("/tickets")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302


def test_first_admin_must_change_password_before_anything_else(web: tuple[App, Seeded]) -> None:
    app, _ = web
    with transaction(app.sessions) as s:
        create_user(s, "boss", "admin", "Initial#Pass1", "cli", must_change_password=True)
    fa = flask_app(app)
    client = fa.test_client()
    r = login(client, "boss", "Initial#Pass1")
    assert r.headers["Location"] == "/account/password"
    assert client.get("/tickets").headers["Location"] == "/account/password"
    weak = post(client, "/account/password", {"current": "Initial#Pass1", "new": "short", "confirm": "short"})
    assert "至少 10 位" in weak.get_data(as_text=True)
    r = post(client, "/account/password", {"current": "Initial#Pass1", "new": "Brand-new#Pass2",
                                           "confirm": "Brand-new#Pass2"})
    assert r.status_code == 302 and client.get("/tickets").status_code == 200
    assert "user.password" in _actions(app, "boss")
    assert login(fa.test_client(), "boss", "Initial#Pass1").status_code == 200   # old password is gone


def test_password_change_ends_other_sessions(web: tuple[App, Seeded]) -> None:
    app, _ = web
    fa = flask_app(app)
    first, second = logged_in(fa, "legal1"), logged_in(fa, "legal1")
    r = post(first, "/account/password", {"current": PASSWORD, "new": "Another#Pass9x", "confirm": "Another#Pass9x"})
    assert r.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


def test_totp_is_asked_after_the_password_for_enrolled_admins(web: tuple[App, Seeded]) -> None:
    app, _ = web
    secret = pyotp.random_base32()
    with transaction(app.sessions) as s:
        s.scalars(select(User).where(User.username == "admin1")).one().totp_secret = secret
    client = flask_app(app).test_client()
    r = login(client, "admin1")
    assert r.headers["Location"] == "/login/totp"
    assert client.get("/").status_code == 302        # not logged in yet
    bad = post(client, "/login/totp", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert bad.status_code == 200 and "动态口令不正确" in bad.get_data(as_text=True)
    r = post(client, "/login/totp", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and client.get("/").status_code == 200
    assert _actions(app, "admin1")[-3:] == ["login.password_ok", "login.failed", "login"]


def test_totp_enrolment_needs_a_valid_code(web: tuple[App, Seeded]) -> None:
    app, _ = web
    client = logged_in(flask_app(app), "legal1")
    page = client.get("/account/totp").get_data(as_text=True)
    secret = page.split('<code class="secret">')[1].split("<")[0]
    assert post(client, "/account/totp", {"secret": secret, "code": "12345x"}).status_code == 200
    r = post(client, "/account/totp", {"secret": secret, "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302
    with app.sessions() as s:
        assert s.scalars(select(User.totp_secret).where(User.username == "legal1")).one() == secret
    assert "user.totp_enable" in _actions(app, "legal1")


def test_logout_is_a_post_and_audited(web: tuple[App, Seeded]) -> None:
    app, _ = web
    client = logged_in(flask_app(app), "sup1")
    assert client.get("/logout").status_code == 405
    assert post(client, "/logout").status_code == 302
    assert client.get("/").status_code == 302
    assert _actions(app, "sup1")[-1] == "logout"


def test_next_parameter_never_leaves_the_site(web: tuple[App, Seeded]) -> None:
    client = flask_app(web[0]).test_client()
    html = client.get("/login?next=//evil.example/x").get_data(as_text=True)
    assert 'name="next" type="hidden" value=""' in html
    assert 'value="/tickets"' in client.get("/login?next=/tickets").get_data(as_text=True)
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"
