"""plan -> claim -> outcome -> retry -> unreachable -> ticket, on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from callback_service.app import App
from callback_service.db.models import CallAttempt, CallbackTask, Decision, Report, Ticket
from callback_service.intake.service import import_rows
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.reconciler import reconcile
from callback_service.pipeline.scheduler import schedule_step
from callback_service.pipeline.stages import dial_attempt
from callback_service.selection.claim import claim_due
from callback_service.telephony.simulated import Citizen, SimulatedDialer

TZ = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)      # a Tuesday
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)      # due, inside the morning window


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def import_reports(app: App, rows: list[dict[str, str]]) -> None:
    base = {"received_at": RECEIVED.strftime("%Y-%m-%d %H:%M"), "station": "城关派出所", "channel": "walk_in"}
    result = import_rows(app.sessions, [(i + 1, {**base, **r}) for i, r in enumerate(rows)], app.intake_limits)
    assert not result.rejected, result.rejected


def context(app: App, citizens: dict[str, Citizen], clock: Clock) -> StageContext:
    ctx = app.stage_context(dialer=SimulatedDialer(citizens, clock=clock))
    ctx.clock = clock
    return ctx


def run_step(ctx: StageContext, clock: Clock) -> list[str]:
    claimed = schedule_step(ctx, clock.now).claimed
    return [dial_attempt(ctx, a) or "" for a in claimed]


def task_of(app: App, report_no: str, rnd: int = 1) -> CallbackTask:
    with app.sessions() as s:
        return s.scalars(select(CallbackTask).join(Report).where(Report.report_no == report_no,
                                                                  CallbackTask.round == rnd)).one()


@pytest.mark.parametrize("tags,final,ticket", [("", "unreachable", None),
                                                ("家暴", "manual", "unreachable")])
def test_busy_then_no_answer_retries_then_unreachable(app: App, tags: str, final: str, ticket: str | None) -> None:
    import_reports(app, [{"report_no": "R1", "reporter_phone": "13835600001", "tags": tags, "safe_to_call": "是"}])
    clock = Clock(MORNING)
    ctx = context(app, {"+8613835600001": Citizen("busy", outcomes_after=("no_answer",))}, clock)
    assert run_step(ctx, clock) == ["busy"]
    task = task_of(app, "R1")
    assert task.status == "pending" and task.call_at == MORNING + timedelta(minutes=30)
    assert run_step(ctx, clock) == []                      # not due yet: never called twice
    clock.now = MORNING + timedelta(minutes=30)
    assert run_step(ctx, clock) == ["no_answer"]
    task = task_of(app, "R1")
    # 10:30 + 2h = 12:30 falls in the lunch break: moved to the afternoon window
    assert task.call_at == datetime(2026, 11, 25, 14, 30, tzinfo=TZ)
    clock.now = task.call_at
    assert run_step(ctx, clock) == ["no_answer"]
    task = task_of(app, "R1")
    assert task.status == final and task.attempts == 3
    with app.sessions() as s:
        reasons = [t.reason for t in s.scalars(select(Ticket))]
        assert reasons == ([ticket] if ticket else [])
        assert s.scalar(select(func.count()).select_from(Decision)) >= 4


def test_second_round_follows_the_first_for_key_categories(app: App) -> None:
    import_reports(app, [{"report_no": "K1", "reporter_phone": "13835600002", "tags": "黄赌毒"}])
    clock = Clock(MORNING)
    ctx = context(app, {"+8613835600002": Citizen("busy")}, clock)
    run_step(ctx, clock)
    with app.sessions() as s, s.begin():
        assert s.scalar(select(func.count()).select_from(CallbackTask)) == 1
    # round 1 expires unanswered after 7 days; round 2 is then due 7 days later
    clock.now = RECEIVED + timedelta(days=7, hours=1)
    schedule_step(ctx, clock.now)
    r2 = task_of(app, "K1", 2)
    assert r2.status == "pending" and r2.survey == "second_porn_gambling_drugs"
    assert r2.due_at == RECEIVED + timedelta(days=14)


def test_outside_hours_and_daily_cap(app: App) -> None:
    import_reports(app, [{"report_no": f"S{i}", "reporter_phone": "13835600003"} for i in range(3)])
    clock = Clock(datetime(2026, 11, 25, 12, 30, tzinfo=TZ))
    ctx = context(app, {"+8613835600003": Citizen("busy")}, clock)
    assert run_step(ctx, clock) == []
    assert task_of(app, "S0").call_at == datetime(2026, 11, 25, 14, 30, tzinfo=TZ)
    assert "outside_calling_hours" in task_of(app, "S0").reasons
    clock.now = datetime(2026, 11, 25, 14, 30, tzinfo=TZ)
    assert run_step(ctx, clock) == ["busy"]                 # one report from this phone today
    others = [task_of(app, f"S{i}") for i in (1, 2)]
    assert all("phone_daily_cap" in t.reasons for t in others)
    assert all(t.call_at.astimezone(TZ).date() > clock.now.date() for t in others)


def test_crash_between_claim_and_dial_loses_nothing_and_calls_once(app: App) -> None:
    import_reports(app, [{"report_no": "C1", "reporter_phone": "13835600004"}])
    clock = Clock(MORNING)
    ctx = context(app, {"+8613835600004": Citizen("no_answer")}, clock)
    claimed = schedule_step(ctx, clock.now).claimed
    assert len(claimed) == 1
    # the process "dies" here: the attempt is committed but was never dialled
    assert schedule_step(ctx, clock.now).claimed == []      # no second claim for the same task
    assert dial_attempt(ctx, claimed[0]) == "no_answer"
    assert dial_attempt(ctx, claimed[0]) is None            # a redelivered message is a no-op


def test_worker_lost_mid_call_is_closed_not_redialled(app: App) -> None:
    import_reports(app, [{"report_no": "L1", "reporter_phone": "13835600005"}])
    clock = Clock(MORNING)
    ctx = context(app, {}, clock)
    attempt_id = schedule_step(ctx, clock.now).claimed[0]
    with app.sessions() as s, s.begin():
        a = s.get(CallAttempt, attempt_id)
        a.state, a.lease_until = "dialing", MORNING + timedelta(minutes=1)
    clock.now = MORNING + timedelta(minutes=20)
    report = reconcile(ctx)
    assert report.attempts_closed == 1
    with app.sessions() as s:
        a = s.get(CallAttempt, attempt_id)
        assert a.state == "ended" and a.disposition == "failed"
        assert s.scalar(select(func.count()).select_from(CallAttempt)) == 1
    assert task_of(app, "L1").call_at == clock.now + timedelta(minutes=10)


def test_two_concurrent_schedulers_never_claim_twice(app: App) -> None:
    rows = [{"report_no": f"P{i}", "reporter_phone": f"1383560{i // 3:04d}"} for i in range(150)]
    import_reports(app, rows)
    clock = Clock(MORNING)
    ctx = context(app, {}, clock)
    schedule_step(ctx, clock.now, claim_limit=0)             # plan only
    results: list[list[int]] = []
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        barrier.wait()
        with app.sessions() as s, s.begin():
            results.append(claim_due(s, clock.now, ctx.plan, limit=1000))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    claimed = [a for r in results for a in r]
    assert len(claimed) == len(set(claimed)) == 50          # 150 reports over 50 phones: one per phone
    with app.sessions() as s:
        per_phone = s.execute(select(CallAttempt.phone_id, func.count()).group_by(CallAttempt.phone_id)).all()
        assert all(n == 1 for _, n in per_phone) and len(per_phone) == 50
