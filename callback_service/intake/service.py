"""The import service: validated rows go in, in one transaction; bad rows are reported, never lost.

Deduplication is by ``report_no``: a row identical to a stored report is a duplicate (not an error);
the same number with different content is rejected. ``strict`` imports all or nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callback_service.db.models import ImportBatch, Phone, Report, Reporter, Station
from callback_service.intake.normalise import PhoneValue
from callback_service.intake.parsers import Row
from callback_service.intake.validate import Limits, ReportInput, RowProblem, validate_row
from callback_service.security import audit

log = logging.getLogger(__name__)
CHUNK = 1000


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    batch_id: int | None = None
    committed: bool = True

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "duplicates": self.duplicates,
                "rejected": [p.as_dict() for p in self.rejected],
                "warnings": [p.as_dict() for p in self.warnings]}


class _Caches:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.stations = {s.name: s for s in session.scalars(select(Station))}
        self.phones: dict[str, Phone] = {}

    def station(self, name: str) -> Station:
        st = self.stations.get(name)
        if st is None:
            st = Station(name=name, code=f"S{len(self.stations) + 1:03d}")
            self.session.add(st)
            self.session.flush()
            self.stations[name] = st
            log.info("new station %r created by import", name)
        return st

    def load_phones(self, values: Iterable[PhoneValue | None]) -> None:
        wanted = {v.e164 for v in values if v and v.e164 and v.e164 not in self.phones}
        if wanted:
            for p in self.session.scalars(select(Phone).where(Phone.e164.in_(wanted))):
                self.phones[p.e164 or ""] = p

    def phone(self, value: PhoneValue | None, do_not_call: bool = False) -> Phone | None:
        if value is None:
            return None
        p = self.phones.get(value.e164) if value.e164 else None
        if p is None:
            p = Phone(e164=value.e164, raw_masked=value.masked, valid=value.valid, kind=value.kind)
            self.session.add(p)
            if value.e164:
                self.phones[value.e164] = p
        if do_not_call:
            p.do_not_call = True
        return p


class _StrictAbort(Exception):
    """Raised inside the transaction to roll back a strict import that had rejected rows."""


def import_rows(factory: sessionmaker[Session], rows: Iterable[Row], limits: Limits, *, strict: bool = False,
                source: str = "file", filename: str = "", actor: str = "cli") -> ImportResult:
    result = ImportResult()
    try:
        _import(factory, rows, limits, strict, source, filename, actor, result)
    except _StrictAbort:
        result.imported, result.committed, result.batch_id = 0, False, None
        with factory() as session, session.begin():   # the import's own audit entry was rolled back
            audit.record(session, actor, "import.aborted", "import_batch", "",
                         {"source": source, "filename": filename, "rejected": len(result.rejected),
                          "strict": True})
    return result


def _import(factory: sessionmaker[Session], rows: Iterable[Row], limits: Limits, strict: bool, source: str,
            filename: str, actor: str, result: ImportResult) -> None:
    with factory() as session, session.begin():
        batch = ImportBatch(source=source, filename=filename[:255], actor=actor)
        session.add(batch)
        session.flush()
        caches = _Caches(session)
        seen: dict[str, str] = {}
        chunk: list[ReportInput] = []
        for line, raw in rows:
            checked = validate_row(line, raw, limits)
            if isinstance(checked, list):
                result.rejected.extend(checked)
                continue
            chunk.append(checked)
            if len(chunk) >= CHUNK:
                _store_chunk(session, caches, chunk, seen, batch.id, result)
                chunk = []
        _store_chunk(session, caches, chunk, seen, batch.id, result)
        if strict and result.rejected:
            raise _StrictAbort
        batch.imported, batch.duplicates, batch.rejected = result.imported, result.duplicates, len(result.rejected)
        batch.report = {"rejected": [p.as_dict() for p in result.rejected[:1000]]}
        audit.record(session, actor, "import", "import_batch", batch.id,
                     {"source": source, "filename": filename, "imported": result.imported,
                      "duplicates": result.duplicates, "rejected": len(result.rejected)})
        result.batch_id = batch.id


def _store_chunk(session: Session, caches: _Caches, chunk: list[ReportInput], seen: dict[str, str],
                 batch_id: int, result: ImportResult) -> None:
    if not chunk:
        return
    numbers = [r.report_no for r in chunk]
    existing = dict(session.execute(select(Report.report_no, Report.content_hash)
                                    .where(Report.report_no.in_(numbers))).tuples().all())
    existing.update({k: v for k, v in seen.items() if k in set(numbers)})
    caches.load_phones([r.phone for r in chunk] + [r.guardian_phone for r in chunk])
    for r in chunk:
        known = existing.get(r.report_no)
        if known is not None:
            if known == r.content_hash:
                result.duplicates += 1
            else:
                result.rejected.append(RowProblem(r.line, r.report_no, "report_no",
                                                  "report_no already exists with different content"))
            continue
        _add_report(session, caches, r, batch_id)
        existing[r.report_no] = seen[r.report_no] = r.content_hash
        result.imported += 1
        result.warnings.extend(r.warnings)
    session.flush()


def _add_report(session: Session, caches: _Caches, r: ReportInput, batch_id: int) -> None:
    idv = r.id_number
    reporter = Reporter(name=r.reporter_name, id_number=idv.number if idv else None,
                        id_number_hash=idv.hash if idv else None, id_number_masked=idv.masked if idv else None,
                        id_number_valid=idv.valid if idv else None)
    session.add(Report(
        report_no=r.report_no, received_at=r.received_at, station=caches.station(r.station), channel=r.channel,
        category=r.category, tags=r.tags, reporter=reporter, phone=caches.phone(r.phone, r.do_not_call),
        guardian_phone=caches.phone(r.guardian_phone), do_not_call=r.do_not_call, safe_to_call=r.safe_to_call,
        warnings=[w.as_dict() for w in r.warnings], content_hash=r.content_hash, import_batch_id=batch_id))
