"""The distributed runner: the same stage functions, driven by a task queue (see broker.py).

Workers consume per-stage queues (``dial`` sized to the trunk's channels, ``transcribe`` on CPU or
GPU hosts, ``score``, ``tickets``); after a stage commits, the worker enqueues the ids that became
ready for the next stage. The scheduler leader enqueues the attempts it claims and sweeps the
database for ready work whose message may have been lost (a failed publish, a dead-lettered
message), so delivery is at-least-once end to end and the idempotent stages make it exactly-once
in effect.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from sqlalchemy import delete, select, update

from callback_service.db.models import CallAttempt, CallbackTask
from callback_service.db.session import updated_rows
from callback_service.pipeline import metrics
from callback_service.pipeline.broker import STAGES, QueueBus, QueueError, QueueNames, StageConsumer
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.followups import all_ready, ready_after, run_stage
from callback_service.pipeline.scheduler import StepReport, schedule_step
from callback_service.pipeline.storage import DiskGuard, RecordingSpaceError, hold_attempt

log = logging.getLogger(__name__)
Publish = Callable[[str, list[int]], None]


def stage_handler(ctx: StageContext, stage: str, publish: Publish, guard: DiskGuard | None) -> Callable[[int], None]:
    """The actor body: run one stage on one id, time it, then hand on what became ready."""
    def handle(item_id: int) -> None:
        if stage == "dial" and guard is not None:
            space = guard.check()
            if not space.ok:
                hold_attempt(ctx, item_id, space)
                raise RecordingSpaceError(space.describe())  # retried with back-off by the queue
        with metrics.stage_timer(stage):
            done = run_stage(ctx, stage, item_id)
        for next_stage, ids in ready_after(ctx, stage, done):
            publish(next_stage, ids)

    handle.__name__ = handle.__qualname__ = f"{stage}_stage"
    return handle


def safe_publisher(bus: QueueBus) -> Publish:
    """A hand-on that never fails the stage that already committed: the sweep repairs a lost one."""
    def publish(stage: str, ids: list[int]) -> None:
        try:
            bus.publish(stage, ids)
        except QueueError as exc:
            metrics.enqueue_failed(stage, len(ids))
            log.warning("hand-on to %s failed (the sweep will retry): %s", stage, exc)
    return publish


def default_threads(trunk_channels: int) -> dict[str, int]:
    # Transcription is CPU-bound and the model uses several cores itself: one thread per process.
    return {"dial": max(1, trunk_channels), "transcribe": 1, "score": 2, "tickets": 2}


class DistributedWorkers:
    """Consumers for the chosen stages in this process, each with its own thread count."""

    def __init__(self, ctx: StageContext, url: str, stages: Iterable[str], threads: dict[str, int],
                 prefix: str = "", guard: DiskGuard | None = None) -> None:
        metrics.attach(ctx)
        self.bus = QueueBus(url, prefix)
        names = QueueNames(prefix)
        publish = safe_publisher(self.bus)
        self.consumers = [StageConsumer(url, names, s, stage_handler(ctx, s, publish, guard), threads[s])
                          for s in STAGES if s in set(stages)]

    def start(self) -> None:
        for consumer in self.consumers:
            consumer.start()

    def stop(self, grace_s: float) -> None:
        # Dial first: calls in flight get the whole grace period; other stages are short and idempotent.
        deadline = time.monotonic() + grace_s
        for consumer in self.consumers:
            consumer.stop(max(1.0, deadline - time.monotonic()))
        self.bus.close()


class Dispatcher:
    """The leader's side: claimed attempts go to the dial queue; the sweep re-enqueues lost work."""

    def __init__(self, ctx: StageContext, bus: QueueBus, guard: DiskGuard | None = None,
                 redeliver_after: timedelta = timedelta(minutes=10)) -> None:
        self.ctx, self.bus, self.guard = ctx, bus, guard
        self.redeliver_after = redeliver_after.total_seconds()
        self._sent: dict[tuple[str, int], float] = {}
        self.publish_failures = 0

    def claiming_allowed(self) -> bool:
        if self.guard is None:
            return True
        space = self.guard.check()
        if not space.ok:
            log.error("not claiming calls: %s", space.describe())
            self.ctx.emit("disk_full", root=str(space.root))
        return space.ok

    def tick(self) -> StepReport:
        report = schedule_step(self.ctx, claim_limit=None if self.claiming_allowed() else 0)
        self._publish("dial", report.claimed)
        return report

    def sweep(self) -> int:
        """Re-enqueue ready work not enqueued within ``redeliver_after``. Returns how many were sent.
        (Claims never dialled within a lease are handed back by the reconcile job.)"""
        now, sent = time.monotonic(), 0
        self._sent = {k: t for k, t in self._sent.items() if now - t < self.redeliver_after}
        for stage, ids in all_ready(self.ctx):
            fresh = [i for i in ids if (stage, i) not in self._sent]
            if stage == "dial" and fresh and not self.claiming_allowed():
                continue
            sent += self._publish(stage, fresh)
        return sent

    def _publish(self, stage: str, ids: list[int]) -> int:
        if not ids:
            return 0
        try:
            self.bus.publish(stage, ids)
        except QueueError as exc:
            self.publish_failures += 1
            metrics.enqueue_failed(stage, len(ids))
            log.warning("enqueue to %s failed (the next sweep retries): %s", stage, exc)
            return 0
        now = time.monotonic()
        self._sent.update({(stage, i): now for i in ids})
        return len(ids)


def release_stale_claims(ctx: StageContext, older_than: timedelta) -> int:
    """Attempts claimed but never dialled within a lease go back to their task, so a call is never
    placed hours after its claim (outside the calling window); the planner decides afresh."""
    now, released = ctx.clock(), 0
    with ctx.sessions() as session, session.begin():
        rows = session.execute(select(CallAttempt.id, CallAttempt.task_id).where(
            CallAttempt.state == "created", CallAttempt.started_at < now - older_than)
            .with_for_update(skip_locked=True)).all()
        for attempt_id, task_id in rows:
            if updated_rows(session, delete(CallAttempt).where(CallAttempt.id == attempt_id,
                                                               CallAttempt.state == "created")) != 1:
                continue
            session.execute(update(CallbackTask).where(CallbackTask.id == task_id, CallbackTask.status == "claimed")
                            .values(status="pending", claimed_by=None, lease_until=None,
                                    attempts=CallbackTask.attempts - 1))
            released += 1
            log.warning("attempt %s was never dialled within its lease: handed back to task %s", attempt_id, task_id)
    return released
