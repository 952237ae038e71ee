"""Stable names shared across stages, the database, the CLI JSON, the UI and the dialplans.

Every string here is persisted or crosses a process boundary: never rename one without a migration.
The channel-variable and UserEvent names are also used by ``dialplans/extensions.conf``; that file
points back here.
"""

from __future__ import annotations

# --- report intake -------------------------------------------------------------------------------
CHANNELS = ("walk_in", "kiosk", "phone", "transfer")
TAGS = ("domestic_violence", "minor", "porn_gambling_drugs", "mass_involvement")
KEY_TAGS = frozenset(TAGS)

# --- selection reason codes ----------------------------------------------------------------------
R_NOT_DUE = "not_due"
R_WINDOW_EXPIRED = "window_expired"
R_DO_NOT_CALL = "do_not_call"
R_INVALID_PHONE = "invalid_phone"
R_UNSAFE_TO_CALL = "unsafe_to_call"
R_DOMESTIC_VIOLENCE = "domestic_violence"
R_MINOR = "minor"
R_GUARDIAN_PHONE = "guardian_phone"
R_NO_REACHABLE_PHONE = "no_reachable_phone"
R_REPEAT_REPORTER = "repeat_reporter"
R_KEY_CATEGORY = "key_category"
R_TRANSFER_NOT_ELIGIBLE = "transfer_not_eligible"
R_CHANNEL_NOT_ELIGIBLE = "channel_not_eligible"
R_OUTSIDE_CALLING_HOURS = "outside_calling_hours"
R_HOLIDAY = "holiday"
R_PHONE_DAILY_CAP = "phone_daily_cap"
R_MAX_ATTEMPTS = "max_attempts"
R_RETRY = "retry"
R_DUE = "due"

# --- call dispositions (AMI and SIP map onto the same set) ---------------------------------------
D_ANSWERED_COMPLETE = "answered_complete"
D_ANSWERED_PARTIAL = "answered_partial"
D_NO_ANSWER = "no_answer"
D_BUSY = "busy"
D_CONGESTION = "congestion"
D_FAILED = "failed"
D_MACHINE = "machine"
D_DECLINED_UNSAFE = "declined_unsafe"
D_INVALID_NUMBER = "invalid_number"
DISPOSITIONS = (
    D_ANSWERED_COMPLETE, D_ANSWERED_PARTIAL, D_NO_ANSWER, D_BUSY, D_CONGESTION,
    D_FAILED, D_MACHINE, D_DECLINED_UNSAFE, D_INVALID_NUMBER,
)
ANSWERED_DISPOSITIONS = frozenset({D_ANSWERED_COMPLETE, D_ANSWERED_PARTIAL, D_DECLINED_UNSAFE})

# --- satisfaction labels and problem codes ------------------------------------------------------
L_SATISFIED = "satisfied"
L_BASICALLY_SATISFIED = "basically_satisfied"
L_UNSATISFIED = "unsatisfied"
L_UNKNOWN = "unknown"
LABELS = (L_SATISFIED, L_BASICALLY_SATISFIED, L_UNSATISFIED, L_UNKNOWN)
LABEL_ZH = {
    L_SATISFIED: "满意", L_BASICALLY_SATISFIED: "基本满意", L_UNSATISFIED: "不满意", L_UNKNOWN: "未表态",
}

PROBLEM_CODES = ("no_receipt", "not_accepted", "not_filed", "attitude", "slow", "no_feedback", "safety")
PROBLEM_ZH = {
    "no_receipt": "未出具回执", "not_accepted": "应受不受", "not_filed": "应立不立", "attitude": "态度",
    "slow": "拖延", "no_feedback": "无反馈", "safety": "人身安全",
}

# --- roles --------------------------------------------------------------------------------------
ROLES = ("admin", "supervisor", "legal", "station", "api")

# --- Asterisk contract (see dialplans/extensions.conf) --------------------------------------------
CHANVAR_ATTEMPT_ID = "CALLBACK_ID"
CHANVAR_SURVEY = "CALLBACK_SURVEY"
CHANVAR_RECORDING_DIR = "CALLBACK_RECDIR"
USEREVENT_ANSWER = "SurveyAnswer"
USEREVENT_RECORDING = "SurveyRecording"
USEREVENT_END = "SurveyEnd"
# Relative to the recordings root; the dialplan builds the same path from the channel variables.
RECORDING_PATH_TEMPLATE = "{attempt_id}/{question_id}.wav"
CALL_RECORDING_NAME = "call.wav"
