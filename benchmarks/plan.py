"""Plan and claim: N reports (a share of them due) through the real planner and claim, per backend.

Reports are bulk-inserted, then timed: ``plan_new`` over every report (one decision and task each)
and ``claim_due`` for every due task (pacing lifted). Prints one JSON object with the times, the
per-report rates and peak RSS. ``--reports``/``--due`` set the scale.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, scratch_db  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on a working Wednesday


def seed(app, reports: int, due: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from callback_service.db.models import Phone, Report, Reporter, Station
    with app.engine.begin() as c:
        c.execute(insert(Station), [{"id": 1, "code": "S001", "name": "城关派出所"}])
        for start in range(0, reports, 20_000):
            n = range(start, min(start + 20_000, reports))
            c.execute(insert(Phone), [{"id": i + 1, "e164": f"+86139{i:08d}", "raw_masked": "139****0000",
                                       "valid": True, "kind": "mobile", "do_not_call": False,
                                       "created_at": NOW} for i in n])
            c.execute(insert(Reporter), [{"id": i + 1, "name": "甲", "created_at": NOW} for i in n])
            c.execute(insert(Report), [{
                "id": i + 1, "report_no": f"B{i:09d}", "station_id": 1, "channel": "walk_in", "category": "",
                "tags": [], "reporter_id": i + 1, "phone_id": i + 1, "do_not_call": False, "warnings": [],
                "content_hash": "x", "plan_state": "new", "created_at": NOW,
                # the first `due` reports were received 2 days ago (due); the rest an hour ago (not due)
                "received_at": NOW - (timedelta(days=2) if i < due else timedelta(hours=1))} for i in n])


def run(backend: str, reports: int, due: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from callback_service.app import build_app
    from callback_service.config import load_settings
    from callback_service.db.migrate import upgrade
    from callback_service.selection.claim import claim_due
    from callback_service.selection.planner import plan_new
    with scratch_db(backend) as url, tempfile.TemporaryDirectory() as var:
        app = build_app(load_settings(env={}, database_url=url, var_dir=Path(var), secret_key="bench"))
        upgrade(app.engine)
        seed(app, reports, due)
        ctx = app.plan_context()
        started = time.perf_counter()
        planned = 0
        while True:
            with app.sessions() as s, s.begin():
                n = plan_new(s, NOW, ctx, limit=2000)
            planned += n
            if n < 2000:
                break
        plan_s = time.perf_counter() - started
        started = time.perf_counter()
        with app.sessions() as s, s.begin():
            claimed = len(claim_due(s, NOW, ctx, limit=due))
        claim_s = time.perf_counter() - started
        app.close()
    queue.put({"backend": backend, "planned": planned, "plan_seconds": round(plan_s, 2),
               "plan_reports_per_s": round(planned / plan_s), "claimed": claimed,
               "claim_seconds": round(claim_s, 2), "claims_per_s": round(claimed / claim_s) if claim_s else None,
               "peak_rss_mb": peak_rss_mb()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    out = {"benchmark": "plan", "reports": args.reports, "due": args.due, "results": []}
    ctx = mp.get_context("spawn")
    for backend in args.backends.split(","):
        queue = ctx.Queue()
        proc = ctx.Process(target=run, args=(backend, args.reports, args.due, queue))
        proc.start()
        out["results"].append(queue.get())
        proc.join()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
