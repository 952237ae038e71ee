"""``callback-service run``: the long-running service, all in one process or split by role.

Roles: ``all`` (default: scheduler + workers + web in one process; the embedded mode when no
``broker_url`` is set), ``scheduler`` (the elected leader plans, claims, sweeps, reconciles and runs
retention), ``worker`` (consumes ``--queues``), ``web``. SIGTERM/SIGINT stop claiming at once, let
stages in flight finish within ``--grace-seconds`` and hand unstarted work back.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from callback_service.app import App
from callback_service.pipeline import metrics
from callback_service.pipeline.broker import STAGES, QueueBus, QueueError, redact
from callback_service.pipeline.context import StageContext
from callback_service.pipeline.distributed import Dispatcher, DistributedWorkers, default_threads, release_stale_claims
from callback_service.pipeline.inprocess import InProcessRunner
from callback_service.pipeline.jobs import LeaderJobs
from callback_service.pipeline.leader import Leader, default_holder, make_leader
from callback_service.pipeline.scheduler import StepReport
from callback_service.pipeline.storage import DEFAULT_MIN_FREE_BYTES, DiskGuard
from callback_service.telephony.dialer import Dialer

log = logging.getLogger(__name__)
ROLES = ("all", "scheduler", "worker", "web")


class ServiceError(Exception):
    """The service cannot start as configured; the message says what to change."""


@dataclass
class ServiceConfig:
    role: str = "all"
    queues: tuple[str, ...] = STAGES
    host: str = "127.0.0.1"
    port: int = 8080
    web_threads: int = 8
    web: bool = True               # role all: also serve the web app
    grace_s: float = 120.0
    tick_s: float = 60.0           # plan + claim + SLA escalation
    dispatch_s: float = 5.0        # embedded: hand ready work to the pools; distributed: the sweep
    reconcile_s: float = 60.0
    leader_check_s: float = 15.0
    retention_hour: int = 3        # daily, local time
    threads: dict[str, int] = field(default_factory=dict)
    queue_prefix: str = ""
    metrics_port: int | None = None
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    redeliver_after_s: float | None = None   # default: the lease


def resolve_dialer(app: App, dials: bool, reconciles: bool) -> Dialer | None:
    """The dialer comes from the composition root (an override, else ``App.build_dialer``). A
    scheduler only needs one to ask Asterisk whether a stuck call is still up; a SIP dialer knows
    only its own calls, so a scheduler without a dial queue does not register one."""
    override = app.overrides.get("dialer")
    if override is not None:
        return cast(Dialer, override)
    if not dials and not (reconciles and app.settings.dialer == "asterisk"):
        return None
    dialer = app.build_dialer()
    if dialer is None:
        raise ServiceError(f"settings.dialer={app.settings.dialer!r} has no standing network to call: use "
                           "`callback-service demo` for the simulated one, or configure asterisk or sip")
    start = getattr(dialer, "start", None)
    if reconciles and app.settings.dialer == "asterisk" and callable(start):
        start()   # connect AMI now: the reconciler asks Asterisk about stuck calls from the first minute
    return dialer


class Service:
    def __init__(self, app: App, config: ServiceConfig, ctx: StageContext | None = None,
                 leader: Leader | None = None) -> None:
        if config.role not in ROLES:
            raise ServiceError(f"--role {config.role!r}: one of {', '.join(ROLES)}")
        self.app, self.config = app, config
        self.distributed = bool(app.settings.broker_url)
        self._check_role()
        self.holder = default_holder()
        self._own_dialer = None if ctx else resolve_dialer(app, self._dials(), config.role in ("all", "scheduler"))
        self.ctx = ctx or app.stage_context(dialer=self._own_dialer, worker=self.holder[:64])
        metrics.attach(self.ctx)
        self.guard = DiskGuard(self.ctx.recordings_root, config.min_free_bytes)
        self.leader = leader
        self.runner: InProcessRunner | None = None
        self.workers: DistributedWorkers | None = None
        self.jobs: LeaderJobs | None = None
        self.web: Any = None
        self.stop_event = threading.Event()

    def _check_role(self) -> None:
        if self.config.role in ("scheduler", "worker") and not self.distributed:
            raise ServiceError(f"--role {self.config.role} needs broker_url (a task queue); "
                               "without one, run everything in one process with --role all")
        unknown = set(self.config.queues) - set(STAGES)
        if unknown:
            raise ServiceError(f"--queues: unknown {', '.join(sorted(unknown))}; one of {', '.join(STAGES)}")

    def _dials(self) -> bool:
        return self.config.role == "all" or (self.config.role == "worker" and "dial" in self.config.queues)

    def _threads(self) -> dict[str, int]:
        return {**default_threads(self.app.settings.trunk_max_concurrent), **self.config.threads}

    def start(self) -> None:
        role = self.config.role
        if self.config.metrics_port:
            metrics.serve_metrics(self.config.metrics_port)
        if role in ("all", "worker") and self.distributed:
            queues = self.config.queues if role == "worker" else STAGES
            self.workers = DistributedWorkers(self.ctx, self.app.settings.broker_url, queues, self._threads(),
                                              self.config.queue_prefix, self.guard)
            self.workers.start()
        if role in ("all", "scheduler"):
            self._start_scheduler()
        if role == "web" or (role == "all" and self.config.web):
            self._start_web()
        log.warning("callback-service running: role %s, %s, %s", role,
                    f"broker {redact(self.app.settings.broker_url)}" if self.distributed else "embedded runner",
                    self.holder)

    def _start_scheduler(self) -> None:
        cfg = self.config
        if self.distributed:
            redeliver = timedelta(seconds=cfg.redeliver_after_s) if cfg.redeliver_after_s else self.ctx.plan.lease
            bus = QueueBus(self.app.settings.broker_url, cfg.queue_prefix)
            dispatcher = Dispatcher(self.ctx, bus, self.guard, redeliver)
            tick, sweep, close = dispatcher.tick, dispatcher.sweep, bus.close
        else:
            t = self._threads()
            self.runner = InProcessRunner(self.ctx, dial_workers=t["dial"], transcribe_workers=t["transcribe"],
                                          score_workers=t["score"], guard=self.guard, chain=True)
            runner = self.runner

            def tick() -> StepReport:
                report = runner.schedule()
                runner.dispatch()
                return report
            sweep, close = runner.dispatch, _noop
        self.leader = self.leader or make_leader(self.app.engine, self.app.sessions, self.holder)
        self.jobs = LeaderJobs(self.ctx, self.leader, self.app.settings, tick=tick, sweep=sweep,
                               reconcile_extra=lambda: release_stale_claims(self.ctx, self.ctx.plan.lease),
                               on_close=close)
        self.jobs.start(cfg.tick_s, cfg.dispatch_s, cfg.reconcile_s, cfg.leader_check_s, cfg.retention_hour)

    def _start_web(self) -> None:
        import waitress

        from callback_service.web import create_app  # the web app is optional for the other roles
        self.web = waitress.create_server(create_app(self.app), host=self.config.host, port=self.config.port,
                                          threads=self.config.web_threads, ident="callback-service")
        threading.Thread(target=self.web.run, name="web", daemon=True).start()

    def run_until_stopped(self) -> None:
        self.stop_event.wait()
        self.stop()

    def stop(self) -> None:
        """Stop claiming first, then let work in flight finish, then release leadership."""
        grace = self.config.grace_s
        log.warning("stopping: no new claims; up to %.0fs for stages in flight", grace)
        if self.jobs is not None:
            self.jobs.stop()                  # waits for a tick that is mid-claim to commit and enqueue
        if self.runner is not None:
            self.runner.drain(grace)
        if self.workers is not None:
            self.workers.stop(grace)
        if self.web is not None:
            self.web.close()
        if self.jobs is not None:
            self.jobs.release()
        if self._own_dialer is not None:
            self._own_dialer.close()
        log.warning("callback-service stopped")


def _noop() -> None:
    return None


def install_signal_handlers(stop_event: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.warning("signal %s received: shutting down gracefully", signal.Signals(signum).name)
        stop_event.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_service(app: App, config: ServiceConfig, ctx: StageContext | None = None) -> int:
    try:
        service = Service(app, config, ctx)
        install_signal_handlers(service.stop_event)
        service.start()
    except (ServiceError, QueueError) as exc:
        log.error("cannot start: %s", exc)
        return 78
    service.run_until_stopped()
    return 0


def add_run_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run the service: scheduler, workers and web (or one role of them)")
    p.add_argument("--role", choices=ROLES, default="all")
    p.add_argument("--queues", default=",".join(STAGES), help="worker role: comma-separated stages to consume")
    p.add_argument("--host", default="127.0.0.1", help="web role: address to listen on")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--no-web", action="store_true", help="role all: do not serve the web app")
    p.add_argument("--grace-seconds", type=float, default=120.0, help="time for calls in flight at shutdown")
    p.add_argument("--tick-seconds", type=float, default=60.0, help="scheduler: plan and claim this often")
    p.add_argument("--threads", default="", help="per-stage threads, e.g. dial=8,transcribe=1")
    p.add_argument("--metrics-port", type=int, help="expose this process's Prometheus metrics on this port")


def _parse_threads(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        stage, _, n = part.partition("=")
        if stage not in STAGES or not n.isdigit() or int(n) < 1:
            raise ServiceError(f"--threads: {part!r} is not STAGE=N with STAGE one of {', '.join(STAGES)}")
        out[stage] = int(n)
    return out


def config_from_args(args: argparse.Namespace) -> ServiceConfig:
    queues = tuple(q.strip() for q in args.queues.split(",") if q.strip())
    return ServiceConfig(role=args.role, queues=queues, host=args.host, port=args.port, web=not args.no_web,
                         grace_s=args.grace_seconds, tick_s=args.tick_seconds, threads=_parse_threads(args.threads),
                         metrics_port=args.metrics_port)


def cmd_run(app: App, args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ServiceError as exc:
        log.error("%s", exc)
        return 2
    return run_service(app, config)

