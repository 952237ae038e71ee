"""The survey template schema: turns one parsed YAML mapping into a validated ``Survey``.

Every check raises ``SurveyTemplateError`` with the field path (``questions[2].dtmf_map``), so a
template author sees exactly what to fix. Cross-file checks (prompt names shared between templates)
live in ``surveys.loader``.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

import opencc

from callback_service.contracts import L_BASICALLY_SATISFIED, L_SATISFIED, L_UNSATISFIED
from callback_service.surveys.errors import SurveyTemplateError
from callback_service.surveys.model import Question, Survey

# Question ids with a meaning outside the template: scoring reads `satisfaction` and `comment`, the
# dialers map `safe_to_talk` == "no" to contracts.D_DECLINED_UNSAFE. Candidates for contracts.py.
Q_IDENTITY = "identity"
Q_SAFE_TO_TALK = "safe_to_talk"
Q_SATISFACTION = "satisfaction"
Q_COMMENT = "comment"
SATISFACTION_MAP = {"1": L_SATISFIED, "2": L_BASICALLY_SATISFIED, "3": L_UNSATISFIED}
YES_NO_MAP = {"1": "yes", "2": "no"}
# Surveys that must confirm it is safe to talk before anything about the case is said.
SAFETY_FIRST_SURVEYS = frozenset({"domestic_violence", "second_domestic_violence"})

KINDS = ("dtmf", "speech", "both", "say")
END_TARGETS = ("end", "goodbye")
DTMF_KEYS = frozenset("0123456789*#")
ID_RE = re.compile(r"[a-z][a-z0-9_]{0,47}\Z")
PROMPT_RE = re.compile(r"[a-z0-9_]{1,64}\Z")
VALUE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = "{bureau_name}"
MAX_TEXT_CHARS = 300
RECORDING_NOTICE = "录音"

SURVEY_KEYS = frozenset({"id", "title", "bureau_name", "questions", "goodbye"})
QUESTION_KEYS = frozenset(f.name for f in fields(Question))
GOODBYE_KEYS = frozenset({"text", "prompt", "kind"})
# field -> (type, minimum, maximum); defaults come from the Question dataclass.
NUMBER_FIELDS: dict[str, tuple[type, float, float]] = {
    "max_digits": (int, 1, 20),
    "dtmf_timeout_s": (float, 1.0, 60.0),
    "retries": (int, 0, 5),
    "record_max_s": (float, 1.0, 300.0),
    "record_silence_s": (float, 0.5, 30.0),
}

_T2S = opencc.OpenCC("t2s")


class _Checker:
    """Carries the file name so every failure can name it."""

    def __init__(self, file: Path, bureau_name: str) -> None:
        self.file = file
        self.bureau_name = bureau_name

    def fail(self, path: str, message: str) -> NoReturn:
        raise SurveyTemplateError(self.file, path, message)

    def mapping(self, raw: Any, path: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.fail(path, f"must be a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            self.fail(f"{path}.{unknown[0]}" if path else unknown[0], "unknown field")
        return raw

    def ident(self, raw: Any, path: str, pattern: re.Pattern[str] = ID_RE) -> str:
        if not isinstance(raw, str) or not pattern.match(raw):
            self.fail(path, f"{raw!r} must match {pattern.pattern[:-2]}")
        return raw

    def text(self, raw: Any, path: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            self.fail(path, "Simplified Chinese text is required")
        # Chinese has no word spaces: joining folded YAML lines must not insert any.
        text = "".join(raw.replace(PLACEHOLDER, self.bureau_name).split())
        if "{" in text or "}" in text:
            self.fail(path, f"unknown placeholder; only {PLACEHOLDER} is allowed")
        if not CJK_RE.search(text):
            self.fail(path, "must contain Simplified Chinese text")
        if len(text) > MAX_TEXT_CHARS:
            self.fail(path, f"text is {len(text)} characters, more than {MAX_TEXT_CHARS}")
        traditional = sorted({a for a, b in zip(text, _T2S.convert(text)) if a != b})
        if traditional:
            self.fail(path, f"contains Traditional characters: {''.join(traditional)}")
        return text

    def number(self, raw: Any, path: str, name: str) -> float:
        kind, low, high = NUMBER_FIELDS[name]
        ok_types = (int,) if kind is int else (int, float)
        if isinstance(raw, bool) or not isinstance(raw, ok_types):
            self.fail(path, f"must be {'an integer' if kind is int else 'a number'}, got {raw!r}")
        if not low <= raw <= high:
            self.fail(path, f"{raw} is outside {low}..{high}")
        return kind(raw)


def build_survey(data: Any, file: Path, bureau_name: str) -> Survey:
    """Validate one template's parsed YAML into a Survey; ``bureau_name`` fills ``{bureau_name}``."""
    c = _Checker(file, bureau_name)
    data = c.mapping(data, "", SURVEY_KEYS)
    for key in ("id", "title", "questions"):
        if key not in data:
            c.fail(key, "is required")
    survey_id = c.ident(data["id"], "id")
    if survey_id != file.stem:
        c.fail("id", f"{survey_id!r} must equal the file name {file.stem!r}")
    raw_questions = data["questions"]
    if not isinstance(raw_questions, list) or not raw_questions:
        c.fail("questions", "must be a non-empty list")
    questions = tuple(_question(c, raw, f"questions[{i}]", survey_id) for i, raw in enumerate(raw_questions))
    goodbye = _goodbye(c, data["goodbye"], survey_id) if "goodbye" in data else None
    survey = Survey(id=survey_id, title=c.text(data["title"], "title"), questions=questions, goodbye=goodbye)
    _check_flow(c, survey)
    return survey


