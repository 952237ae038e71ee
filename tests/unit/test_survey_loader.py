"""Survey templates: the repo's templates load, broken ones fail naming file and field, branches behave."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callback_service.contracts import L_BASICALLY_SATISFIED, L_SATISFIED, L_UNSATISFIED
from callback_service.selection.codes import SURVEY_IDS
from callback_service.surveys.errors import SurveyTemplateError
from callback_service.surveys.loader import load_all, load_survey, prompt_texts
from callback_service.surveys.model import Survey

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "survey_templates"
CORPUS = Path(__file__).resolve().parent / "survey_corpus"
BROKEN = sorted(p for p in CORPUS.glob("*.yaml") if not p.name.startswith("_"))
SAFETY_FIRST = ("domestic_violence", "second_domestic_violence")
# Words that would tell a bystander what the call is about.
CASE_WORDS = ("家庭暴力", "家暴", "施暴", "殴打", "报案", "报警", "案件", "受案", "伤")

MINIMAL = """\
id: {id}
title: 测试问卷
questions:
  - {{id: intro, kind: say, prompt: {prompt}, text: "您好，这里是{{bureau_name}}，本次通话将全程录音。"}}
  - id: q1
    kind: dtmf
    text: 满意请按1，不满意请按2。
    dtmf_map: {{1: yes, 2: no}}
    branches: {{no: end}}
  - {{id: q2, kind: speech, text: 请说出您的意见。}}
