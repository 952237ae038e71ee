"""``/healthz`` (database ping) and ``/metrics`` (Prometheus text format, computed from the database).

The database is the source of truth, so every scrape reads queue depths and outcomes from it; other
parts can add their own families with ``add_metrics_source``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callback_service.db.models import CallAttempt, CallbackTask, Recording, Report, Score, Ticket
from callback_service.pipeline.metrics import process_metrics  # noqa: E402
from callback_service.tickets import states
from callback_service.web.access import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
MetricsSource = Callable[[Session], Iterable[Metric]]
_SOURCES: list[MetricsSource] = []


def add_metrics_source(source: MetricsSource) -> None:
    """Register a function that yields extra metric families at each scrape."""
    if source not in _SOURCES:
        _SOURCES.append(source)


def _by(session: Session, name: str, doc: str, column: Any, label: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, count in session.execute(select(column, func.count()).group_by(column)).all():
        family.add_metric([str(value if value is not None else "none")], int(count))
    return family


def core_metrics(session: Session) -> Iterable[Metric]:
    yield _by(session, "callback_reports", "Reports by planning state", Report.plan_state, "state")
    yield _by(session, "callback_tasks", "Callback tasks by status", CallbackTask.status, "status")
    yield _by(session, "callback_attempts", "Call attempts by state", CallAttempt.state, "state")
    yield _by(session, "callback_attempt_outcomes", "Call attempts by disposition", CallAttempt.disposition,
              "disposition")
    yield _by(session, "callback_scoring_queue", "Call attempts by scoring state", CallAttempt.score_state, "state")
    yield _by(session, "callback_recordings", "Recordings by transcription state", Recording.state, "state")
    yield _by(session, "callback_scores", "Scored calls by label", Score.label, "label")
    yield _by(session, "callback_tickets", "Tickets by status", Ticket.status, "status")
    breaches = GaugeMetricFamily("callback_tickets_sla_breached", "Active tickets past their SLA due time",
                                 labels=["severity"])
    now = datetime.now(UTC)
    rows = session.execute(select(Ticket.severity, func.count()).where(
        Ticket.status.in_(states.ACTIVE_STATUSES), Ticket.sla_due_at < now).group_by(Ticket.severity)).all()
    for severity, count in rows:
        breaches.add_metric([severity], int(count))
    yield breaches


class _DbCollector:
    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterable[Metric]:
        app_sources = current_app.extensions.get("metrics_sources", [])
        for source in (core_metrics, *_SOURCES, *app_sources):
            yield from source(self.session)


@bp.route("/healthz")
def healthz() -> Any:
    try:
        db().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check failed: %s", exc.__class__.__name__)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DbCollector(db()))  # type: ignore[arg-type]
    try:
        body = generate_latest(registry) + process_metrics()
    except SQLAlchemyError as exc:
        log.warning("metrics scrape failed: %s", exc.__class__.__name__)
        return Response("database unreachable\n", status=503, mimetype="text/plain")
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
