"""Map database rows onto the pure inputs of ``selection.rules.decide``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from callback_service.db.models import CallAttempt, CallbackTask, Phone, Report, Reporter
from callback_service.selection.calendar import local
from callback_service.selection.model import Attempt, PhoneCall, PhoneDay, ReportFacts, RoundHistory
from callback_service.selection.ruleset import Rules

IN_FLIGHT_STATES = ("created", "dialing")


def repeat_count(session: Session, report: Report, rules: Rules) -> int:
    """Reports by the same phone or ID hash in the window ending at (and including) this one."""
    start = report.received_at - rules.round2.repeat_window
    same_person = []
    if report.phone_id is not None and report.phone is not None and report.phone.valid:
        same_person.append(Report.phone_id == report.phone_id)
    id_hash = report.reporter.id_number_hash if report.reporter else None
    if id_hash:
        same_person.append(Reporter.id_number_hash == id_hash)
    if not same_person:
        return 1
    q = (select(func.count(func.distinct(Report.id))).join(Reporter, Reporter.id == Report.reporter_id)
         .where(or_(*same_person), Report.received_at >= start, Report.received_at <= report.received_at))
    return max(1, session.scalar(q) or 1)


def report_facts(report: Report, repeat: int) -> ReportFacts:
    phone, guardian = report.phone, report.guardian_phone
    return ReportFacts(
        report_no=report.report_no, received_at=report.received_at, channel=report.channel,
        tags=frozenset(report.tags or ()), phone_e164=phone.e164 if phone else None,
        phone_valid=bool(phone and phone.valid and phone.e164),
        guardian_phone_e164=guardian.e164 if guardian else None,
        guardian_valid=bool(guardian and guardian.valid and guardian.e164),
        do_not_call=bool(report.do_not_call or (phone is not None and phone.do_not_call)),
        safe_to_call=report.safe_to_call, repeat_count_30d=repeat, phone_missing=report.phone_id is None)


def round_history(session: Session, report_id: int) -> list[RoundHistory]:
    rows = session.execute(
        select(CallbackTask.round, CallAttempt.started_at, CallAttempt.disposition, CallAttempt.ended_at)
        .join(CallAttempt, CallAttempt.task_id == CallbackTask.id)
        .where(CallbackTask.report_id == report_id, CallbackTask.round.in_((1, 2)))
        .order_by(CallAttempt.started_at, CallAttempt.id)).all()
    by_round: dict[int, list[Attempt]] = defaultdict(list)
    for rnd, started, disposition, ended in rows:
        by_round[rnd].append(Attempt(started_at=started, disposition=disposition, ended_at=ended))
    return [RoundHistory(r, tuple(a)) for r, a in sorted(by_round.items())]


def phone_day(session: Session, phone: Phone | None, now: datetime, rules: Rules) -> PhoneDay | None:
    """Calls to this number from the start of yesterday on (the rules look at the target day only)."""
    if phone is None or not phone.e164:
        return None
    day_start = local(now, rules).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    task, report = aliased(CallbackTask), aliased(Report)
    rows = session.execute(
        select(report.report_no, task.round, CallAttempt.started_at, CallAttempt.state)
        .join(task, task.id == CallAttempt.task_id).join(report, report.id == task.report_id)
        .where(CallAttempt.phone_id == phone.id, and_(CallAttempt.started_at >= day_start))).all()
    calls = [PhoneCall(no, rnd, started, in_flight=state in IN_FLIGHT_STATES) for no, rnd, started, state in rows]
    return PhoneDay(phone.e164, tuple(calls))
