"""Read CSV, XLSX and JSON exports into ``(line_number, {canonical_field: raw_value})`` rows."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

FIELDS = ("report_no", "received_at", "station", "channel", "reporter_name", "reporter_phone",
          "reporter_id_number", "category", "tags", "guardian_phone", "do_not_call", "safe_to_call")
CHINESE_HEADERS = dict(zip(
    ("报案编号", "报案时间", "受理单位", "报案方式", "报案人", "联系电话", "身份证号", "案件类别", "标签",
     "监护人电话", "拒绝回访", "可安全联系"), FIELDS))

Row = tuple[int, dict[str, Any]]


class FileFormatError(ValueError):
    """The file as a whole cannot be read (encoding, headers, format)."""


def decode(data: bytes, name: str) -> str:
    """BOM first, then strict UTF-8, then GB18030 (a superset of GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{name}: neither UTF-8 nor GBK/GB18030 (byte {exc.start})") from None


def map_headers(headers: list[str], name: str) -> list[str | None]:
    mapped: list[str | None] = []
    for h in headers:
        key = (h or "").strip().lstrip("\ufeff")
        mapped.append(key if key in FIELDS else CHINESE_HEADERS.get(key))
    if "report_no" not in mapped:
        raise FileFormatError(f"{name}: no report_no/报案编号 column in header {headers!r}")
    return mapped


def _row_dict(mapped: list[str | None], values: list[Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in zip(mapped, values):
        if key is not None:
            row[key] = value
    return row


def read_csv(data: bytes, name: str) -> Iterator[Row]:
    text = decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileFormatError(f"{name}: empty file") from None
    except csv.Error as exc:
        raise FileFormatError(f"{name}: {exc}") from None
    mapped = map_headers(header, name)
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileFormatError(f"{name}: line {start}: {exc}") from None
        if any(v.strip() for v in values):
            yield start, _row_dict(mapped, values)
        start = reader.line_num + 1


def read_xlsx(data: bytes, name: str) -> Iterator[Row]:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken archive
        raise FileFormatError(f"{name}: not a readable XLSX file ({exc.__class__.__name__})") from None
    try:
        yield from _xlsx_rows(wb, name)
    except FileFormatError:
        raise
    except Exception as exc:  # the sheet XML is parsed lazily: a broken sheet fails mid-iteration
        raise FileFormatError(f"{name}: not a readable XLSX sheet ({exc.__class__.__name__})") from None
    finally:
        wb.close()


def _xlsx_rows(wb: Any, name: str) -> Iterator[Row]:
    if not wb.worksheets:
        raise FileFormatError(f"{name}: no worksheet")
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise FileFormatError(f"{name}: empty sheet")
    mapped = map_headers([str(h) if h is not None else "" for h in header], name)
    for line, values in enumerate(rows, start=2):
        cells = ["" if v is None else _xlsx_cell(v) for v in values]
        if any(str(c).strip() for c in cells):
            yield line, _row_dict(mapped, cells)


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def read_json(data: bytes, name: str) -> Iterator[Row]:
    try:
        doc = json.loads(decode(data, name))
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{name}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise FileFormatError(f"{name}: JSON nested too deeply") from None
    except ValueError as exc:   # e.g. an integer longer than Python's int conversion limit
        raise FileFormatError(f"{name}: invalid JSON: {exc}") from None
    items = doc.get("reports") if isinstance(doc, dict) and "reports" in doc else doc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise FileFormatError(f"{name}: expected a list of reports or {{\"reports\": [...]}}")
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield i, {"__error__": "item is not an object"}
            continue
        row = {CHINESE_HEADERS.get(k, k): ("" if v is None else v) for k, v in item.items()}
        yield i, {k: v for k, v in row.items() if k in FIELDS}


def read_file(path: Path) -> Iterator[Row]:
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(data, path.name)
    if suffix == ".json":
        return read_json(data, path.name)
    if suffix in (".csv", ".txt"):
        return read_csv(data, path.name)
    raise FileFormatError(f"{path.name}: unsupported file type {suffix!r} (use .csv, .xlsx or .json)")
