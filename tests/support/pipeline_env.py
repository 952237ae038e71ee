"""Helpers for the pipeline tests: the round's environment (CALLBACK_SERVICE_* settings plus the test
knobs) shared by the test and its subprocesses, rabbitmqctl, and the dropped-connection fault.
Fixtures are in pipeline_fixtures.py (a pytest plugin).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from callback_service.app import App, build_app
from callback_service.config import load_settings
from support.round_harness import MORNING, ShiftedClock, make_citizens, save_citizens

REPO = Path(__file__).resolve().parents[2]
from support.pgdb import PG_ADMIN_URL  # noqa: E402

RABBIT_URL = os.environ.get("CALLBACK_SERVICE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")
REDIS_URL = os.environ.get("CALLBACK_SERVICE_TEST_REDIS", "redis://127.0.0.1:6379/0")
# Generous pacing, so that the rate limit does not stretch a test round over minutes.
FAST_PACING = "pacing:\n  default: {max_concurrent: 12, max_per_minute: 100000}\n"


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl not found: these tests need a local RabbitMQ server")
    done = subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=timeout)
    return done.stdout


def terminate_db_connections(db_url: str) -> int:
    """pg_terminate_backend on every other connection to the database: a dropped-connection fault."""
    db = db_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        n = c.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": db}).scalar()
    admin.dispose()
    return int(n or 0)


class RoundEnv:
    """One test round: settings in the environment, citizens, the call log and the clock."""

    def __init__(self, tmp: Path, db_url: str, broker_url: str = "", citizens: int = 50, silent_every: int = 3,
                 lease_seconds: int = 30, unanswered: bool = True, models_dir: Path | None = None,
                 extra: dict[str, str] | None = None) -> None:
        self.tmp, self.call_log, self.citizens_path = tmp, tmp / "calls.log", tmp / "citizens.json"
        self.logs = tmp / "logs"
        self.logs.mkdir(exist_ok=True)
        rules = tmp / "rules.yaml"
        rules.write_text(FAST_PACING, encoding="utf-8")
        self.citizens = make_citizens(citizens, silent_every=silent_every, unanswered=unanswered)
        save_citizens(self.citizens, self.citizens_path)
        self.clock = ShiftedClock(MORNING)
        self.env = {
            "CALLBACK_SERVICE_DATABASE_URL": db_url, "CALLBACK_SERVICE_BROKER_URL": broker_url,
            "CALLBACK_SERVICE_VAR_DIR": str(tmp / "var"), "CALLBACK_SERVICE_RULES_PATH": str(rules),
            "CALLBACK_SERVICE_SURVEYS_DIR": str(REPO / "survey_templates"),
            "CALLBACK_SERVICE_PROMPTS_DIR": str(REPO / "scripts_voice" / "audio"),
            "CALLBACK_SERVICE_SECRET_KEY": "test-secret", "CALLBACK_SERVICE_LEASE_SECONDS": str(lease_seconds),
            "CALLBACK_SERVICE_WHISPER_THREADS": "2",
            "CBT_CITIZENS": str(self.citizens_path), "CBT_CALL_LOG": str(self.call_log), **self.clock.env(),
            **(extra or {}),
        }
        if models_dir is not None:   # one assembled speech model for the whole test session
            self.env["CALLBACK_SERVICE_MODELS_DIR"] = str(models_dir)

    def app(self) -> App:
        env = {k: v for k, v in self.env.items() if k.startswith("CALLBACK_SERVICE_")}
        return build_app(load_settings(env=env))

