"""Import against real SQLite and PostgreSQL: encodings, XLSX, idempotency, the bad-input corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from callback_service.app import App
from callback_service.db.models import AuditEntry, ImportBatch, Phone, Report, Reporter
from callback_service.intake.parsers import read_file
from callback_service.intake.service import import_rows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "intake"
EN_HEADER = ("report_no,received_at,station,channel,reporter_name,reporter_phone,reporter_id_number,category,"
             "tags,guardian_phone,do_not_call,safe_to_call")


def run_import(app: App, path: Path, strict: bool = False):  # type: ignore[no-untyped-def]
    return import_rows(app.sessions, read_file(path), app.intake_limits, strict=strict, filename=path.name)


def count(app: App, model: type) -> int:
    with app.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_gbk_csv_with_chinese_headers_imports(app: App) -> None:
    result = run_import(app, FIXTURES / "reports_gbk.csv")
    assert result.rejected == [] and result.imported == 5
    with app.sessions() as s:
        r = s.scalars(select(Report).where(Report.report_no == "JJ20261120002")).one()
        assert r.channel == "kiosk" and r.tags == ["domestic_violence"] and r.safe_to_call is True
        assert r.phone is not None and r.phone.e164 == "+863562021234" and r.station.name == "北关派出所"
        minor = s.scalars(select(Report).where(Report.report_no == "JJ20261120003")).one()
        assert minor.tags == ["minor"] and minor.guardian_phone.e164 == "+8613935609876"
        assert minor.phone is None
        wide = s.scalars(select(Report).where(Report.report_no == "JJ20261120004")).one()
        assert wide.phone.e164 == "+8613935601111" and wide.channel == "phone"
        transfer = s.scalars(select(Report).where(Report.report_no == "JJ20261120005")).one()
        assert transfer.do_not_call is True and transfer.phone.do_not_call is True
        assert transfer.received_at.isoformat() == "2026-11-20T08:00:00+00:00"
    assert {w.field for w in result.warnings} >= {"reporter_phone"}


def test_utf8_bom_csv_imports(app: App) -> None:
    result = run_import(app, FIXTURES / "reports_utf8bom.csv")
    assert result.imported == 2 and not result.rejected
    with app.sessions() as s:
        assert s.scalar(select(Phone.e164).join(Report, Report.phone_id == Phone.id)
                        .where(Report.report_no == "JJ20261121001")) == "+8613835602222"


def test_plain_utf8_and_xlsx_import_the_same_report(app: App, tmp_path: Path) -> None:
    row = ["X1", "2026-11-21 09:00", "城关派出所", "上门", "钱七", "13835604444", "", "盗窃", "", "", "否", ""]
    csv_path = tmp_path / "a.csv"
    csv_path.write_text(EN_HEADER + "\n" + ",".join(row) + "\n", encoding="utf-8")
    wb = Workbook()
    wb.active.append(["报案编号", "报案时间", "受理单位", "报案方式", "报案人", "联系电话", "身份证号", "案件类别",
                      "标签", "监护人电话", "拒绝回访", "可安全联系"])
    wb.active.append(row)
    xlsx_path = tmp_path / "a.xlsx"
    wb.save(xlsx_path)
    assert run_import(app, csv_path).imported == 1
    again = run_import(app, xlsx_path)
    assert again.imported == 0 and again.duplicates == 1 and again.rejected == []


def test_reimport_adds_nothing(app: App) -> None:
    first = run_import(app, FIXTURES / "reports_gbk.csv")
    second = run_import(app, FIXTURES / "reports_gbk.csv")
    assert (first.imported, second.imported, second.duplicates) == (5, 0, 5)
    assert count(app, Report) == 5 and count(app, Reporter) == 5
    assert count(app, ImportBatch) == 2 and count(app, AuditEntry) == 2


BAD_ROWS = [
    ("", "2026-11-21 09:00", "report_no"),
    ("B2", "not a time", "received_at"),
    ("B3", "2026-11-21 09:00|channel=fax", "channel"),
    ("B4", "2026-11-21 09:00|tags=涉黑", "tags"),
    ("B5", "2026-11-21 09:00|reporter_name=a\rAction: Originate", "reporter_name"),
    ("B6", "2026-11-21 09:00|category=" + "长" * 500, "category"),
    ("B7", "2026-11-21 09:00|do_not_call=maybe", "do_not_call"),
    ("B8", "2026-11-21 09:00|station=", "station"),
]


def _bad_file(tmp_path: Path) -> Path:
    items = [{"report_no": "GOOD1", "received_at": "2026-11-21 09:00", "station": "城关派出所",
              "channel": "walk_in", "reporter_phone": "13835605555"}]
    for no, spec, _ in BAD_ROWS:
        time, _, extra = spec.partition("|")
        item = {"report_no": no, "received_at": time, "station": "城关派出所", "channel": "walk_in"}
        if extra:
            key, _, value = extra.partition("=")
            item[key] = value
        items.append(item)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def test_bad_rows_are_rejected_with_line_and_field_and_good_rows_kept(app: App, tmp_path: Path) -> None:
    result = run_import(app, _bad_file(tmp_path))
    assert result.imported == 1
    got = {(p.line, p.field) for p in result.rejected}
    want = {(i + 2, field) for i, (_, _, field) in enumerate(BAD_ROWS)}
    assert got == want
    assert count(app, Report) == 1


def test_strict_imports_nothing_when_a_row_is_bad(app: App, tmp_path: Path) -> None:
    result = run_import(app, _bad_file(tmp_path), strict=True)
    assert result.imported == 0 and not result.committed and len(result.rejected) == len(BAD_ROWS)
    assert count(app, Report) == 0 and count(app, ImportBatch) == 0


def test_same_report_no_with_different_content_is_rejected(app: App, tmp_path: Path) -> None:
    run_import(app, FIXTURES / "reports_gbk.csv")
    path = tmp_path / "changed.csv"
    path.write_text(EN_HEADER + "\nJJ20261120001,2026-11-20 09:15,城关派出所,walk_in,张建国,13800000000,,,,,,\n",
                    encoding="utf-8")
    result = run_import(app, path)
    assert [(p.line, p.field) for p in result.rejected] == [(2, "report_no")]


def test_duplicate_inside_one_file(app: App, tmp_path: Path) -> None:
    line = "D1,2026-11-20 09:15,城关派出所,walk_in,甲,13835606666,,,,,,"
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([EN_HEADER, line, line, line.replace("甲", "乙")]) + "\n", encoding="utf-8")
    result = run_import(app, path)
    assert (result.imported, result.duplicates) == (1, 1)
    assert [(p.line, p.field) for p in result.rejected] == [(4, "report_no")]


def test_same_phone_on_two_reports_shares_one_phone_row(app: App, tmp_path: Path) -> None:
    lines = [f"P{i},2026-11-20 09:15,城关派出所,walk_in,甲,138-3560-7777,,,,,," for i in range(3)]
    path = tmp_path / "p.csv"
    path.write_text("\n".join([EN_HEADER, *lines]) + "\n", encoding="utf-8")
    assert run_import(app, path).imported == 3
    assert count(app, Phone) == 1


def test_cli_import_exit_codes_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from callback_service.cli import main
    monkeypatch.setenv("CALLBACK_SERVICE_VAR_DIR", str(tmp_path / "var"))
    assert main(["init"]) == 0
    capsys.readouterr()
    assert main(["import", str(FIXTURES / "reports_gbk.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 5
    assert main(["import", str(_bad_file(tmp_path)), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["imported"] == 1 and len(out["rejected"]) == len(BAD_ROWS)
    assert set(out) == {"imported", "duplicates", "rejected", "warnings"}
