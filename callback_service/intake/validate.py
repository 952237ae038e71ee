"""Turn one raw row into a validated ``ReportInput``, or field errors naming the row and field."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from callback_service.intake.normalise import (
    FieldError,
    IdValue,
    PhoneValue,
    clean_text,
    normalise_id,
    normalise_phone,
    parse_bool,
    parse_channel,
    parse_tags,
    parse_time,
)

T = TypeVar("T")


@dataclass(frozen=True)
class RowProblem:
    line: int
    report_no: str
    field: str
    error: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReportInput:
    line: int
    report_no: str
    received_at: datetime
    station: str
    channel: str
    reporter_name: str
    category: str
    tags: list[str]
    phone: PhoneValue | None
    id_number: IdValue | None
    guardian_phone: PhoneValue | None
    do_not_call: bool
    safe_to_call: bool | None
    warnings: list[RowProblem] = field(default_factory=list)
    content_hash: str = ""


@dataclass(frozen=True)
class Limits:
    tz: ZoneInfo
    id_hash_key: str
    max_field_length: int = 200


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _content_hash(c: dict[str, str], received: datetime, channel: str, tags: list[str],
                  dnc: bool, safe: bool | None) -> str:
    """Hash of the normalised values, so the same report from CSV, XLSX or JSON compares equal."""
    phone = normalise_phone(c.get("reporter_phone", ""))
    guardian = normalise_phone(c.get("guardian_phone", ""))
    values = [c["report_no"], received.astimezone(UTC).isoformat(), c.get("station", ""), channel,
              c.get("reporter_name", ""), c.get("category", ""), tags,
              (phone.e164 if phone and phone.valid else c.get("reporter_phone", "")),
              c.get("reporter_id_number", "").upper(),
              (guardian.e164 if guardian and guardian.valid else c.get("guardian_phone", "")), dnc, safe]
    blob = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def validate_row(line: int, row: dict[str, Any], limits: Limits) -> ReportInput | list[RowProblem]:
    if "__error__" in row:
        return [RowProblem(line, "", "row", str(row["__error__"]))]
    clean: dict[str, str] = {}
    errors: list[RowProblem] = []
    report_no = ""
    for key, value in row.items():
        try:
            clean[key] = clean_text(_as_text(value))
        except FieldError as exc:
            errors.append(RowProblem(line, report_no, key, str(exc)))
            continue
        if len(clean[key]) > limits.max_field_length:
            errors.append(RowProblem(line, report_no, key, f"longer than {limits.max_field_length} characters"))
        if key == "report_no":
            report_no = clean[key]
    errors = [RowProblem(e.line, report_no, e.field, e.error) for e in errors]
    if not clean.get("report_no"):
        errors.append(RowProblem(line, "", "report_no", "missing report_no"))
    if errors:
        return errors
    return _build(line, clean, limits)


class _Collector:
    """Runs field parsers, turning FieldError into a RowProblem naming the field."""

    def __init__(self, line: int, report_no: str) -> None:
        self.line, self.report_no, self.problems = line, report_no, list[RowProblem]()

    def __call__(self, field_name: str, fn: Callable[..., T], *args: Any) -> T | None:
        try:
            return fn(*args)
        except FieldError as exc:
            self.problems.append(RowProblem(self.line, self.report_no, field_name, str(exc)))
            return None


def _build(line: int, c: dict[str, str], limits: Limits) -> ReportInput | list[RowProblem]:
    no = c["report_no"]
    parse = _Collector(line, no)
    received = parse("received_at", parse_time, c.get("received_at", ""), limits.tz)
    channel = parse("channel", parse_channel, c.get("channel", ""))
    tags = parse("tags", parse_tags, c.get("tags", ""))
    dnc = parse("do_not_call", parse_bool, c.get("do_not_call", ""), False)
    safe = parse("safe_to_call", parse_bool, c.get("safe_to_call", ""), None)
    id_value = parse("reporter_id_number", normalise_id, c.get("reporter_id_number", ""), limits.id_hash_key)
    if not c.get("station"):
        parse.problems.append(RowProblem(line, no, "station", "missing station"))
    if parse.problems or received is None or channel is None or tags is None:
        return parse.problems
    report = ReportInput(
        line=line, report_no=no, received_at=received.astimezone(UTC), station=c["station"],
        channel=channel, reporter_name=c.get("reporter_name", ""), category=c.get("category", ""),
        tags=tags, phone=normalise_phone(c.get("reporter_phone", "")), id_number=id_value,
        guardian_phone=normalise_phone(c.get("guardian_phone", "")), do_not_call=bool(dnc),
        safe_to_call=safe,
        content_hash=_content_hash(c, received, channel, tags, bool(dnc), safe))
    _add_warnings(report)
    return report


def _add_warnings(r: ReportInput) -> None:
    def warn(field_name: str, message: str) -> None:
        r.warnings.append(RowProblem(r.line, r.report_no, field_name, message))

    if r.phone is None:
        warn("reporter_phone", "no phone number: routed to manual follow-up")
    elif not r.phone.valid:
        warn("reporter_phone", f"invalid phone number {r.phone.masked}: routed to manual follow-up")
    if r.guardian_phone is not None and not r.guardian_phone.valid:
        warn("guardian_phone", f"invalid guardian phone {r.guardian_phone.masked}")
    if r.id_number is not None and not r.id_number.valid:
        warn("reporter_id_number", f"ID number {r.id_number.masked} fails the GB 11643 checksum")
    if r.received_at > datetime.now(UTC):
        warn("received_at", "received_at is in the future")