def _question(c: _Checker, raw: Any, path: str, survey_id: str) -> Question:
    raw = c.mapping(raw, path, QUESTION_KEYS)
    for key in ("id", "text", "kind"):
        if key not in raw:
            c.fail(f"{path}.{key}", "is required")
    qid = c.ident(raw["id"], f"{path}.id")
    if qid in END_TARGETS:
        c.fail(f"{path}.id", f"{qid!r} is reserved for branch targets")
    kind = raw["kind"]
    if kind not in KINDS:
        c.fail(f"{path}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    dtmf_map = _dtmf_map(c, raw.get("dtmf_map", {}), f"{path}.dtmf_map", kind)
    numbers = {n: c.number(raw[n], f"{path}.{n}", n) for n in NUMBER_FIELDS if n in raw}
    silence = numbers.get("record_silence_s", Question.record_silence_s)
    if silence >= numbers.get("record_max_s", Question.record_max_s):
        c.fail(f"{path}.record_silence_s", "must be shorter than record_max_s")
    return Question(
        id=qid,
        text=c.text(raw["text"], f"{path}.text"),
        prompt=c.ident(raw.get("prompt", f"{survey_id}_{qid}"), f"{path}.prompt", PROMPT_RE),
        kind=kind,
        dtmf_map=dtmf_map,
        branches=_branches(c, raw.get("branches", {}), f"{path}.branches", dtmf_map),
        **numbers,  # type: ignore[arg-type]
    )


def _dtmf_map(c: _Checker, raw: Any, path: str, kind: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        c.fail(path, "must be a mapping of digit -> answer value")
    if kind in ("dtmf", "both") and not raw:
        c.fail(path, f"is required for kind {kind!r}")
    if kind in ("speech", "say") and raw:
        c.fail(path, f"must be empty for kind {kind!r}")
    for key, value in raw.items():
        if key not in DTMF_KEYS:
            c.fail(path, f"key {key!r} is not a single digit (0-9, *, #)")
        c.ident(value, f"{path}.{key}", VALUE_RE)
    return {str(k): str(v) for k, v in raw.items()}


def _branches(c: _Checker, raw: Any, path: str, dtmf_map: dict[str, str]) -> dict[str, str]:
    """Validate keys, then key every target by both digit and answer value, so dialers may pass either."""
    if not isinstance(raw, dict):
        c.fail(path, "must be a mapping of digit or answer value -> question id")
    values = set(dtmf_map.values())
    out: dict[str, str] = {}
    for key, target in raw.items():
        if key != "*" and key not in dtmf_map and key not in values:
            c.fail(path, f"key {key!r} is not a digit or answer value of this question, nor '*'")
        out[key] = c.ident(target, f"{path}.{key}")
    for digit, value in dtmf_map.items():
        targets = {out[k] for k in (digit, value) if k in out}
        if len(targets) > 1:
            c.fail(path, f"digit {digit!r} and its value {value!r} branch to different targets")
        if targets:
            out[digit] = out[value] = targets.pop()
    return out


def _goodbye(c: _Checker, raw: Any, survey_id: str) -> Question:
    raw = c.mapping(raw, "goodbye", GOODBYE_KEYS)
    if raw.get("kind", "say") != "say":
        c.fail("goodbye.kind", "the goodbye is an announcement; kind must be 'say'")
    if "text" not in raw:
        c.fail("goodbye.text", "is required")
    prompt = c.ident(raw.get("prompt", f"{survey_id}_goodbye"), "goodbye.prompt", PROMPT_RE)
    return Question(id="goodbye", text=c.text(raw["text"], "goodbye.text"), prompt=prompt, kind="say")


def _check_flow(c: _Checker, survey: Survey) -> None:
    ids = [q.id for q in survey.questions]
    for i, q in enumerate(survey.questions):
        if q.id in ids[:i]:
            c.fail(f"questions[{i}].id", f"duplicate question id {q.id!r}")
    for i, q in enumerate(survey.questions):
        for key, target in q.branches.items():
            _check_target(c, survey, f"questions[{i}].branches.{key}", target, ids[i + 1 :])
    _check_opening(c, survey)
    _check_reserved(c, survey)


def _check_target(c: _Checker, survey: Survey, path: str, target: str, later_ids: list[str]) -> None:
    if target == "goodbye" and survey.goodbye is None:
        c.fail(path, "branches to 'goodbye' but the survey has no goodbye")
    if target in END_TARGETS or target in later_ids:
        return
    if target in [q.id for q in survey.questions]:
        c.fail(path, f"target {target!r} is not after this question (branches only go forward)")
    c.fail(path, f"target {target!r} is not a question id, 'end' or 'goodbye'")


def _check_opening(c: _Checker, survey: Survey) -> None:
    first = survey.questions[0].text
    if c.bureau_name not in first:
        c.fail("questions[0].text", f"the opening must name the bureau ({c.bureau_name})")
    if RECORDING_NOTICE not in first:
        c.fail("questions[0].text", f"the opening must say that the call is recorded ({RECORDING_NOTICE})")


def _check_reserved(c: _Checker, survey: Survey) -> None:
    for i, q in enumerate(survey.questions):
        path = f"questions[{i}]"
        if q.id == Q_SATISFACTION and q.dtmf_map != SATISFACTION_MAP:
            c.fail(f"{path}.dtmf_map", f"satisfaction must map exactly {SATISFACTION_MAP}")
        if q.id == Q_COMMENT and q.kind not in ("speech", "both"):
            c.fail(f"{path}.kind", "comment must be recorded: kind 'speech' or 'both'")
        if q.id in (Q_IDENTITY, Q_SAFE_TO_TALK):
            _check_yes_no_gate(c, q, path)
    _check_safety_first(c, survey)


def _check_yes_no_gate(c: _Checker, q: Question, path: str) -> None:
    if q.kind != "dtmf" or q.dtmf_map != YES_NO_MAP:
        c.fail(f"{path}.dtmf_map", f"{q.id} must be kind 'dtmf' with dtmf_map {YES_NO_MAP}")
    if q.branches.get("2") not in END_TARGETS:
        c.fail(f"{path}.branches", f"{q.id}: answer '2' (no) must branch to 'goodbye' or 'end'")
    # '*' is the branch for every unlisted answer, so a '*' that ends would swallow 'yes' as well.
    if q.branches.get("1", q.branches.get("*")) in END_TARGETS:
        c.fail(f"{path}.branches", f"{q.id}: answer '1' (yes) must continue; give it its own branch")


def _check_safety_first(c: _Checker, survey: Survey) -> None:
    ids = [q.id for q in survey.questions]
    if Q_SAFE_TO_TALK not in ids:
        if survey.id in SAFETY_FIRST_SURVEYS:
            c.fail("questions", f"{survey.id} must ask {Q_SAFE_TO_TALK!r} before anything else")
        return
    at = ids.index(Q_SAFE_TO_TALK)
    for i, q in enumerate(survey.questions[:at]):
        if q.kind != "say":
            c.fail(f"questions[{i}]", f"only announcements may come before {Q_SAFE_TO_TALK!r}")
    if survey.questions[at].branches.get("*") not in END_TARGETS:
        c.fail(f"questions[{at}].branches", "safe_to_talk: no answer ('*') must branch to 'goodbye' or 'end'")
