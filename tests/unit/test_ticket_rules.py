import itertools

import pytest

from callback_service.tickets import states
from callback_service.tickets.rules import (
    HIGH,
    NORMAL,
    URGENT,
    ScoreFacts,
    ticket_for_task_end,
    tickets_for_score,
)
from callback_service.tickets.states import TransitionError, allowed_transitions, check_transition

ROLES = ("admin", "supervisor", "legal", "station", "api", "system")


def reasons(specs):  # type: ignore[no-untyped-def]
    return {(s.reason, s.severity) for s in specs}


def test_satisfied_without_problems_files_nothing() -> None:
    assert tickets_for_score(ScoreFacts("satisfied", (), False)) == []
    assert tickets_for_score(ScoreFacts("basically_satisfied", (), False)) == []
    assert tickets_for_score(ScoreFacts("unknown", (), False)) == []


def test_unsatisfied_files_a_ticket_high_for_key_categories() -> None:
    assert reasons(tickets_for_score(ScoreFacts("unsatisfied", (), False))) == {("unsatisfied", NORMAL)}
    assert reasons(tickets_for_score(ScoreFacts("unsatisfied", (), False, key_category=True))) == {
        ("unsatisfied", HIGH)}


def test_each_problem_code_files_its_own_ticket() -> None:
    got = reasons(tickets_for_score(ScoreFacts("basically_satisfied", ("no_feedback", "not_filed"), False)))
    assert got == {("problem:no_feedback", NORMAL), ("problem:not_filed", HIGH)}


def test_safety_is_urgent_whatever_the_label() -> None:
    for label in ("satisfied", "unknown", "unsatisfied"):
        got = reasons(tickets_for_score(ScoreFacts(label, ("safety",), True)))
        assert ("safety", URGENT) in got and not any(r.startswith("problem:safety") for r, _ in got)


def test_verification_answers_never_file_tickets() -> None:
    assert tickets_for_score(ScoreFacts("unsatisfied", ("slow",), False, verification=True)) == []


def test_task_end_tickets() -> None:
    assert ticket_for_task_end("unreachable", True, []).reason == "unreachable"
    assert ticket_for_task_end("unreachable", False, []) is None
    manual = ticket_for_task_end("manual", False, ["unsafe_to_call"])
    assert manual.reason == "manual_contact" and manual.severity == HIGH
    assert ticket_for_task_end("manual", False, ["invalid_phone"]).severity == NORMAL
    assert ticket_for_task_end("done", True, []) is None


def test_happy_path_is_allowed_for_the_owning_station() -> None:
    path = [states.OPEN, states.ASSIGNED, states.RECTIFYING, states.RESOLVED]
    for frm, to in zip(path, path[1:]):
        check_transition(frm, to, "station", True, "已整改")


def test_station_cannot_touch_another_stations_ticket() -> None:
    assert allowed_transitions(states.OPEN, "station", same_station=False) == []
    with pytest.raises(TransitionError):
        check_transition(states.OPEN, states.ASSIGNED, "station", False, "")


def test_only_supervising_roles_or_the_verification_call_close_a_ticket() -> None:
    for role in ROLES:
        ok = role in ("admin", "supervisor", "legal", "system")
        assert (states.VERIFIED in allowed_transitions(states.RESOLVED, role, True)) is ok


def test_api_role_can_do_nothing() -> None:
    for status in states.STATUSES:
        assert allowed_transitions(status, "api", True) == []


def test_every_undeclared_transition_is_refused() -> None:
    for frm, to in itertools.product(states.STATUSES, repeat=2):
        if (frm, to) in states.TRANSITIONS:
            continue
        with pytest.raises(TransitionError):
            check_transition(frm, to, "admin", True, "note")


def test_resolving_needs_a_note() -> None:
    with pytest.raises(TransitionError, match="note"):
        check_transition(states.RECTIFYING, states.RESOLVED, "station", True, "  ")
