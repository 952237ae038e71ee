"""Names the selection rules emit that are not (yet) in ``callback_service.contracts``.

Everything here is persisted in task rows and CLI JSON like the contract names; the lead moves these
into ``contracts.py`` and this module then re-exports them from there.
"""

from __future__ import annotations

from callback_service.contracts import (
    D_ANSWERED_COMPLETE,
    D_ANSWERED_PARTIAL,
    D_INVALID_NUMBER,
    DISPOSITIONS,
)

# --- reason codes added by the selection rules -------------------------------------------------
R_REACHED = "reached"  # the round's survey was answered; nothing left to do
R_PHONE_IN_CALL = "phone_in_call"  # another call to the same number is still in flight
R_WEEKEND = "weekend"  # only with call_on_weekends: false
R_PORN_GAMBLING_DRUGS = "porn_gambling_drugs"
R_MASS_INVOLVEMENT = "mass_involvement"
# Report tags double as reason codes of the same spelling (two of them are in contracts already).

# --- how a disposition moves a round -----------------------------------------------------------
# declined_unsafe is answered (contracts.ANSWERED_DISPOSITIONS) but the person could not talk safely,
# so it does not count as reached: it is retried like an unanswered call.
REACHED_DISPOSITIONS = frozenset({D_ANSWERED_COMPLETE, D_ANSWERED_PARTIAL})
ROUND_ENDING_DISPOSITIONS = frozenset({D_INVALID_NUMBER})
RETRYABLE_DISPOSITIONS = tuple(
    d for d in DISPOSITIONS if d not in REACHED_DISPOSITIONS | ROUND_ENDING_DISPOSITIONS
)

# --- survey ids (the survey_templates/*.yaml files carry the same ids: never rename) -----------
S_FIRST_CALLBACK = "first_callback"
S_DOMESTIC_VIOLENCE = "domestic_violence"
S_GUARDIAN = "guardian"
S_VERIFICATION = "verification"
S_SECOND_REPEAT_REPORTER = "second_repeat_reporter"
SECOND_ROUND_SURVEYS = {
    "domestic_violence": "second_domestic_violence",
    "minor": "second_minor",
    "porn_gambling_drugs": "second_porn_gambling_drugs",
    "mass_involvement": "second_mass_involvement",
}
SURVEY_IDS = (
    S_FIRST_CALLBACK, *SECOND_ROUND_SURVEYS.values(), S_SECOND_REPEAT_REPORTER,
    S_DOMESTIC_VIOLENCE, S_GUARDIAN, S_VERIFICATION,
)
