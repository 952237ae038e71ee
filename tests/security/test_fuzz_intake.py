"""Fuzzing the intake parsers and row validation: any bytes in, only the project's own errors out.

A file either fails as a whole with ``FileFormatError`` or yields rows; every row then validates to a
``ReportInput`` or to ``RowProblem``s. Nothing else may escape (no RecursionError, OverflowError,
zipfile or XML parser errors): the web upload, the API and the CLI all rely on that.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sec_tally import TALLY

from callback_service.intake.parsers import (
    CHINESE_HEADERS,
    FIELDS,
    FileFormatError,
    Row,
    read_csv,
    read_json,
    read_xlsx,
)
from callback_service.intake.validate import Limits, ReportInput, RowProblem, validate_row

LIMITS = Limits(tz=ZoneInfo("Asia/Shanghai"), id_hash_key="fuzz-key")
HEADERS = list(FIELDS) + list(CHINESE_HEADERS)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that exercises the normalisers: digits (also full-width), separators, control and format
# characters, CJK, and the words the parsers know.
pieces = st.sampled_from(["", "0", "1", "138", "0356-", "+86", "１３８", "X", "x", "-", ":", " ", "\u3000", "\r",
                          "\n", "\t", "\x00", "\u200b", "\u2028", "是", "否", "家暴", "minor", "电话", "2026-11-24",
                          " 09:00", "T09:00:00+08:00", "9999", "0001", "'", '"', ",", ";", "%", "\\", "<", "é"])
field_text = st.one_of(st.text(max_size=40), st.lists(pieces, max_size=12).map("".join))
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), field_text)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
report_dict = st.dictionaries(st.sampled_from(HEADERS), json_value, max_size=len(FIELDS))
# A valid row with some fields replaced by fuzz, so the fuzz reaches the normalisers behind validation.
VALID = {"report_no": "JJ20261124001", "received_at": "2026-11-24 09:00", "station": "城关派出所",
         "channel": "电话", "reporter_name": "张三", "reporter_phone": "13800138000",
         "reporter_id_number": "11010519491231002X", "category": "盗窃", "tags": "家暴",
         "guardian_phone": "0356-2021234", "do_not_call": "否", "safe_to_call": "是"}
mutated_row = st.dictionaries(st.sampled_from(FIELDS), field_text, max_size=4).map(lambda m: {**VALID, **m})


def _outcome(reader: Callable[[bytes, str], Iterator[Row]], data: bytes) -> str:
    try:
        rows = list(reader(data, "fuzz"))
    except FileFormatError:
        return "file refused: FileFormatError"
    for line, row in rows:
        checked = validate_row(line, row, LIMITS)
        assert isinstance(checked, ReportInput) or (
            isinstance(checked, list) and all(isinstance(p, RowProblem) for p in checked)), checked
        TALLY.add("intake: rows validated from fuzzed files",
                  "accepted" if isinstance(checked, ReportInput) else "rejected with row problems")
    return f"read: {'rows' if rows else 'no rows'}"


@FUZZ
@given(st.binary(max_size=2000))
def test_csv_reader_on_arbitrary_bytes_raises_only_file_format_error(data: bytes) -> None:
    TALLY.add("intake CSV: arbitrary bytes (hypothesis)", _outcome(read_csv, data))


@FUZZ
@given(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8),
       st.lists(st.lists(field_text, max_size=10), max_size=6), st.sampled_from(["utf-8", "gb18030", "utf-8-sig"]))
def test_csv_shaped_text_raises_only_project_errors(header: list[str], rows: list[list[str]], encoding: str) -> None:
    lines = [",".join(["report_no", *header])] + [",".join(r) for r in rows]
    data = "\r\n".join(lines).encode(encoding, errors="replace")
    TALLY.add("intake CSV: report-shaped text (hypothesis)", _outcome(read_csv, data))


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@FUZZ
@given(st.lists(mutated_row, min_size=1, max_size=4))
def test_valid_rows_with_fuzzed_fields_validate_or_report_problems(rows: list[dict[str, str]]) -> None:
    TALLY.add("intake CSV: valid rows with fuzzed fields (hypothesis)", _outcome(read_csv, _csv(rows)))
    data = json.dumps(rows, ensure_ascii=False).encode("utf-8")
    TALLY.add("intake JSON: valid rows with fuzzed fields (hypothesis)", _outcome(read_json, data))


@FUZZ
@given(st.binary(max_size=2000))
def test_json_reader_on_arbitrary_bytes_raises_only_file_format_error(data: bytes) -> None:
    TALLY.add("intake JSON: arbitrary bytes (hypothesis)", _outcome(read_json, data))


@FUZZ
@given(st.one_of(json_value, st.lists(report_dict, max_size=5), st.builds(lambda r: {"reports": r},
                                                                          st.lists(report_dict, max_size=5))))
def test_json_documents_of_any_shape_raise_only_project_errors(doc: object) -> None:
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    TALLY.add("intake JSON: documents of any shape and value type (hypothesis)", _outcome(read_json, data))


def test_pathological_json_is_refused_cleanly() -> None:
    for data in (b"[" * 100_000 + b"]" * 100_000, b'[{"report_no": 1' + b"0" * 5000 + b"}]", b"\xff\xfe\x00",
                 b'{"reports": 5}', b'"just a string"', b"[" * 50 + b"{}" + b"]" * 49):
        TALLY.add("intake JSON: pathological documents (deep nesting, huge ints, wrong shapes)",
                  _outcome(read_json, data))


def _xlsx(header: list[str], rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


xlsx_cell = st.one_of(st.none(), st.integers(-10**15, 10**15), st.floats(allow_nan=False, allow_infinity=False),
                      st.booleans(), st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2200, 1, 1)),
                      field_text.map(lambda s: "".join(ch for ch in s if ch >= " " or ch in "\t\n\r")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
       st.lists(st.lists(xlsx_cell, max_size=8), max_size=4))
def test_xlsx_with_cells_of_any_type_raises_only_project_errors(header: list[str], rows: list[list[object]]) -> None:
    data = _xlsx(["report_no", *header], [[f"JJ{i}", *r] for i, r in enumerate(rows)])
    TALLY.add("intake XLSX: workbooks with cells of any type (hypothesis)", _outcome(read_xlsx, data))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), xlsx_cell, max_size=4), min_size=1, max_size=3))
def test_xlsx_valid_rows_with_fuzzed_cells_validate_or_report_problems(changes: list[dict[str, object]]) -> None:
    rows = [[{**VALID, **c}[f] for f in FIELDS] for c in changes]
    TALLY.add("intake XLSX: valid rows with fuzzed cells (hypothesis)", _outcome(read_xlsx, _xlsx(list(FIELDS), rows)))


BASE_XLSX = _xlsx(["报案编号", "报案时间", "受理单位", "联系电话"],
                  [["JJ1", "2026-11-24 09:00", "城关派出所", "13800138000"]])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(BASE_XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_corrupted_xlsx_bytes_raise_only_file_format_error(flips: list[tuple[int, int]]) -> None:
    data = bytearray(BASE_XLSX)
    for at, value in flips:
        data[at] = value
    TALLY.add("intake XLSX: valid workbook with corrupted bytes (hypothesis)", _outcome(read_xlsx, bytes(data)))


@FUZZ
@given(st.binary(max_size=1000).map(lambda b: b"PK\x03\x04" + b))
def test_xlsx_reader_on_arbitrary_zip_like_bytes_raises_only_file_format_error(data: bytes) -> None:
    TALLY.add("intake XLSX: arbitrary bytes after a zip signature (hypothesis)", _outcome(read_xlsx, data))
