"""CSV for spreadsheets without formula injection.

Excel, WPS and LibreOffice run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
DDE such as ``=cmd|' /C calc'!A0`` starts programs); a leading TAB or CR can hide such a start, and WPS
also reads the full-width forms. Imported report fields (category, station, report number) and
reviewers' notes reach exports, so every text cell that could start a formula, after any leading
whitespace, is prefixed with an apostrophe: spreadsheets then show it as text, and people still read
the original value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")   # last four: full-width = + - @
BOM = "\ufeff"   # Excel needs it to read UTF-8 (Chinese text) instead of the local code page


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    stripped = text.lstrip(" \u3000")
    if text and (text[0] in FORMULA_STARTS or (stripped and stripped[0] in FORMULA_STARTS)):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return out.getvalue()
