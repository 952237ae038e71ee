"""db.bulk on real SQLite and PostgreSQL: COPY / numbered inserts and array membership round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from callback_service.app import App
from callback_service.db.bulk import among, insert_rows
from callback_service.db.models import CallbackTask, Decision, Phone, Report, Reporter, Station

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)


def _report(app: App) -> int:
    with app.sessions() as s, s.begin():
        s.execute(insert(Station), [{"id": 1, "code": "S001", "name": "城关派出所"}])
        s.execute(insert(Reporter), [{"id": 1, "name": "甲"}])
        s.execute(insert(Phone), [{"id": 1, "e164": "+8613900000001", "raw_masked": "139****0001"}])
        s.execute(insert(Report), [{"id": 1, "report_no": "B1", "station_id": 1, "channel": "walk_in",
                                    "reporter_id": 1, "phone_id": 1, "content_hash": "x", "received_at": AT}])
    return 1


def _task(report_id: int, n: int) -> dict[str, object]:
    return {"report_id": report_id, "round": 1, "dedupe_key": f"k{n}", "status": "pending", "survey": "first_callback",
            "dial_to": None, "phone_id": None, "priority": 2, "call_at": AT + timedelta(minutes=n),
            "due_at": AT, "expires_at": None, "ended_at": None, "reasons": ["due", "家暴", n],
            "attempts": 0, "max_attempts": 3, "reached": False, "created_at": AT, "updated_at": AT,
            "claimed_by": None, "lease_until": None}


def test_insert_rows_returns_ids_in_row_order_and_values_round_trip(app: App) -> None:
    report_id = _report(app)
    with app.sessions() as s, s.begin():
        first = insert_rows(s, CallbackTask.__table__, [_task(report_id, n) for n in range(3)])  # type: ignore[arg-type]
        more = insert_rows(s, CallbackTask.__table__, [_task(report_id, n) for n in range(3, 5)])  # type: ignore[arg-type]
        assert insert_rows(s, Decision.__table__, []) == []  # type: ignore[arg-type]
    assert len(set(first + more)) == 5 and max(first) < min(more)
    with app.sessions() as s:
        for n, task_id in enumerate(first + more):
            task = s.get(CallbackTask, task_id)
            assert task is not None and task.dedupe_key == f"k{n}"
            assert task.reasons == ["due", "家暴", n]
            assert task.call_at == (AT + timedelta(minutes=n)).astimezone(UTC) and task.expires_at is None
        picked = s.scalars(select(CallbackTask.dedupe_key).where(among(s, CallbackTask.id, [first[1], more[0]]))
                           .order_by(CallbackTask.id)).all()
        assert picked == ["k1", "k3"]
        assert s.scalars(select(CallbackTask.id).where(among(s, CallbackTask.id, []))).all() == []


def test_a_failed_bulk_insert_leaves_nothing_behind(app: App) -> None:
    report_id = _report(app)
    rows = [_task(report_id, 1), _task(report_id, 1)]  # duplicate dedupe_key: the unique index refuses
    try:
        with app.sessions() as s, s.begin():
            insert_rows(s, CallbackTask.__table__, rows)  # type: ignore[arg-type]
    except Exception as exc:  # IntegrityError (SQLite) or UniqueViolation through COPY (PostgreSQL)
        assert "dedupe_key" in str(exc) or "UNIQUE" in str(exc).upper()
    else:
        raise AssertionError("a duplicate dedupe_key was accepted")
    with app.sessions() as s:
        assert s.scalars(select(CallbackTask.id)).all() == []
