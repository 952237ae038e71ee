"""Ticket rules (pure): which tickets a scored answer or a finished task calls for.

One ticket per report and reason (the database enforces it for open tickets). The reason strings are
stable: ``unsatisfied``, ``problem:<code>``, ``safety``, ``unreachable``, ``manual_contact``,
``review``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from callback_service.contracts import L_UNSATISFIED

URGENT, HIGH, NORMAL = "urgent", "high", "normal"
SEVERITY_ORDER = {URGENT: 0, HIGH: 1, NORMAL: 2}
DEFAULT_SLA_HOURS = {URGENT: 2, HIGH: 24, NORMAL: 72}
HIGH_PROBLEMS = frozenset({"not_accepted", "not_filed"})


@dataclass(frozen=True)
class TicketSpec:
    reason: str
    severity: str
    problems: tuple[str, ...] = ()
    summary: str = ""


@dataclass(frozen=True)
class ScoreFacts:
    label: str
    problems: tuple[str, ...]
    urgent: bool
    key_category: bool = False
    text: str = ""
    verification: bool = False   # answers to a verification callback never open new tickets


@dataclass(frozen=True)
class SlaPolicy:
    hours: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))

    def due(self, severity: str, opened: datetime) -> datetime:
        return opened + timedelta(hours=self.hours[severity])


def tickets_for_score(s: ScoreFacts) -> list[TicketSpec]:
    if s.verification:
        return []
    specs: list[TicketSpec] = []
    if s.urgent or "safety" in s.problems:
        specs.append(TicketSpec("safety", URGENT, ("safety",), "回访中反映人身安全问题，须立即联系"))
    if s.label == L_UNSATISFIED:
        sev = HIGH if s.key_category or HIGH_PROBLEMS & set(s.problems) else NORMAL
        specs.append(TicketSpec("unsatisfied", sev, tuple(p for p in s.problems if p != "safety"),
                                "回访不满意"))
    for code in s.problems:
        if code == "safety":
            continue
        sev = HIGH if code in HIGH_PROBLEMS or s.key_category else NORMAL
        specs.append(TicketSpec(f"problem:{code}", sev, (code,), ""))
    return specs


def ticket_for_task_end(status: str, key_category: bool, reasons: list[str]) -> TicketSpec | None:
    """A task that ends without a call: unreachable key-category rounds and manual contact cases."""
    if status == "unreachable" and key_category:
        return TicketSpec("unreachable", HIGH, (), "重点类别回访未接通，需上门或人工联系")
    if status == "manual":
        severity = HIGH if {"unsafe_to_call", "no_reachable_phone"} & set(reasons) else NORMAL
        return TicketSpec("manual_contact", severity, (), "无法电话回访，需人工联系：" + "、".join(reasons))
    return None


def review_ticket() -> TicketSpec:
    return TicketSpec("review", NORMAL, (), "法制大队审听后要求跟进")
