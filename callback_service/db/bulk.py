"""Set-based statements that stay fast at batch sizes in the thousands, on both backends.

On PostgreSQL a long statement costs more to build and parse than to run: an ``IN`` list of 2,000
bind parameters, or a multi-row ``INSERT ... VALUES``, is parsed afresh by the driver every time.
So ``among`` sends one array parameter (``= ANY(...)``), and ``insert_rows`` allocates the ids from
the table's sequence and streams the rows with ``COPY``. SQLite parses cheaply and keeps plain
``IN`` lists; it numbers the rows itself under its write lock, because asking for ``RETURNING`` in
parameter order makes SQLAlchemy insert them one statement per row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, ColumnElement, Table, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: ColumnElement[Any] | QueryableAttribute[Any],
          ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids``, as one array parameter on PostgreSQL."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger())))
    return column.in_(list(ids))


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (every row with the same keys, every NOT NULL column given); returns the new ids
    in row order. Column defaults are not applied on PostgreSQL (``COPY``): pass every value."""
    if not rows:
        return []
    if not is_postgres(session):
        # Write transactions begin IMMEDIATE (db.session): no other writer can take these ids.
        top = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
        ids = list(range(top + 1, top + 1 + len(rows)))
        session.execute(insert(table), [{"id": row_id, **row} for row_id, row in zip(ids, rows, strict=True)])
        return ids
    ids = list(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                    "FROM generate_series(1, :n)"), {"t": table.name, "n": len(rows)}))
    cols = list(rows[0])
    as_json = {i for i, c in enumerate(cols) if isinstance(table.c[c].type, JSON)}
    names = ", ".join(["id", *cols])
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row_id, row in zip(ids, rows, strict=True):
            values = [row[c] for c in cols]
            for i in as_json:
                values[i] = json.dumps(values[i], ensure_ascii=False)
            copy.write_row([row_id, *values])
    return ids
