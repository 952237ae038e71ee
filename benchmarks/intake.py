"""Import throughput: N rows of a GBK CSV export through the real import path, SQLite and PostgreSQL.

Prints one JSON object: rows/s and peak RSS per backend (each backend runs in its own process so
its peak memory is its own).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, scratch_db  # noqa: E402

HEADER = "报案编号,报案时间,受理单位,报案方式,报案人,联系电话,身份证号,案件类别,标签,监护人电话,拒绝回访,可安全联系"
STATIONS = ("城关派出所", "北关派出所", "南街派出所", "西关派出所", "东城派出所", "开发区派出所", "新华派出所",
            "站前派出所", "河西派出所")


def make_export(path: Path, rows: int) -> None:
    lines = [HEADER]
    for i in range(rows):
        lines.append(f"JJ{i:09d},2026-11-{1 + i % 28:02d} {9 + i % 10:02d}:{i % 60:02d},{STATIONS[i % 9]},"
                     f"{'上门' if i % 3 else '自助终端'},张三{i % 97},139{i % 100000000:08d},110101199003074514,盗窃,"
                     f"{'家暴' if i % 50 == 0 else ''},,否,")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def run(backend: str, export: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from callback_service.app import build_app
    from callback_service.config import load_settings
    from callback_service.db.migrate import upgrade
    from callback_service.intake.parsers import read_file
    from callback_service.intake.service import import_rows
    with scratch_db(backend) as url, tempfile.TemporaryDirectory() as var:
        app = build_app(load_settings(env={}, database_url=url, var_dir=Path(var), secret_key="bench"))
        upgrade(app.engine)
        started = time.perf_counter()
        result = import_rows(app.sessions, read_file(Path(export)), app.intake_limits, filename="bench.csv")
        seconds = time.perf_counter() - started
        again = time.perf_counter()
        dup = import_rows(app.sessions, read_file(Path(export)), app.intake_limits, filename="bench.csv")
        reimport = time.perf_counter() - again
        app.close()
    queue.put({"backend": backend, "rows": result.imported, "seconds": round(seconds, 2),
               "rows_per_s": round(result.imported / seconds), "reimport_seconds": round(reimport, 2),
               "reimport_duplicates": dup.duplicates, "peak_rss_mb": peak_rss_mb()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.csv"
        make_export(export, args.rows)
        out = {"benchmark": "intake", "rows": args.rows, "file_mb": round(export.stat().st_size / 2**20, 1),
               "results": []}
        ctx = mp.get_context("spawn")
        for backend in args.backends.split(","):
            queue = ctx.Queue()
            proc = ctx.Process(target=run, args=(backend, str(export), queue))
            proc.start()
            out["results"].append(queue.get())
            proc.join()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
