"""Per-trunk pacing: concurrency and calls-per-minute limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from callback_service.selection import Pacing, next_start_at, starts_allowed

NOW = datetime(2025, 3, 4, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
P = Pacing(max_concurrent=4, max_per_minute=3)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_idle_trunk_may_start_up_to_the_smaller_limit() -> None:
    assert starts_allowed(0, [], NOW, P) == 3
    assert starts_allowed(0, [], NOW, Pacing(2, 30)) == 2


def test_in_flight_calls_use_up_concurrency() -> None:
    assert starts_allowed(3, [], NOW, P) == 1
    assert starts_allowed(4, [], NOW, P) == 0
    assert starts_allowed(6, [], NOW, P) == 0  # never negative


def test_calls_started_within_the_last_minute_use_up_the_rate() -> None:
    assert starts_allowed(0, [ago(10), ago(59)], NOW, P) == 1
    assert starts_allowed(0, [ago(1), ago(2), ago(3)], NOW, P) == 0


def test_a_start_exactly_one_minute_ago_no_longer_counts() -> None:
    assert starts_allowed(0, [ago(60), ago(61), ago(3600)], NOW, P) == 3
    assert starts_allowed(0, [ago(59.999)], NOW, P) == 2


def test_future_start_times_are_ignored() -> None:
    assert starts_allowed(0, [NOW + timedelta(seconds=5)], NOW, P) == 3


def test_start_times_in_other_offsets_are_compared_as_instants() -> None:
    utc = [ago(10).astimezone(UTC), ago(20).astimezone(ZoneInfo("America/New_York"))]
    assert starts_allowed(0, utc, NOW, P) == 1


def test_next_start_is_now_when_allowed_and_when_the_oldest_start_ages_out_otherwise() -> None:
    assert next_start_at(0, [ago(10)], NOW, P) == NOW
    assert next_start_at(0, [ago(50), ago(10), ago(30)], NOW, P) == NOW + timedelta(seconds=10)
    assert next_start_at(0, [ago(5)] * 5, NOW, P) == NOW + timedelta(seconds=55)


def test_next_start_is_unknown_while_the_trunk_is_full() -> None:
    assert next_start_at(4, [], NOW, P) is None
