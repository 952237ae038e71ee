"""Tickets: the list with SLA countdowns, and the detail page with the transitions the role allows."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from callback_service.db.models import Report, Station, Ticket, TicketEvent
from callback_service.reporting.filters import parse_filters
from callback_service.reporting.lists import ticket_list
from callback_service.security import audit
from callback_service.security.auth import station_scope
from callback_service.tickets import states
from callback_service.tickets.service import transition
from callback_service.tickets.states import TransitionError
from callback_service.web.access import client_ip, db, ensure_report_visible, me, principal, require, service
from callback_service.web.forms import TransitionForm
from callback_service.web.views.calls import ticket_policy
from callback_service.web.views.review import page_arg

bp = Blueprint("tickets", __name__)
STATUS_FILTERS = ("open", "active", *states.STATUSES)


@bp.route("/tickets")
@require("view")
def index() -> str:
    settings = service().settings
    now = datetime.now(UTC)
    cohort = None
    if request.args.get("start") or request.args.get("end"):
        cohort = parse_filters(request.args, settings.tz, datetime.now(settings.tz).date())
    status = request.args.get("status") if request.args.get("status") in STATUS_FILTERS else None
    scope = station_scope(principal())
    if scope is None and request.args.get("station", "").isdigit() and cohort is None:
        scope = int(request.args["station"])
    page = ticket_list(db(), scope, now,
                       status=status, overdue=request.args.get("overdue") == "1", f=cohort,
                       problems_only=request.args.get("problems") == "1", page=page_arg())
    return render_template("tickets.html", page=page, status=status, statuses=STATUS_FILTERS, now=now,
                           cohort=cohort, overdue=request.args.get("overdue") == "1")


def _load(ticket_id: int) -> tuple[Ticket, Report]:
    ticket = db().get(Ticket, ticket_id)
    if ticket is None:
        abort(404)
    report = db().get(Report, ticket.report_id)
    assert report is not None
    ensure_report_visible(ticket.station_id, report.tags)
    return ticket, report


def _same_station(ticket: Ticket) -> bool:
    return me().station_id is not None and me().station_id == ticket.station_id


@bp.route("/tickets/<int:ticket_id>")
@require("view")
def show(ticket_id: int) -> str:
    ticket, report = _load(ticket_id)
    events = list(db().scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                               .order_by(TicketEvent.id)))
    allowed = states.allowed_transitions(ticket.status, me().role, _same_station(ticket))
    return render_template("ticket.html", ticket=ticket, report=report, events=events, allowed=allowed,
                           note_required=states.NOTE_REQUIRED, form=TransitionForm(),
                           station=db().get(Station, ticket.station_id), now=datetime.now(UTC))


@bp.route("/tickets/<int:ticket_id>/transition", methods=["POST"])
@require("view")
def move(ticket_id: int) -> Response:
    ticket, report = _load(ticket_id)
    form = TransitionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        transition(db(), ticket, form.to_status.data or "", me().username, me().role, form.note.data or "",
                   datetime.now(UTC), ticket_policy(), same_station=_same_station(ticket))
    except TransitionError as exc:
        db().rollback()
        audit.record(db(), me().username, "ticket.transition_refused", "ticket", ticket_id,
                     {"to": form.to_status.data, "error": str(exc)}, client_ip())
        db().commit()
        flash(_("无法执行该操作：%(e)s", e=str(exc)), "error")
        return redirect(url_for("tickets.show", ticket_id=ticket_id))
    db().commit()
    flash(_("工单状态已更新。"), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))
