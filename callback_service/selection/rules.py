"""``decide``: report + call history + the number's recent calls + now -> one decision with reasons.

Pure: no clock, no database, no I/O. The planner maps rows onto ``selection.model`` and writes the
decision back; calling ``decide`` again with the same inputs gives the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from callback_service.contracts import (
    R_DO_NOT_CALL,
    R_DUE,
    R_INVALID_PHONE,
    R_MAX_ATTEMPTS,
    R_NOT_DUE,
    R_PHONE_DAILY_CAP,
    R_RETRY,
    R_UNSAFE_TO_CALL,
    R_WINDOW_EXPIRED,
)
from callback_service.selection import categories as cat
from callback_service.selection.calendar import (
    local,
    next_callable_at,
    next_day_open,
    placement_reasons,
    require_aware,
    shift,
)
from callback_service.selection.codes import R_PHONE_IN_CALL, R_REACHED
from callback_service.selection.model import (
    TERMINAL_ACTIONS,
    Action,
    Decision,
    DialTo,
    PhoneCall,
    PhoneDay,
    ReportFacts,
    RoundHistory,
)
from callback_service.selection.retry import RoundProgress, attempt_end, round_progress
from callback_service.selection.ruleset import Rules

ROUNDS = (1, 2)


@dataclass(frozen=True)
class RoundSpan:
    due: datetime
    expires: datetime  # first instant at which the round may no longer be called


@dataclass(frozen=True)
class _Target:
    dial_to: DialTo
    phone: str
    survey: str


@dataclass(frozen=True)
class _Ctx:
    report: ReportFacts
    round: int
    now: datetime
    rules: Rules
    second_round: bool
    span: RoundSpan | None = None

    def decision(
        self, action: Action, reasons: Sequence[str],
        target: _Target | None = None, call_at: datetime | None = None,
    ) -> Decision:
        context = cat.category_reasons(self.report, self.rules)
        if target is not None:
            context += cat.target_reasons(target.dial_to)
        return Decision(
            report_no=self.report.report_no, round=self.round, action=action,
            reasons=tuple(dict.fromkeys([*reasons, *context])), call_at=call_at,
            dial_to=target.dial_to if target else None, phone=target.phone if target else None,
            second_round=self.second_round, survey=target.survey if target else None,
            due_at=self.span.due if self.span else None, expires_at=self.span.expires if self.span else None,
        )


def decide_rounds(
    report: ReportFacts,
    history: Sequence[RoundHistory],
    phone_day: PhoneDay | None,
    now: datetime,
    rules: Rules,
) -> tuple[Decision, ...]:
    """The decision for round 1 and, once round 1 is over and the report needs one, for round 2.

    A finished round 1 is still reported (DONE, UNREACHABLE, MANUAL, SKIP), so the planner can
    record its outcome and file its follow-up before it starts on round 2. ``history`` holds the
    attempts of every round so far; ``phone_day`` the recent calls to the number that
    ``categories.dial_target`` returns (None: no calls).
    """
    first = decide(report, history, phone_day, now, rules, round_no=1)
    if first.action in TERMINAL_ACTIONS and first.second_round and _channel_reason(report, rules) is None:
        return first, decide(report, history, phone_day, now, rules, round_no=2)
    return (first,)


def decide(
    report: ReportFacts,
    history: Sequence[RoundHistory],
    phone_day: PhoneDay | None,
    now: datetime,
    rules: Rules,
    round_no: int | None = None,
) -> Decision:
    """Decide ``round_no`` of one report; None: the current round (the last of ``decide_rounds``)."""
    if round_no is None:
        return decide_rounds(report, history, phone_day, now, rules)[-1]
    now, rounds = local(require_aware(now, "now"), rules), _by_round(history)
    require_aware(report.received_at, "received_at")
    second = cat.second_round_required(report, rules)
    if round_no not in ROUNDS or (round_no == 2 and not second):
        raise ValueError(f"report {report.report_no} has no round {round_no}")
    channel_reason = _channel_reason(report, rules)
    if channel_reason is not None:
        return _Ctx(report, round_no, now, rules, second).decision(Action.SKIP, [channel_reason])
    progress = round_progress(rounds.get(round_no), rules)
    span = round_span(report, rounds, round_no, rules)
    ctx = _Ctx(report, round_no, now, rules, second, span)
    return _ended(ctx, progress, span) or _gated(ctx, rounds) or _schedule(ctx, progress, span, phone_day)


def round_span(report: ReportFacts, rounds: dict[int, RoundHistory], round_no: int, rules: Rules) -> RoundSpan:
    received = require_aware(report.received_at, "received_at")
    first = RoundSpan(shift(received, rules.round1.due_after, rules),
                      shift(received, rules.round1.expires_after, rules))
    if round_no == 1:
        return first
    # Round 1 ends when reached, out of attempts or the number is dead; otherwise at its expiry
    # (also when it was skipped or handed to a person: round 2 still follows the same timetable).
    ended = round_progress(rounds.get(1), rules).ended_at or first.expires
    due = shift(ended, rules.round2.due_after_round1, rules)
    return RoundSpan(due, shift(due, rules.round2.expires_after, rules))


def _by_round(history: Sequence[RoundHistory]) -> dict[int, RoundHistory]:
    rounds: dict[int, RoundHistory] = {}
    for item in history:
        if item.round not in ROUNDS or item.round in rounds:
            raise ValueError(f"history has an unknown or duplicate round {item.round}")
        rounds[item.round] = item
    return rounds


def _channel_reason(report: ReportFacts, rules: Rules) -> str | None:
    """Round 2 follows round 1, so a channel that gets no round 1 gets no callback at all."""
    if report.channel in rules.round1.eligible_channels:
        return None
    return rules.round1.ineligible_channel_reasons.get(report.channel, "channel_not_eligible")


def _ended(ctx: _Ctx, progress: RoundProgress, span: RoundSpan) -> Decision | None:
    if progress.reached_at is not None:
        return ctx.decision(Action.DONE, [R_REACHED])
    if progress.invalid_at is not None:
        return ctx.decision(Action.MANUAL, [R_INVALID_PHONE])
    if progress.exhausted_at is not None:
        key = bool(cat.key_tags(ctx.report, ctx.rules))
        return ctx.decision(Action.MANUAL if key else Action.UNREACHABLE, [R_MAX_ATTEMPTS])
    if not progress.in_flight and ctx.now >= span.expires:
        return ctx.decision(Action.SKIP, [R_WINDOW_EXPIRED])
    return None


def _gated(ctx: _Ctx, rounds: dict[int, RoundHistory]) -> Decision | None:
    report, rules = ctx.report, ctx.rules
    if cat.TAG_DV in report.tags and not _safe_for_dv(report.safe_to_call, rules):
        dnc = [R_DO_NOT_CALL] if report.do_not_call else []
        return ctx.decision(Action.MANUAL, [R_UNSAFE_TO_CALL, *dnc])
    if report.do_not_call:
        return ctx.decision(Action.SKIP, [R_DO_NOT_CALL])
    earlier = [round_progress(rounds.get(n), rules) for n in ROUNDS if n < ctx.round]
    if any(p.invalid_at is not None for p in earlier):
        return ctx.decision(Action.MANUAL, [R_INVALID_PHONE])
    dial_to, value = cat.dial_target(report, rules)
    return ctx.decision(Action.MANUAL, [value]) if dial_to is None else None


def _safe_for_dv(safe_to_call: bool | None, rules: Rules) -> bool:
    return rules.dv_call_when_safety_unknown if safe_to_call is None else safe_to_call


def _schedule(ctx: _Ctx, progress: RoundProgress, span: RoundSpan, phone_day: PhoneDay | None) -> Decision:
    target = _target(ctx)
    if phone_day is not None and phone_day.phone_e164 != target.phone:
        raise ValueError(f"phone_day describes another number than report {ctx.report.report_no} dials")
    if progress.in_flight:
        # The outcome of the running call decides what comes next; expiry waits for it too.
        busy_until = next_callable_at(shift(ctx.now, _busy_delay(ctx.rules), ctx.rules), ctx.rules)
        return ctx.decision(Action.DEFER, [R_PHONE_IN_CALL], target, call_at=busy_until)
    wanted, reasons = _wanted(ctx, progress, span)
    placed = next_callable_at(wanted, ctx.rules)
    reasons += placement_reasons(wanted, placed, ctx.rules)
    placed, shifted = _apply_phone_limits(ctx, placed, phone_day.calls if phone_day else ())
    reasons += shifted
    if placed >= span.expires:
        return ctx.decision(Action.SKIP, [R_WINDOW_EXPIRED, *reasons])
    if placed <= ctx.now:
        retry = [R_RETRY] if progress.attempts else []
        return ctx.decision(Action.CALL, [R_DUE, *retry], target, call_at=ctx.now)
    return ctx.decision(Action.DEFER, reasons, target, call_at=placed)


def _target(ctx: _Ctx) -> _Target:
    dial_to, phone = cat.dial_target(ctx.report, ctx.rules)
    if dial_to is None:  # _gated returns a MANUAL decision before scheduling in this case
        raise AssertionError("no dial target")
    return _Target(dial_to, phone, cat.survey_for(ctx.report, ctx.round, dial_to, ctx.rules))


def _wanted(ctx: _Ctx, progress: RoundProgress, span: RoundSpan) -> tuple[datetime, list[str]]:
    """The earliest time the round allows, before the calendar and phone limits apply."""
    wanted, reasons = ctx.now, []
    if span.due > wanted:
        wanted, reasons = span.due, [R_NOT_DUE]
    last = progress.last
    if last is not None and last.disposition is not None:
        retry_at = shift(attempt_end(last), ctx.rules.retry.delays[last.disposition], ctx.rules)
        if retry_at > wanted:
            wanted, reasons = retry_at, [R_RETRY, last.disposition]
    return wanted, reasons


def _apply_phone_limits(
    ctx: _Ctx, placed: datetime, calls: Sequence[PhoneCall],
) -> tuple[datetime, list[str]]:
    """One task per number per local day, and never two calls to a number at once."""
    others = [c for c in calls if (c.report_no, c.round) != (ctx.report.report_no, ctx.round)]
    busy_until = shift(ctx.now, _busy_delay(ctx.rules), ctx.rules)
    in_flight = any(c.in_flight for c in others)
    reasons: list[str] = []
    # Each shift moves past one day that has calls, or past the in-flight call: bounded by len(others).
    for _ in range(len(others) + 2):
        if _tasks_on(others, local(placed, ctx.rules).date(), ctx.rules) >= ctx.rules.max_tasks_per_phone_per_day:
            placed, reasons = next_day_open(placed, ctx.rules), [*reasons, R_PHONE_DAILY_CAP]
        elif in_flight and placed < busy_until:
            placed, reasons = next_callable_at(busy_until, ctx.rules), [*reasons, R_PHONE_IN_CALL]
        else:
            break
    return placed, list(dict.fromkeys(reasons))


def _tasks_on(calls: Sequence[PhoneCall], day: date, rules: Rules) -> int:
    return len({(c.report_no, c.round) for c in calls if local(c.started_at, rules).date() == day})


def _busy_delay(rules: Rules) -> timedelta:
    return rules.retry.delays["busy"]
