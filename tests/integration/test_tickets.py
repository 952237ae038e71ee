"""Ticket filing, transitions and the verification loop against real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from callback_service.app import App
from callback_service.db.models import AuditEntry, CallbackTask, Phone, Report, Reporter, Station, Ticket
from callback_service.security.audit import verify_chain
from callback_service.tickets import service, states
from callback_service.tickets.rules import SlaPolicy, TicketSpec

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
POLICY = service.TicketPolicy(SlaPolicy())


def make_report(app: App, no: str = "T1") -> int:
    with app.sessions() as s, s.begin():
        st = Station(code="S1", name="城关派出所")
        r = Report(report_no=no, received_at=NOW - timedelta(days=2), station=st, channel="walk_in",
                   reporter=Reporter(name="甲"), phone=Phone(e164="+8613835601234", raw_masked="138****1234"),
                   content_hash="x")
        s.add(r)
        s.flush()
        return r.id


def test_one_open_ticket_per_report_and_reason(app: App) -> None:
    rid = make_report(app)
    spec = TicketSpec("unsatisfied", "normal")
    with app.sessions() as s, s.begin():
        report = s.get(Report, rid)
        assert service.open_ticket(s, report, spec, NOW, POLICY) is not None
        assert service.open_ticket(s, report, spec, NOW, POLICY) is None
        assert service.open_ticket(s, report, TicketSpec("problem:slow", "normal"), NOW, POLICY) is not None
    with app.sessions() as s:
        assert len(s.scalars(select(Ticket)).all()) == 2


def test_sla_escalation_happens_once(app: App) -> None:
    rid = make_report(app)
    with app.sessions() as s, s.begin():
        t = service.open_ticket(s, s.get(Report, rid), TicketSpec("safety", "urgent"), NOW, POLICY)
        assert t is not None and t.sla_due_at == NOW + timedelta(hours=2)
    with app.sessions() as s, s.begin():
        assert service.escalate_overdue(s, NOW + timedelta(hours=1)) == 0
        assert service.escalate_overdue(s, NOW + timedelta(hours=3)) == 1
        assert service.escalate_overdue(s, NOW + timedelta(hours=4)) == 0


@pytest.mark.parametrize("answer,final", [("satisfied", states.VERIFIED), ("unsatisfied", states.REOPENED)])
def test_verification_loop(app: App, answer: str, final: str) -> None:
    rid = make_report(app)
    with app.sessions() as s, s.begin():
        t = service.open_ticket(s, s.get(Report, rid), TicketSpec("problem:no_feedback", "normal"), NOW, POLICY)
        tid = t.id
        for to in (states.ASSIGNED, states.RECTIFYING, states.RESOLVED):
            service.transition(s, t, to, "officer1", "station", "已电话告知处理结果", NOW, POLICY,
                               same_station=True)
    with app.sessions() as s, s.begin():
        task = s.scalars(select(CallbackTask).where(CallbackTask.ticket_id == tid)).one()
        assert task.survey == "verification" and task.round == 3 and task.status == "pending"
        assert task.call_at == NOW + timedelta(hours=24)
        assert service.apply_verification(s, task, answer, NOW + timedelta(days=1), POLICY) == final
    with app.sessions() as s:
        t = s.get(Ticket, tid)
        assert t.status == final
        assert [e.to_status for e in t.events] == ["open", "assigned", "rectifying", "resolved", final]
        assert verify_chain(s).ok
        assert len(s.scalars(select(AuditEntry)).all()) == 5


def test_reopened_ticket_can_be_resolved_again_with_a_second_verification(app: App) -> None:
    rid = make_report(app)
    with app.sessions() as s, s.begin():
        t = service.open_ticket(s, s.get(Report, rid), TicketSpec("unsatisfied", "normal"), NOW, POLICY)
        for to in (states.ASSIGNED, states.RECTIFYING, states.RESOLVED, states.REOPENED, states.RECTIFYING,
                   states.RESOLVED):
            service.transition(s, t, to, "legal1", "legal", "处理", NOW, POLICY)
        tasks = s.scalars(select(CallbackTask).where(CallbackTask.ticket_id == t.id)).all()
        assert sorted(x.dedupe_key for x in tasks) == [f"v:{t.id}:1", f"v:{t.id}:2"]


def test_verified_ticket_allows_a_new_one_for_the_same_reason(app: App) -> None:
    rid = make_report(app)
    with app.sessions() as s, s.begin():
        report = s.get(Report, rid)
        t = service.open_ticket(s, report, TicketSpec("unsatisfied", "normal"), NOW, POLICY)
        for to in (states.ASSIGNED, states.RECTIFYING, states.RESOLVED, states.VERIFIED):
            service.transition(s, t, to, "sup", "supervisor", "ok", NOW, POLICY)
        assert service.open_ticket(s, report, TicketSpec("unsatisfied", "normal"), NOW, POLICY) is not None
