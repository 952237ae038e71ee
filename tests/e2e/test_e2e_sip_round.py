"""One callback round end to end over real SIP: intake, plan and claim, calls over loopback (Kamailio
and pyVoIP citizens) placed by the SipDialer through the in-process runner, recordings, faster-whisper
transcripts, scores, tickets and retries, on SQLite.

Four citizens: one presses 1 and says a satisfied answer, one presses 3 and complains that nobody told
them the result (``no_feedback``), one is busy, one never answers. The survey is a short version of
the real first callback (``tests/fixtures/surveys_e2e``), its prompts rendered with espeak-ng here.

The pipeline's clock starts at a fixed instant inside the morning calling window and moves with real
time, so durations on the rows (call set-up included) are real and retries land at exact offsets.
"""

from __future__ import annotations

import json
import shutil
import time
import wave
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from callback_service import contracts as c
from callback_service.app import App, build_app
from callback_service.config import load_settings
from callback_service.db.models import (
    Answer,
    CallAttempt,
    CallbackTask,
    Recording,
    Report,
    Score,
    Ticket,
    Transcript,
)
from callback_service.intake.service import import_rows
from callback_service.pipeline.inprocess import InProcessRunner, RoundSummary
from callback_service.pipeline.scheduler import StepReport, schedule_step
from callback_service.selection.calendar import in_window
from callback_service.surveys.prompts import render_templates
from callback_service.telephony.sip.audio import duration_s, read_wav
from callback_service.telephony.sip.citizen import CitizenBehaviour, Step
from callback_service.telephony.sip.dialer import SipDialer
from callback_service.telephony.sip.loopback import LoopbackNetwork, start_loopback_network
from callback_service.transcription.metrics import cer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
ANSWERS = TESTS / "fixtures" / "answers"
SURVEYS = TESTS / "fixtures" / "surveys_e2e"
TZ = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)   # a Tuesday: round 1 is due the next morning
START = datetime(2026, 11, 25, 9, 30, tzinfo=TZ)     # busy +30 min and no answer +2 h stay in the window
RING_TIMEOUT_S = 6.0
STAGE_TIMEOUT_S = 240.0
SATISFIED_CLIP, COMPLAINT_CLIP = "sat_01.wav", "unsat_06.wav"
MAX_CER_VS_TEXT = 0.25        # Whisper base on the recorded answer vs the manifest text (measured: 0.0-0.07)
MAX_CER_VS_SOURCE = 0.2       # recorded answer vs the source clip, both through Whisper (measured: 0.0)


def answering(key: str, clip: str) -> CitizenBehaviour:
    # The opening and the satisfaction question are played back to back, and so are the comment
    # question and its beep: the citizen hears each pair as one prompt, so two steps cover the survey.
    return CitizenBehaviour("answer", steps=(Step("dtmf", key), Step("speak", str(ANSWERS / clip))),
                            prompt_silence_s=1.0, max_call_s=90.0)


CITIZENS = {   # the pool numbers them 13900000001... in this order
    "satisfied": answering("1", SATISFIED_CLIP),
    "complains": answering("3", COMPLAINT_CLIP),
    "busy": CitizenBehaviour("busy"),
    "no_answer": CitizenBehaviour("no_answer", max_call_s=60.0),
}


class RunningClock:
    """A fixed start instant that advances with real elapsed time."""

    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


@dataclass
class Round:
    app: App
    network: LoopbackNetwork
    planned: StepReport
    pipeline: RoundSummary
    dial_s: float

    def attempt(self, scenario: str) -> CallAttempt:
        with self.app.sessions() as s:
            return s.scalars(select(CallAttempt).join(CallbackTask).join(Report)
                             .where(Report.report_no == report_no(scenario))).one()


def report_no(scenario: str) -> str:
    return f"E2E-{scenario.upper()}"


def _manifest() -> dict[str, dict[str, object]]:
    data = yaml.safe_load((ANSWERS / "manifest.yaml").read_text(encoding="utf-8"))
    return {clip["file"]: clip for clip in data["clips"]}


@pytest.fixture(scope="module")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prompts") / "audio"
    render_templates(SURVEYS, out)
    return out


@pytest.fixture(scope="module")
def e2e_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, prompts_dir: Path) -> Iterator[App]:
    root = tmp_path_factory.mktemp("e2e")
    shutil.copy(sqlite_template, root / "test.db")
    settings = load_settings(env={}, database_url=f"sqlite:///{root / 'test.db'}", var_dir=root / "var",
                             rules_path=REPO / "callback_rules.yaml", surveys_dir=SURVEYS,
                             prompts_dir=prompts_dir, secret_key="test-secret")
    application = build_app(settings)
    yield application
    application.close()


