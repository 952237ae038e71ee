"""The tally of attacks and bad inputs tried by tests/security, printed at the end of the run.

Tests call ``TALLY.add(target, outcome)`` once per input they try, with the outcome they observed
(``rejected: FileFormatError``, ``stored verbatim``...). A test fails on any outcome it does not
allow, so the table lists only what the run saw. Set ``CALLBACK_SERVICE_TALLY_JSON`` to a path to
also get the table as JSON.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict


class Tally:
    def __init__(self) -> None:
        self.rows: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, target: str, outcome: str, n: int = 1) -> None:
        self.rows[target][outcome] += n

    def lines(self) -> list[str]:
        out = ["attack or bad input | count tried | outcome", "--- | ---: | ---"]
        for target in sorted(self.rows):
            outcomes = self.rows[target]
            detail = "; ".join(f"{k} ×{v}" for k, v in outcomes.most_common())
            out.append(f"{target} | {sum(outcomes.values())} | {detail}")
        return out

    def dump(self) -> None:
        path = os.environ.get("CALLBACK_SERVICE_TALLY_JSON")
        if path and self.rows:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump({t: dict(c) for t, c in self.rows.items()}, fh, ensure_ascii=False, indent=1)


TALLY = Tally()
