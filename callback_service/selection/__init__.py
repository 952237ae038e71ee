"""Selection rules: which report is called, when, on which number, with which survey, and why not.

Everything here is pure (inputs + ``now`` -> decision); the planner in ``scheduling`` does the I/O.
"""

from callback_service.selection.calendar import (
    CalendarError,
    DayKind,
    day_kind,
    in_window,
    is_calling_day,
    is_statutory_holiday,
    next_callable_at,
    next_day_open,
    next_window_open,
)
from callback_service.selection.categories import (
    category_reasons,
    dial_target,
    is_repeat,
    priority_key,
    priority_tier,
    repeat_count,
    second_round_required,
    survey_for,
)
from callback_service.selection.model import (
    TERMINAL_ACTIONS,
    Action,
    Attempt,
    Decision,
    DialTo,
    PhoneCall,
    PhoneDay,
    ReportFacts,
    RoundHistory,
)
from callback_service.selection.pacing import next_start_at, starts_allowed
from callback_service.selection.retry import RoundProgress, next_retry_at, retry_delay, round_progress
from callback_service.selection.rules import RoundSpan, decide, decide_rounds, round_span
from callback_service.selection.ruleset import Pacing, Rules, RulesError, load_rules, rules_from_mapping

__all__ = [
    "TERMINAL_ACTIONS", "Action", "Attempt", "CalendarError", "DayKind", "Decision", "DialTo", "Pacing",
    "PhoneCall", "PhoneDay", "ReportFacts", "RoundHistory", "RoundProgress", "RoundSpan", "Rules",
    "RulesError", "category_reasons", "day_kind", "decide", "decide_rounds", "dial_target", "in_window",
    "is_calling_day", "is_repeat", "is_statutory_holiday", "load_rules", "next_callable_at",
    "next_day_open", "next_retry_at", "next_start_at", "next_window_open", "priority_key",
    "priority_tier", "repeat_count", "retry_delay", "round_progress", "round_span", "rules_from_mapping",
    "second_round_required", "starts_allowed", "survey_for",
]
