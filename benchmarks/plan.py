"""Plan and claim at scale: 1,000,000 reports, 100,000 of them due, through the real scheduler code.

Per backend, on a fresh database:

1. ``seed``: bulk-insert the reports (untimed). A realistic mix: walk-in and kiosk reports with some
   phone and transfer channels, ID numbers (hashed) on most, key-category tags with guardians for
   minors, and a share of people who report three times in a month (repeat reporters). The first
   ``due`` reports were received 1-6 days before ``NOW``; the rest within the last 23 hours.
2. ``plan_all``: plan every new report with no claims (an import backlog), timed: the rate of the
   planner alone. Afterwards the ``due`` reports have pending tasks due now, the rest wait.
3. ``sql_floor``: the database's share alone, rolled back afterwards: one set-based UPDATE claims
   every due pending task and one INSERT ... SELECT adds their attempt rows (no rules, no Python
   per row). No implementation that decides in Python and commits the claim before dialling can
   claim faster than this on the same machine.
4. ``tick``: one scheduler step at ``NOW`` with pacing lifted: claim every due task (each decided
   again right before its claim) and plan whatever is new. This is the "plan and claim with 1M
   reports of which 100k are due" figure.
5. ``tick_fresh``: ``due`` more due reports arrive new (a late export), and one step plans and
   claims them in the same pass.

Prints one JSON object: seconds, counts and rates per phase, and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, scratch_db  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on a working Wednesday
CHUNK = 20_000
TAGS = [([], 90), (["domestic_violence"], 2), (["minor"], 3), (["porn_gambling_drugs"], 2),
        (["mass_involvement"], 3)]


def _report_rows(start: int, n: int, due: int, rnd: random.Random, received: Any) -> tuple[list, list, list]:
    phones, reporters, reports = [], [], []
    for i in range(start, start + n):
        person = i - i % 3 if rnd.random() < 0.05 else i   # 5%: share a person with a neighbour
        tags = rnd.choices([t for t, _ in TAGS], weights=[w for _, w in TAGS])[0]
        phones.append({"id": i + 1, "e164": f"+86139{i:08d}", "raw_masked": "139****0000", "valid": True,
                       "kind": "mobile", "do_not_call": rnd.random() < 0.01, "created_at": NOW})
        id_hash = hashlib.sha256(f"id{person}".encode()).hexdigest() if rnd.random() < 0.9 else None
        reporters.append({"id": i + 1, "name": "甲", "id_number_hash": id_hash, "created_at": NOW})
        channel = rnd.choices(["walk_in", "kiosk", "phone", "transfer"], weights=[70, 24, 3, 3])[0]
        reports.append({
            "id": i + 1, "report_no": f"B{i:09d}", "station_id": 1 + i % 9, "channel": channel, "category": "",
            "tags": tags, "reporter_id": i + 1, "phone_id": person + 1,
            "guardian_phone_id": (i + 1) if "minor" in tags and rnd.random() < 0.8 else None,
            "do_not_call": False, "safe_to_call": None if "domestic_violence" not in tags else rnd.random() < 0.8,
            "warnings": [], "content_hash": "x", "plan_state": "new", "created_at": NOW,
            "received_at": received(i)})
    return phones, reporters, reports


def seed(app: Any, start: int, count: int, due: int, seed_no: int) -> None:
    from sqlalchemy import insert

    from callback_service.db.models import Phone, Report, Reporter, Station
    rnd = random.Random(seed_no)

    def received(i: int) -> datetime:
        if i - start < due:
            return NOW - timedelta(days=1, seconds=rnd.randrange(5 * 86400))
        return NOW - timedelta(seconds=rnd.randrange(23 * 3600))

    with app.engine.begin() as c:
        if start == 0:
            c.execute(insert(Station), [{"id": k, "code": f"S{k:03d}", "name": f"第{k}派出所"} for k in range(1, 10)])
        for at in range(start, start + count, CHUNK):
            phones, reporters, reports = _report_rows(at, min(CHUNK, start + count - at), due, rnd, received)
            c.execute(insert(Phone), phones)
            c.execute(insert(Reporter), reporters)
            c.execute(insert(Report), reports)
    _analyze(app)


def _analyze(app: Any) -> None:
    """What autovacuum does shortly after a bulk load; untimed."""
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")


def _counts(app: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from callback_service.db.models import CallAttempt, CallbackTask, Decision
    with app.sessions() as s:
        return {"tasks": s.scalar(select(func.count()).select_from(CallbackTask)) or 0,
                "decisions": s.scalar(select(func.count()).select_from(Decision)) or 0,
                "attempts": s.scalar(select(func.count()).select_from(CallAttempt)) or 0}


def sql_floor(app: Any) -> dict[str, Any]:
    from sqlalchemy import bindparam, text

    from callback_service.db.models import CallbackTask
    params = {"now": NOW, "lease": NOW + timedelta(minutes=10)}
    kind = CallbackTask.__table__.c.call_at.type   # bind times as the column stores them (SQLite: text)
    typed = [bindparam("now", type_=kind), bindparam("lease", type_=kind)]
    with app.engine.connect() as c:
        trans = c.begin()
        started = time.perf_counter()
        claimed = c.execute(text(
            "UPDATE callback_tasks SET status = 'claimed', claimed_by = 'floor', lease_until = :lease,"
            " attempts = attempts + 1 WHERE status = 'pending' AND call_at <= :now").bindparams(*typed),
            params).rowcount
        c.execute(text(
            "INSERT INTO call_attempts (task_id, attempt_no, phone_id, dialer, survey, state, started_at,"
            " lease_until, worker, score_state, qc_sampled) SELECT id, attempts, phone_id, 'simulated', survey,"
            " 'created', :now, :lease, 'floor', 'none', false FROM callback_tasks WHERE claimed_by = 'floor'")
            .bindparams(*typed), params)
        seconds = time.perf_counter() - started
        trans.rollback()
    _analyze(app)
    return {"seconds": round(seconds, 2), "claimed": claimed, "claims_per_s": round(claimed / seconds)}


def run(backend: str, reports: int, due: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from callback_service.app import build_app
    from callback_service.config import load_settings
    from callback_service.db.migrate import upgrade
    from callback_service.pipeline.scheduler import BATCH, schedule_step
    from callback_service.selection.planner import plan_new
    out: dict[str, Any] = {"backend": backend}
    with scratch_db(backend) as url, tempfile.TemporaryDirectory() as var:
        app = build_app(load_settings(env={}, database_url=url, var_dir=Path(var), secret_key="bench"))
        upgrade(app.engine)
        started = time.perf_counter()
        seed(app, 0, reports, due, 1)
        out["seed_seconds"] = round(time.perf_counter() - started, 1)
        ctx, stage = app.plan_context(), app.stage_context()

        started, planned = time.perf_counter(), 0
        while True:
            with app.sessions() as s, s.begin():
                n = plan_new(s, NOW, ctx, limit=BATCH).planned
            planned += n
            if n < BATCH:
                break
        seconds = time.perf_counter() - started
        out["plan_all"] = {"reports": planned, "seconds": round(seconds, 2),
                           "reports_per_s": round(planned / seconds), **_counts(app)}
        _analyze(app)
        out["sql_floor"] = sql_floor(app)

        for phase, fresh in (("tick", 0), ("tick_fresh", due)):
            if fresh:
                seed(app, reports, fresh, fresh, 2)
            started = time.perf_counter()
            step = schedule_step(stage, NOW, claim_limit=2 * due)
            seconds = time.perf_counter() - started
            out[phase] = {"seconds": round(seconds, 2), "planned": step.planned, "claimed": len(step.claimed),
                          "claims_per_s": round(len(step.claimed) / seconds), **_counts(app)}
        app.close()
    out["peak_rss_mb"] = peak_rss_mb()
    queue.put(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "plan", "reports": args.reports, "due": args.due, "results": []}
    ctx = mp.get_context("spawn")
    for backend in args.backends.split(","):
        queue = ctx.Queue()
        proc = ctx.Process(target=run, args=(backend, args.reports, args.due, queue))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"{backend}: the benchmark process failed (exit {proc.exitcode})")
        out["results"].append(queue.get())
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
