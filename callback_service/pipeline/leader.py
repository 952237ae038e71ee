"""Scheduler leader election: one process plans, claims, sweeps, reconciles and runs retention.

PostgreSQL: a session-level advisory lock taken on a dedicated connection and held for the leader's
life; if that connection dies, the server drops the lock and another scheduler takes it. SQLite: a
lease row in ``scheduler_locks``, renewed while the leader lives. Leadership saves duplicate work;
it is not what keeps calls single: claims stay safe with two leaders (SKIP LOCKED + conditional
UPDATE), which is what makes a brief overlap after a lost connection harmless.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, create_engine, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from callback_service.db.models import SchedulerLock
from callback_service.db.session import updated_rows
from callback_service.pipeline.context import utcnow

log = logging.getLogger(__name__)
LOCK_NAME = "scheduler"
_HOLDER_QUERY = text("""
    SELECT a.application_name, a.pid, a.client_addr, a.backend_start
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = :k AND l.objsubid = 1 AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
""")
_MINE_QUERY = text("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                   "AND classid = 0 AND objid = :k AND objsubid = 1 AND granted")


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def lock_key(name: str) -> int:
    """A stable 31-bit key, so ``pg_locks`` shows it in ``objid`` with ``classid`` 0."""
    return zlib.crc32(f"callback-service:{name}".encode()) & 0x7FFFFFFF


class Leader(Protocol):
    holder: str

    @property
    def is_leader(self) -> bool: ...

    def ensure(self) -> bool: ...

    def release(self) -> None: ...


class PgAdvisoryLeader:
    def __init__(self, engine: Engine, holder: str | None = None, name: str = LOCK_NAME) -> None:
        self.holder, self.key = holder or default_holder(), lock_key(name)
        # Its own unpooled engine: the lock lives exactly as long as this one connection.
        self._engine = create_engine(engine.url, poolclass=NullPool,
                                     connect_args={"application_name": f"cbs-leader {self.holder}"[:63],
                                                   "connect_timeout": 5})
        self._conn: Connection | None = None

    @property
    def is_leader(self) -> bool:
        return self._conn is not None

    def ensure(self) -> bool:
        if self._conn is not None and self._still_mine(self._conn):
            return True
        return self._acquire()

    def _still_mine(self, conn: Connection) -> bool:
        try:
            if conn.execute(_MINE_QUERY, {"k": self.key}).first() is not None:
                return True
            log.error("scheduler leadership lost: the advisory lock is no longer held")
        except DBAPIError as exc:
            log.error("scheduler leadership lost with its database connection: %s", exc.__class__.__name__)
        self._drop()
        return False

    def _acquire(self) -> bool:
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError as exc:
            log.warning("leader election: database unreachable: %s", exc.__class__.__name__)
            return False
        try:
            won = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except DBAPIError as exc:
            log.warning("leader election failed: %s", exc.__class__.__name__)
            won = False
        if not won:
            conn.close()
            return False
        self._conn = conn
        log.warning("scheduler leadership taken by %s", self.holder)
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except DBAPIError:
                pass

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except DBAPIError:
                pass  # the lock went with the connection anyway
            self._conn.close()
            self._conn = None
            log.warning("scheduler leadership released by %s", self.holder)
        self._engine.dispose()


class LeaseLeader:
    """A renewable lease row; for SQLite, where there are no advisory locks."""

    def __init__(self, sessions: sessionmaker[Session], holder: str | None = None, name: str = LOCK_NAME,
                 lease: timedelta = timedelta(seconds=60), clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions, self.name, self.lease, self.clock = sessions, name, lease, clock
        self.holder = holder or default_holder()
        self._leader = False

    @property
    def is_leader(self) -> bool:
        return self._leader

    def ensure(self) -> bool:
        was, now = self._leader, self.clock()
        try:
            self._leader = self._renew_or_take(now)
        except DBAPIError as exc:
            log.warning("leader lease: database error: %s", exc.__class__.__name__)
            self._leader = False
        if self._leader != was:
            log.warning("scheduler leadership %s by %s", "taken" if self._leader else "lost", self.holder)
        return self._leader

    def _renew_or_take(self, now: datetime) -> bool:
        with self.sessions() as session, session.begin():
            won = updated_rows(session, update(SchedulerLock).where(
                SchedulerLock.name == self.name,
                (SchedulerLock.holder == self.holder) | (SchedulerLock.lease_until < now))
                .values(holder=self.holder, lease_until=now + self.lease))
            if won:
                return True
            if session.get(SchedulerLock, self.name) is not None:
                return False
            session.add(SchedulerLock(name=self.name, holder=self.holder, lease_until=now + self.lease))
            try:
                session.flush()
            except IntegrityError:
                return False
        return True

    def release(self) -> None:
        if not self._leader:
            return
        with self.sessions() as session, session.begin():
            session.execute(update(SchedulerLock).where(SchedulerLock.name == self.name,
                                                        SchedulerLock.holder == self.holder)
                            .values(lease_until=self.clock() - timedelta(seconds=1)))
        self._leader = False
        log.warning("scheduler leadership released by %s", self.holder)


def make_leader(engine: Engine, sessions: sessionmaker[Session], holder: str | None = None) -> Leader:
    if engine.dialect.name == "postgresql":
        return PgAdvisoryLeader(engine, holder)
    return LeaseLeader(sessions, holder)


@dataclass(frozen=True)
class LeaderInfo:
    holder: str | None
    since: str | None = None
    kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"holder": self.holder, "since": self.since, "kind": self.kind}


def current_leader(session: Session, now: datetime | None = None) -> LeaderInfo:
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_HOLDER_QUERY, {"k": lock_key(LOCK_NAME)}).first()
        if row is None:
            return LeaderInfo(None, kind="advisory_lock")
        name = (row.application_name or "").removeprefix("cbs-leader ") or f"pid {row.pid}"
        return LeaderInfo(name, row.backend_start.isoformat() if row.backend_start else None, "advisory_lock")
    lock = session.scalar(select(SchedulerLock).where(SchedulerLock.name == LOCK_NAME))
    if lock is None or lock.lease_until < (now or utcnow()):
        return LeaderInfo(None, kind="lease")
    return LeaderInfo(lock.holder, None, "lease")
