"""Real SIP calls over loopback: Kamailio + simulated citizens (pyVoIP) + the SipDialer.

Nothing is faked: prompts are rendered with espeak-ng, keys travel as in-band tones or RFC 2833
packets, the answer is a real recorded voice clip that crosses RTP as G.711, and the recording is
transcribed with the bundled faster-whisper base model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from callback_service import contracts as c
from callback_service.surveys.model import Question, Survey
from callback_service.surveys.prompts import render_prompts
from callback_service.surveys.schema import SATISFACTION_MAP, YES_NO_MAP
from callback_service.telephony.dialer import CallRequest, CallResult
from callback_service.telephony.sip.audio import duration_s, read_wav
from callback_service.telephony.sip.citizen import CitizenBehaviour, Step
from callback_service.telephony.sip.dialer import SipDialer
from callback_service.telephony.sip.loopback import LoopbackNetwork, start_loopback_network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ANSWERS = Path(__file__).resolve().parents[1] / "fixtures" / "answers"
CLIP = "sat_01.wav"
PROMPTS = {
    "satisfaction": "满意请按1，基本满意请按2，不满意请按3。",
    "comment": "请在提示音后说出您的意见。",
    "safe_to_talk": "方便通话请按1，不方便请按2。",
    "goodbye": "感谢您的配合，再见。",
}
SATISFACTION_BOTH = Question("satisfaction", PROMPTS["satisfaction"], "satisfaction", "both",
                             dict(SATISFACTION_MAP), dtmf_timeout_s=8.0, record_silence_s=2.0)
SATISFACTION_KEY = Question("satisfaction", PROMPTS["satisfaction"], "satisfaction", "dtmf",
                            dict(SATISFACTION_MAP), dtmf_timeout_s=8.0)
COMMENT = Question("comment", PROMPTS["comment"], "comment", "speech", record_max_s=10.0, record_silence_s=2.0)
SAFE_TO_TALK = Question("safe_to_talk", PROMPTS["safe_to_talk"], "safe_to_talk", "dtmf", dict(YES_NO_MAP),
                        dtmf_timeout_s=8.0, branches={"2": "end", "*": "end"})
GOODBYE = Question("goodbye", PROMPTS["goodbye"], "goodbye", "say")
RING_TIMEOUT_S = 4.0


def survey(*questions: Question) -> Survey:
    return Survey("sip_test", "SIP loopback test", tuple(questions), goodbye=GOODBYE)


def answering(*steps: Step, dtmf_mode: str = "inband") -> CitizenBehaviour:
    return CitizenBehaviour("answer", steps=tuple(steps), dtmf_mode=dtmf_mode, max_call_s=60.0)


SCENARIOS = {
    "happy": answering(Step("dtmf", "1"), Step("speak", str(ANSWERS / CLIP))),
    "rfc2833": answering(Step("dtmf", "2"), dtmf_mode="rfc2833"),
    "busy": CitizenBehaviour("busy"),
    "silent": CitizenBehaviour("no_answer"),
    "hangs_up": answering(Step("dtmf", "1"), Step("hangup")),
    "unsafe": answering(Step("dtmf", "2")),
    "busy_b": CitizenBehaviour("busy"),
    "quick_b": answering(Step("dtmf", "3")),
}


@dataclass
class Placed:
    result: CallResult
    seconds: float


@pytest.fixture(scope="module")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prompts")
    (root / "recorded").mkdir()
    render_prompts(PROMPTS, root / "audio", root / "recorded")
    return root / "audio"


@pytest.fixture(scope="module")
def network() -> Iterator[LoopbackNetwork]:
    with start_loopback_network(SCENARIOS) as net:
        yield net


@pytest.fixture(scope="module")
def dialer(network: LoopbackNetwork, prompts_dir: Path) -> Iterator[SipDialer]:
    sip = SipDialer(network.dialer_settings(prompts_dir))
    sip.start()
    yield sip
    sip.close()


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings")


_attempts = iter(range(1000, 2000))


def place(dialer: SipDialer, number: str, s: Survey, recordings: Path, timeout_s: float = 20.0) -> Placed:
    started = time.monotonic()
    result = dialer.call(CallRequest(next(_attempts), number, s, recordings, timeout_s=timeout_s))
    return Placed(result, time.monotonic() - started)


@pytest.fixture(scope="module")
def happy_call(dialer: SipDialer, network: LoopbackNetwork, recordings: Path) -> Placed:
    placed = place(dialer, network.number("happy"), survey(SATISFACTION_BOTH), recordings)
    assert network.citizen("happy").wait_for_calls(1, timeout_s=10)
    return placed


def test_answered_call_collects_the_key_and_records_the_spoken_answer(
        happy_call: Placed, network: LoopbackNetwork) -> None:
    result = happy_call.result
    assert result.disposition == c.D_ANSWERED_COMPLETE, result
    [answer] = result.answers
    assert answer.question_id == "satisfaction" and answer.dtmf == "1"
    assert answer.recording_path == happy_call_path(result, "satisfaction")
    clip_s = duration_s(read_wav(ANSWERS / CLIP))
    assert answer.duration_s is not None and abs(answer.duration_s - clip_s) < 1.0
    assert result.call_recording is not None and result.call_recording.name == c.CALL_RECORDING_NAME
    assert duration_s(read_wav(result.call_recording)) > clip_s
    assert result.answered_at and result.started_at and result.ended_at
    setup_s = (result.answered_at - result.started_at).total_seconds()
    assert setup_s < 5.0
    log = network.citizen("happy").calls[0]
    assert log.actions == ["dtmf:1", f"speak:{CLIP}"] and log.ended_by == "remote_bye"
    assert log.prompts_heard == 3          # the question, the recording beep and the goodbye
    print(json.dumps({"sip_call_setup_s": round(setup_s, 3), "call_s": round(happy_call.seconds, 2)}))


def happy_call_path(result: CallResult, question_id: str) -> Path:
    assert result.call_recording is not None
    return result.call_recording.parent / f"{question_id}.wav"


def test_recorded_answer_transcribes_like_the_source_clip(happy_call: Placed,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    from callback_service.transcription.metrics import cer

    recorded = happy_call.result.answers[0].recording_path
    assert recorded is not None
    model = _whisper(tmp_path_factory.mktemp("models") / "whisper-base")
    source_text, recorded_text = _transcribe(model, ANSWERS / CLIP), _transcribe(model, recorded)
    reference = _manifest_text(CLIP)
    figures = {"reference": reference, "source_transcript": source_text, "recorded_transcript": recorded_text,
               "cer_recorded_vs_source": round(cer(source_text, recorded_text), 3),
               "cer_recorded_vs_reference": round(cer(reference, recorded_text), 3),
               "cer_source_vs_reference": round(cer(reference, source_text), 3)}
    print(json.dumps(figures, ensure_ascii=False))
    assert figures["cer_recorded_vs_source"] <= 0.2
    assert figures["cer_recorded_vs_reference"] <= 0.3


def test_rfc2833_key_press_is_collected(dialer: SipDialer, network: LoopbackNetwork, recordings: Path) -> None:
    placed = place(dialer, network.number("rfc2833"), survey(SATISFACTION_KEY), recordings)
    assert placed.result.disposition == c.D_ANSWERED_COMPLETE, placed.result
    assert [(a.question_id, a.dtmf) for a in placed.result.answers] == [("satisfaction", "2")]


def test_busy_citizen_maps_to_busy(dialer: SipDialer, network: LoopbackNetwork, recordings: Path) -> None:
    placed = place(dialer, network.number("busy"), survey(SATISFACTION_KEY), recordings)
    assert placed.result.disposition == c.D_BUSY
    assert placed.result.hangup_cause == "486 Busy Here" and placed.result.answered_at is None
    assert network.citizen("busy").wait_for_calls(1, timeout_s=5)
    assert network.citizen("busy").calls[0].rejected


def test_unanswered_call_is_cancelled_as_no_answer_within_the_ring_timeout(
        dialer: SipDialer, network: LoopbackNetwork, recordings: Path) -> None:
    placed = place(dialer, network.number("silent"), survey(SATISFACTION_KEY), recordings,
                   timeout_s=RING_TIMEOUT_S)
    assert placed.result.disposition == c.D_NO_ANSWER
    assert RING_TIMEOUT_S <= placed.seconds < RING_TIMEOUT_S + 3.0
    assert network.citizen("silent").wait_for_calls(1, timeout_s=5)
    assert network.citizen("silent").calls[0].ended_by == "remote_cancel"


def test_unregistered_number_maps_to_invalid_number(dialer: SipDialer, network: LoopbackNetwork,
                                                    recordings: Path) -> None:
    placed = place(dialer, network.unregistered_number, survey(SATISFACTION_KEY), recordings)
    assert placed.result.disposition == c.D_INVALID_NUMBER
    assert placed.result.hangup_cause == "404 Not Found" and placed.seconds < 3.0


def test_far_end_hang_up_mid_survey_is_partial(dialer: SipDialer, network: LoopbackNetwork,
                                               recordings: Path) -> None:
    placed = place(dialer, network.number("hangs_up"), survey(SATISFACTION_KEY, COMMENT), recordings)
    result = placed.result
    assert result.disposition == c.D_ANSWERED_PARTIAL, result
    assert result.hangup_cause == "remote_bye"
    assert result.answers[0].dtmf == "1"
    assert all(a.recording_path is None for a in result.answers)


def test_not_safe_to_talk_ends_the_call_as_declined(dialer: SipDialer, network: LoopbackNetwork,
                                                    recordings: Path) -> None:
    placed = place(dialer, network.number("unsafe"), survey(SAFE_TO_TALK, SATISFACTION_KEY), recordings)
    assert placed.result.disposition == c.D_DECLINED_UNSAFE
    assert [(a.question_id, a.dtmf) for a in placed.result.answers] == [("safe_to_talk", "2")]
    assert network.citizen("unsafe").wait_for_calls(1, timeout_s=5)
    assert network.citizen("unsafe").calls[0].prompts_heard == 1    # no goodbye, nothing about the case


def test_two_calls_at_once_keep_their_own_outcomes(dialer: SipDialer, network: LoopbackNetwork,
                                                   recordings: Path) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        busy = pool.submit(place, dialer, network.number("busy_b"), survey(SATISFACTION_KEY), recordings)
        quick = pool.submit(place, dialer, network.number("quick_b"), survey(SATISFACTION_KEY), recordings)
        results = busy.result(timeout=60).result, quick.result(timeout=60).result
    assert results[0].disposition == c.D_BUSY
    assert results[1].disposition == c.D_ANSWERED_COMPLETE and results[1].answers[0].dtmf == "3"


def _manifest_text(name: str) -> str:
    manifest = yaml.safe_load((ANSWERS / "manifest.yaml").read_text(encoding="utf-8"))
    return next(clip["text"] for clip in manifest["clips"] if clip["file"] == name)


def _whisper(cache: Path):  # type: ignore[no-untyped-def]
    from faster_whisper import WhisperModel

    from callback_service.transcription.model import ensure_bundled_model

    path = ensure_bundled_model(cache).path
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)


def _transcribe(model, path: Path) -> str:  # type: ignore[no-untyped-def]
    segments, _ = model.transcribe(str(path), language="zh", beam_size=5, vad_filter=False)
    return "".join(s.text for s in segments)
