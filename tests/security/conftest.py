"""Fixtures for the security tests: seeded web databases (as in tests/web) and the tally report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

WEB_TESTS = Path(__file__).resolve().parent.parent / "web"
if str(WEB_TESTS) not in sys.path:   # web_helpers is a plain module beside tests/web's conftest
    sys.path.insert(0, str(WEB_TESTS))

from sec_tally import TALLY  # noqa: E402
from web_fixtures import seeded, web  # noqa: E402, F401  (fixtures, registered by import)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.rows:
        terminalreporter.write_sep("-", "security tally (tests/security)")
        for line in TALLY.lines():
            terminalreporter.write_line(line)
        TALLY.dump()
