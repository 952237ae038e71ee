"""The SIP demo network with the FULL real survey templates and the committed prompts: the steps
derived for each scripted citizen line up with the questions the dialer asks, so the keys on record
are the ones in the script. Three real calls at once (about two and a half minutes), after a busy one.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from callback_service import contracts as c
from callback_service.demo.citizens import Script
from callback_service.demo.run import CORPUS
from callback_service.demo.sip_network import start_sip_network
from callback_service.surveys.loader import load_all
from callback_service.surveys.model import Survey
from callback_service.telephony.dialer import CallRequest, CallResult
from callback_service.telephony.sip.dialer import SipDialer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = [   # numbered 13900000001... in this order, like the demo's sample
    Script("+8613900000001", ("answer",), {"*": "1", "receipt": "2", "attitude": "3", "satisfaction": "3"},
           CORPUS / "unsat_02.wav", survey="first_callback"),
    Script("+8613900000002", ("answer",), {"*": "1", "safety": "2", "satisfaction": "2"},
           CORPUS / "basic_01.wav", survey="domestic_violence"),
    Script("+8613900000003", ("busy", "answer"), {"*": "1", "privacy": "3", "satisfaction": "1"},
           CORPUS / "sat_01.wav", survey="guardian"),
]
EXPECTED_KEYS = {   # question -> key, in the order the dialer asks
    "first_callback": [("identity", "1"), ("receipt", "2"), ("attitude", "3"), ("satisfaction", "3")],
    "domestic_violence": [("safe_to_talk", "1"), ("identity", "1"), ("safety", "2"), ("receipt", "1"),
                          ("protection_informed", "1"), ("satisfaction", "2")],
    "guardian": [("identity", "1"), ("notified", "1"), ("guardian_present", "1"), ("privacy", "3"),
                 ("satisfaction", "1")],
}


@pytest.fixture(scope="module")
def surveys() -> dict[str, Survey]:
    return load_all(REPO / "survey_templates")


@pytest.fixture(scope="module")
def dialer(surveys: dict[str, Survey]) -> Iterator[SipDialer]:
    with ExitStack() as stack:
        yield start_sip_network(SCRIPTS, stack, surveys=surveys, prompts_dir=REPO / "scripts_voice" / "audio")


def _call(dialer: SipDialer, script: Script, attempt_id: int, survey: Survey, recordings: Path) -> CallResult:
    return dialer.call(CallRequest(attempt_id, script.phone_e164, survey, recordings, timeout_s=10.0))


def test_full_templates_record_the_scripted_keys_and_answer(dialer: SipDialer, surveys: dict[str, Survey],
                                                           tmp_path: Path) -> None:
    busy = _call(dialer, SCRIPTS[2], 100, surveys["guardian"], tmp_path)
    assert busy.disposition == c.D_BUSY             # the guardian is busy first, then answers
    with ThreadPoolExecutor(max_workers=len(SCRIPTS)) as pool:
        futures = [pool.submit(_call, dialer, s, i, surveys[s.survey], tmp_path) for i, s in enumerate(SCRIPTS, 1)]
        results = [f.result(timeout=300) for f in futures]
    for script, result in zip(SCRIPTS, results):
        assert result.disposition == c.D_ANSWERED_COMPLETE, (script.survey, result)
        keys = [(a.question_id, a.dtmf) for a in result.answers if a.question_id != "comment"]
        assert keys == EXPECTED_KEYS[script.survey], script.survey
        [comment] = [a for a in result.answers if a.question_id == "comment"]
        assert comment.recording_path is not None and comment.recording_path.exists(), script.survey
