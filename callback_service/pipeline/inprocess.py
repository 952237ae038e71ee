"""The embedded runner: bounded thread pools per stage, all in one process (SQLite default)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial

from callback_service.pipeline import stages, work
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.reconciler import reconcile
from callback_service.pipeline.scheduler import schedule_step

log = logging.getLogger(__name__)


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
                 score_workers: int = 1) -> None:
        self.ctx = ctx
        self.pools = {
            "dial": ThreadPoolExecutor(dial_workers, thread_name_prefix="dial"),
            "transcribe": ThreadPoolExecutor(transcribe_workers, thread_name_prefix="transcribe"),
            "score": ThreadPoolExecutor(score_workers, thread_name_prefix="score"),
        }
        self._inflight: dict[tuple[str, int], Future[object]] = {}
        self._lock = threading.Lock()

    def _submit(self, pool: str, key: str, item: int, fn: Callable[[StageContext, int], object]) -> bool:
        with self._lock:
            if (key, item) in self._inflight:
                return False
            future = self.pools[pool].submit(fn, self.ctx, item)
            self._inflight[(key, item)] = future
        future.add_done_callback(partial(self._done, (key, item)))
        return True

    def _done(self, key: tuple[str, int], future: Future[object]) -> None:
        with self._lock:
            self._inflight.pop(key, None)
        exc = future.exception()
        if exc is not None:
            log.error("stage %s on %s failed: %s", key[0], key[1], exc, exc_info=exc)

    def dispatch(self, summary: RoundSummary | None = None) -> int:
        """Hand every piece of ready work to its pool. Returns how many were submitted."""
        summary = summary or RoundSummary()
        now = self.ctx.clock()
        with self.ctx.sessions() as session:
            ready = [
                ("dial", "dial", "dialled", work.attempts_to_dial(session), stages.dial_attempt),
                ("transcribe", "transcribe", "transcribed", work.recordings_to_transcribe(session, now),
                 stages.transcribe_recording),
                ("score", "score", "scored", work.attempts_to_score(session), stages.score_attempt),
                ("score", "tickets", "ticket_evaluations", work.scores_to_ticket(session), stages.evaluate_tickets),
            ]
        submitted = 0
        for pool, key, counter, ids, fn in ready:
            for item in ids:
                if self._submit(pool, key, item, fn):
                    submitted += 1
                    setattr(summary, counter, getattr(summary, counter) + 1)
        return submitted

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            futures = list(self._inflight.values())
        _, not_done = wait(futures, timeout=timeout)
        return not not_done

    def run_round(self, max_steps: int = 10_000, step_timeout: float = 600.0) -> RoundSummary:
        """Schedule, then work until nothing is ready and nothing is running (the demo and tests)."""
        summary = RoundSummary()
        for _ in range(max_steps):
            summary.steps += 1
            claimed = schedule_step(self.ctx).claimed
            submitted = self.dispatch(summary)
            if not self.wait_idle(step_timeout):
                summary.errors.append("a stage did not finish within the step timeout")
                break
            if not claimed and not submitted:
                reconcile(self.ctx)
                if not self.dispatch(summary) and self.wait_idle(step_timeout):
                    break
        return summary

    def shutdown(self, wait_for_calls: bool = True) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=wait_for_calls, cancel_futures=not wait_for_calls)
