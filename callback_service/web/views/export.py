"""``/tickets/export.csv``: the ticket list as a spreadsheet for supervisors, audited.

No personal data (names, numbers) is exported; imported text that reaches the file (report number,
station, category, ticket summary) goes through ``security.csvsafe`` so no cell can run as a formula.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import select

from callback_service.db.models import Report, Station, Ticket
from callback_service.reporting.filters import cohort, parse_filters
from callback_service.security import audit
from callback_service.security.csvsafe import to_csv
from callback_service.tickets import states
from callback_service.web.access import client_ip, db, me, require, service
from callback_service.web.labels import display

bp = Blueprint("export", __name__)
MAX_ROWS = 50_000
HEADER = ("工单编号", "报案编号", "单位", "案件类别", "原因", "问题", "紧急程度", "状态", "开立时间", "办理时限",
          "摘要")


def _query() -> Any:
    stmt = (select(Ticket, Report.report_no, Report.category, Station.name)
            .join(Report, Report.id == Ticket.report_id).join(Station, Station.id == Ticket.station_id))
    status = request.args.get("status", "")
    if status == "open":
        stmt = stmt.where(Ticket.status != states.VERIFIED)
    elif status in states.STATUSES:
        stmt = stmt.where(Ticket.status == status)
    settings = service().settings
    if request.args.get("start") or request.args.get("end"):
        stmt = cohort(stmt, parse_filters(request.args, settings.tz, datetime.now(settings.tz).date()))
    elif request.args.get("station", "").isdigit():
        stmt = stmt.where(Ticket.station_id == int(request.args["station"]))
    return stmt.order_by(Ticket.id).limit(MAX_ROWS)


def _row(t: Ticket, report_no: str, category: str, station: str) -> list[object]:
    tz = service().settings.tz
    return [t.id, report_no, station, category, str(display("ticket_reason", t.reason)),
            ";".join(str(display("problem", p)) for p in t.problems or []),
            str(display("severity", t.severity)), str(display("ticket_status", t.status)),
            t.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            t.sla_due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), t.summary]


@bp.route("/tickets/export.csv")
@require("export")
def tickets_csv() -> Response:
    rows = [_row(*r) for r in db().execute(_query()).all()]
    audit.record(db(), me().username, "export.tickets", "ticket", "",
                 {"rows": len(rows), "filters": {k: v[:64] for k, v in request.args.items()}}, client_ip())
    db().commit()
    name = f"tickets-{datetime.now(UTC).astimezone(service().settings.tz):%Y%m%d-%H%M}.csv"
    response = Response(to_csv(HEADER, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
