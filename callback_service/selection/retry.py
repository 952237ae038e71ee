"""Retry placement and the progress of one callback round, derived from its attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from callback_service.contracts import DISPOSITIONS
from callback_service.selection.calendar import next_callable_at, require_aware, shift
from callback_service.selection.codes import REACHED_DISPOSITIONS, ROUND_ENDING_DISPOSITIONS
from callback_service.selection.model import Attempt, RoundHistory
from callback_service.selection.ruleset import Rules


def retry_delay(disposition: str, rules: Rules) -> timedelta | None:
    """The configured wait after ``disposition``; None when that outcome is never retried."""
    return rules.retry.delays.get(disposition)


def next_retry_at(disposition: str, at: datetime, rules: Rules) -> datetime | None:
    """When to retry after a call that ended at ``at``: the delay, then moved into a calling window.

    Only the calendar is applied here; ``decide`` also enforces the per-phone cap and round expiry.
    """
    delay = retry_delay(disposition, rules)
    if delay is None:
        return None
    return next_callable_at(shift(require_aware(at, "at"), delay, rules), rules)


def attempt_end(attempt: Attempt) -> datetime:
    return attempt.ended_at or attempt.started_at


@dataclass(frozen=True)
class RoundProgress:
    attempts: tuple[Attempt, ...]  # up to and including the one that ended the round, by start time
    reached_at: datetime | None
    invalid_at: datetime | None  # the number turned out not to exist
    exhausted_at: datetime | None  # the last allowed attempt ended without reaching anyone

    @property
    def ended_at(self) -> datetime | None:
        return self.reached_at or self.invalid_at or self.exhausted_at

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def in_flight(self) -> bool:
        return self.last is not None and self.last.disposition is None


def round_progress(history: RoundHistory | None, rules: Rules) -> RoundProgress:
    attempts = sorted(history.attempts if history else (), key=_start_utc)
    for n, attempt in enumerate(attempts, start=1):
        ended = _ending(attempt, n, rules)
        if ended is not None:
            return RoundProgress(tuple(attempts[:n]), *ended)
    return RoundProgress(tuple(attempts), None, None, None)


def _start_utc(attempt: Attempt) -> datetime:
    return require_aware(attempt.started_at, "started_at").astimezone(UTC)


def _ending(
    attempt: Attempt, number: int, rules: Rules,
) -> tuple[datetime | None, datetime | None, datetime | None] | None:
    """(reached_at, invalid_at, exhausted_at) when this attempt ends the round, else None."""
    if attempt.disposition is None:
        return None
    if attempt.disposition not in DISPOSITIONS:
        raise ValueError(f"unknown call disposition {attempt.disposition!r}")
    end = attempt_end(attempt)
    if attempt.disposition in REACHED_DISPOSITIONS:
        return end, None, None
    if attempt.disposition in ROUND_ENDING_DISPOSITIONS:
        return None, end, None
    if number >= rules.retry.max_attempts:
        return None, None, end
    return None
