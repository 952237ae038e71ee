"""Prometheus metrics: process counters and histograms, plus gauges read from the database.

Queue depths are database states (the database is the source of truth; a broker's own counts miss
work whose message was lost). ``render_metrics(app)`` is what the web app's ``/metrics`` returns;
worker processes can expose the same registry with ``start_http_server``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from callback_service.pipeline.context import utcnow

if TYPE_CHECKING:
    from callback_service.app import App
    from callback_service.pipeline.context import StageContext

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

STAGE_SECONDS = Histogram("callback_stage_seconds", "Time to run one stage on one item", ["stage"],
                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600), registry=REGISTRY)
STAGE_RUNS = Counter("callback_stage_runs_total", "Stage runs by result", ["stage", "result"], registry=REGISTRY)
CALL_OUTCOMES = Counter("callback_call_outcomes_total", "Finished calls by disposition", ["disposition", "dialer"],
                        registry=REGISTRY)
ASR_RTF = Histogram("callback_asr_real_time_factor", "Transcription seconds per second of audio",
                    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 4), registry=REGISTRY)
ASR_AUDIO = Counter("callback_asr_audio_seconds_total", "Seconds of audio transcribed", registry=REGISTRY)
SCORES = Counter("callback_scored_calls_total", "Scored calls by label and method", ["label", "method"],
                 registry=REGISTRY)
SLA_BREACHES = Counter("callback_ticket_sla_breaches_total", "Tickets escalated for passing their SLA",
                       registry=REGISTRY)
ENQUEUE_FAILURES = Counter("callback_enqueue_failures_total", "Messages the broker did not take", ["stage"],
                           registry=REGISTRY)
DISK_FULL = Counter("callback_recordings_disk_full_total", "Calls held back or claims paused for lack of space",
                    registry=REGISTRY)
RETENTION_DELETED = Counter("callback_retention_deleted_total", "Items deleted by the retention job", ["kind"],
                            registry=REGISTRY)
LEADER = Gauge("callback_scheduler_leader", "1 while this process is the scheduler leader", registry=REGISTRY)


@contextmanager
def stage_timer(stage: str) -> Iterator[None]:
    started, result = time.perf_counter(), "error"
    try:
        yield
        result = "ok"
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)
        STAGE_RUNS.labels(stage, result).inc()


def on_event(name: str, data: dict[str, Any]) -> None:
    """The StageContext.emit hook."""
    if name == "call_outcome":
        CALL_OUTCOMES.labels(str(data.get("disposition")), str(data.get("dialer"))).inc()
    elif name == "transcribed" and data.get("duration"):
        ASR_RTF.observe(float(data["seconds"]) / float(data["duration"]))
        ASR_AUDIO.inc(float(data["duration"]))
    elif name == "scored":
        SCORES.labels(str(data.get("label")), str(data.get("method"))).inc()
    elif name == "disk_full":
        DISK_FULL.inc()


def attach(ctx: StageContext) -> None:
    """Route the context's events into these metrics (once), keeping any hook already there."""
    previous = ctx.on_event
    if getattr(previous, "_metrics", False):
        return

    def emit(name: str, data: dict[str, Any]) -> None:
        on_event(name, data)
        if previous is not None:
            previous(name, data)
    emit._metrics = True  # type: ignore[attr-defined]
    ctx.on_event = emit


def enqueue_failed(stage: str, count: int = 1) -> None:
    ENQUEUE_FAILURES.labels(stage).inc(count)


def sla_breaches(count: int) -> None:
    if count:
        SLA_BREACHES.inc(count)


def retention_deleted(kind: str, count: int) -> None:
    if count:
        RETENTION_DELETED.labels(kind).inc(count)


def metrics_source(app: App) -> Callable[[Session], Iterator[Metric]]:
    """Gauges read at scrape time: queue depths per stage (database states), held calls and the
    recordings filesystem. Fits ``web.views.health.add_metrics_source``."""
    def source(session: Session) -> Iterator[Metric]:
        from callback_service.pipeline.status import state_counts
        from callback_service.pipeline.storage import DiskGuard
        counts = state_counts(session, utcnow())
        depth = GaugeMetricFamily("callback_queue_depth", "Items waiting per stage (from database states)",
                                  labels=["stage"])
        for stage, value in (("dial", counts["attempts"].get("created", 0)),
                             ("transcribe", counts["recordings"].get("pending", 0)),
                             ("score", counts["scoring"].get("pending", 0)),
                             ("tickets", counts["scores_ticket_pending"])):
            depth.add_metric([stage], value)
        yield depth
        held = GaugeMetricFamily("callback_calls_held", "Claimed calls held back (recordings disk low)")
        held.add_metric([], counts["attempts_held"])
        yield held
        free = DiskGuard(app.settings.recordings_path).check().free_bytes
        disk = GaugeMetricFamily("callback_recordings_free_bytes", "Free bytes on the recordings filesystem")
        disk.add_metric([], float(free if free is not None else -1))
        yield disk
    return source


class _ScrapeCollector(Collector):
    def __init__(self, app: App) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("callback_database_up", "1 when the database answered the scrape")
        try:
            with self.app.sessions() as session:
                families = list(metrics_source(self.app)(session))
        except DBAPIError as exc:
            log.warning("metrics: database unreachable: %s", exc.__class__.__name__)
            families = []
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families


def render_metrics(app: App) -> bytes:
    """This process's counters and histograms plus the scrape-time gauges; serve with ``CONTENT_TYPE``."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_ScrapeCollector(app))
    return generate_latest(REGISTRY) + generate_latest(scrape)


def process_metrics() -> bytes:
    """Only this process's counters and histograms (for a /metrics that has its own database gauges)."""
    return generate_latest(REGISTRY)


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Expose this process's counters (a worker has no web app of its own)."""
    from prometheus_client import start_http_server
    start_http_server(port, addr=host, registry=REGISTRY)
