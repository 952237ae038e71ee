"""Channel variables that drive the generic survey dialplan (``dialplans/extensions.conf``).

The whole survey travels in the Originate action, so the dialplan walks it without calling back into
Python. Encoding (the dialplan comment block mirrors this):

    CALLBACK_ID=<attempt id>          CALLBACK_SURVEY=<survey id>     CALLBACK_RECDIR=<spool dir>
    CALLBACK_AMD=0|1                  CALLBACK_QCOUNT=<n>             CALLBACK_GOODBYE=<prompt or empty>
    for question i = 1..n:
    CALLBACK_Q<i>_ID      question id (used in UserEvents and the recording file name)
    CALLBACK_Q<i>_KIND    dtmf | speech | both | say
    CALLBACK_Q<i>_PROMPT  sound name relative to the Asterisk sounds directory
    CALLBACK_Q<i>_DIGITS  Read() max digits       CALLBACK_Q<i>_WAIT     Read() timeout, seconds
    CALLBACK_Q<i>_TRIES   Read() attempts          CALLBACK_Q<i>_ANY      1: any digits are valid
    CALLBACK_Q<i>_RECMAX  Record() max seconds     CALLBACK_Q<i>_SILENCE  Record() silence seconds
    CALLBACK_Q<i>_GO_<key> target after digit key (key: the digits, with * spelled S)
    CALLBACK_Q<i>_NEXT    target when no valid digits came (or after speech/say)
    target: a question index, 0 (end: goodbye prompt, survey complete) or D (declined: the
    ``safe_to_talk`` question led to ``goodbye``, so the person said it is not safe to talk or did
    not answer; goodbye prompt without any case detail, then hang up). Other ``goodbye`` branches
    (e.g. "not the reporter") end the survey normally, as in the simulated dialer.

Asterisk splits an Originate ``Variable`` header on commas and honours quotes, brackets, parentheses
and backslashes while doing so; the dialplan also compares values inside ``$[...]`` expressions and
passes them to UserEvent bodies. So every value must come from a small character set, and anything
else raises ``UnsafeValueError``: a value is never truncated or escaped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from callback_service.contracts import CHANVAR_ATTEMPT_ID, CHANVAR_RECORDING_DIR, CHANVAR_SURVEY
from callback_service.surveys.model import Question, Survey
from callback_service.surveys.schema import Q_SAFE_TO_TALK
from callback_service.telephony.asterisk.protocol import UnsafeValueError

# Local shared names (dialplan side: dialplans/extensions.conf); candidates for contracts.py.
CHANVAR_AMD = "CALLBACK_AMD"
CHANVAR_QCOUNT = "CALLBACK_QCOUNT"
CHANVAR_GOODBYE = "CALLBACK_GOODBYE"
QUESTION_VAR_PREFIX = "CALLBACK_Q"
TARGET_END = "0"
TARGET_DECLINE = "D"
KINDS = ("dtmf", "speech", "both", "say")
MAX_QUESTIONS = 30

_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_VALUE_RE = re.compile(r"[A-Za-z0-9_.:/+@-]*\Z")
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,48}\Z")
_SEPARATORS = {",": "comma", ";": "semicolon", "|": "pipe"}
# Header room left for Variable lines: Asterisk splits one header into at most 64 variables.
_VARS_PER_HEADER = 32
_HEADER_BUDGET = 900


def check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise UnsafeValueError(f"channel variable name {name!r} is not upper-case A-Z, 0-9, _")
    return name


def check_value(name: str, value: str) -> str:
    """Return ``value`` if the dialplan can carry it unchanged, else raise UnsafeValueError."""
    for ch in value:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise UnsafeValueError(f"channel variable {name}: control character {ch!r} in value")
        if ch in _SEPARATORS:
            raise UnsafeValueError(f"channel variable {name}: {_SEPARATORS[ch]} in value")
    if not _VALUE_RE.match(value):
        odd = sorted({ch for ch in value if not _VALUE_RE.match(ch)})
        raise UnsafeValueError(f"channel variable {name}: characters {''.join(odd)!r} not allowed")
    return value


def check_id(what: str, value: str) -> str:
    if not _ID_RE.match(value):
        raise UnsafeValueError(f"{what} {value!r} must be 1-48 of A-Z a-z 0-9 _ -")
    return value


def check_sound(what: str, value: str) -> str:
    check_value(what, value)
    if not value or value.startswith("/") or ".." in value.split("/"):
        raise UnsafeValueError(f"{what} {value!r} must be a relative sound name without '..'")
    return value


def qvar(index: int, suffix: str) -> str:
    return f"{QUESTION_VAR_PREFIX}{index}_{suffix}"


def digit_key(digits: str) -> str:
    return digits.replace("*", "S")


def survey_variables(
    attempt_id: int, survey: Survey, *, recording_dir: str, prompt_dir: str = "", amd: bool = False
) -> list[tuple[str, str]]:
    """All channel variables for one call, checked. Raises UnsafeValueError on any bad input."""
    if not 0 < len(survey.questions) <= MAX_QUESTIONS:
        raise UnsafeValueError(f"survey {survey.id}: needs 1-{MAX_QUESTIONS} questions")
    if not recording_dir.startswith("/") or ".." in recording_dir.split("/"):
        raise UnsafeValueError(f"recording dir {recording_dir!r} must be absolute, without '..'")
    goodbye = _prompt(prompt_dir, survey.goodbye.prompt) if survey.goodbye else ""
    out = [
        (CHANVAR_ATTEMPT_ID, str(int(attempt_id))),
        (CHANVAR_SURVEY, check_id("survey id", survey.id)),
        (CHANVAR_RECORDING_DIR, recording_dir.rstrip("/")),
        (CHANVAR_AMD, "1" if amd else "0"),
        (CHANVAR_QCOUNT, str(len(survey.questions))),
        (CHANVAR_GOODBYE, goodbye),
    ]
    index = {q.id: i for i, q in enumerate(survey.questions, start=1)}
    for i, question in enumerate(survey.questions, start=1):
        out += _question_variables(i, question, index, prompt_dir)
    return [(check_name(name), check_value(name, value)) for name, value in out]


def _question_variables(
    i: int, q: Question, index: dict[str, int], prompt_dir: str
) -> list[tuple[str, str]]:
    if q.kind not in KINDS:
        raise UnsafeValueError(f"question {q.id}: unknown kind {q.kind!r}")
    if not 1 <= q.max_digits <= 20:
        raise UnsafeValueError(f"question {q.id}: max_digits must be 1-20")
    out = [
        (qvar(i, "ID"), check_id("question id", q.id)),
        (qvar(i, "KIND"), q.kind),
        (qvar(i, "PROMPT"), _prompt(prompt_dir, q.prompt)),
        (qvar(i, "DIGITS"), str(q.max_digits)),
        (qvar(i, "WAIT"), f"{max(q.dtmf_timeout_s, 0.5):g}"),
        (qvar(i, "TRIES"), str(min(max(q.retries, 0), 4) + 1)),
        (qvar(i, "RECMAX"), str(max(1, math.ceil(q.record_max_s)))),
        (qvar(i, "SILENCE"), str(max(1, math.ceil(q.record_silence_s)))),
        (qvar(i, "NEXT"), _target(q, [], index, i)),
        (qvar(i, "ANY"), "0" if q.dtmf_map else "1"),
    ]
    for digits, value in q.dtmf_map.items():
        if not re.fullmatch(r"[0-9*]{1,20}", digits):
            raise UnsafeValueError(f"question {q.id}: DTMF key {digits!r} (Read() ends input on #)")
        out.append((qvar(i, f"GO_{digit_key(digits)}"), _target(q, [digits, value], index, i)))
    return out


def _target(q: Question, keys: list[str], index: dict[str, int], i: int) -> str:
    raw = next((q.branches[k] for k in keys if k in q.branches), q.branches.get("*"))
    if raw == "goodbye" and q.id == Q_SAFE_TO_TALK:
        return TARGET_DECLINE
    if raw in ("end", "goodbye"):
        return TARGET_END
    if raw:
        if raw not in index:
            raise UnsafeValueError(f"question {q.id}: branch to unknown question {raw!r}")
        return str(index[raw])
    return str(i + 1) if i < len(index) else TARGET_END


def _prompt(prompt_dir: str, prompt: str) -> str:
    name = f"{prompt_dir.strip('/')}/{prompt}" if prompt_dir else prompt
    return check_sound("prompt", name)


def pack_variables(variables: Iterable[tuple[str, str]]) -> list[str]:
    """Group NAME=value pairs into comma-joined ``Variable`` header values.

    Asterisk keeps only 128 header lines per action, so one line per variable would silently lose
    the tail of a long survey; it splits each header on commas (which values never contain).
    """
    headers: list[str] = []
    current: list[str] = []
    for name, value in variables:
        item = f"{check_name(name)}={check_value(name, value)}"
        size = sum(len(x) + 1 for x in current) + len(item)
        if current and (len(current) >= _VARS_PER_HEADER or size > _HEADER_BUDGET):
            headers.append(",".join(current))
            current = []
        current.append(item)
    if current:
        headers.append(",".join(current))
    return headers
