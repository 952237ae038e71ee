"""The user's own account: password change (forced for new accounts) and TOTP enrolment."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user
from werkzeug.wrappers import Response

from callback_service.db.models import User
from callback_service.security.auth import (
    TOTP_ROLES,
    AccountError,
    change_password,
    enable_totp,
    new_totp_secret,
    totp_uri,
    verify_password,
)
from callback_service.web.access import WebUser, client_ip, db, me, service
from callback_service.web.forms import PasswordForm, TotpEnrolForm

bp = Blueprint("account", __name__, url_prefix="/account")


def _row() -> User:
    user = db().get(User, me().id)
    if user is None:
        abort(404)
    return user


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Response | str:
    form = PasswordForm()
    if form.validate_on_submit():
        user = _row()
        if not verify_password(user.password_hash, form.current.data or ""):
            flash(_("当前密码不正确。"), "error")
            return render_template("account/password.html", form=form)
        try:
            change_password(db(), user, form.new.data or "", me().username, client_ip())
        except AccountError as exc:
            flash(str(exc), "error")
            return render_template("account/password.html", form=form)
        db().commit()
        login_user(WebUser.from_row(user))   # the session id follows the new password tag
        flash(_("密码已修改。"), "success")
        return redirect(url_for("dashboard.index"))
    return render_template("account/password.html", form=form, forced=me().must_change_password)


@bp.route("/totp", methods=["GET", "POST"])
@login_required
def totp() -> Response | str:
    if me().role not in TOTP_ROLES:
        abort(403)
    form = TotpEnrolForm()
    if form.validate_on_submit():
        try:
            enable_totp(db(), _row(), form.secret.data or "", form.code.data or "", datetime.now(UTC),
                        me().username, client_ip())
        except AccountError as exc:
            flash(str(exc), "error")
        else:
            db().commit()
            session.pop("totp_secret", None)
            flash(_("动态口令已启用，下次登录时需要输入。"), "success")
            return redirect(url_for("dashboard.index"))
    secret = session.get("totp_secret") or new_totp_secret()
    session["totp_secret"] = secret
    form.secret.data = secret
    issuer = service().settings.bureau_name
    return render_template("account/totp.html", form=form, secret=secret,
                           uri=totp_uri(secret, me().username, issuer), enabled=me().totp_enabled)
