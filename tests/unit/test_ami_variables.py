"""Channel-variable encoding of surveys for the generic dialplan, and its refusal of unsafe values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from callback_service.surveys.loader import load_all
from callback_service.surveys.model import Question, Survey
from callback_service.telephony.asterisk.protocol import UnsafeValueError, encode_action
from callback_service.telephony.asterisk.variables import (
    TARGET_DECLINE,
    TARGET_END,
    check_value,
    pack_variables,
    survey_variables,
)

REPO = Path(__file__).resolve().parents[2]
SPOOL = "/var/spool/asterisk/callback"


def encode(survey: Survey, **kw: object) -> dict[str, str]:
    return dict(survey_variables(42, survey, recording_dir=SPOOL, prompt_dir="callback", **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def templates() -> dict[str, Survey]:
    return load_all(REPO / "survey_templates")


def test_every_shipped_template_fits_one_originate(templates: dict[str, Survey]) -> None:
    for survey in templates.values():
        packed = pack_variables(survey_variables(7, survey, recording_dir=SPOOL, prompt_dir="callback"))
        headers = [("ActionID", "cb-7"), ("Channel", "PJSIP/13900000001@carrier"), ("Context", "c"),
                   ("Exten", "s"), ("Priority", "1"), ("Timeout", "30000"), ("CallerID", "0356110"),
                   ("Async", "true"), *(("Variable", p) for p in packed), ("ChannelId", "cb-7-chan")]
        assert encode_action("Originate", headers)  # raises if a line or the header count is too big


def test_domestic_violence_unsafe_or_silent_answer_declines(templates: dict[str, Survey]) -> None:
    survey = templates["domestic_violence"]
    v = encode(survey)
    i = next(i for i, q in enumerate(survey.questions, 1) if q.id == "safe_to_talk")
    identity = next(i for i, q in enumerate(survey.questions, 1) if q.id == "identity")
    assert v[f"CALLBACK_Q{i}_GO_1"] == str(identity)
    assert v[f"CALLBACK_Q{i}_GO_2"] == TARGET_DECLINE
    assert v[f"CALLBACK_Q{i}_NEXT"] == TARGET_DECLINE
    # "not the person" elsewhere ends the survey normally, as in the simulated dialer
    assert v[f"CALLBACK_Q{identity}_GO_2"] == TARGET_END
    assert v["CALLBACK_GOODBYE"] == "callback/dv_goodbye"


def test_question_fields_are_encoded_for_read_and_record(templates: dict[str, Survey]) -> None:
    survey = templates["first_callback"]
    v = encode(survey, amd=True)
    assert v["CALLBACK_ID"] == "42" and v["CALLBACK_SURVEY"] == "first_callback"
    assert v["CALLBACK_RECDIR"] == SPOOL and v["CALLBACK_AMD"] == "1"
    assert v["CALLBACK_QCOUNT"] == str(len(survey.questions))
    comment = len(survey.questions)
    assert v[f"CALLBACK_Q{comment}_KIND"] == "speech"
    assert v[f"CALLBACK_Q{comment}_RECMAX"] == "60" and v[f"CALLBACK_Q{comment}_SILENCE"] == "3"
    assert v[f"CALLBACK_Q{comment}_NEXT"] == TARGET_END
    satisfaction = comment - 1
    assert v[f"CALLBACK_Q{satisfaction}_TRIES"] == "3"
    assert {v[f"CALLBACK_Q{satisfaction}_GO_{d}"] for d in "123"} == {str(comment)}


def test_star_key_is_spelled_s_and_hash_key_is_refused() -> None:
    q = Question(id="q1", text="t", prompt="p", kind="dtmf", dtmf_map={"*": "repeat", "1": "yes"},
                 branches={"*": "end"})
    v = encode(Survey(id="s", title="t", questions=(q,)))
    assert "CALLBACK_Q1_GO_S" in v
    with pytest.raises(UnsafeValueError, match="#"):
        encode(Survey(id="s", title="t", questions=(dataclasses.replace(q, dtmf_map={"#": "x"}),)))


def test_free_digit_questions_accept_any_digits() -> None:
    q = Question(id="rating", text="t", prompt="p", kind="dtmf", max_digits=2)
    v = encode(Survey(id="s", title="t", questions=(q,)))
    assert v["CALLBACK_Q1_ANY"] == "1" and v["CALLBACK_Q1_DIGITS"] == "2"


def test_branch_to_an_unknown_question_is_refused() -> None:
    q = Question(id="q1", text="t", prompt="p", kind="dtmf", dtmf_map={"1": "y"}, branches={"1": "nowhere"})
    with pytest.raises(UnsafeValueError, match="unknown question"):
        encode(Survey(id="s", title="t", questions=(q,)))


BAD = ["a\r\nAction: Originate", "a\nb", "a\rb", "a,CALLBACK_ID=1", "a;b", "a|b", "a\x00", "a\tb",
       'a"b', "a(b", "a)b", "a[b", "a\\b", "${SHELL(rm)}", "a b", "a&b", "回访"]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("where", ["question id", "prompt", "survey id"])
def test_unsafe_text_anywhere_in_a_survey_raises_and_is_never_truncated(where: str, bad: str) -> None:
    q = Question(id="q1", text="t", prompt="p", kind="dtmf", dtmf_map={"1": "y"})
    if where == "question id":
        q = dataclasses.replace(q, id=bad)
    elif where == "prompt":
        q = dataclasses.replace(q, prompt=bad)
    survey = Survey(id=bad if where == "survey id" else "s", title="t", questions=(q,))
    with pytest.raises(UnsafeValueError):
        encode(survey)


@pytest.mark.parametrize("bad", BAD)
def test_check_value_refuses_separators_and_controls(bad: str) -> None:
    with pytest.raises(UnsafeValueError):
        check_value("X", bad)


@pytest.mark.parametrize("prompt", ["../../etc/passwd", "/etc/passwd", "a/../../b"])
def test_prompt_cannot_leave_the_sounds_directory(prompt: str) -> None:
    q = Question(id="q1", text="t", prompt=prompt, kind="say")
    with pytest.raises(UnsafeValueError, match="relative sound name"):
        survey_variables(1, Survey(id="s", title="t", questions=(q,)), recording_dir=SPOOL)


def test_recording_dir_must_be_absolute_without_dot_dot() -> None:
    q = Question(id="q1", text="t", prompt="p", kind="say")
    for bad in ("relative/dir", "/var/spool/../../etc"):
        with pytest.raises(UnsafeValueError):
            survey_variables(1, Survey(id="s", title="t", questions=(q,)), recording_dir=bad)


def test_pack_variables_groups_pairs_within_asterisk_limits() -> None:
    pairs = [(f"CALLBACK_Q{i}_PROMPT", "callback/" + "p" * 40) for i in range(1, 80)]
    packed = pack_variables(pairs)
    assert len(packed) > 1
    assert all(len(p) <= 900 and p.count(",") < 32 for p in packed)
    unpacked = [tuple(item.split("=", 1)) for p in packed for item in p.split(",")]
    assert unpacked == pairs


def test_pack_variables_rechecks_every_pair() -> None:
    with pytest.raises(UnsafeValueError):
        pack_variables([("CALLBACK_ID", "1,CALLBACK_SURVEY=x")])
    with pytest.raises(UnsafeValueError, match="name"):
        pack_variables([("callback id", "1")])
