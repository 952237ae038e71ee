"""The per-call state machine and disposition mapping, fed with recorded AMI events."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callback_service import contracts as c
from callback_service.surveys.model import Question, Survey
from callback_service.telephony.asterisk.correlate import Correlator, TrackedCall
from callback_service.telephony.asterisk.outcome import answered_disposition, failure_disposition
from callback_service.telephony.asterisk.protocol import FrameReader, Message
from callback_service.telephony.asterisk.recordings import RecordingMapper, RecordingPathError
from callback_service.telephony.dialer import AnswerResult

AMI = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
SPOOL = "/var/spool/asterisk/callback/"
Q1 = Question(id="q1", text="t", prompt="q1", kind="both",
              dtmf_map={"1": c.L_SATISFIED, "2": c.L_BASICALLY_SATISFIED, "3": c.L_UNSATISFIED})
ONE_QUESTION = Survey(id="test", title="t", questions=(Q1,))


def recorded_events(name: str = "survey-session.ami") -> list[Message]:
    data = re.sub(rb">>> SENT\r\n.*?\r\n\r\n", b"", (AMI / name).read_bytes(), flags=re.S)
    data = re.sub(rb">>> [A-Z]+[^\r]*\r\n", b"", data)
    return [m for m in FrameReader().feed(data) if m.event]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def tracked(attempt: int, tmp_path: Path, survey: Survey = ONE_QUESTION) -> TrackedCall:
    return TrackedCall(attempt, f"cb-{attempt}", f"cb-{attempt}-chan", survey, RecordingMapper(SPOOL, tmp_path))


def test_recorded_answered_call_settles_after_linger_with_answer_and_recording(tmp_path: Path) -> None:
    clock = Clock()
    correlator = Correlator(linger_s=2.0, clock=clock)
    call = tracked(1001, tmp_path)
    correlator.track(call)
    for msg in recorded_events():
        correlator.dispatch(msg)
    assert call.result is None  # the recorded dialplan had no hangup handler: wait for stragglers
    clock.now = 2.5
    correlator.tick()
    result = call.result
    assert result is not None and result.disposition == c.D_ANSWERED_COMPLETE
    assert result.answers == [AnswerResult("q1", dtmf="1", recording_path=tmp_path / "1001-q1.wav")]
    assert result.hangup_cause == "16" and result.call_recording == tmp_path / "1001" / c.CALL_RECORDING_NAME
    assert result.answered_at is not None and result.ended_at is not None


def test_a_result_is_recorded_once_and_later_events_are_ignored(tmp_path: Path) -> None:
    correlator = Correlator(linger_s=0.0)
    call = tracked(2301, tmp_path, Survey(id="s", title="t", questions=(Q1,)))
    correlator.track(call)
    events = [m for m in recorded_events("survey-outcomes.ami") if _for(m, 2301)]
    for msg in events:
        correlator.dispatch(msg)
    first = call.result
    assert first is not None and first.disposition == c.D_ANSWERED_COMPLETE
    for msg in events:
        correlator.dispatch(msg)
    correlator.tick()
    assert call.result is first


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_result(rnd: random.Random) -> None:
    """Channel events in any order, interleaved at random with the UserEvents, which one dialplan
    thread sends in sequence over one TCP stream and so always arrive in their own order."""
    events = [m for m in recorded_events("survey-outcomes.ami") if _for(m, 2304)]
    user = [m for m in events if m.event == "UserEvent"]
    other = [m for m in events if m.event != "UserEvent"]
    rnd.shuffle(other)
    slots = sorted(rnd.sample(range(len(events)), len(user)))
    events = list(other)
    for slot, msg in zip(slots, user, strict=True):
        events.insert(slot, msg)
    clock = Clock()
    correlator = Correlator(linger_s=1.0, clock=clock)
    call = tracked(2304, Path("/srv/rec"), Survey(id="s", title="t", questions=(
        Question(id="q1", text="t", prompt="p", kind="dtmf", dtmf_map={"1": "yes"}),
        Question(id="q2", text="t", prompt="p", kind="speech"))))
    correlator.track(call)
    for msg in events:
        correlator.dispatch(msg)
    clock.now = 5.0
    correlator.tick()
    assert call.result is not None and call.result.disposition == c.D_ANSWERED_PARTIAL
    assert [(a.question_id, a.dtmf, a.recording_path) for a in call.result.answers] == [
        ("q1", "1", None), ("q2", None, Path("/srv/rec/2304/q2.wav"))]


def _for(msg: Message, attempt: int) -> bool:
    ids = {f"cb-{attempt}", f"cb-{attempt}-chan", f"cb-{attempt}-chan;2"}
    return bool(ids & {msg.get("ActionID"), msg.get("Uniqueid"), msg.get("Linkedid")})


@pytest.mark.parametrize(("reason", "cause", "expected"), [
    (5, None, c.D_BUSY), (5, 17, c.D_BUSY), (3, None, c.D_NO_ANSWER), (1, 21, c.D_NO_ANSWER),
    (8, 34, c.D_CONGESTION), (8, 1, c.D_INVALID_NUMBER), (0, 28, c.D_INVALID_NUMBER), (0, 0, c.D_FAILED),
    (0, None, c.D_FAILED), (0, 17, c.D_BUSY), (0, 19, c.D_NO_ANSWER), (0, 38, c.D_CONGESTION),
])
def test_unanswered_calls_map_reason_and_cause(reason: int, cause: int | None, expected: str) -> None:
    assert failure_disposition(reason, cause) == expected


@pytest.mark.parametrize(("status", "amd", "expected"), [
    ("COMPLETE", "", c.D_ANSWERED_COMPLETE), ("DECLINED", "", c.D_DECLINED_UNSAFE),
    ("MACHINE", "MACHINE", c.D_MACHINE), ("HANGUP", "HUMAN", c.D_ANSWERED_PARTIAL),
    ("HANGUP", "MACHINE", c.D_MACHINE),
])
def test_survey_end_status_decides_answered_dispositions(status: str, amd: str, expected: str) -> None:
    assert answered_disposition(ONE_QUESTION, {}, {"Status": status, "AmdStatus": amd}) == expected


def test_without_survey_end_the_answers_are_walked_through_the_survey() -> None:
    safe = Question(id="safe_to_talk", text="t", prompt="p", kind="dtmf", dtmf_map={"1": "yes", "2": "no"},
                    branches={"1": "q1", "2": "goodbye", "*": "goodbye"})
    survey = Survey(id="dv", title="t", questions=(safe, Q1))
    walk = lambda **a: answered_disposition(survey, {k: AnswerResult(k, dtmf=v) for k, v in a.items()}, None)  # noqa: E731
    assert walk(safe_to_talk="2") == c.D_DECLINED_UNSAFE
    assert walk(safe_to_talk=None) == c.D_DECLINED_UNSAFE
    assert walk(safe_to_talk="1") == c.D_ANSWERED_PARTIAL
    assert walk(safe_to_talk="1", q1="3") == c.D_ANSWERED_COMPLETE
    assert walk() == c.D_ANSWERED_PARTIAL


@pytest.mark.parametrize("reported", [
    "/var/spool/asterisk/callback/../../../etc/passwd",
    "/var/spool/asterisk/callback/1/../../x.wav",
    "/var/spool/asterisk/callback-evil/1/q1.wav",
    "/etc/passwd",
    "var/spool/asterisk/callback/1/q1.wav",
    "/var/spool/asterisk/callback",
    "/var/spool/asterisk/callback/1/q1.wav\x00.txt",
    "/var/spool/asterisk/callback/1\\..\\q1.wav",
    "",
])
def test_recording_paths_outside_the_spool_are_refused(reported: str, tmp_path: Path) -> None:
    with pytest.raises(RecordingPathError):
        RecordingMapper(SPOOL, tmp_path).to_local(reported)


def test_recording_paths_inside_the_spool_are_rerooted(tmp_path: Path) -> None:
    mapper = RecordingMapper(SPOOL, tmp_path)
    assert mapper.to_local("/var/spool/asterisk/callback/1001/q1.wav") == tmp_path / "1001" / "q1.wav"
    assert mapper.to_local("/var/spool/asterisk//callback/./1001/q1.wav") == tmp_path / "1001" / "q1.wav"


def test_a_path_outside_the_spool_is_noted_not_recorded(tmp_path: Path) -> None:
    correlator = Correlator(linger_s=0.0)
    call = tracked(2307, tmp_path)
    correlator.track(call)
    for msg in recorded_events("survey-outcomes.ami"):
        if _for(msg, 2307):
            correlator.dispatch(msg)
    assert call.result is not None
    assert all(a.recording_path is None for a in call.result.answers)
    assert "recording path rejected" in call.result.detail
