"""The review queue of flagged calls, and the call lists behind the dashboard's satisfaction figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, render_template, request

from callback_service.reporting.lists import FLAGS, LABEL_SETS, call_list, flags_of, review_queue
from callback_service.security.auth import station_scope
from callback_service.web.access import db, principal, require
from callback_service.web.views.dashboard import current_filters, visible_stations

bp = Blueprint("review", __name__)
DEFAULT_DAYS = 30
WINDOWS = ("7", "30", "90", "365", "all")   # calls made in the last N days


def page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() else 1


@bp.route("/review")
@require("view")
def queue() -> str:
    flag = request.args.get("flag") if request.args.get("flag") in FLAGS else None
    include_reviewed = request.args.get("reviewed") == "1"
    days = request.args.get("days", str(DEFAULT_DAYS))
    days = days if days in WINDOWS else str(DEFAULT_DAYS)
    since = None if days == "all" else datetime.now(UTC) - timedelta(days=int(days))
    page = review_queue(db(), station_scope(principal()), page_arg(), include_reviewed, flag, since)
    return render_template("review.html", page=page, flags_of=flags_of, flag=flag, flags=FLAGS,
                           include_reviewed=include_reviewed, days=days, windows=WINDOWS)


@bp.route("/calls")
@require("view")
def calls() -> str:
    f = current_filters()
    label = request.args.get("label") if request.args.get("label") in LABEL_SETS else None
    urgent = request.args.get("urgent") == "1"
    page = call_list(db(), f, station_scope(principal()), label, urgent, page_arg())
    return render_template("calls.html", page=page, f=f, label=label, urgent=urgent, labels=list(LABEL_SETS),
                           flags_of=flags_of, stations=visible_stations())
