"""The supervisors' dashboard: KPI cards, trend, per-station and per-category tables."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request, url_for
from sqlalchemy import select

from callback_service.db.models import Station
from callback_service.reporting.cache import SnapshotCache
from callback_service.reporting.filters import Filters, parse_filters
from callback_service.reporting.metrics import Dashboard, build_dashboard, station_names
from callback_service.security.auth import station_scope
from callback_service.web.access import db, principal, require, service

bp = Blueprint("dashboard", __name__)
DEFAULT_CACHE_SECONDS = 60.0


def current_filters() -> Filters:
    """The request's filters, forced to the user's own station for station accounts."""
    settings = service().settings
    today = datetime.now(settings.tz).date()
    return parse_filters(request.args, settings.tz, today).scoped(station_scope(principal()))


def visible_stations() -> list[Station]:
    scope = station_scope(principal())
    stmt = select(Station).order_by(Station.name)
    if scope is not None:
        stmt = stmt.where(Station.id == scope)
    return list(db().scalars(stmt))


def _chart_data(d: Dashboard, unit: str) -> dict[str, Any]:
    points = d.by_week() if unit == "week" else d.by_day
    return {
        "unit": unit,
        "labels": [p.isoformat() for p, _ in points],
        "reports": [c.reports for _, c in points],
        "reached": [c.reached for _, c in points],
        "satisfaction": [None if c.satisfaction_rate is None else round(c.satisfaction_rate * 100, 1)
                         for _, c in points],
        "problems": [c.problems for _, c in points],
    }


def _stations(names: dict[int, str], f: Filters) -> list[SimpleNamespace]:
    """The filter menu: every station, or only the user's own (already forced into the filter)."""
    ids = [f.station_id] if station_scope(principal()) is not None else sorted(names, key=names.__getitem__)
    return [SimpleNamespace(id=i, name=names.get(i, str(i))) for i in ids if i in names]


def _base_urls() -> dict[str, str]:
    return {"dashboard": url_for("dashboard.index"), "reports": url_for("reports.index"),
            "calls": url_for("review.calls"), "tickets": url_for("tickets.index")}


def snapshot_cache() -> SnapshotCache:
    ext = current_app.extensions
    if "dashboard_cache" not in ext:
        ttl = float(current_app.config.get("DASHBOARD_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
        ext["dashboard_cache"] = SnapshotCache(service().sessions, ttl_s=ttl)
    cache: SnapshotCache = ext["dashboard_cache"]
    return cache


@bp.route("/")
@require("view")
def index() -> str:
    f = current_filters()
    unit = "week" if request.args.get("unit") == "week" else "day"
    db().rollback()   # SQLite: do not hold this request's lock while the snapshot is computed
    snapshot = snapshot_cache().get(f)
    names = station_names(db())
    data = build_dashboard(snapshot, f, names)
    args = f.as_args()
    return render_template("dashboard.html", d=data, f=f, args=args, unit=unit, chart=_chart_data(data, unit),
                           stations=_stations(names, f), categories=data.categories, u=_base_urls(),
                           qs=urlencode({k: v for k, v in args.items() if k != "category"}),
                           station_qs={r.station_id: urlencode({**args, "station": r.station_id})
                                       for r in data.by_station})
