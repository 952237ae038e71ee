"""Free space on the recordings directory: no call is started that could not be recorded.

When the directory runs low the scheduler stops claiming calls and dial workers hand their attempts
back (still ``created``, with the reason in ``last_error``); the rows wait, nothing is lost, and
``status`` and the metrics show why. Work resumes by itself once space is freed.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update

from callback_service.db.models import CallAttempt
from callback_service.pipeline.context import StageContext

log = logging.getLogger(__name__)
DEFAULT_MIN_FREE_BYTES = 64 * 1024 * 1024


class RecordingSpaceError(Exception):
    """The recordings directory is (nearly) full; transient: retried once space is freed."""

    transient = True


@dataclass(frozen=True)
class Space:
    root: Path
    free_bytes: int | None      # None: the directory cannot be examined
    min_free_bytes: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.free_bytes is not None and self.free_bytes >= self.min_free_bytes

    def describe(self) -> str:
        if self.free_bytes is None:
            return f"recordings directory {self.root}: {self.error}"
        return f"recordings directory {self.root} has {self.free_bytes} bytes free (minimum {self.min_free_bytes})"


@dataclass(frozen=True)
class DiskGuard:
    root: Path
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES

    def check(self) -> Space:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            return Space(self.root, None, self.min_free_bytes, f"{exc.__class__.__name__}: {exc}")
        return Space(self.root, free, self.min_free_bytes)


def hold_attempt(ctx: StageContext, attempt_id: int, space: Space) -> None:
    """Leave the attempt for a later try, with the reason on its row for the UI and ``status``."""
    with ctx.sessions() as session, session.begin():
        session.execute(update(CallAttempt).where(CallAttempt.id == attempt_id, CallAttempt.state == "created")
                        .values(last_error=space.describe()))
    log.error("attempt %s held back: %s", attempt_id, space.describe())
    ctx.emit("disk_full", root=str(space.root))
