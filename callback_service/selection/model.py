"""Plain inputs and outputs of the selection rules (no database types: the planner maps rows to these)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Action(enum.StrEnum):
    CALL = "call"  # dial now
    DEFER = "defer"  # ask again at call_at
    SKIP = "skip"  # this round is never called (ineligible, do-not-call, window expired)
    MANUAL = "manual"  # a person must follow up (unsafe, no usable number, key category unreachable)
    UNREACHABLE = "unreachable"  # attempts used up; no manual follow-up for this report
    DONE = "done"  # the round's survey was answered


TERMINAL_ACTIONS = frozenset({Action.SKIP, Action.MANUAL, Action.UNREACHABLE, Action.DONE})


class DialTo(enum.StrEnum):
    REPORTER = "reporter"
    GUARDIAN = "guardian"


@dataclass(frozen=True)
class ReportFacts:
    """What the rules need to know about one report. Times must be timezone-aware."""

    report_no: str
    received_at: datetime
    channel: str
    tags: frozenset[str] = frozenset()
    phone_e164: str | None = None  # intake leaves this None for a number that failed validation
    phone_valid: bool = False
    phone_missing: bool = False  # the report carried no phone number at all (not even an invalid one)
    guardian_phone_e164: str | None = None
    guardian_valid: bool = False
    do_not_call: bool = False
    safe_to_call: bool | None = None
    # Reports by the same phone or ID-number hash within the repeat window, this one included
    # (see ``categories.repeat_count``).
    repeat_count_30d: int = 1


@dataclass(frozen=True)
class Attempt:
    started_at: datetime
    disposition: str | None  # None while the call is still in flight
    ended_at: datetime | None = None


@dataclass(frozen=True)
class RoundHistory:
    round: int
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class PhoneCall:
    """One call placed or claimed to a number, by any report's task."""

    report_no: str
    round: int
    started_at: datetime
    in_flight: bool = False


@dataclass(frozen=True)
class PhoneDay:
    """Recent calls and claims for the number the task would dial.

    The planner passes every call placed or claimed to this number on the local day in question,
    including claims it made earlier in the same planning pass; older calls are ignored.
    """

    phone_e164: str
    calls: Sequence[PhoneCall] = field(default_factory=tuple)


@dataclass(frozen=True)
class Decision:
    report_no: str
    round: int
    action: Action
    reasons: tuple[str, ...]  # the cause of the action first, then context (categories)
    call_at: datetime | None  # CALL: now; DEFER: when to look again (always inside a window)
    dial_to: DialTo | None
    phone: str | None  # E.164 of the number to dial; mask before logging or printing
    second_round: bool  # this report requires a round-2 callback
    survey: str | None
    due_at: datetime | None = None  # the round's due time (None: no round, e.g. channel skip)
    expires_at: datetime | None = None  # first instant the round may no longer be called

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the caller masks ``phone``)."""
        return {
            "report_no": self.report_no, "round": self.round, "action": str(self.action),
            "reasons": list(self.reasons),
            "call_at": _iso(self.call_at),
            "dial_to": str(self.dial_to) if self.dial_to else None, "phone": self.phone,
            "second_round": self.second_round, "survey": self.survey,
            "due_at": _iso(self.due_at), "expires_at": _iso(self.expires_at),
        }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None
