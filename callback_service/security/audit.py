"""Append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash, so editing or deleting any row
breaks the chain from there on; ``verify_chain`` finds the first break. Writers serialise on the
chain head: an advisory transaction lock on PostgreSQL, the database write lock on SQLite.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from callback_service.db.models import AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x0A0D17  # advisory lock id for the audit chain head


def _digest(prev: str, at: datetime, actor: str, action: str, otype: str, oid: str,
            detail: dict[str, Any], ip: str) -> str:
    payload = json.dumps([prev, at.astimezone(UTC).isoformat(timespec="microseconds"), actor,
                          action, otype, oid, detail, ip], ensure_ascii=False, sort_keys=True,
                         separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(session: Session, actor: str, action: str, object_type: str = "", object_id: Any = "",
           detail: dict[str, Any] | None = None, ip: str = "") -> AuditEntry:
    """Append one entry inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    at = datetime.now(UTC)
    detail = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    oid = str(object_id)
    entry = AuditEntry(at=at, actor=actor, action=action, object_type=object_type, object_id=oid,
                       detail=detail, ip=ip, prev_hash=prev,
                       hash=_digest(prev, at, actor, action, object_type, oid, detail, ip))
    session.add(entry)
    session.flush()
    return entry


@dataclass
class ChainReport:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str = ""


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    prev, count, last_id = GENESIS, 0, 0
    while True:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.id > last_id)
                               .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return ChainReport(ok=True, entries=count)
        for e in rows:
            if e.prev_hash != prev:
                return ChainReport(False, count, e.id, "previous-hash link broken (row deleted or inserted)")
            if _digest(prev, e.at, e.actor, e.action, e.object_type, e.object_id, e.detail, e.ip) != e.hash:
                return ChainReport(False, count, e.id, "content does not match its hash (row edited)")
            prev, count, last_id = e.hash, count + 1, e.id
