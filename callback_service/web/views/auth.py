"""Log-in (password, then TOTP where enrolled), log-out and the language switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from callback_service.db.models import User
from callback_service.security import audit
from callback_service.security.auth import LoginOutcome, LoginPolicy, authenticate, verify_totp_step
from callback_service.web.access import WebUser, client_ip, db, me, service
from callback_service.web.forms import EmptyForm, LoginForm, TotpForm

bp = Blueprint("auth", __name__)
TOTP_PENDING_SECONDS = 300


def safe_next(value: str | None) -> str | None:
    """Only same-site paths: never an absolute URL or a scheme-relative one."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    return value


def _policy() -> LoginPolicy:
    s = service().settings
    return LoginPolicy(max_failures=s.login_max_failures, lockout=timedelta(minutes=s.login_lockout_minutes))


def _finish(outcome: LoginOutcome, next_url: str | None) -> Response:
    user = db().get(User, outcome.user_id)
    assert user is not None
    lang = session.get("lang")
    session.clear()  # a fresh session on log-in: no fixation of a pre-login cookie
    if lang:
        session["lang"] = lang
    login_user(WebUser.from_row(user))
    session["seen"] = int(datetime.now(UTC).timestamp())
    session.permanent = True
    if outcome.must_change_password:
        return redirect(url_for("account.password"))
    return redirect(safe_next(next_url) or url_for("dashboard.index"))


def _failure_message(outcome: LoginOutcome) -> str:
    if outcome.locked:
        return _("登录失败次数过多，账户已临时锁定，请稍后再试或联系管理员。")
    return _("用户名或密码错误。")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if form.validate_on_submit():
        now = datetime.now(UTC)
        outcome = authenticate(db(), form.username.data or "", form.password.data or "", now, _policy(),
                               client_ip())
        db().commit()
        if outcome.ok:
            return _finish(outcome, form.next.data)
        if outcome.needs_totp:
            session["totp_user"], session["totp_at"] = outcome.user_id, int(now.timestamp())
            session["totp_next"] = safe_next(form.next.data) or ""
            return redirect(url_for("auth.totp"))
        flash(_failure_message(outcome), "error")
    return render_template("login.html", form=form)


@bp.route("/login/totp", methods=["GET", "POST"])
def totp() -> Response | str:
    user_id, started = session.get("totp_user"), int(session.get("totp_at", 0))
    now = datetime.now(UTC)
    if not user_id or now.timestamp() - started > TOTP_PENDING_SECONDS:
        session.pop("totp_user", None)
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if form.validate_on_submit():
        outcome = verify_totp_step(db(), int(user_id), form.code.data or "", now, _policy(), client_ip())
        db().commit()
        if outcome.ok:
            return _finish(outcome, session.get("totp_next"))
        if outcome.locked:
            session.pop("totp_user", None)
            flash(_failure_message(outcome), "error")
            return redirect(url_for("auth.login"))
        flash(_("动态口令不正确。"), "error")
    return render_template("totp.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    form = EmptyForm()
    if current_user.is_authenticated and form.validate_on_submit():
        audit.record(db(), me().username, "logout", "user", me().id, {}, client_ip())
        db().commit()
        logout_user()
        session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def language(code: str) -> Response:
    if code in ("zh_CN", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
