"""Ticket state machine (pure): which role may move a ticket from which status to which.

open -> assigned -> rectifying -> resolved -> verified (销号)
                                      └──-> reopened -> assigned | rectifying
``system`` is the verification callback: a satisfied answer verifies, an unsatisfied one reopens.
"""

from __future__ import annotations

OPEN, ASSIGNED, RECTIFYING, RESOLVED, VERIFIED, REOPENED = (
    "open", "assigned", "rectifying", "resolved", "verified", "reopened")
STATUSES = (OPEN, ASSIGNED, RECTIFYING, RESOLVED, VERIFIED, REOPENED)
ACTIVE_STATUSES = (OPEN, ASSIGNED, RECTIFYING, REOPENED)   # SLA clock runs
STATUS_ZH = {OPEN: "待分派", ASSIGNED: "已分派", RECTIFYING: "整改中", RESOLVED: "已整改待回访",
             VERIFIED: "已销号", REOPENED: "已重开"}

_SUPERVISING = frozenset({"admin", "supervisor", "legal"})
_WORKING = _SUPERVISING | {"station"}

# (from, to) -> roles allowed; station roles also need the ticket to belong to their station
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (OPEN, ASSIGNED): _WORKING,
    (ASSIGNED, RECTIFYING): _WORKING,
    (RECTIFYING, RESOLVED): _WORKING,
    (RESOLVED, VERIFIED): _SUPERVISING | {"system"},
    (RESOLVED, REOPENED): _SUPERVISING | {"system"},
    (REOPENED, ASSIGNED): _WORKING,
    (REOPENED, RECTIFYING): _WORKING,
}
NOTE_REQUIRED = frozenset({RESOLVED, VERIFIED, REOPENED})


class TransitionError(Exception):
    """A transition that the state machine or the actor's role does not allow."""


def allowed_transitions(status: str, role: str, same_station: bool = False) -> list[str]:
    if role == "station" and not same_station:
        return []
    return [to for (frm, to), roles in TRANSITIONS.items() if frm == status and role in roles]


def check_transition(status: str, to_status: str, role: str, same_station: bool, note: str) -> None:
    if (status, to_status) not in TRANSITIONS:
        raise TransitionError(f"cannot move a ticket from {status} to {to_status}")
    if to_status not in allowed_transitions(status, role, same_station):
        raise TransitionError(f"role {role!r} may not move this ticket from {status} to {to_status}")
    if to_status in NOTE_REQUIRED and not note.strip():
        raise TransitionError(f"moving to {to_status} needs a note (整改情况)")
