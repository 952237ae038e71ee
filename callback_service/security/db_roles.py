"""Least-privilege PostgreSQL grants for the role the service runs as.

Migrations (``callback-service init``) run as the role that owns the tables. The web app, scheduler
and workers should connect as a separate runtime role that may read and write the working tables but
may only SELECT and INSERT on ``audit_log``: no UPDATE, DELETE or TRUNCATE, and, not being the owner,
it cannot disable or drop the append-only triggers either. ``callback-service audit grants ROLE``
prints these statements for the database administrator.
"""

from __future__ import annotations

import re

from callback_service.db.models import Base

AUDIT_TABLE = "audit_log"
_ROLE_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")


class RoleNameError(ValueError):
    """The role name is not a plain lower-case PostgreSQL identifier."""


def _quoted(role: str) -> str:
    if not _ROLE_RE.match(role):
        raise RoleNameError(f"role name {role!r} must be lower-case letters, digits and _ (max 63)")
    return f'"{role}"'


def runtime_grants(role: str) -> list[str]:
    """SQL statements (to run as the owner) that give ``role`` exactly what the service needs."""
    r = _quoted(role)
    working = sorted(t for t in Base.metadata.tables if t != AUDIT_TABLE)
    statements = [f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
                  f"GRANT USAGE ON SCHEMA public TO {r}"]
    statements += [f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{t}" TO {r}' for t in working]
    statements += [f'GRANT SELECT, INSERT ON "{AUDIT_TABLE}" TO {r}',
                   f"GRANT SELECT ON alembic_version TO {r}",
                   f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}"]
    return statements
