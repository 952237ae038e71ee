"""Report search and the per-report timeline; personal data is masked unless explicitly revealed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from werkzeug.wrappers import Response

from callback_service.db.models import Phone, Report
from callback_service.reporting.lists import report_list
from callback_service.reporting.timeline import report_timeline
from callback_service.security import audit
from callback_service.security.auth import can_reveal_pii, station_scope
from callback_service.security.masking import mask_id_number
from callback_service.web.access import client_ip, db, ensure_report_visible, me, principal, require
from callback_service.web.forms import EmptyForm
from callback_service.web.views.dashboard import current_filters, visible_stations
from callback_service.web.views.review import page_arg

bp = Blueprint("reports", __name__)
PLAN_STATES = ("new", "planned", "closed")
REVEALABLE = ("name", "phone", "guardian_phone", "id_number")


def mask_name(name: str) -> str:
    return (name[:1] + "*" * max(len(name) - 1, 1)) if name else "—"


@bp.route("/reports")
@require("view")
def index() -> str:
    f = current_filters()
    number = request.args.get("q", "").strip()[:64]
    state = request.args.get("state") if request.args.get("state") in PLAN_STATES else None
    callback = request.args.get("callback") if request.args.get("callback") in ("finished", "reached") else None
    page = report_list(db(), f, station_scope(principal()), number, state, callback, page_arg())
    return render_template("reports.html", page=page, f=f, q=number, state=state, callback=callback,
                           plan_states=PLAN_STATES, stations=visible_stations())


def _load(report_id: int) -> Report:
    report = db().get(Report, report_id)
    if report is None:
        abort(404)
    ensure_report_visible(report.station_id, report.tags)
    return report


def _masked(report: Report) -> dict[str, str]:
    def phone(p: Phone | None) -> str:
        return p.raw_masked if p is not None else "—"
    return {"name": mask_name(report.reporter.name), "phone": phone(report.phone),
            "guardian_phone": phone(report.guardian_phone),
            "id_number": report.reporter.id_number_masked or mask_id_number(report.reporter.id_number) or "—"}


def _full(report: Report, field: str) -> str:
    if field == "name":
        return report.reporter.name or "—"
    if field == "id_number":
        return report.reporter.id_number or "—"
    p = report.phone if field == "phone" else report.guardian_phone
    return (p.e164 or p.raw_masked) if p is not None else "—"


def _render(report: Report, revealed: dict[str, str] | None = None) -> str:
    return render_template("report.html", report=report, t=report_timeline(db(), report), masked=_masked(report),
                           revealed=revealed or {}, reveal_form=EmptyForm(), fields=REVEALABLE,
                           can_reveal=can_reveal_pii(principal(), report.station_id, report.tags))


@bp.route("/reports/<int:report_id>")
@require("view")
def show(report_id: int) -> str:
    return _render(_load(report_id))


@bp.route("/reports/<int:report_id>/reveal/<field>", methods=["POST"])
@require("view")
def reveal(report_id: int, field: str) -> Response | str | tuple[Any, int]:
    report = _load(report_id)
    if field not in REVEALABLE or not can_reveal_pii(principal(), report.station_id, report.tags):
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    audit.record(db(), me().username, "pii.reveal", "report", report.id,
                 {"report_no": report.report_no, "field": field}, client_ip())
    db().commit()
    value = _full(report, field)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(field=field, value=value)
    return _render(report, {field: value})
