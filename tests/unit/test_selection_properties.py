"""Properties of the selection rules over generated reports, histories and clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callback_service.contracts import CHANNELS, DISPOSITIONS, TAGS
from callback_service.selection import (
    Action,
    Attempt,
    PhoneCall,
    PhoneDay,
    ReportFacts,
    RoundHistory,
    decide_rounds,
    dial_target,
    in_window,
    is_statutory_holiday,
    next_callable_at,
    next_retry_at,
    retry_delay,
    rules_from_mapping,
)

SH = ZoneInfo("Asia/Shanghai")
RULES = rules_from_mapping({})
QUIET = rules_from_mapping({"calendar": {"call_on_weekends": False}, "per_phone": {"max_tasks_per_day": 2}})
ZONES = st.sampled_from([SH, UTC, ZoneInfo("America/New_York"), timezone(timedelta(hours=-3, minutes=-30))])
# Inside chinese_calendar's data (2004-2026) so holidays are real; a few fall-back years ride along.
INSTANTS = st.datetimes(min_value=datetime(2023, 12, 1), max_value=datetime(2027, 2, 1), timezones=ZONES)
PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _local_date(t: datetime) -> object:
    return t.astimezone(SH).date()


def _same(a: datetime, b: datetime) -> bool:
    # == between zones is always False for a time in a DST gap or fold; compare instants instead.
    return a.timestamp() == b.timestamp()


@PROFILE
@given(t=INSTANTS, rules=st.sampled_from([RULES, QUIET]))
def test_next_callable_at_is_inside_a_window_never_earlier_and_never_on_a_holiday(t: datetime, rules: object) -> None:
    result = next_callable_at(t, rules)  # type: ignore[arg-type]
    assert result >= t and in_window(result, rules)  # type: ignore[arg-type]
    assert not is_statutory_holiday(_local_date(result), rules)  # type: ignore[arg-type]
    # Minimal: the moment before it was not callable, unless t itself was.
    assert _same(result, t) or not in_window(result - timedelta(seconds=1), rules)  # type: ignore[arg-type]


@PROFILE
@given(t=INSTANTS, disposition=st.sampled_from(DISPOSITIONS))
def test_retry_lands_in_a_window_after_its_delay(t: datetime, disposition: str) -> None:
    result = next_retry_at(disposition, t, RULES)
    delay = retry_delay(disposition, RULES)
    if delay is None:
        assert result is None
    else:
        assert result is not None and result >= t.astimezone(UTC) + delay and in_window(result, RULES)
        assert not is_statutory_holiday(_local_date(result), RULES)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ReportFacts, list[RoundHistory], PhoneDay | None, datetime]:
    received = draw(INSTANTS)
    now = received + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
    report = ReportFacts(
        report_no="R1", received_at=received, channel=draw(st.sampled_from(CHANNELS)),
        tags=frozenset(draw(st.sets(st.sampled_from(TAGS), max_size=2))),
        phone_e164="+8613812345678", phone_valid=draw(st.booleans()) or draw(st.booleans()),
        guardian_phone_e164=draw(st.sampled_from([None, "+8613900001111"])), guardian_valid=draw(st.booleans()),
        do_not_call=draw(st.integers(0, 9)) == 0, safe_to_call=draw(st.sampled_from([None, True, False])),
        repeat_count_30d=draw(st.integers(1, 4)),
    )
    history = [RoundHistory(n, tuple(
        Attempt(received + draw(st.timedeltas(timedelta(0), timedelta(days=20))), draw(st.sampled_from(DISPOSITIONS)))
        for _ in range(draw(st.integers(0, 3)))
    )) for n in (1, 2) if draw(st.booleans())]
    target = dial_target(report, RULES)[1] or "+8613812345678"
    calls = tuple(
        PhoneCall(draw(st.sampled_from(["R0", "R1", "R2"])), draw(st.sampled_from([1, 2])),
                  now - draw(st.timedeltas(timedelta(0), timedelta(hours=30))), draw(st.booleans()))
        for _ in range(draw(st.integers(0, 3)))
    )
    return report, history, PhoneDay(target, calls) if calls else None, now


@PROFILE
@given(case=scenarios(), rules=st.sampled_from([RULES, QUIET]))
def test_decisions_only_call_now_inside_a_window_and_defer_into_a_later_window(
    case: tuple[ReportFacts, list[RoundHistory], PhoneDay | None, datetime], rules: object,
) -> None:
    report, history, phone_day, now = case
    decisions = decide_rounds(report, history, phone_day, now, rules)  # type: ignore[arg-type]
    assert 1 <= len(decisions) <= 2 and decisions[0].round == 1
    for d in decisions:
        assert d.reasons, d
        if d.action is Action.CALL:
            assert d.call_at is not None and _same(d.call_at, now) and in_window(now, rules) and d.phone is not None  # type: ignore[arg-type]
            assert d.expires_at is not None and now < d.expires_at
            assert _other_tasks_today(d.round, phone_day, now) < rules.max_tasks_per_phone_per_day  # type: ignore[attr-defined]
        elif d.action is Action.DEFER:
            assert d.call_at is not None and d.call_at > now and in_window(d.call_at, rules)  # type: ignore[arg-type]
            assert not is_statutory_holiday(_local_date(d.call_at), rules)  # type: ignore[arg-type]
            # Only a call still in flight may point past expiry: its outcome decides what follows.
            assert d.expires_at is not None and (d.call_at < d.expires_at or d.reasons[0] == "phone_in_call")
        else:
            assert d.call_at is None
        if d.action in (Action.CALL, Action.DEFER):
            assert not report.do_not_call
            assert not ("domestic_violence" in report.tags and report.safe_to_call is False)


def _other_tasks_today(round_no: int, phone_day: PhoneDay | None, now: datetime) -> int:
    calls = phone_day.calls if phone_day else ()
    return len({(c.report_no, c.round) for c in calls
                if (c.report_no, c.round) != ("R1", round_no) and _local_date(c.started_at) == _local_date(now)})
