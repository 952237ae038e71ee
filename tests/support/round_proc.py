"""A real service process for the distributed tests: ``python -m support.round_proc ROLE [QUEUES]``.

It runs ``callback_service.pipeline.service`` (the code ``callback-service run`` runs: leader
election, APScheduler jobs, Dramatiq consumers, signal handling) with the simulated network, the
test's shifted clock and test-sized intervals. Settings come from CALLBACK_SERVICE_* variables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from callback_service.app import build_app
from callback_service.config import load_settings
from callback_service.pipeline.service import ServiceConfig, run_service
from callback_service.security.logfilter import setup_logging
from support.round_harness import ShiftedClock, logged_dialer


def config(role: str, queues: str) -> ServiceConfig:
    env = os.environ
    return ServiceConfig(
        role=role, queues=tuple(q for q in queues.split(",") if q), grace_s=float(env.get("CBT_GRACE_S", "15")),
        port=int(env.get("CBT_PORT", "0")), web=env.get("CBT_WEB", "0") == "1",
        tick_s=float(env.get("CBT_TICK_S", "1")), dispatch_s=float(env.get("CBT_SWEEP_S", "2")),
        reconcile_s=float(env.get("CBT_RECONCILE_S", "2")), leader_check_s=1.0,
        threads={"dial": int(env.get("CBT_DIAL_THREADS", "6"))}, queue_prefix=env.get("CBT_QUEUE_PREFIX", ""),
        min_free_bytes=0, redeliver_after_s=float(env.get("CBT_REDELIVER_S", "8")))


def main(argv: list[str]) -> int:
    role, queues = argv[0], argv[1] if len(argv) > 1 else ""
    setup_logging(os.environ.get("CBT_LOG_LEVEL", "INFO"))
    app = build_app(load_settings())
    clock = ShiftedClock.from_env(dict(os.environ))
    dialer = logged_dialer(Path(os.environ["CBT_CITIZENS"]), Path(os.environ["CBT_CALL_LOG"]), clock,
                           float(os.environ.get("CBT_CALL_SECONDS", "0.5")))
    app.overrides["dialer"] = dialer
    ctx = app.stage_context(dialer=dialer, worker=f"{role}-{os.getpid()}")
    ctx.clock = clock
    try:
        return run_service(app, config(role, queues), ctx)
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
