"""``callback-service`` commands: parse arguments, call services, print results. Nothing more."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from callback_service.app import App, build_app
from callback_service.config import ConfigError
from callback_service.security.logfilter import setup_logging

Handler = Callable[[App, argparse.Namespace], int]


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None, default=str))


def cmd_init(app: App, args: argparse.Namespace) -> int:
    from callback_service.db.migrate import upgrade
    revision = upgrade(app.engine)
    if args.json:
        _print_json({"database": app.engine.url.render_as_string(hide_password=True), "revision": revision})
    else:
        print(f"schema at revision {revision} ({app.engine.url.render_as_string(hide_password=True)})")
    return 0


def cmd_import(app: App, args: argparse.Namespace) -> int:
    from callback_service.intake.parsers import FileFormatError, read_file
    from callback_service.intake.service import import_rows
    path = Path(args.file)
    try:
        if path.stat().st_size > app.settings.max_import_bytes:
            raise FileFormatError(f"{path.name}: larger than {app.settings.max_import_bytes} bytes")
        result = import_rows(app.sessions, read_file(path), app.intake_limits, strict=args.strict,
                             filename=path.name)
    except (OSError, FileFormatError) as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(result.as_dict())
    else:
        _print_import_summary(result, args.strict)
    return 0 if result.ok else 2


def _print_import_summary(result: Any, strict: bool) -> None:
    state = "" if result.committed else " (strict: nothing imported)"
    print(f"imported {result.imported}, duplicates {result.duplicates}, rejected {len(result.rejected)}{state}")
    for p in result.rejected:
        print(f"  rejected line {p.line} [{p.report_no or '-'}] {p.field}: {p.error}")
    for p in result.warnings:
        print(f"  warning line {p.line} [{p.report_no}] {p.field}: {p.error}")


def cmd_plan(app: App, args: argparse.Namespace) -> int:
    from datetime import datetime

    from callback_service.selection.dryrun import dry_run
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        print(f"--now: not an ISO 8601 time: {args.now!r}", file=sys.stderr)
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=app.settings.tz)
    with app.sessions() as session:
        decisions = list(dry_run(session, now, app.rules))
        session.rollback()
    if args.json:
        _print_json(decisions)
        return 0
    for d in decisions:
        when = d["call_at"] or "-"
        print(f"{d['report_no']:<20} round {d['round']} {d['action']:<7} {when:<26} {d['phone'] or '-':<14} "
              f"{d['survey'] or '-':<26} {','.join(d['reasons'])}")
    print(f"{len(decisions)} decisions (dry run, nothing changed)")
    return 0


def cmd_tickets(app: App, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from callback_service.tickets.listing import list_tickets
    with app.sessions() as session:
        try:
            rows = list_tickets(session, datetime.now(UTC), args.status, args.limit)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        flag = " OVERDUE" if r["overdue"] else ""
        print(f"#{r['id']:<6} {r['report_no']:<18} {r['station']:<10} {r['severity']:<7} {r['status']:<11} "
              f"{r['reason']:<22} due {r['sla_due_at']}{flag}")
    print(f"{len(rows)} tickets")
    return 0


def _configured_transcriber(app: App, args: argparse.Namespace) -> Any:
    """The configured model unless the command line names another one."""
    overrides = ("model_path", "model_name", "models_dir", "device", "compute_type", "threads")
    return None if any(getattr(args, name, None) for name in overrides) else app.transcriber


def _corrections(app: App) -> list[dict[str, Any]]:
    """Reviewers' label corrections from the UI: training data for train-scorer."""
    from sqlalchemy import select

    from callback_service.db.models import LabelCorrection
    with app.sessions() as session:
        return [{"text": c.text, "label": c.new_label, "problems": list(c.problems)}
                for c in session.scalars(select(LabelCorrection).order_by(LabelCorrection.id)) if c.text]


def cmd_demo(app: App, args: argparse.Namespace) -> int:
    from callback_service.demo.run import create_demo_users, run_demo
    demo_app, summary = run_demo(app.settings, network=args.network)
    users = create_demo_users(demo_app)
    summary["dashboard_url"] = f"http://{args.host}:{args.port}/"
    if args.json:
        _print_json(summary)
    else:
        _print_demo(summary, users)
    if args.no_serve:
        demo_app.close()
        return 0
    args.threads = 8
    from callback_service.web.cli import cmd_serve
    return cmd_serve(demo_app, args)


