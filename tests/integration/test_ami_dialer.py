"""The real AsteriskDialer over TCP against recorded Asterisk traffic (tests/integration/ami_server.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from ami_server import AmiReplayServer, Script, load_script

from callback_service import contracts as c
from callback_service.surveys.model import Question, Survey
from callback_service.telephony.asterisk.client import AmiSettings
from callback_service.telephony.asterisk.dialer import AsteriskDialer, AsteriskDialerSettings
from callback_service.telephony.asterisk.trunks import Trunk
from callback_service.telephony.dialer import AnswerResult, CallRequest, DialerError

pytestmark = pytest.mark.timeout(60)

AMI = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
SATISFACTION = {"1": c.L_SATISFIED, "2": c.L_BASICALLY_SATISFIED, "3": c.L_UNSATISFIED}
ONE = Survey(id="test", title="t", questions=(
    Question(id="q1", text="t", prompt="q1", kind="both", dtmf_map=SATISFACTION),))
TWO = Survey(id="test", title="t", questions=(
    Question(id="q1", text="t", prompt="q1", kind="dtmf", dtmf_map=SATISFACTION),
    Question(id="q2", text="t", prompt="q2", kind="speech")))
DV = Survey(id="dv", title="t", questions=(
    Question(id="safe_to_talk", text="t", prompt="p", kind="dtmf", dtmf_map={"1": "yes", "2": "no"},
             branches={"1": "q1", "2": "goodbye", "*": "goodbye"}),
    TWO.questions[0]))


def settings_for(port: int, **overrides: object) -> AsteriskDialerSettings:
    ami = AmiSettings(port=port, secret=str(overrides.pop("secret", "s3cret")), backoff_initial_s=0.05,
                      backoff_max_s=0.2, connect_timeout_s=2, wake_s=0.05,
                      ping_interval_s=float(overrides.pop("ping_interval_s", 30)),
                      boot_grace_s=float(overrides.pop("boot_grace_s", 10)))
    trunk = Trunk("sim", "Local/{national}@citizen-sim", int(overrides.pop("max_concurrent", 8)))
    return AsteriskDialerSettings(ami=ami, trunks=(trunk,), linger_s=0.3, tick_s=0.02,
                                  originate_wait_s=float(overrides.pop("originate_wait_s", 10)),
                                  guard_s=float(overrides.pop("guard_s", 60)),
                                  caller_name=str(overrides.pop("caller_name", "")))


@contextmanager
def replay(script: str | Script, **overrides: object) -> Iterator[tuple[AmiReplayServer, AsteriskDialer]]:
    with AmiReplayServer(AMI / script if isinstance(script, str) else script) as server:
        dialer = AsteriskDialer(settings_for(server.port, **overrides)).start()
        try:
            yield server, dialer
        finally:
            dialer.close()


def request(attempt: int, survey: Survey, rec: Path, *, phone: str | None = None, **kw: object) -> CallRequest:
    phone = phone or (f"+861390000000{attempt % 10}" if attempt < 2000 else f"+86139000{attempt:05d}")
    return CallRequest(attempt_id=attempt, phone_e164=phone, survey=survey, recordings_dir=rec,
                       caller_id=str(kw.get("caller_id", "0356110")), timeout_s=30)


def test_recorded_session_gives_answered_busy_no_answer_and_failed(tmp_path: Path) -> None:
    with replay("survey-session.ami") as (server, dialer):
        results = {a: dialer.call(request(a, ONE, tmp_path)) for a in (1001, 1002, 1003, 1004)}
    assert {a: r.disposition for a, r in results.items()} == {
        1001: c.D_ANSWERED_COMPLETE, 1002: c.D_BUSY, 1003: c.D_NO_ANSWER, 1004: c.D_FAILED}
    assert results[1001].answers == [AnswerResult("q1", dtmf="1", recording_path=tmp_path / "1001-q1.wav")]
    assert results[1001].call_recording == tmp_path / "1001" / "call.wav"
    assert results[1002].hangup_cause == "17"
    login = server.named("Login")[0]
    assert login["Events"] == "system,call,user" and login["Username"] == "callback"
    originates = server.named("Originate")
    assert [o["ChannelId"] for o in originates] == [f"cb-{a}-chan" for a in (1001, 1002, 1003, 1004)]
    assert all(o["Async"] == "true" for o in originates)
    assert server.named("Logoff") and server.errors == []


def test_parallel_calls_stay_within_the_trunk_limit(tmp_path: Path) -> None:
    peak, stop = [0], threading.Event()

    def watch(dialer: AsteriskDialer) -> None:
        while not stop.wait(0.001):
            peak[0] = max(peak[0], dialer.in_use()["sim"])

    with replay("survey-outcomes.ami", max_concurrent=2) as (_server, dialer):
        threading.Thread(target=watch, args=(dialer,), daemon=True).start()
        with ThreadPoolExecutor(6) as pool:
            dispositions = list(pool.map(lambda a: dialer.call(request(a, TWO, tmp_path)).disposition,
                                         (2301, 2303, 2304, 2305, 2306, 2307)))
        stop.set()
    assert dispositions == [c.D_ANSWERED_COMPLETE, c.D_MACHINE, c.D_ANSWERED_PARTIAL, c.D_CONGESTION,
                            c.D_INVALID_NUMBER, c.D_ANSWERED_COMPLETE]
    assert 1 <= peak[0] <= 2


def test_each_survey_outcome_maps_to_its_disposition(tmp_path: Path) -> None:
    surveys = {2302: DV}
    with replay("survey-outcomes.ami") as (_server, dialer), ThreadPoolExecutor(7) as pool:
        attempts = range(2301, 2308)
        results = dict(zip(attempts, pool.map(
            lambda a: dialer.call(request(a, surveys.get(a, TWO), tmp_path)), attempts), strict=True))
    assert results[2302].disposition == c.D_DECLINED_UNSAFE
    assert results[2302].answers == [AnswerResult("safe_to_talk", dtmf="2")]
    partial = results[2304]
    assert partial.answers == [AnswerResult("q1", dtmf="1"),
                               AnswerResult("q2", recording_path=tmp_path / "2304" / "q2.wav")]
    assert results[2307].answers[-1].recording_path is None
    assert "recording path rejected" in results[2307].detail


def test_bytes_dribbled_a_few_at_a_time_give_the_same_call(tmp_path: Path) -> None:
    with replay("slow-reader.ami") as (server, dialer):
        result = dialer.call(request(1001, ONE, tmp_path))
    assert result.disposition == c.D_ANSWERED_COMPLETE
    assert result.answers == [AnswerResult("q1", dtmf="1", recording_path=tmp_path / "1001-q1.wav")]
    assert server.connections == 1


def test_events_out_of_order_still_settle_each_call_once(tmp_path: Path) -> None:
    with replay("out-of-order.ami") as (_server, dialer):
        answered = dialer.call(request(2101, ONE, tmp_path))
        busy = dialer.call(request(2102, ONE, tmp_path))
    assert answered.disposition == c.D_ANSWERED_COMPLETE
    assert answered.answers == [AnswerResult("q1", dtmf="1", recording_path=tmp_path / "2101" / "q1.wav")]
    assert answered.hangup_cause == "16" and "survey end COMPLETE" in answered.detail
    assert busy.disposition == c.D_BUSY


def test_unknown_events_and_blocks_are_ignored(tmp_path: Path) -> None:
    with replay("unknown-events.ami") as (server, dialer):
        result = dialer.call(request(2201, ONE, tmp_path))
        assert dialer.client.ready
    assert result.disposition == c.D_ANSWERED_COMPLETE
    assert result.answers == [AnswerResult("q1", dtmf="1", recording_path=tmp_path / "2201" / "q1.wav")]
    assert server.connections == 1


def test_reconnect_mid_call_reconciles_instead_of_redialling(tmp_path: Path) -> None:
    with replay("disconnect-mid-call.ami") as (server, dialer):
        result = dialer.call(request(2001, ONE, tmp_path))
    assert result.disposition == c.D_ANSWERED_COMPLETE
    assert result.answers == [AnswerResult("q1", dtmf="1", recording_path=tmp_path / "2001" / "q1.wav")]
    assert server.connections == 2
    assert len(server.named("Originate")) == 1 and len(server.named("CoreShowChannels")) == 1


def test_call_that_ended_during_the_outage_is_settled_from_what_was_seen(tmp_path: Path) -> None:
    with replay("disconnect-call-ended.ami") as (server, dialer):
        result = dialer.call(request(2002, TWO, tmp_path))
    assert result.disposition == c.D_ANSWERED_PARTIAL
    assert result.answers == [AnswerResult("q1", dtmf="1")]
    assert "events were lost" in result.detail
    assert len(server.named("Originate")) == 1


def test_originate_unanswered_when_the_link_drops_is_not_sent_again(tmp_path: Path) -> None:
    with replay("disconnect-before-response.ami") as (server, dialer):
        result = dialer.call(request(2003, ONE, tmp_path))
    assert result.disposition == c.D_ANSWERED_COMPLETE
    assert len(server.named("Originate")) == 1 and server.connections == 2


def test_a_call_placed_while_asterisk_is_down_waits_and_is_sent_once(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    dialer = AsteriskDialer(settings_for(port)).start()
    try:
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(dialer.call, request(1001, ONE, tmp_path))
            time.sleep(0.5)
            assert not future.done() and not dialer.client.ready
            with AmiReplayServer(AMI / "survey-session.ami", port=port) as server:
                result = future.result(timeout=20)
    finally:
        dialer.close()
    assert result.disposition == c.D_ANSWERED_COMPLETE
    assert len(server.named("Originate")) == 1


@pytest.mark.parametrize("field", ["phone", "caller_id", "prompt", "question_id", "survey_id"])
@pytest.mark.parametrize("payload", ["\r\nAction: Originate\r\nChannel: Local/666@evil\r\n",
                                     "\nAction: Hangup", "x\rChannel: Local/666@evil", ",INJECTED=666"])
def test_injection_in_any_request_field_never_reaches_the_socket(tmp_path: Path, field: str,
                                                                 payload: str) -> None:
    question = TWO.questions[0]
    survey, phone, caller_id = TWO, None, "0356110"
    if field == "phone":
        phone = "+8613900001002" + payload
    elif field == "caller_id":
        caller_id += payload
    elif field in ("prompt", "question_id"):
        key = "prompt" if field == "prompt" else "id"
        survey = Survey(id="test", title="t", questions=(Question(**{**question.__dict__, key: "q" + payload}),))
    else:
        survey = Survey(id="test" + payload, title="t", questions=TWO.questions)
    with replay("survey-session.ami", caller_name="回访") as (server, dialer):
        with pytest.raises(DialerError) as caught:
            dialer.call(request(1001, survey, tmp_path, phone=phone, caller_id=caller_id))
        assert caught.value.transient is False
        assert dialer.call(request(1002, ONE, tmp_path)).disposition == c.D_BUSY
    sent = bytes(server.received)
    assert b"666" not in sent and b"INJECTED" not in sent and b"Hangup" not in sent
    assert [a["Action"] for a in map(dict, server.actions)] == ["Login", "Originate", "Logoff"]
    assert sent.count(b"\n") == sent.count(b"\r\n") and server.errors == []


@pytest.mark.parametrize("name", ["回访\r\nAction: Hangup", "a\nb", 'a"b', "a<b>", "a\\b", "a\x00"])
def test_an_unsafe_caller_name_is_refused_at_start_up(name: str) -> None:
    with pytest.raises(DialerError, match="caller id name") as caught:
        AsteriskDialer(settings_for(1, caller_name=name))
    assert caught.value.transient is False


def test_refused_login_backs_off_and_retries_without_sending_actions(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    with replay("survey-session.ami", secret="wrong", originate_wait_s=0.8) as (server, dialer):
        with pytest.raises(DialerError, match="not sent") as caught:
            dialer.call(request(1001, ONE, tmp_path))
        assert caught.value.transient is True
        assert "Authentication failed" in dialer.client.last_error and not dialer.client.ready
    assert server.connections >= 2
    assert {a["Action"] for a in map(dict, server.actions)} == {"Login"}
    assert any("reconnecting in" in r.getMessage() for r in caplog.records)


def test_idle_connection_is_kept_alive_with_ping(tmp_path: Path) -> None:
    with replay("survey-session.ami", ping_interval_s=0.2) as (server, dialer):
        time.sleep(1.2)
        assert dialer.client.ready
        assert dialer.call(request(1002, ONE, tmp_path)).disposition == c.D_BUSY
    assert len(server.named("Ping")) >= 3 and server.connections == 1
    assert dialer.client.pending_count() == 0


def test_call_status_asks_asterisk_for_calls_it_does_not_track(tmp_path: Path) -> None:
    script = load_script(AMI / "disconnect-mid-call.ami")
    script.blocks = [b for b in script.blocks if b.action == "coreshowchannels"] + script.blocks[:1]
    with replay(script) as (_server, dialer):
        assert dialer.client.wait_ready(5)
        assert dialer.call_status(2001) == "active"
        assert dialer.call_status(2001) == "active"  # the recorded block is reused
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed_port = probe.getsockname()[1]
    down = AsteriskDialer(settings_for(closed_port)).start()
    try:
        assert down.call_status(2001) is None
    finally:
        down.close()


def test_call_status_reports_gone_for_a_channel_asterisk_does_not_have(tmp_path: Path) -> None:
    script = load_script(AMI / "disconnect-call-ended.ami")
    script.blocks = [b for b in script.blocks if b.action == "coreshowchannels"] + script.blocks[:1]
    with replay(script) as (_server, dialer):
        assert dialer.client.wait_ready(5)
        assert dialer.call_status(2002) == "gone"


def test_an_originate_asterisk_refuses_is_a_permanent_error(tmp_path: Path) -> None:
    with replay("survey-session.ami") as (server, dialer):
        with pytest.raises(DialerError, match="refused Originate: Invalid/unknown command") as caught:
            dialer.call(request(1009, ONE, tmp_path, phone="+8613900009999"))
        assert caught.value.transient is False
        assert dialer.correlator.get(1009) is None


def never_ending_call() -> Script:
    """The call is answered, then Asterisk goes quiet: no hangup, no disconnect."""
    script = load_script(AMI / "disconnect-call-ended.ami")
    originate = next(b for b in script.blocks if b.action == "originate")
    originate.ops = [op for op in originate.ops if op.kind != "close"]
    return script


def test_a_call_with_no_final_events_is_checked_against_asterisk_after_the_guard(tmp_path: Path) -> None:
    with replay(never_ending_call(), guard_s=0.5) as (server, dialer):
        result = dialer.call(request(2002, TWO, tmp_path))
    assert result.disposition == c.D_ANSWERED_PARTIAL and "events were lost" in result.detail
    assert len(server.named("CoreShowChannels")) == 1 and server.connections == 1


def test_closing_the_dialer_settles_calls_in_progress(tmp_path: Path) -> None:
    with replay(never_ending_call()) as (_server, dialer), ThreadPoolExecutor(1) as pool:
        future = pool.submit(dialer.call, request(2002, TWO, tmp_path))
        deadline = time.monotonic() + 5
        while not dialer.correlator.get(2002) or not dialer.correlator.get(2002).answers:  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        dialer.close()
        result = future.result(5)
    assert result.disposition == c.D_ANSWERED_PARTIAL and "dialer closed" in result.detail


def test_without_fully_booted_the_session_becomes_ready_after_the_grace_period(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """Asterisk sends FullyBooted at login only to sessions that receive system events."""
    script = load_script(AMI / "survey-session.ami")
    login = script.blocks[0]
    login.ops = [type(op)(op.kind, op.data.split(b"Event: FullyBooted")[0], op.seconds) for op in login.ops]
    with replay(script, boot_grace_s=0.3) as (_server, dialer):
        assert dialer.call(request(1002, ONE, tmp_path)).disposition == c.D_BUSY
    assert any("no FullyBooted" in r.getMessage() for r in caplog.records)
