"""Per-trunk pacing: how many calls may start now without passing the concurrency or rate limit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from callback_service.selection.calendar import require_aware
from callback_service.selection.ruleset import Pacing

RATE_WINDOW = timedelta(minutes=1)


def starts_allowed(in_flight: int, recent_starts: Iterable[datetime], now: datetime, pacing: Pacing) -> int:
    """Calls that may start at ``now`` on one trunk.

    ``recent_starts`` are the start times of calls on that trunk (older ones are ignored); a call
    started exactly one minute ago no longer counts against the per-minute limit.
    """
    recent = _in_rate_window(recent_starts, now)
    return max(0, min(pacing.max_concurrent - in_flight, pacing.max_per_minute - len(recent)))


def next_start_at(in_flight: int, recent_starts: Iterable[datetime], now: datetime, pacing: Pacing) -> datetime | None:
    """When the rate limit next lets a call start: ``now`` if one may start, None while only
    a finishing call (concurrency) can free a slot."""
    if in_flight >= pacing.max_concurrent:
        return None
    recent = sorted(_in_rate_window(recent_starts, now))
    excess = len(recent) - pacing.max_per_minute
    return now if excess < 0 else (recent[excess] + RATE_WINDOW).astimezone(now.tzinfo)


def _in_rate_window(starts: Iterable[datetime], now: datetime) -> list[datetime]:
    # In UTC: same-zone aware datetimes compare by wall clock, wrong across a DST change.
    now = _utc(now, "now")
    return [t for t in map(_utc, starts) if now - RATE_WINDOW < t <= now]


def _utc(t: datetime, name: str = "start") -> datetime:
    return require_aware(t, name).astimezone(UTC)
