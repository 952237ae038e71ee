"""decide() / decide_rounds(): retries inside a round, the end of round 1, and the second round."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callback_service.contracts import (
    D_ANSWERED_COMPLETE,
    D_BUSY,
    D_INVALID_NUMBER,
    D_NO_ANSWER,
    R_DO_NOT_CALL,
    R_DUE,
    R_INVALID_PHONE,
    R_KEY_CATEGORY,
    R_MAX_ATTEMPTS,
    R_NOT_DUE,
    R_OUTSIDE_CALLING_HOURS,
    R_REPEAT_REPORTER,
    R_RETRY,
    R_WINDOW_EXPIRED,
)
from callback_service.selection import (
    Action,
    Attempt,
    ReportFacts,
    RoundHistory,
    decide,
    decide_rounds,
    rules_from_mapping,
)
from callback_service.selection.codes import R_MASS_INVOLVEMENT, R_PORN_GAMBLING_DRUGS, R_REACHED

SH = ZoneInfo("Asia/Shanghai")
RULES = rules_from_mapping({})
PHONE = "+8613812345678"


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


RECEIVED = sh(2025, 3, 3, 10)  # round 1: due 4 March 10:00, expires 10 March 10:00


def report(**kw: object) -> ReportFacts:
    base = ReportFacts(report_no="R1", received_at=RECEIVED, channel="walk_in", phone_e164=PHONE, phone_valid=True)
    return replace(base, **kw)  # type: ignore[arg-type]


def round1(*attempts: tuple[datetime, str | None]) -> RoundHistory:
    return RoundHistory(1, tuple(Attempt(t, d) for t, d in attempts))


PGD = frozenset({"porn_gambling_drugs"})
EXHAUSTED = round1((sh(2025, 3, 4, 10), D_NO_ANSWER), (sh(2025, 3, 4, 14, 30), D_BUSY),
                   (sh(2025, 3, 5, 9), D_NO_ANSWER))


# --- retries ------------------------------------------------------------------------------------
def test_no_answer_defers_two_hours() -> None:
    h = [RoundHistory(1, (Attempt(sh(2025, 3, 4, 9), D_NO_ANSWER, sh(2025, 3, 4, 9, 1)),))]
    d = decide(report(), h, None, sh(2025, 3, 4, 9, 2), RULES)
    assert d.action is Action.DEFER and d.reasons == (R_RETRY, D_NO_ANSWER) and d.call_at == sh(2025, 3, 4, 11, 1)


def test_retry_that_falls_in_lunch_moves_to_the_afternoon() -> None:
    h = [round1((sh(2025, 3, 4, 11, 45), D_BUSY))]
    d = decide(report(), h, None, sh(2025, 3, 4, 11, 46), RULES)
    assert d.call_at == sh(2025, 3, 4, 14, 30) and d.reasons == (R_RETRY, D_BUSY, R_OUTSIDE_CALLING_HOURS)


def test_retry_that_is_due_is_called() -> None:
    h = [round1((sh(2025, 3, 4, 10), D_BUSY))]
    d = decide(report(), h, None, sh(2025, 3, 4, 10, 30), RULES)
    assert d.action is Action.CALL and d.reasons == (R_DUE, R_RETRY) and d.call_at == sh(2025, 3, 4, 10, 30)


def test_retry_after_expiry_ends_the_round() -> None:
    h = [round1((sh(2025, 3, 10, 9), D_NO_ANSWER))]
    d = decide(report(), h, None, sh(2025, 3, 10, 9, 1), RULES)
    assert d.action is Action.SKIP and d.reasons[:3] == (R_WINDOW_EXPIRED, R_RETRY, D_NO_ANSWER)


def test_out_of_attempts_without_key_category_is_unreachable_and_final() -> None:
    decisions = decide_rounds(report(), [EXHAUSTED], None, sh(2025, 3, 5, 9, 5), RULES)
    assert len(decisions) == 1
    assert decisions[0].action is Action.UNREACHABLE and decisions[0].reasons == (R_MAX_ATTEMPTS,)


def test_max_attempts_is_configurable() -> None:
    rules = rules_from_mapping({"retry": {"max_attempts": 4}})
    assert decide(report(), [EXHAUSTED], None, sh(2025, 3, 5, 11), rules).action is Action.CALL


# --- end of round 1 ----------------------------------------------------------------------------
def test_reached_round_without_second_round_is_done() -> None:
    d = decide_rounds(report(), [round1((sh(2025, 3, 4, 10), D_ANSWERED_COMPLETE))], None, sh(2025, 3, 4, 11), RULES)
    assert len(d) == 1 and d[0].action is Action.DONE and d[0].reasons == (R_REACHED,)


def test_key_category_out_of_attempts_files_manual_and_schedules_round_two() -> None:
    first, second = decide_rounds(report(tags=PGD), [EXHAUSTED], None, sh(2025, 3, 5, 9, 5), RULES)
    assert first.action is Action.MANUAL and first.reasons == (R_MAX_ATTEMPTS, R_PORN_GAMBLING_DRUGS, R_KEY_CATEGORY)
    assert second.round == 2 and second.action is Action.DEFER and second.reasons[0] == R_NOT_DUE
    assert second.due_at == sh(2025, 3, 12, 9) and second.call_at == sh(2025, 3, 12, 9)


def test_dead_number_needs_a_person_in_both_rounds() -> None:
    h = [round1((sh(2025, 3, 4, 10), D_INVALID_NUMBER))]
    first, second = decide_rounds(report(tags=PGD), h, None, sh(2025, 3, 4, 10, 1), RULES)
    assert (first.action, first.reasons[0]) == (Action.MANUAL, R_INVALID_PHONE)
    assert (second.action, second.reasons[0]) == (Action.MANUAL, R_INVALID_PHONE)


def test_round_one_that_expired_uncalled_dates_round_two_from_its_expiry() -> None:
    first, second = decide_rounds(report(tags=PGD), [], None, sh(2025, 3, 10, 10), RULES)
    assert first.action is Action.SKIP and first.reasons[0] == R_WINDOW_EXPIRED
    assert second.action is Action.DEFER and second.call_at == sh(2025, 3, 17, 10)


def test_do_not_call_skips_both_rounds() -> None:
    first, second = decide_rounds(report(tags=PGD, do_not_call=True), [], None, sh(2025, 3, 4, 10), RULES)
    assert first.reasons[0] == second.reasons[0] == R_DO_NOT_CALL and second.action is Action.SKIP


# --- round 2 -----------------------------------------------------------------------------------
REACHED_R1 = round1((sh(2025, 3, 4, 10), D_ANSWERED_COMPLETE))


@pytest.mark.parametrize("tag,survey", [
    ("domestic_violence", "second_domestic_violence"),
    ("minor", "second_minor"),
    ("porn_gambling_drugs", "second_porn_gambling_drugs"),
    ("mass_involvement", "second_mass_involvement"),
])
def test_key_category_gets_its_second_callback_seven_days_after_round_one(tag: str, survey: str) -> None:
    r = report(tags=frozenset({tag}))
    first, waiting = decide_rounds(r, [REACHED_R1], None, sh(2025, 3, 4, 11), RULES)
    assert first.action is Action.DONE and first.second_round
    assert waiting.action is Action.DEFER and waiting.call_at == sh(2025, 3, 11, 10)
    assert waiting.reasons[:2] == (R_NOT_DUE, tag) and R_KEY_CATEGORY in waiting.reasons
    d = decide(r, [REACHED_R1], None, sh(2025, 3, 11, 10), RULES)
    assert (d.round, d.action, d.survey, d.reasons[:2]) == (2, Action.CALL, survey, (R_DUE, tag))


def test_several_tags_pick_the_survey_by_key_tag_order_with_dv_first() -> None:
    both = report(tags=frozenset({"mass_involvement", "porn_gambling_drugs"}))
    assert decide(both, [REACHED_R1], None, sh(2025, 3, 11, 10), RULES).survey == "second_porn_gambling_drugs"
    dv = report(tags=frozenset({"mass_involvement", "domestic_violence"}))
    assert decide(dv, [REACHED_R1], None, sh(2025, 3, 11, 10), RULES).survey == "second_domestic_violence"
    d = decide(both, [REACHED_R1], None, sh(2025, 3, 11, 10), RULES)
    assert d.reasons == (R_DUE, R_PORN_GAMBLING_DRUGS, R_MASS_INVOLVEMENT, R_KEY_CATEGORY)


def test_repeat_reporter_gets_a_second_callback() -> None:
    r = report(repeat_count_30d=3)
    d = decide(r, [REACHED_R1], None, sh(2025, 3, 11, 10), RULES)
    assert (d.round, d.action, d.survey) == (2, Action.CALL, "second_repeat_reporter")
    assert d.reasons == (R_DUE, R_REPEAT_REPORTER) and d.second_round


def test_two_reports_are_not_a_repeat() -> None:
    d = decide_rounds(report(repeat_count_30d=2), [REACHED_R1], None, sh(2025, 3, 11, 10), RULES)
    assert len(d) == 1 and not d[0].second_round


def test_round_two_is_still_called_when_round_one_reached_only_on_the_third_attempt() -> None:
    h = [round1((sh(2025, 3, 4, 10), D_NO_ANSWER), (sh(2025, 3, 4, 14, 30), D_BUSY),
                (sh(2025, 3, 5, 9), D_ANSWERED_COMPLETE))]
    assert decide(report(tags=PGD), h, None, sh(2025, 3, 12, 9), RULES).action is Action.CALL


def test_round_two_has_its_own_attempts_and_expiry() -> None:
    r = report(tags=PGD)
    r2 = RoundHistory(2, (Attempt(sh(2025, 3, 11, 10), D_NO_ANSWER),))
    d = decide(r, [REACHED_R1, r2], None, sh(2025, 3, 11, 10, 5), RULES)
    assert d.round == 2 and d.action is Action.DEFER and d.call_at == sh(2025, 3, 11, 14, 30)
    assert decide(r, [REACHED_R1], None, sh(2025, 3, 18, 10), RULES).reasons[0] == R_WINDOW_EXPIRED
    done = RoundHistory(2, (Attempt(sh(2025, 3, 11, 10), D_ANSWERED_COMPLETE),))
    assert decide(r, [REACHED_R1, done], None, sh(2025, 3, 11, 11), RULES).action is Action.DONE
    exhausted = RoundHistory(2, tuple(Attempt(sh(2025, 3, 11 + i, 10), D_BUSY) for i in range(3)))
    assert decide(r, [REACHED_R1, exhausted], None, sh(2025, 3, 13, 11), RULES).action is Action.MANUAL


def test_round_two_timing_is_configurable() -> None:
    rules = rules_from_mapping({"round2": {"due_after_round1_days": 3}})
    d = decide(report(tags=PGD), [REACHED_R1], None, sh(2025, 3, 4, 11), rules)
    assert d.call_at == sh(2025, 3, 7, 10)


def test_asking_for_a_round_the_report_does_not_have_fails() -> None:
    with pytest.raises(ValueError, match="no round 2"):
        decide(report(), [], None, sh(2025, 3, 4, 10), RULES, round_no=2)
    with pytest.raises(ValueError, match="no round 3"):
        decide(report(tags=PGD), [], None, sh(2025, 3, 4, 10), RULES, round_no=3)


def test_duplicate_rounds_in_history_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate round 1"):
        decide(report(), [REACHED_R1, REACHED_R1], None, sh(2025, 3, 4, 10), RULES)


def test_decisions_are_deterministic() -> None:
    args = (report(tags=PGD), [EXHAUSTED], None, sh(2025, 3, 5, 9, 5), RULES)
    assert decide_rounds(*args) == decide_rounds(*args)
