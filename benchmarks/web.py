"""Dashboard latency on PostgreSQL with 1,000,000 reports and 100,000 tickets, 20 concurrent clients.

Builds a dedicated benchmark database (dropped and recreated unless --reuse), fills it with
generate_series, records EXPLAIN ANALYZE of every dashboard query at schema revision 0001 (before
the web indexes) and at head (after), then serves the real Flask app over HTTP on 127.0.0.1 and
measures GET / from concurrent logged-in clients. Prints one JSON object. Goal: p95 <= 200 ms.

    .venv/bin/python benchmarks/web.py [--reports N] [--tickets N] [--clients 20] [--requests 25]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

from callback_service.app import App, build_app
from callback_service.config import load_settings
from callback_service.db.migrate import current_revision, head_revision, upgrade
from callback_service.db.session import make_engine, transaction
from callback_service.reporting.filters import parse_filters
from callback_service.reporting.metrics import dashboard
from callback_service.security.auth import create_user

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_data import STATIONS, counts, generate  # noqa: E402

ADMIN_URL = os.environ.get("CALLBACK_SERVICE_BENCH_PG",
                           os.environ.get("CALLBACK_SERVICE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
PASSWORD = "Dash#Load2026x"


def _db_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _recreate(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _analyze(app: App) -> None:
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))


def _outline(node: dict[str, Any], depth: int = 0, out: list[str] | None = None) -> list[str]:
    out = [] if out is None else out
    label = node["Node Type"]
    if node.get("Relation Name"):
        label += f" on {node['Relation Name']}"
    if node.get("Index Name"):
        label += f" using {node['Index Name']}"
    out.append(f"{'  ' * depth}{label} (rows={node.get('Actual Rows')}, ms={node.get('Actual Total Time')})")
    for child in node.get("Plans", []):
        _outline(child, depth + 1, out)
    return out


def _capture(app: App) -> list[tuple[str, Any]]:
    """The SQL statements one dashboard render runs, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def hook(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))
    event.listen(app.engine, "before_cursor_execute", hook)
    try:
        _dashboard_once(app)
    finally:
        event.remove(app.engine, "before_cursor_execute", hook)
    return seen


def _dashboard_once(app: App, station: int | None = None) -> float:
    tz = app.settings.tz
    args = {"station": str(station)} if station else {}
    f = parse_filters(args, tz, datetime.now(tz).date())
    t0 = time.perf_counter()
    with app.sessions() as s:
        dashboard(s, f, datetime.now(UTC))
    return (time.perf_counter() - t0) * 1000


def explain(app: App) -> list[dict[str, Any]]:
    plans = []
    for statement, params in _capture(app):
        with app.engine.connect() as c:
            row = c.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params).scalar()
        plan = row[0] if isinstance(row, list) else json.loads(str(row))[0]
        plans.append({"sql": " ".join(statement.split())[:160], "ms": round(plan["Execution Time"], 1),
                      "plan": _outline(plan["Plan"])[:14]})
    return plans


# --- HTTP load -----------------------------------------------------------------------------------

def _cookie(resp: http.client.HTTPResponse, old: str) -> str:
    for header, value in resp.getheaders():
        if header.lower() == "set-cookie" and value.startswith("cbs_session="):
            return value.split(";", 1)[0]
    return old


def login(port: int, username: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    page = resp.read().decode()
    cookie = _cookie(resp, "")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the log-in page"
    body = urllib.parse.urlencode({"csrf_token": token.group(1), "username": username, "password": PASSWORD})
    conn.request("POST", "/login", body=body, headers={"Cookie": cookie,
                                                        "Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302 and resp.getheader("Location") == "/", f"log-in failed: {resp.status}"
    conn.close()
    return _cookie(resp, cookie)


def _client(port: int, cookie: str, paths: list[str], out: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        resp = conn.getresponse()
        resp.read()
        out.append((time.perf_counter() - t0) * 1000)
        if resp.status != 200:
            errors.append(f"{path}: {resp.status}")
    conn.close()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)


SERVER = """
import sys, waitress
from pathlib import Path
from callback_service.app import build_app
from callback_service.config import load_settings
from callback_service.web import create_app
settings = load_settings(env={}, database_url=sys.argv[1], var_dir=Path(sys.argv[3]), secret_key="bench",
                         cookie_secure=False)
waitress.serve(create_app(build_app(settings)), host="127.0.0.1", port=int(sys.argv[2]), threads=8,
               connection_limit=200, _quiet=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes], deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"web server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("web server did not start listening")


def load_test(app: App, clients: int, per_client: int) -> dict[str, Any]:
    """The production server (waitress, 8 threads) in its own process; the clients in this one."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, app.settings.database_url, str(port),
                             str(app.settings.var_dir)])
    try:
        _wait_ready(port, proc)
        cookie = login(port, "bench")
        rng = random.Random(1)
        plans = [[rng.choice(["/", "/", "/", "/?unit=week", f"/?station={rng.randint(1, STATIONS)}"])
                  for _ in range(per_client)] for _ in range(clients)]
        _client(port, cookie, ["/"] * 3, [], [])  # warm-up: the first request computes the snapshot
        latencies: list[float] = []
        errors: list[str] = []
        threads = [threading.Thread(target=_client, args=(port, cookie, p, latencies, errors)) for p in plans]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"server": "waitress, 8 threads, 1 process", "clients": clients, "requests": len(latencies),
            "errors": errors[:5], "p50_ms": _pct(latencies, 50), "p95_ms": _pct(latencies, 95),
            "p99_ms": _pct(latencies, 99), "max_ms": round(max(latencies), 1),
            "throughput_rps": round(len(latencies) / wall, 1)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--reports", type=int, default=1_000_000)
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=25, help="requests per client")
    p.add_argument("--database", default="cbs_bench_web")
    p.add_argument("--reuse", action="store_true", help="keep existing data (skips the 'before' plans)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    settings = load_settings(env={}, database_url=_db_url(args.database), var_dir=tmp, secret_key="bench",
                             cookie_secure=False)
    result: dict[str, Any] = {"benchmark": "web_dashboard"}
    if not args.reuse:
        _recreate(args.database)
    app = build_app(settings)
    t0 = time.perf_counter()
    if not args.reuse:
        upgrade(make_engine(settings.database_url), "0001")
        with app.engine.begin() as conn:
            generate(conn, args.reports, args.tickets)
        _analyze(app)
        result["generate_s"] = round(time.perf_counter() - t0, 1)
    if current_revision(app.engine) != head_revision(app.engine):
        result["plans_before"] = explain(app)
    upgrade(app.engine)
    _analyze(app)
    with app.engine.connect() as conn:
        result["rows"] = counts(conn)
    result["plans_after"] = explain(app)
    with transaction(app.sessions) as s:
        if not s.execute(text("SELECT 1 FROM users WHERE username = 'bench'")).first():
            create_user(s, "bench", "supervisor", PASSWORD, "benchmark")
    serial = [_dashboard_once(app) for _ in range(5)]
    result["serial_dashboard_ms"] = {"p50": round(statistics.median(serial), 1), "max": round(max(serial), 1)}
    result["http"] = load_test(app, args.clients, args.requests)
    result["goal_p95_ms"] = 200
    result["goal_met"] = result["http"]["p95_ms"] <= 200
    app.close()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
