"""The Flask application factory: configuration from Settings, extensions, blueprints, guards."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from callback_service.app import App
from callback_service.web import access, templating
from callback_service.web.extensions import babel, csrf, login_manager

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
LOCALES = ("zh_CN", "en")
SEEN_RESOLUTION_S = 30
# Endpoints a user who must change the password may still reach.
OPEN_ENDPOINTS = frozenset({"static", "auth.login", "auth.logout", "auth.totp", "auth.language",
                            "account.password", "health.healthz", "health.metrics"})


def _configure(flask_app: Flask, app: App) -> None:
    s = app.settings
    flask_app.config.update(
        SECRET_KEY=s.secret_key,
        SESSION_COOKIE_NAME="cbs_session",
        SESSION_COOKIE_SECURE=s.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=s.session_idle_minutes),
        REMEMBER_COOKIE_SECURE=s.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=max(s.max_import_bytes, s.max_api_body_bytes),
        WTF_CSRF_TIME_LIMIT=None,          # the token lives as long as the (idle-limited) session
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE=s.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"),
        JSON_AS_ASCII=False,
    )


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LOCALES else "zh_CN"


def _idle_guard() -> Response | None:
    """End sessions idle for longer than session_idle_minutes; nudge users who must change passwords."""
    if not current_user.is_authenticated:
        return None
    now = int(time.time())
    limit = access.service().settings.session_idle_minutes * 60
    seen = session.get("seen", now)
    if now - int(seen) > limit:
        logout_user()
        session.clear()
        flash(_("长时间未操作，已自动退出，请重新登录。"), "warning")
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if now - int(seen) >= SEEN_RESOLUTION_S or "seen" not in session:
        # a coarse mark keeps the cookie unchanged (not re-signed and re-sent) on most requests
        session["seen"] = now
        session.permanent = True
    if access.me().must_change_password and request.endpoint not in OPEN_ENDPOINTS:
        return redirect(url_for("account.password"))
    return None


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'")
    if request.endpoint and request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error(exc: HTTPException) -> Any:
    if request.path.startswith("/api/"):
        return jsonify(error=exc.name, description=exc.description), exc.code
    return render_template("error.html", error=exc), exc.code


def _register(flask_app: Flask) -> None:
    from callback_service.web.views import (
        account,
        admin_config,
        admin_data,
        admin_users,
        api,
        audio,
        auth,
        calls,
        dashboard,
        export,
        health,
        reports,
        review,
        tickets,
    )
    for module in (auth, account, dashboard, review, calls, audio, tickets, reports, admin_users, admin_config,
                   admin_data,
                   api, health, export):
        flask_app.register_blueprint(module.bp)
    csrf.exempt(api.bp)


def create_app(app: App) -> Flask:
    flask_app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    flask_app.extensions["callback_service"] = app
    from callback_service.pipeline.metrics import metrics_source
    flask_app.extensions["metrics_sources"] = [metrics_source(app)]  # per app: tests build many apps
    _configure(flask_app, app)
    login_manager.init_app(flask_app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.user_loader(access.load_user)
    csrf.init_app(flask_app)
    babel.init_app(flask_app, locale_selector=select_locale)
    templating.install(flask_app)
    flask_app.before_request(_idle_guard)
    flask_app.after_request(_security_headers)
    flask_app.teardown_appcontext(access.close_db)
    flask_app.register_error_handler(HTTPException, _error)
    _register(flask_app)
    return flask_app