@pytest.fixture(scope="module")
def network() -> Iterator[LoopbackNetwork]:
    with start_loopback_network(CITIZENS) as net:
        yield net


def _import(app: App, network: LoopbackNetwork) -> None:
    rows = [{"report_no": report_no(name), "received_at": RECEIVED.strftime("%Y-%m-%d %H:%M"),
             "station": "城关派出所", "channel": "walk_in", "category": "盗窃",
             "reporter_phone": network.number(name).removeprefix("+86")} for name in CITIZENS]
    result = import_rows(app.sessions, list(enumerate(rows, start=1)), app.intake_limits, actor="e2e")
    assert result.imported == len(CITIZENS) and not result.rejected, result.rejected


@pytest.fixture(scope="module")
def done(e2e_app: App, network: LoopbackNetwork, prompts_dir: Path) -> Iterator[Round]:
    _import(e2e_app, network)
    clock = RunningClock(START)
    dialer = SipDialer(network.dialer_settings(prompts_dir), clock=clock)
    dialer.start()
    ctx = e2e_app.stage_context(dialer=dialer, worker="e2e")
    ctx.clock, ctx.ring_timeout_s = clock, RING_TIMEOUT_S
    runner = InProcessRunner(ctx, dial_workers=len(CITIZENS))
    try:
        planned = schedule_step(ctx)
        started = time.monotonic()
        for attempt_id in planned.claimed:
            runner.submit("dial", attempt_id)
        assert runner.wait_idle(STAGE_TIMEOUT_S), "calls did not finish in time"
        dial_s = time.monotonic() - started
        pipeline = runner.run_round(step_timeout=STAGE_TIMEOUT_S)  # transcribe, score, tickets
    finally:
        runner.shutdown()
        dialer.close()
    for name in CITIZENS:
        assert network.citizen(name).wait_for_calls(1, timeout_s=10), name
    yield Round(e2e_app, network, planned, pipeline, dial_s)


def test_every_report_is_planned_and_claimed_at_once(done: Round) -> None:
    assert done.planned.planned == len(CITIZENS)
    assert len(done.planned.claimed) == len(CITIZENS)
    assert not done.pipeline.errors


def test_calls_end_with_the_dispositions_the_citizens_chose(done: Round) -> None:
    assert {n: done.attempt(n).disposition for n in CITIZENS} == {
        "satisfied": c.D_ANSWERED_COMPLETE, "complains": c.D_ANSWERED_COMPLETE,
        "busy": c.D_BUSY, "no_answer": c.D_NO_ANSWER}
    assert done.network.citizen("busy").calls[0].rejected
    assert done.network.citizen("no_answer").calls[0].ended_by == "remote_cancel"
    unanswered = done.attempt("no_answer")
    assert unanswered.ended_at and unanswered.ended_at - unanswered.started_at >= timedelta(seconds=RING_TIMEOUT_S)
    for name, key, clip in (("satisfied", "1", SATISFIED_CLIP), ("complains", "3", COMPLAINT_CLIP)):
        log = done.network.citizen(name).calls[0]
        assert log.actions == [f"dtmf:{key}", f"speak:{clip}"] and log.ended_by == "remote_bye", log
        attempt_id = done.attempt(name).id
        with done.app.sessions() as s:
            keys = {a.question_id: a.dtmf for a in s.scalars(select(Answer).where(Answer.attempt_id == attempt_id))}
        assert keys == {"satisfaction": key, "comment": None}


def test_call_setup_is_quick(done: Round) -> None:
    setup = {}
    for name in ("satisfied", "complains"):
        attempt = done.attempt(name)
        assert attempt.answered_at is not None
        setup[name] = (attempt.answered_at - attempt.started_at).total_seconds()
    print(json.dumps({"e2e_call_setup_s": {k: round(v, 3) for k, v in setup.items()},
                      "e2e_dial_stage_s": round(done.dial_s, 2)}))
    assert all(0 < s < 5.0 for s in setup.values()), setup


def _answer_recording(done: Round, name: str) -> Recording:
    attempt_id = done.attempt(name).id
    with done.app.sessions() as s:
        return s.scalars(select(Recording).where(Recording.attempt_id == attempt_id,
                                                 Recording.kind == "answer")).one()


