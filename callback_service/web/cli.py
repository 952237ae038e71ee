"""``callback-service users ...`` and ``callback-service serve``: thin handlers for cli.py to wire.

    users create --username NAME --role ROLE [--station S] --password-stdin [--must-change] [--json]
    users token --username NAME [--json]      # prints a new API token for an api user (stored hashed)
    users list [--json]
    serve [--host H] [--port P] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from sqlalchemy import func, select

from callback_service.app import App
from callback_service.contracts import ROLES
from callback_service.db.models import User
from callback_service.db.session import transaction
from callback_service.security.auth import AccountError, create_user, issue_api_token, resolve_station

log = logging.getLogger(__name__)
CLI_ACTOR = "cli"


def add_users_parser(sub: Any) -> None:
    p = sub.add_parser("users", help="create users and API tokens")
    users = p.add_subparsers(dest="users_command", required=True)
    c = users.add_parser("create", help="create a user")
    c.add_argument("--username", required=True)
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--station", help="station id, code or name (role station only)")
    c.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    c.add_argument("--must-change", action="store_true", help="force a password change at first log-in")
    c.add_argument("--json", action="store_true")
    t = users.add_parser("token", help="issue a new API token for an api user (the old one stops working)")
    t.add_argument("--username", required=True)
    t.add_argument("--json", action="store_true")
    ls = users.add_parser("list", help="list users")
    ls.add_argument("--json", action="store_true")


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the web application")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--threads", type=int, default=8)


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, ensure_ascii=False) if getattr(args, "json", False) else text)


def _read_password(args: argparse.Namespace) -> str | None:
    if args.role == "api":
        return None
    if not args.password_stdin:
        raise AccountError("give the password on standard input with --password-stdin")
    return sys.stdin.readline().rstrip("\r\n")


def _create(app: App, args: argparse.Namespace) -> int:
    password = _read_password(args)
    with transaction(app.sessions) as session:
        station_id = resolve_station(session, args.station) if args.station else None
        first_admin = args.role == "admin" and not session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin"))
        user = create_user(session, args.username, args.role, password, CLI_ACTOR, station_id=station_id,
                           must_change_password=args.must_change or bool(first_admin))
        data = {"id": user.id, "username": user.username, "role": user.role, "station_id": user.station_id,
                "must_change_password": user.must_change_password}
    _emit(args, data, f"created {data['role']} user {data['username']} (id {data['id']})"
          + (", must change password at first log-in" if data["must_change_password"] else ""))
    return 0


def _token(app: App, args: argparse.Namespace) -> int:
    with transaction(app.sessions) as session:
        user = session.scalar(select(User).where(User.username == args.username))
        if user is None:
            raise AccountError(f"no user {args.username!r}")
        token = issue_api_token(session, user, CLI_ACTOR)
    _emit(args, {"username": args.username, "token": token}, token)
    return 0


def _list(app: App, args: argparse.Namespace) -> int:
    with app.sessions() as session:
        rows = [{"username": u.username, "role": u.role, "station_id": u.station_id, "active": u.active}
                for u in session.scalars(select(User).order_by(User.username))]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            print(f"{r['username']:<24} {r['role']:<10} station={r['station_id'] or '-'} "
                  f"{'active' if r['active'] else 'disabled'}")
    return 0


def cmd_users(app: App, args: argparse.Namespace) -> int:
    handler = {"create": _create, "token": _token, "list": _list}[args.users_command]
    try:
        return handler(app, args)
    except AccountError as exc:
        print(f"users {args.users_command}: {exc}", file=sys.stderr)
        return 2


def cmd_serve(app: App, args: argparse.Namespace) -> int:
    import waitress

    from callback_service.web import create_app
    flask_app = create_app(app)
    log.warning("serving on http://%s:%s (%s threads)", args.host, args.port, args.threads)
    waitress.serve(flask_app, host=args.host, port=args.port, threads=args.threads, ident="callback-service")
    return 0
