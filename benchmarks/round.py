"""Round benchmark: wall time for a round of answered calls through transcription, scoring and tickets.

Every citizen answers on the simulated network, presses keys and speaks one answer clip from
tests/fixtures/answers, so each call costs one real Whisper transcription. Two runners:

* ``inprocess``: the embedded default, InProcessRunner on SQLite, one process;
* ``distributed``: PostgreSQL + RabbitMQ, the service's scheduler and worker roles as processes
  (dial, transcribe, score+tickets), exactly as ``callback-service run`` starts them.

Per stage: items done and the time from the round's start until the stage's last item finished (from
database timestamps), plus the transcriber's own seconds and real-time factor. Peak memory is the peak
resident set of each process. Goal: 1,000 answered calls in <= 10 minutes on 2 cores. One JSON object.

    .venv/bin/python benchmarks/round.py [--calls 1000] [--mode inprocess|distributed|both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from support.pipeline_env import PG_ADMIN_URL, RABBIT_URL, RoundEnv, rabbitmqctl  # noqa: E402
from support.procs import Procs  # noqa: E402
from support.round_harness import (  # noqa: E402
    MORNING,
    LoggedDialer,
    import_reports,
    load_citizens,
    read_call_log,
    wait_settled,
)

from callback_service.app import App  # noqa: E402
from callback_service.db.migrate import upgrade  # noqa: E402
from callback_service.db.models import CallAttempt, Recording, Score, Transcript  # noqa: E402
from callback_service.pipeline.inprocess import InProcessRunner  # noqa: E402
from callback_service.security.logfilter import setup_logging  # noqa: E402
from callback_service.telephony.simulated import SimulatedDialer  # noqa: E402

MODELS = REPO / "var" / "bench-models"     # one assembled speech model, reused between runs
GOAL_S = 600.0


def _round_env(tmp: Path, db_url: str, broker: str, calls: int) -> RoundEnv:
    # every citizen answers and speaks
    return RoundEnv(tmp, db_url, broker, citizens=calls, silent_every=0, unanswered=False, models_dir=MODELS,
                    lease_seconds=900,
                    extra={"CBT_CALL_SECONDS": "0", "CBT_DIAL_THREADS": "8", "CBT_LOG_LEVEL": "WARNING"})


def _stage_figures(app: App, started: datetime) -> dict[str, Any]:
    def span(column: Any, *where: Any) -> float | None:
        with app.sessions() as s:
            last = s.scalar(select(func.max(column)).where(*where))
        return round((last - started).total_seconds(), 1) if last else None

    with app.sessions() as s:
        done = {
            "dial": s.scalar(select(func.count()).select_from(CallAttempt).where(CallAttempt.state == "ended")),
            "transcribe": s.scalar(select(func.count()).select_from(Transcript)),
            "score": s.scalar(select(func.count()).select_from(Score)),
            "tickets": s.scalar(select(func.count()).select_from(Score).where(Score.ticket_state == "done")),
        }
        model_s, audio_s = s.execute(select(func.sum(Transcript.rtf * Transcript.duration_s),
                                            func.sum(Transcript.duration_s))).one()
    return {
        "items": done,
        # seconds from the round's start until each stage's last item was committed
        "finished_after_s": {"dial": span(Recording.created_at), "transcribe": span(Transcript.created_at),
                             "score": span(Score.created_at)},
        "transcriber_seconds": round(float(model_s or 0), 1),
        "audio_seconds": round(float(audio_s or 0), 1),
        "mean_rtf": round(float(model_s or 0) / float(audio_s), 3) if audio_s else None,
    }


def run_inprocess(calls: int, tmp: Path) -> dict[str, Any]:
    env = _round_env(tmp, f"sqlite:///{tmp / 'bench.db'}", "", calls)
    app = env.app()
    upgrade(app.engine)
    import_reports(app, calls)
    dialer = LoggedDialer(SimulatedDialer(load_citizens(env.citizens_path), clock=lambda: MORNING), env.call_log)
    ctx = app.stage_context(dialer=dialer)
    ctx.clock = lambda: MORNING
    # chain=True as in `callback-service run`: each finished stage hands its ids on at once
    runner = InProcessRunner(ctx, dial_workers=8, transcribe_workers=1, score_workers=2, chain=True)
    started, t0 = datetime.now(UTC), time.perf_counter()
    summary = runner.run_round()
    wall = time.perf_counter() - t0
    runner.shutdown()
    out = {"wall_s": round(wall, 1), "calls_placed": len(read_call_log(env.call_log)), **_stage_figures(app, started),
           "peak_rss_mb": {"process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
           "errors": summary.errors}
    app.close()
    return out


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def run_distributed(calls: int, tmp: Path) -> dict[str, Any]:
    db, vhost = f"cbbench_{uuid.uuid4().hex[:8]}", f"cbbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{db}"'))
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    env = _round_env(tmp, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db, f"{RABBIT_URL}/{vhost}", calls)
    app = env.app()
    procs = Procs(env.logs, env.env)
    try:
        upgrade(app.engine)
        import_reports(app, calls)
        started, t0 = datetime.now(UTC), time.perf_counter()
        for name, role, queues in (("scheduler", "scheduler", ""), ("dial", "worker", "dial"),
                                   ("transcribe", "worker", "transcribe"), ("score", "worker", "score,tickets")):
            procs.start(name, role, queues)
        left = wait_settled(app, 3 * GOAL_S, lambda: len(read_call_log(env.call_log)) >= calls, poll_s=2.0)
        wall = time.perf_counter() - t0
        rss = {name: _peak_rss_mb(proc.pid) for name, proc in procs.procs.items()}
        out = {"wall_s": round(wall, 1), "calls_placed": len(read_call_log(env.call_log)),
               **_stage_figures(app, started), "peak_rss_mb": rss, "unsettled": left}
        procs.stop_all(timeout=60)
    finally:
        procs.close()
        app.close()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        rabbitmqctl("delete_vhost", vhost)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--mode", choices=("inprocess", "distributed", "both"), default="both")
    args = parser.parse_args()
    setup_logging("WARNING")
    MODELS.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"benchmark": "round", "calls": args.calls, "cpus": os.cpu_count(), "goal_s": GOAL_S}
    for mode, fn in (("inprocess", run_inprocess), ("distributed", run_distributed)):
        if args.mode not in (mode, "both"):
            continue
        tmp = Path(tempfile.mkdtemp(prefix=f"cb-round-{mode}-"))
        try:
            result[mode] = fn(args.calls, tmp)
            result[mode]["meets_goal"] = result[mode]["wall_s"] <= GOAL_S
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            result[mode] = {"error": f"{exc.__class__.__name__}: {exc}"}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
