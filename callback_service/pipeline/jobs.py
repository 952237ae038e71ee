"""The scheduler leader's periodic jobs on APScheduler (thin: each job calls one service function).

Every job first makes sure this process is still the leader; a follower's jobs do nothing. Jobs
coalesce and never overlap themselves, so a slow tick is not followed by a burst of missed ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from callback_service.config import Settings
from callback_service.pipeline import metrics
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.leader import Leader
from callback_service.pipeline.reconciler import reconcile
from callback_service.pipeline.retention import apply_retention
from callback_service.pipeline.scheduler import StepReport

log = logging.getLogger(__name__)
# APScheduler logs every run at INFO; overruns ("skipped: maximum number of running instances") stay visible.
logging.getLogger("apscheduler").setLevel(logging.WARNING)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


class LeaderJobs:
    def __init__(self, ctx: StageContext, leader: Leader, settings: Settings, *, tick: Callable[[], StepReport],
                 sweep: Callable[[], Any], reconcile_extra: Callable[[], Any], on_close: Callable[[], None]) -> None:
        self.ctx, self.leader, self.settings = ctx, leader, settings
        self._tick, self._sweep, self._reconcile_extra, self._on_close = tick, sweep, reconcile_extra, on_close
        self._leader_lock = threading.Lock()      # the leader's connection is not shared between threads
        self._stopping = threading.Event()
        self.scheduler = BackgroundScheduler(timezone=settings.tz, job_defaults=JOB_DEFAULTS)

    def start(self, tick_s: float, sweep_s: float, reconcile_s: float, leader_check_s: float,
              retention_hour: int) -> None:
        now = datetime.now(self.settings.tz)
        add = self.scheduler.add_job
        add(self.check_leader, "interval", seconds=leader_check_s, next_run_time=now, id="leader", name="leader")
        add(self._guarded("tick", self.tick), "interval", seconds=tick_s, next_run_time=now, id="tick", name="tick")
        add(self._guarded("sweep", self._sweep), "interval", seconds=sweep_s, id="sweep", name="sweep")
        add(self._guarded("reconcile", self.reconcile), "interval", seconds=reconcile_s, id="reconcile",
            name="reconcile")
        add(self._guarded("retention", self.retention), "cron", hour=retention_hour, minute=17, id="retention",
            name="retention")
        self.scheduler.start()

    def check_leader(self) -> bool:
        if self._stopping.is_set():
            return False
        with self._leader_lock:
            ok = self.leader.ensure()
        metrics.LEADER.set(1 if ok else 0)
        return ok

    def _guarded(self, name: str, job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            if not self.check_leader():
                return
            try:
                job()
            except Exception:  # a failing job is logged and tried again on its next run
                log.exception("scheduler job %s failed", name)
        return run

    def tick(self) -> StepReport:
        report = self._tick()
        metrics.sla_breaches(report.escalated)
        return report

    def reconcile(self) -> None:
        result = reconcile(self.ctx)
        self._reconcile_extra()
        if any(result.as_dict().values()):
            log.warning("reconciler: %s", result.as_dict())

    def retention(self) -> None:
        report = apply_retention(self.ctx.sessions, self.ctx.recordings_root, self.settings.retention_days,
                                 self.ctx.clock())
        metrics.retention_deleted("recording", report.recordings)
        metrics.retention_deleted("transcript", report.transcripts)

    def stop(self) -> None:
        """No new job starts; a running one (a tick mid-claim) finishes and enqueues what it claimed."""
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self._on_close()

    def release(self) -> None:
        with self._leader_lock:
            self.leader.release()
        metrics.LEADER.set(0)
