"""Dashboard snapshots cached per date range, shared by every filter and every user of a process.

Computing a month of figures over a million reports takes about a second of database time, far too
much to repeat for each page view. A snapshot younger than ``ttl_s`` is served as is; an older one is
still served while a single background thread recomputes it (so no page waits for it); a missing one
is computed by the first request while concurrent requests for the same range wait for that result.
The page shows when its figures were computed. ``ttl_s = 0`` turns caching off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from callback_service.reporting.filters import Filters
from callback_service.reporting.metrics import Snapshot, compute_snapshot

log = logging.getLogger(__name__)
WAIT_S = 120.0
CacheKey = tuple[date, date, str]


@dataclass
class _Entry:
    snapshot: Snapshot | None = None
    at: float = 0.0
    refreshing: bool = False
    ready: threading.Event = field(default_factory=threading.Event)


class SnapshotCache:
    def __init__(self, factory: sessionmaker[Session], ttl_s: float = 60.0, max_entries: int = 32,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.factory, self.ttl_s, self.max_entries, self.clock = factory, ttl_s, max_entries, clock
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _compute(self, f: Filters) -> Snapshot:
        with self.factory() as session:
            return compute_snapshot(session, f, datetime.now(UTC))

    def get(self, f: Filters) -> Snapshot:
        if self.ttl_s <= 0:
            return self._compute(f)
        key = (f.start, f.end, f.tz.key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.snapshot is not None:
                self._entries.move_to_end(key)
                if self.clock() - entry.at >= self.ttl_s and not entry.refreshing:
                    entry.refreshing = True
                    threading.Thread(target=self._refresh, args=(key, f), daemon=True,
                                     name="dashboard-refresh").start()
                return entry.snapshot
            owner = entry is None
            if owner:
                entry = self._entries[key] = _Entry()
                self._evict()
        assert entry is not None
        if not owner:
            entry.ready.wait(WAIT_S)
            return entry.snapshot or self._compute(f)
        return self._fill(key, entry, f)

    def _fill(self, key: CacheKey, entry: _Entry, f: Filters) -> Snapshot:
        try:
            snapshot = self._compute(f)
        except Exception:
            with self._lock:
                self._entries.pop(key, None)
            entry.ready.set()
            raise
        entry.snapshot, entry.at = snapshot, self.clock()
        entry.ready.set()
        return snapshot

    def _refresh(self, key: CacheKey, f: Filters) -> None:
        try:
            snapshot = self._compute(f)
        except Exception as exc:  # keep serving the old figures; the next stale read retries
            log.warning("dashboard refresh failed: %s", exc.__class__.__name__)
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.refreshing = False
            return
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.snapshot, entry.at, entry.refreshing = snapshot, self.clock(), False

    def _evict(self) -> None:
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