goodbye: {{text: 感谢您的接听，再见。}}
"""


@pytest.fixture(scope="module")
def surveys() -> dict[str, Survey]:
    return load_all(TEMPLATES)


def _write(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def tmp_templates(tmp_path: Path) -> Path:
    (tmp_path / "_common.yaml").write_text("bureau_name: 测试市公安局测试分局\n", encoding="utf-8")
    return tmp_path


# --- the repo's templates ------------------------------------------------------------------------


def test_repo_templates_are_exactly_the_surveys_selection_can_choose(surveys: dict[str, Survey]) -> None:
    assert set(surveys) == set(SURVEY_IDS)


def test_every_template_opens_with_bureau_name_and_recording_notice(surveys: dict[str, Survey]) -> None:
    for survey in surveys.values():
        opening = survey.questions[0].text
        assert opening.startswith("您好，这里是XX市公安局XX分局"), survey.id
        assert "录音" in opening, survey.id


def test_satisfaction_and_comment_follow_the_shared_contract(surveys: dict[str, Survey]) -> None:
    expected = {"1": L_SATISFIED, "2": L_BASICALLY_SATISFIED, "3": L_UNSATISFIED}
    for survey in surveys.values():
        assert survey.question("satisfaction").dtmf_map == expected, survey.id
        assert survey.question("comment").kind == "speech", survey.id
        assert survey.goodbye is not None, survey.id


def test_every_template_confirms_identity_and_ends_when_it_is_not_the_person(
    surveys: dict[str, Survey],
) -> None:
    for survey in surveys.values():
        identity = survey.question("identity")
        assert survey.next_question_id(identity, "2") is None, survey.id
        assert survey.next_question_id(identity, None) is None, survey.id
        assert survey.next_question_id(identity, "1") is not None, survey.id


@pytest.mark.parametrize("survey_id", SAFETY_FIRST)
def test_dv_survey_asks_safe_to_talk_first_and_ends_on_no_or_silence(
    surveys: dict[str, Survey], survey_id: str
) -> None:
    survey = surveys[survey_id]
    asked = [q for q in survey.questions if q.kind != "say"]
    safe = asked[0]
    assert safe.id == "safe_to_talk" and safe.dtmf_map == {"1": "yes", "2": "no"}
    for answer in ("2", "no", None, "9"):
        assert survey.next_question_id(safe, answer) is None, answer
    assert survey.next_question_id(safe, "1") == "identity"


@pytest.mark.parametrize("survey_id", SAFETY_FIRST)
def test_dv_survey_says_nothing_about_the_case_before_safe_and_identity_are_confirmed(
    surveys: dict[str, Survey], survey_id: str
) -> None:
    survey = surveys[survey_id]
    ids = [q.id for q in survey.questions]
    before_details = list(survey.questions[: ids.index("identity") + 1])
    assert survey.goodbye is not None
    for q in [*before_details, survey.goodbye]:
        leaked = [w for w in CASE_WORDS if w in q.text]
        assert not leaked, f"{q.id} says {leaked}"


def test_dv_safety_branch_skips_advice_only_when_safe(surveys: dict[str, Survey]) -> None:
    survey = surveys["domestic_violence"]
    safety = survey.question("safety")
    assert survey.next_question_id(safety, "1") == "receipt"
    assert survey.next_question_id(safety, "safe") == "receipt"
    assert survey.next_question_id(safety, "2") == "safety_advice"
    assert survey.next_question_id(safety, None) == "safety_advice"


def test_shared_prompt_names_carry_one_text(surveys: dict[str, Survey]) -> None:
    texts = prompt_texts(surveys, TEMPLATES)
    assert texts["common_satisfaction"].endswith("满意请按1，基本满意请按2，不满意请按3。")
    assert "XX市公安局XX分局" in texts["short_intro"]
    assert all(name.replace("_", "").isalnum() and name.islower() for name in texts)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_answer_sequence_walks_forward_to_the_end(
    surveys: dict[str, Survey], data: st.DataObject
) -> None:
    survey = surveys[data.draw(st.sampled_from(sorted(surveys)))]
    question = survey.questions[0]
    for _ in range(len(survey.questions)):
        answer = data.draw(st.sampled_from([None, "*", "9", *question.dtmf_map, *question.dtmf_map.values()]))
        nxt = survey.next_question_id(question, answer)
        if nxt is None:
            return
        assert [q.id for q in survey.questions].index(nxt) > survey.questions.index(question)
        question = survey.question(nxt)
    pytest.fail(f"{survey.id}: walk did not end after {len(survey.questions)} steps")


# --- the broken-template corpus -------------------------------------------------------------------


def _expectation(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} has no '# expect:' line"
    return first.removeprefix("# expect: ")


def test_corpus_is_not_empty() -> None:
    assert len(BROKEN) >= 40


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_template_fails_naming_file_and_field(path: Path) -> None:
    with pytest.raises(SurveyTemplateError) as err:
        load_survey(path)
    assert str(err.value).startswith(f"{path.name}: {_expectation(path)}")
    assert err.value.file == path


def test_load_all_reports_the_first_broken_file(tmp_templates: Path) -> None:
    _write(tmp_templates, "aaa", MINIMAL.format(id="aaa", prompt="intro_a"))
    shutil.copy(CORPUS / "dtmf_key_two_digits.yaml", tmp_templates)
    with pytest.raises(SurveyTemplateError, match=r"^dtmf_key_two_digits\.yaml: questions\[1\]\.dtmf_map: "):
        load_all(tmp_templates)


def test_non_utf8_template_is_rejected_naming_file(tmp_templates: Path) -> None:
    (tmp_templates / "latin.yaml").write_bytes("id: latin\ntitle: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SurveyTemplateError, match=r"^latin\.yaml: is not UTF-8 text"):
        load_survey(tmp_templates / "latin.yaml")


# --- loader behaviour -----------------------------------------------------------------------------


def test_unquoted_digits_and_yes_no_keep_their_text(tmp_templates: Path) -> None:
    survey = load_survey(_write(tmp_templates, "plain", MINIMAL.format(id="plain", prompt="intro")))
    q1 = survey.question("q1")
    assert q1.dtmf_map == {"1": "yes", "2": "no"}
    assert survey.next_question_id(q1, "2") is None  # branch given by value, reached by digit
    assert survey.next_question_id(q1, "1") == "q2"  # no branch: next in order


def test_default_prompt_name_is_survey_and_question_id(tmp_templates: Path) -> None:
    survey = load_survey(_write(tmp_templates, "plain", MINIMAL.format(id="plain", prompt="intro")))
    assert survey.question("q2").prompt == "plain_q2"
    assert survey.goodbye is not None and survey.goodbye.prompt == "plain_goodbye"


def test_bureau_name_precedence_override_then_file_then_common(tmp_templates: Path) -> None:
    body = MINIMAL.format(id="named", prompt="intro")
    path = _write(tmp_templates, "named", body)
    assert "测试市公安局测试分局" in load_survey(path).questions[0].text
    _write(tmp_templates, "named", "bureau_name: 甲市公安局乙分局\n" + body)
    assert "甲市公安局乙分局" in load_survey(path).questions[0].text
    assert "丙市公安局" in load_survey(path, bureau_name="丙市公安局").questions[0].text


def test_missing_bureau_name_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "nameless", MINIMAL.format(id="nameless", prompt="intro"))
    with pytest.raises(SurveyTemplateError, match=r"^nameless\.yaml: bureau_name: is not set"):
        load_survey(path)


def test_common_file_rejects_unknown_fields(tmp_templates: Path) -> None:
    (tmp_templates / "_common.yaml").write_text("bureau_nmae: 测试分局\n", encoding="utf-8")
    _write(tmp_templates, "plain", MINIMAL.format(id="plain", prompt="intro"))
    with pytest.raises(SurveyTemplateError, match=r"^_common\.yaml: bureau_nmae: unknown field"):
        load_all(tmp_templates)


def test_shared_prompt_name_with_different_text_names_second_file(tmp_templates: Path) -> None:
    _write(tmp_templates, "aaa", MINIMAL.format(id="aaa", prompt="shared_intro"))
    _write(tmp_templates, "bbb", MINIMAL.format(id="bbb", prompt="shared_intro").replace("您好", "你好"))
    with pytest.raises(
        SurveyTemplateError,
        match=r"^bbb\.yaml: questions\[0\]\.prompt: prompt 'shared_intro' "
        r"is also used by aaa\.yaml questions\[0\]",
    ):
        load_all(tmp_templates)


def test_shared_prompt_name_with_same_text_is_allowed(tmp_templates: Path) -> None:
    _write(tmp_templates, "aaa", MINIMAL.format(id="aaa", prompt="shared_intro"))
    _write(tmp_templates, "bbb", MINIMAL.format(id="bbb", prompt="shared_intro"))
    texts = prompt_texts(load_all(tmp_templates), tmp_templates)
    assert sorted(texts) == [
        "aaa_goodbye",
        "aaa_q1",
        "aaa_q2",
        "bbb_goodbye",
        "bbb_q1",
        "bbb_q2",
        "shared_intro",
    ]


def test_dv_template_without_safe_to_talk_is_rejected(tmp_templates: Path) -> None:
    path = _write(tmp_templates, "domestic_violence", MINIMAL.format(id="domestic_violence", prompt="intro"))
    with pytest.raises(SurveyTemplateError, match=r"^domestic_violence\.yaml: questions: .*safe_to_talk"):
        load_survey(path)


def test_empty_or_missing_template_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SurveyTemplateError, match="no survey templates"):
        load_all(tmp_path)
    with pytest.raises(SurveyTemplateError, match="directory not found"):
        load_all(tmp_path / "absent")
