"""AMI event throughput: recorded Asterisk traffic replayed at volume through the real parser and
correlator, in process on one core and over TCP through the real AsteriskDialer (the TCP figure
shares the CPU with the in-process replay server and 250 calling threads, so it is a lower bound).

The recorded answered call (cb-1001 in tests/fixtures/ami/survey-session.ami, 30 messages) is cloned
for many concurrent attempts with their own ActionID, ChannelId and CallbackId, and the clones'
messages are interleaved so that every call is in flight at once. Prints one JSON object.
Goals: >= 5,000 events parsed and dispatched per second on one core; >= 200 concurrent calls tracked.

    .venv/bin/python benchmarks/ami_events.py [--calls 250] [--rounds 8] [--tcp-calls 250]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "integration")]

from ami_server import AmiReplayServer, Block, load_script  # noqa: E402

from callback_service import contracts as c  # noqa: E402
from callback_service.surveys.model import Question, Survey  # noqa: E402
from callback_service.telephony.asterisk.client import AmiSettings  # noqa: E402
from callback_service.telephony.asterisk.correlate import Correlator, TrackedCall  # noqa: E402
from callback_service.telephony.asterisk.dialer import AsteriskDialer, AsteriskDialerSettings  # noqa: E402
from callback_service.telephony.asterisk.protocol import FrameReader  # noqa: E402
from callback_service.telephony.asterisk.recordings import RecordingMapper  # noqa: E402
from callback_service.telephony.asterisk.trunks import Trunk  # noqa: E402
from callback_service.telephony.dialer import CallRequest  # noqa: E402

TRANSCRIPT = REPO / "tests" / "fixtures" / "ami" / "survey-session.ami"
SURVEY = Survey(id="bench", title="t", questions=(
    Question(id="q1", text="t", prompt="q1", kind="both", dtmf_map={"1": "satisfied", "2": "x", "3": "y"}),))
SPOOL = "/var/spool/asterisk/callback/"


def recorded_call_messages() -> list[bytes]:
    """The server's messages after Originate cb-1001, as raw frames."""
    data = TRANSCRIPT.read_bytes()
    block = data.split(b">>> SENT\r\nAction: Originate\r\nActionID: cb-1001\r\n", 1)[1]
    block = block.split(b"\r\n\r\n", 1)[1].split(b">>> SENT", 1)[0]
    return [frame + b"\r\n\r\n" for frame in block.split(b"\r\n\r\n") if frame.strip()]


def clone(frames: list[bytes], attempt: int) -> list[bytes]:
    out = []
    for frame in frames:
        frame = frame.replace(b"cb-1001", f"cb-{attempt}".encode())
        frame = frame.replace(b"CallbackId: 1001\r\n", f"CallbackId: {attempt}\r\n".encode())
        out.append(frame.replace(b"/1001-q1.wav", f"/{attempt}-q1.wav".encode()))
    return out


def interleaved_stream(calls: int, first: int) -> tuple[bytes, int]:
    per_call = [clone(recorded_call_messages(), first + i) for i in range(calls)]
    frames = [f for step in zip(*per_call, strict=True) for f in step]
    return b"Asterisk Call Manager/13.0.0\r\n" + b"".join(frames), len(frames)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def in_process(calls: int, rounds: int) -> dict[str, object]:
    parse_s = total_s = 0.0
    events = 0
    ok = True
    for r in range(rounds):
        stream, count = interleaved_stream(calls, 100_000 * (r + 1))
        started = time.process_time()
        parsed = _feed(stream)
        parse_s += time.process_time() - started
        clock = Clock()
        correlator = Correlator(linger_s=2.0, clock=clock)
        tracked = [TrackedCall(a, f"cb-{a}", f"cb-{a}-chan", SURVEY, RecordingMapper(SPOOL, Path("/srv/rec")))
                   for a in range(100_000 * (r + 1), 100_000 * (r + 1) + calls)]
        for call in tracked:
            correlator.track(call)
        started = time.process_time()
        for msg in _feed(stream):
            if msg.event:
                correlator.dispatch(msg)
        total_s += time.process_time() - started
        clock.now = 10.0
        correlator.tick()
        events += count
        ok &= all(call.result is not None and call.result.disposition == c.D_ANSWERED_COMPLETE
                  for call in tracked) and len(parsed) == count
    return {"calls_in_flight": calls, "rounds": rounds, "events": events,
            "parse_only_events_per_s": round(events / parse_s),
            "parse_and_dispatch_events_per_s": round(events / total_s),
            "cpu_seconds": round(total_s, 3), "all_calls_settled_correctly": ok}