def test_answers_and_calls_are_recorded_as_8khz_wav(done: Round) -> None:
    root = done.app.settings.recordings_path
    for name, clip in (("satisfied", SATISFIED_CLIP), ("complains", COMPLAINT_CLIP)):
        rec = _answer_recording(done, name)
        assert rec.question_id == "comment" and rec.state == "done", rec.state
        with wave.open(str(root / rec.path), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            seconds = w.getnframes() / w.getframerate()
        clip_s = duration_s(read_wav(ANSWERS / clip))
        assert abs(seconds - clip_s) < 1.0, (name, seconds, clip_s)
        with done.app.sessions() as s:
            whole = s.scalars(select(Recording).where(Recording.attempt_id == rec.attempt_id,
                                                      Recording.kind == "call")).one()
        assert duration_s(read_wav(root / whole.path)) > clip_s + 5.0   # prompts + answer
    unanswered = [done.attempt(n).id for n in ("busy", "no_answer")]
    with done.app.sessions() as s:
        assert not s.scalars(select(Recording).where(Recording.attempt_id.in_(unanswered))).all()


@dataclass
class Heard:
    transcript: str
    cer_vs_text: float            # vs the manifest text the clip was synthesised from
    cer_vs_source_clip: float     # vs Whisper's transcript of the clip itself: the audio round trip


def test_recorded_answers_transcribe_like_what_was_said(done: Round) -> None:
    manifest, heard = _manifest(), {}
    for name, clip in (("satisfied", SATISFIED_CLIP), ("complains", COMPLAINT_CLIP)):
        rec = _answer_recording(done, name)
        with done.app.sessions() as s:
            text = s.scalars(select(Transcript.text).where(Transcript.recording_id == rec.id)).one()
        source = done.app.transcriber.transcribe(ANSWERS / clip).text
        heard[name] = Heard(text, round(cer(str(manifest[clip]["text"]), text), 3), round(cer(source, text), 3))
    print(json.dumps({"e2e_transcripts": {n: asdict(h) for n, h in heard.items()}}, ensure_ascii=False))
    assert "满意" in heard["satisfied"].transcript
    for name, h in heard.items():
        assert h.cer_vs_text <= MAX_CER_VS_TEXT, (name, h)
        assert h.cer_vs_source_clip <= MAX_CER_VS_SOURCE, (name, h)


def test_answers_are_scored_with_the_complaint_problem(done: Round) -> None:
    ids = {n: done.attempt(n).id for n in CITIZENS}     # (one session at a time: SQLite write lock)
    with done.app.sessions() as s:
        scores = {n: s.scalars(select(Score).where(Score.attempt_id == i)).one_or_none() for n, i in ids.items()}
    assert scores["busy"] is None and scores["no_answer"] is None
    satisfied, complaint = scores["satisfied"], scores["complains"]
    assert satisfied is not None and satisfied.label == c.L_SATISFIED and not satisfied.problems
    assert complaint is not None and complaint.label == c.L_UNSATISFIED
    assert "no_feedback" in complaint.problems


def test_only_the_complaint_opens_tickets(done: Round) -> None:
    with done.app.sessions() as s:
        tickets = [(r, t.reason) for t, r in s.execute(select(Ticket, Report.report_no).join(Report))]
    assert sorted(tickets) == [(report_no("complains"), "problem:no_feedback"),
                               (report_no("complains"), "unsatisfied")]


@pytest.mark.parametrize("name,delay", [("busy", timedelta(minutes=30)), ("no_answer", timedelta(hours=2))])
def test_unreached_citizens_are_retried_later_inside_the_calling_window(
        done: Round, name: str, delay: timedelta) -> None:
    attempt = done.attempt(name)
    with done.app.sessions() as s:
        task = s.get(CallbackTask, attempt.task_id)
    assert task is not None and task.status == "pending" and task.attempts == 1
    assert attempt.ended_at is not None and task.call_at == attempt.ended_at + delay
    assert in_window(task.call_at, done.app.rules)


def test_answered_tasks_are_done(done: Round) -> None:
    ids = {n: done.attempt(n).task_id for n in ("satisfied", "complains")}
    with done.app.sessions() as s:
        tasks = {n: s.get(CallbackTask, i) for n, i in ids.items()}
    assert {n: (t.status, t.reached, t.attempts) for n, t in tasks.items() if t is not None} == {
        "satisfied": ("done", True, 1), "complains": ("done", True, 1)}
