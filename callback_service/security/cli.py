"""``callback-service audit ...``: thin handlers for cli.py to wire.

    audit verify [--anchor ID:HASH] [--json]   exit 0 intact, 1 broken (names the first bad entry)
    audit grants ROLE                           SQL for a least-privilege PostgreSQL runtime role

The hash chain shows any edited, inserted or deleted row, except rows cut from the end of the log.
An anchor closes that gap: note the head (``id:hash``, printed by every verify) somewhere the
database cannot reach, and pass it later; verify then also fails if that entry is gone or changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.app import App
from callback_service.db.models import AuditEntry
from callback_service.security.audit import ChainReport, verify_chain
from callback_service.security.db_roles import RoleNameError, runtime_grants

EXIT_BROKEN = 1
EXIT_USAGE = 2


def add_audit_parser(sub: Any) -> None:
    p = sub.add_parser("audit", help="verify the audit log's hash chain; database grants")
    audit = p.add_subparsers(dest="audit_command", required=True)
    v = audit.add_parser("verify", help="check every entry against the hash chain (exit 1 when broken)")
    v.add_argument("--anchor", help="ID:HASH of an entry noted earlier; it must still be in the chain")
    v.add_argument("--json", action="store_true")
    g = audit.add_parser("grants", help="print GRANT statements for a least-privilege runtime role")
    g.add_argument("role", help="PostgreSQL role the service connects as")


def _head(session: Session) -> dict[str, Any] | None:
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    return None if entry is None else {"id": entry.id, "hash": entry.hash}


def _check_anchor(session: Session, anchor: str, report: ChainReport) -> ChainReport:
    ident, _, digest = anchor.partition(":")
    if not ident.isdigit() or len(digest) != 64:
        raise ValueError(f"--anchor {anchor!r}: expected ID:HASH (the hash has 64 hex digits)")
    entry = session.get(AuditEntry, int(ident))
    if entry is None:
        return ChainReport(False, report.entries, int(ident), "anchored entry is missing (log cut short)")
    if entry.hash != digest.lower():
        return ChainReport(False, report.entries, entry.id, "anchored entry has a different hash")
    return report


def _verify(app: App, anchor: str | None) -> dict[str, Any]:
    with app.sessions() as session:
        report = verify_chain(session)
        if report.ok and anchor:
            report = _check_anchor(session, anchor, report)
        return {"ok": report.ok, "entries": report.entries, "first_bad_id": report.first_bad_id,
                "problem": report.problem or None, "head": _head(session)}


def _print_verify(result: dict[str, Any]) -> None:
    head = result["head"]
    if result["ok"]:
        where = f"; head {head['id']}:{head['hash']}" if head else ""
        print(f"audit chain intact: {result['entries']} entries verified{where}")
    else:
        print(f"audit chain BROKEN at entry {result['first_bad_id']}: {result['problem']} "
              f"({result['entries']} entries verified before it)")


def cmd_verify(app: App, args: argparse.Namespace) -> int:
    try:
        result = _verify(app, args.anchor)
    except ValueError as exc:
        print(f"audit verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_verify(result)
    return 0 if result["ok"] else EXIT_BROKEN


def cmd_grants(args: argparse.Namespace) -> int:
    try:
        statements = runtime_grants(args.role)
    except RoleNameError as exc:
        print(f"audit grants: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(";\n".join(statements) + ";")
    return 0


def cmd_audit(app: App, args: argparse.Namespace) -> int:
    if args.audit_command == "grants":
        return cmd_grants(args)
    return cmd_verify(app, args)
