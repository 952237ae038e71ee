"""User administration (admin only): create, disable, change role, unlock, issue API tokens. Audited."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from callback_service.db.models import Station, User
from callback_service.security.auth import (
    AccountError,
    change_role,
    create_user,
    issue_api_token,
    set_active,
)
from callback_service.web.access import client_ip, db, me, require
from callback_service.web.forms import EmptyForm, UserCreateForm, UserRoleForm

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


def _station_choices() -> list[SelectChoice]:
    rows = db().scalars(select(Station).order_by(Station.name))
    return [SelectChoice("", "—")] + [SelectChoice(str(s.id), s.name) for s in rows]


def _station_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _render(form: UserCreateForm | None = None, token: tuple[str, str] | None = None) -> str:
    form = form or UserCreateForm()
    form.station.choices = _station_choices()
    users = list(db().scalars(select(User).order_by(User.username)))
    role_forms = {}
    for u in users:
        rf = UserRoleForm(prefix=f"u{u.id}", role=u.role, station=str(u.station_id or ""))
        rf.station.choices = form.station.choices
        role_forms[u.id] = rf
    return render_template("admin/users.html", users=users, form=form, role_forms=role_forms,
                           button=EmptyForm(), token=token, now_utc=datetime.now(UTC))


def _user(user_id: int) -> User:
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("", methods=["GET"])
@require("manage_users")
def index() -> str:
    return _render()


@bp.route("", methods=["POST"])
@require("manage_users")
def create() -> Response | str:
    form = UserCreateForm()
    form.station.choices = _station_choices()
    if not form.validate_on_submit():
        flash(_("提交内容无效。"), "error")
        return _render(form)
    try:
        user = create_user(db(), form.username.data or "", form.role.data or "", form.password.data or None,
                           me().username, station_id=_station_id(form.station.data),
                           must_change_password=bool(form.must_change.data), ip=client_ip())
    except AccountError as exc:
        db().rollback()
        flash(str(exc), "error")
        return _render(form)
    db().commit()
    flash(_("已创建用户 %(u)s。", u=user.username), "success")
    return redirect(url_for("admin_users.index"))


@bp.route("/<int:user_id>/role", methods=["POST"])
@require("manage_users")
def role(user_id: int) -> Response | str:
    user = _user(user_id)
    form = UserRoleForm(prefix=f"u{user.id}")
    form.station.choices = _station_choices()
    if not form.validate_on_submit():
        abort(400)
    if user.id == me().id and form.role.data != "admin":
        flash(_("不能取消自己的管理员角色。"), "error")
        return redirect(url_for("admin_users.index"))
    try:
        change_role(db(), user, form.role.data or "", _station_id(form.station.data), me().username, client_ip())
    except AccountError as exc:
        db().rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin_users.index"))
    db().commit()
    flash(_("已修改 %(u)s 的角色。", u=user.username), "success")
    return redirect(url_for("admin_users.index"))


@bp.route("/<int:user_id>/active/<int:state>", methods=["POST"])
@require("manage_users")
def active(user_id: int, state: int) -> Response:
    user = _user(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if user.id == me().id:
        flash(_("不能停用自己的账户。"), "error")
        return redirect(url_for("admin_users.index"))
    set_active(db(), user, bool(state), me().username, client_ip())
    db().commit()
    return redirect(url_for("admin_users.index"))


@bp.route("/<int:user_id>/token", methods=["POST"])
@require("manage_users")
def token(user_id: int) -> Response | str:
    user = _user(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        value = issue_api_token(db(), user, me().username, client_ip())
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin_users.index"))
    db().commit()
    return _render(token=(user.username, value))