def _print_demo(s: dict[str, Any], users: list[tuple[str, str, str]]) -> None:
    net = "SIP over loopback (Kamailio + pyVoIP citizens)" if s["network"] == "sip-loopback" else \
        "SIMULATED network (no real calls)"
    print(f"callback-service demo — network: {net}; demo clock {s['demo_clock']}")
    print(f"  reports imported   {s['imported']} (rejected {s['rejected']})")
    print(f"  calls placed       {s['calls']}, answered {s['answered']}")
    print(f"  transcripts        {s['transcripts']}")
    print(f"  scores             {s['scores']}  " + ", ".join(f"{k}: {v}" for k, v in sorted(s['labels'].items())))
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s["ticket_reasons"].items()))
    print(f"  tickets            {s['tickets']}  {reasons}")
    print(f"  urgent flags       {s['urgent']}")
    print(f"  retries pending    {s['retries_pending']}, manual follow-up {s['manual_follow_up']}")
    print(f"  dashboard          {s['dashboard_url']}")
    print("  demo log-ins:      " + "; ".join(f"{u} ({r}) / {p}" for u, r, p in users))


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    parser = argparse.ArgumentParser(prog="callback-service", description="Police report callback service")
    parser.add_argument("--log-level", default="WARNING")
    sub = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Handler] = {}

    p = sub.add_parser("init", help="create or upgrade the database schema")
    p.add_argument("--json", action="store_true")
    handlers["init"] = cmd_init

    p = sub.add_parser("import", help="import reports from CSV, XLSX or JSON")
    p.add_argument("file")
    p.add_argument("--strict", action="store_true", help="import all rows or none")
    p.add_argument("--json", action="store_true")
    handlers["import"] = cmd_import

    p = sub.add_parser("plan", help="dry run: show who would be called, when, and why")
    p.add_argument("--now", help="ISO 8601 time to plan at (default: now)")
    p.add_argument("--json", action="store_true")
    handlers["plan"] = cmd_plan

    p = sub.add_parser("tickets", help="list follow-up tickets")
    p.add_argument("--status", help="open|assigned|rectifying|resolved|verified|reopened")
    p.add_argument("--limit", type=int, default=500)
    p.add_argument("--json", action="store_true")
    handlers["tickets"] = cmd_tickets

    from callback_service.transcription.cli import add_transcribe_parser, cmd_transcribe
    add_transcribe_parser(sub)
    handlers["transcribe"] = lambda a, args: cmd_transcribe(args, transcriber=_configured_transcriber(a, args))

    from callback_service.scoring.cli import (
        add_score_parser,
        add_train_scorer_parser,
        cmd_score,
        cmd_train_scorer,
    )
    add_score_parser(sub)
    handlers["score"] = lambda a, args: cmd_score(args, scorer=None if getattr(args, "model", None) else a.scorer)
    add_train_scorer_parser(sub)
    handlers["train-scorer"] = lambda a, args: cmd_train_scorer(args, extra=_corrections(a))

    from callback_service.web.cli import add_serve_parser, add_users_parser, cmd_serve, cmd_users
    add_users_parser(sub)
    handlers["users"] = cmd_users
    add_serve_parser(sub)
    handlers["serve"] = cmd_serve

    p = sub.add_parser("demo", help="fresh embedded database, realistic import, one full callback round")
    p.add_argument("--network", choices=("auto", "sip", "simulated"), default="auto")
    p.add_argument("--no-serve", action="store_true", help="do not serve the web UI afterwards")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--json", action="store_true")
    handlers["demo"] = cmd_demo

    from callback_service.pipeline.service import add_run_parser, cmd_run
    from callback_service.pipeline.status import add_status_parser, cmd_status
    add_run_parser(sub)
    handlers["run"] = cmd_run
    add_status_parser(sub)
    handlers["status"] = cmd_status

    from callback_service.security.cli import add_audit_parser, cmd_audit
    add_audit_parser(sub)
    handlers["audit"] = cmd_audit

    from callback_service.surveys.prompts import add_prompts_parser, cmd_prompts
    add_prompts_parser(sub)
    handlers["prompts"] = lambda _app, a: cmd_prompts(a)
    return parser, handlers


def main(argv: list[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        app = build_app()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 78
    try:
        return handlers[args.command](app, args)
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
