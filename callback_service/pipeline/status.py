"""``callback-service status [--json]``: a quick health summary read from the database.

Exit status: 0 healthy, 1 degraded (schema behind, work stuck past its lease, recordings disk low),
2 database unreachable. The scheduler leader is shown, not judged: whether one should run is the
deployment's business.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from callback_service.app import App
from callback_service.db.models import CallAttempt, CallbackTask, Recording, Score, Ticket
from callback_service.pipeline.context import utcnow
from callback_service.pipeline.leader import current_leader
from callback_service.pipeline.storage import DEFAULT_MIN_FREE_BYTES, DiskGuard
from callback_service.tickets.states import ACTIVE_STATUSES


def _by(session: Session, column: Any) -> dict[str, int]:
    return {str(k): int(n) for k, n in session.execute(select(column, func.count()).group_by(column)).all()}


def state_counts(session: Session, now: datetime) -> dict[str, Any]:
    """Counts per state; also the source of the queue-depth gauges in metrics.py."""
    active = Ticket.status.in_(ACTIVE_STATUSES)
    return {
        "tasks": _by(session, CallbackTask.status),
        "attempts": _by(session, CallAttempt.state),
        "attempts_held": int(session.scalar(select(func.count()).select_from(CallAttempt).where(
            CallAttempt.state == "created", CallAttempt.last_error.is_not(None))) or 0),
        "recordings": _by(session, Recording.state),
        "scoring": _by(session, CallAttempt.score_state),
        "scores_ticket_pending": int(session.scalar(select(func.count()).select_from(Score).where(
            Score.ticket_state == "pending")) or 0),
        "tickets_open": int(session.scalar(select(func.count()).select_from(Ticket).where(active)) or 0),
        "tickets_overdue": int(session.scalar(select(func.count()).select_from(Ticket).where(
            active, Ticket.sla_due_at < now)) or 0),
    }


def oldest_stuck(session: Session, now: datetime) -> dict[str, Any] | None:
    """The oldest row past its lease in an in-flight state: what the reconciler will look at next."""
    candidates = []
    for kind, model, state in (("attempt", CallAttempt, "dialing"), ("recording", Recording, "transcribing")):
        row = session.execute(select(model.id, model.lease_until).where(
            model.state == state, model.lease_until < now).order_by(model.lease_until).limit(1)).first()
        if row is not None:
            candidates.append({"type": kind, "id": row[0], "state": state, "lease_until": row[1].isoformat(),
                               "stuck_seconds": int((now - row[1]).total_seconds())})
    return max(candidates, key=lambda c: c["stuck_seconds"]) if candidates else None


def _revision(app: App) -> dict[str, Any]:
    from callback_service.db.migrate import current_revision, head_revision
    current, head = current_revision(app.engine), head_revision(app.engine)
    return {"current": current, "head": head, "up_to_date": current == head}


def gather(app: App, now: datetime | None = None, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES) -> dict[str, Any]:
    now = now or utcnow()
    out: dict[str, Any] = {"time": now.isoformat(), "database": {
        "url": app.engine.url.render_as_string(hide_password=True), "reachable": False}}
    space = DiskGuard(app.settings.recordings_path, min_free_bytes).check()
    out["recordings_disk"] = {"path": str(space.root), "free_bytes": space.free_bytes, "ok": space.ok,
                              "detail": "" if space.ok else space.describe()}
    try:
        out["database"]["revision"] = _revision(app)
        with app.sessions() as session:
            out["database"]["reachable"] = True
            out["counts"] = state_counts(session, now)
            out["oldest_stuck"] = oldest_stuck(session, now)
            out["leader"] = current_leader(session, now).as_dict()
    except DBAPIError as exc:
        out["database"]["error"] = f"{exc.__class__.__name__}: {str(exc.orig)[:200]}"
    out["healthy"] = _healthy(out)
    return out


def _healthy(out: dict[str, Any]) -> bool:
    db = out["database"]
    return bool(db["reachable"] and db["revision"]["up_to_date"] and out["recordings_disk"]["ok"]
                and out.get("oldest_stuck") is None)


def add_status_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="health summary: database, work per state, stuck items, leader")
    p.add_argument("--json", action="store_true")


def _print_human(s: dict[str, Any]) -> None:
    db = s["database"]
    print(f"database   {db['url']}: {'reachable' if db['reachable'] else 'UNREACHABLE ' + db.get('error', '')}")
    if db.get("revision"):
        r = db["revision"]
        print(f"schema     {r['current']} ({'up to date' if r['up_to_date'] else 'head is ' + str(r['head'])})")
    disk = s["recordings_disk"]
    low = "" if disk["ok"] else "  LOW: " + disk["detail"]
    print(f"recordings {disk['path']}: {disk['free_bytes']} bytes free{low}")
    for key, value in (s.get("counts") or {}).items():
        text = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) if isinstance(value, dict) else value
        print(f"{key:<22} {text or '-'}")
    stuck = s.get("oldest_stuck")
    print("oldest stuck " + (f"{stuck['type']} {stuck['id']} {stuck['state']} for {stuck['stuck_seconds']}s"
                             if stuck else "none"))
    if "leader" in s:
        print(f"leader     {s['leader']['holder'] or 'none'} ({s['leader']['kind']})")
    print("healthy" if s["healthy"] else "DEGRADED")


def cmd_status(app: App, args: argparse.Namespace) -> int:
    summary = gather(app)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        _print_human(summary)
    if not summary["database"]["reachable"]:
        return 2
    return 0 if summary["healthy"] else 1
