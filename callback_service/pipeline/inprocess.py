"""The embedded runner: bounded thread pools per stage, all in one process (SQLite default)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial

from callback_service.pipeline import metrics
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.followups import all_ready, ready_after, run_stage
from callback_service.pipeline.reconciler import reconcile
from callback_service.pipeline.scheduler import StepReport, schedule_step
from callback_service.pipeline.storage import DiskGuard, hold_attempt

log = logging.getLogger(__name__)
# stage -> (pool, RoundSummary counter)
_ROUTES = {"dial": ("dial", "dialled"), "transcribe": ("transcribe", "transcribed"),
           "score": ("score", "scored"), "tickets": ("score", "ticket_evaluations")}


@dataclass
class RoundSummary:
    dialled: int = 0
    transcribed: int = 0
    scored: int = 0
    ticket_evaluations: int = 0
    steps: int = 0
    errors: list[str] = field(default_factory=list)


class InProcessRunner:
    def __init__(self, ctx: StageContext, dial_workers: int = 4, transcribe_workers: int = 1,
                 score_workers: int = 1, guard: DiskGuard | None = None, chain: bool = False) -> None:
        self.ctx, self.guard, self.chain = ctx, guard, chain
        metrics.attach(ctx)
        self.pools = {
            "dial": ThreadPoolExecutor(dial_workers, thread_name_prefix="dial"),
            "transcribe": ThreadPoolExecutor(transcribe_workers, thread_name_prefix="transcribe"),
            "score": ThreadPoolExecutor(score_workers, thread_name_prefix="score"),
        }
        self._inflight: dict[tuple[str, int], Future[list[int]]] = {}
        self._lock = threading.Lock()
        self._closing = False

    def submit(self, stage: str, item: int) -> bool:
        pool = _ROUTES[stage][0]
        with self._lock:
            if self._closing or (stage, item) in self._inflight:
                return False
            future = self.pools[pool].submit(self._run, stage, item)
            self._inflight[(stage, item)] = future
        future.add_done_callback(partial(self._done, (stage, item)))
        return True

    def _run(self, stage: str, item: int) -> list[int]:
        if stage == "dial" and self.guard is not None:
            space = self.guard.check()     # per call: the disk may fill while calls queue
            if not space.ok:
                hold_attempt(self.ctx, item, space)
                return []
        with metrics.stage_timer(stage):
            return run_stage(self.ctx, stage, item)

    def _done(self, key: tuple[str, int], future: Future[list[int]]) -> None:
        with self._lock:
            self._inflight.pop(key, None)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.error("stage %s on %s failed: %s", key[0], key[1], exc, exc_info=exc)
        elif self.chain and not self._closing:
            self._hand_on(key[0], future.result())

    def _hand_on(self, stage: str, done: list[int]) -> None:
        try:
            for next_stage, ids in ready_after(self.ctx, stage, done):
                for next_id in ids:
                    self.submit(next_stage, next_id)
        except Exception:  # the periodic dispatch finds the same work
            log.exception("hand-on after %s %s failed", stage, done)

    def dial_allowed(self) -> bool:
        if self.guard is None:
            return True
        space = self.guard.check()
        if not space.ok:
            log.error("not dialling: %s", space.describe())
            self.ctx.emit("disk_full", root=str(space.root))
        return space.ok

    def dispatch(self, summary: RoundSummary | None = None) -> int:
        """Hand every piece of ready work to its pool. Returns how many were submitted."""
        summary = summary or RoundSummary()
        submitted = 0
        for stage, ids in all_ready(self.ctx):
            if stage == "dial" and ids and not self.dial_allowed():
                self._hold(ids)
                continue
            counter = _ROUTES[stage][1]
            for item in ids:
                if self.submit(stage, item):
                    submitted += 1
                    setattr(summary, counter, getattr(summary, counter) + 1)
        return submitted

    def _hold(self, ids: list[int]) -> None:
        assert self.guard is not None
        space = self.guard.check()
        for attempt_id in ids:
            hold_attempt(self.ctx, attempt_id, space)

    def schedule(self) -> StepReport:
        """The scheduler's step; no new calls are claimed while recordings could not be stored."""
        return schedule_step(self.ctx, claim_limit=None if self.dial_allowed() else 0)

    def wait_idle(self, timeout: float | None = None, stage: str | None = None) -> bool:
        """Wait for work in flight (of one stage, or all) for as long as it keeps finishing: False only
        when nothing at all finished within ``timeout`` (a stage is stuck), not for a long backlog."""
        while True:
            with self._lock:
                futures = [f for (s, _), f in self._inflight.items() if stage in (None, s)]
            if not futures:
                return True
            done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                return False

    def run_round(self, max_steps: int = 10_000, step_timeout: float = 600.0) -> RoundSummary:
        """Schedule, then work until nothing is ready and nothing is running (the demo and tests)."""
        summary = RoundSummary()
        for _ in range(max_steps):
            if self._closing:
                break
            summary.steps += 1
            claimed = self.schedule().claimed
            submitted = self.dispatch(summary)
            # While there is new work, only the calls are waited for: answers keep piling up for the
            # transcriber, which takes them in batches. Otherwise everything in flight is let finish.
            busy = bool(claimed or submitted)
            if not self.wait_idle(step_timeout, stage="dial" if busy else None):
                summary.errors.append("a stage did not finish within the step timeout")
                break
            if not busy:
                reconcile(self.ctx)
                if not self.dispatch(summary) and self.wait_idle(step_timeout):
                    break
        return summary

    def drain(self, grace_s: float) -> bool:
        """Graceful stop: take nothing new, hand back queued work (attempts stay ``created`` for the
        next worker), let running stages finish within ``grace_s``. True when all finished."""
        with self._lock:
            self._closing = True
            futures = list(self._inflight.values())
        running = [f for f in futures if not f.cancel()]
        _, not_done = wait(running, timeout=grace_s)
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        if not_done:
            log.warning("%s stages still running after the %.0fs grace period", len(not_done), grace_s)
        return not not_done

    def shutdown(self, wait_for_calls: bool = True) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=wait_for_calls, cancel_futures=not wait_for_calls)