def _feed(stream: bytes) -> list:
    reader, out = FrameReader(), []
    for i in range(0, len(stream), 65536):
        out += reader.feed(stream[i:i + 65536])
    return out


def over_tcp(calls: int) -> dict[str, object]:
    script = load_script(TRANSCRIPT)
    template = next(b for b in script.blocks if b.get("ActionID") == "cb-1001")
    others = [b for b in script.blocks if b.action in ("login", "ping", "logoff")]
    script.blocks = others + [Block([(k, _number(v, i) if k == "Channel" else v) for k, v in template.headers],
                                    template.ops) for i in range(calls)]
    with AmiReplayServer(script) as server:
        settings = AsteriskDialerSettings(
            ami=AmiSettings(port=server.port, secret="s3cret"), linger_s=2.0,
            trunks=(Trunk("sim", "Local/{national}@citizen-sim", calls),))
        dialer = AsteriskDialer(settings).start()
        peak, last_event_at, stop = [0], [0.0], threading.Event()
        threading.Thread(target=_watch, args=(dialer, peak, last_event_at, stop), daemon=True).start()
        started = time.perf_counter()
        with ThreadPoolExecutor(calls) as pool:
            results = list(pool.map(lambda i: dialer.call(_request(i)), range(calls)))
        elapsed = time.perf_counter() - started
        stop.set()
        events = dialer.correlator.events_seen
        dialer.close()
    return {"calls": calls, "peak_concurrent_calls_tracked": peak[0], "events_dispatched": events,
            "events_per_s_wall": round(events / max(last_event_at[0] - started, 1e-6)),
            "wall_seconds_incl_2s_linger": round(elapsed, 3),
            "all_answered_complete": all(r.disposition == c.D_ANSWERED_COMPLETE for r in results),
            "originates_sent_once": len(server.named("Originate")) == calls}


def _number(channel: str, i: int) -> str:
    return re.sub(r"/\d+@", f"/139{i:08d}@", channel)


def _request(i: int) -> CallRequest:
    return CallRequest(attempt_id=500_000 + i, phone_e164=f"+86139{i:08d}", survey=SURVEY,
                       recordings_dir=Path("/srv/rec"), caller_id="0356110")


def _watch(dialer: AsteriskDialer, peak: list[int], last_event_at: list[float], stop: threading.Event) -> None:
    """Sample how many calls are tracked, and when the last event was dispatched."""
    seen = 0
    while not stop.wait(0.005):
        peak[0] = max(peak[0], len(dialer.correlator))
        if dialer.correlator.events_seen != seen:
            seen, last_event_at[0] = dialer.correlator.events_seen, time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--tcp-calls", type=int, default=250)
    args = parser.parse_args()
    local = in_process(args.calls, args.rounds)
    tcp = over_tcp(args.tcp_calls)
    report = {
        "benchmark": "ami_events",
        "in_process_one_core": local,
        "over_tcp_real_dialer": tcp,
        "goals": {"events_per_s": 5000, "concurrent_calls": 200},
        "goals_met": bool(local["parse_and_dispatch_events_per_s"] >= 5000  # type: ignore[operator]
                          and tcp["peak_concurrent_calls_tracked"] >= 200  # type: ignore[operator]
                          and local["all_calls_settled_correctly"] and tcp["all_answered_complete"]),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
