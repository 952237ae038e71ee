"""How the SIP demo turns a scripted citizen into steps through the real survey templates, and how
the sample numbers its phones like the citizen pool."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from callback_service.demo.citizens import Script, scripts_for
from callback_service.demo.run import CORPUS
from callback_service.demo.sample import sample_reports
from callback_service.demo.sip_network import SipNetworkError, behaviour_for, steps_for
from callback_service.surveys.loader import load_all
from callback_service.surveys.model import Survey
from callback_service.telephony.sip.citizen import Step, citizen_numbers

REPO = Path(__file__).resolve().parents[2]
CLIP = CORPUS / "sat_01.wav"


@pytest.fixture(scope="module")
def surveys() -> dict[str, Survey]:
    return load_all(REPO / "survey_templates")


def script(survey: str = "first_callback", **digits: str) -> Script:
    return Script("+8613900000001", ("answer",), {"*": "1", **digits}, CLIP, survey=survey)


def actions(steps: tuple[Step, ...]) -> list[str]:
    return [f"{s.action}:{Path(s.value).name if s.action == 'speak' else s.value}" for s in steps]


def test_first_callback_has_one_step_per_question_the_dialer_waits_for(surveys: dict[str, Survey]) -> None:
    # intro (say) plays straight into identity, and comment into its beep: each pair is one prompt
    steps = steps_for(surveys["first_callback"], script(satisfaction="3", receipt="2"))
    assert actions(steps) == ["dtmf:1", "dtmf:2", "dtmf:1", "dtmf:3", "speak:sat_01.wav"]


def test_no_key_stays_silent_through_every_repetition_of_the_prompt(surveys: dict[str, Survey]) -> None:
    retries = surveys["first_callback"].question("satisfaction").retries
    steps = steps_for(surveys["first_callback"], script(satisfaction=""))
    assert actions(steps)[3:] == ["silence:0.1"] * (retries + 1) + ["speak:sat_01.wav"]


def test_not_the_person_ends_after_identity(surveys: dict[str, Survey]) -> None:
    assert actions(steps_for(surveys["first_callback"], script(identity="2"))) == ["dtmf:2"]


def test_domestic_violence_asks_safe_to_talk_first_and_stops_when_unsafe(surveys: dict[str, Survey]) -> None:
    dv = surveys["domestic_violence"]
    assert actions(steps_for(dv, script("domestic_violence", safe_to_talk="2"))) == ["dtmf:2"]
    safe = actions(steps_for(dv, script("domestic_violence", safety="1")))
    unsafe = actions(steps_for(dv, script("domestic_violence", safety="2")))
    # safe_to_talk, identity, safety, receipt, protection_informed, satisfaction; the context and the
    # safety advice are announcements that run into the next question
    assert safe == ["dtmf:1"] * 6 + ["speak:sat_01.wav"]
    assert unsafe == ["dtmf:1"] * 2 + ["dtmf:2"] + ["dtmf:1"] * 3 + ["speak:sat_01.wav"]


def test_guardian_survey_steps(surveys: dict[str, Survey]) -> None:
    steps = steps_for(surveys["guardian"], script("guardian", satisfaction="2"))
    assert actions(steps) == ["dtmf:1"] * 4 + ["dtmf:2", "speak:sat_01.wav"]


def test_busy_then_answer_becomes_later_modes(surveys: dict[str, Survey]) -> None:
    b = behaviour_for(Script("+8613900000001", ("busy", "answer"), {"*": "1"}, CLIP), surveys)
    assert (b.mode, b.later_modes, b.mode_for(0), b.mode_for(1), b.mode_for(5)) == (
        "busy", ("answer",), "busy", "answer", "answer")
    assert b.steps


def test_a_script_for_an_unknown_survey_is_refused(surveys: dict[str, Survey]) -> None:
    with pytest.raises(SipNetworkError):
        behaviour_for(script("no_such_survey"), surveys)


@pytest.mark.parametrize("count", [12, 36])
def test_sample_phones_follow_the_citizen_pool_numbering(count: int) -> None:
    rows = sample_reports(datetime(2026, 11, 25, 9, 0), count=count)
    scripts = scripts_for(rows, CORPUS)
    assert [s.phone_e164 for s in scripts] == ["+86" + n for n in citizen_numbers(len(scripts))]
    minors = [r for r in rows if r["tags"] == "minor"]
    assert len(scripts) == count + len(minors)
    assert {s.survey for s in scripts} == {"first_callback", "domestic_violence", "guardian"}
