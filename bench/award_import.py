"""Reading a 5,000-row award list, timed against openpyxl merely iterating the same sheet (never run by CI).

usage: python bench/award_import.py [--rows N] [--repeat N]

The list is built in a temporary directory with openpyxl (normal mode, so it carries a <dimension> like
files saved by Excel or WPS). Per repetition: `read_award_list` on the bytes, and, as the baseline,
`load_workbook(read_only=True, data_only=True)` plus `iter_rows(values_only=True)` over the sheet. Medians;
the reader's time is printed as a ratio of the baseline of the same run (DESIGN §5). G17 asks for ≤ 30 s.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook, load_workbook

from imports.awards import read_award_list
from indicators.identifiers import uscc_check_char

HEADERS = ("序号", "项目编号", "项目名称", "方向", "研究内容条目", "承担单位", "统一社会信用代码", "项目负责人",
           "负责人电话", "负责人邮箱", "项目管理专员", "任务书签订日期", "结束日期", "实施期限", "财政资助（万元）",
           "自筹经费（万元）", "资助方式")


def _uscc(n: int) -> str:
    body = f"913501{n % 1_000_000:06d}{n % 100_000:05d}"[:17]
    return body + uscc_check_char(body)


def build(rows: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "立项清单"
    ws.append(["2025年度科技计划立项项目清单"])
    ws.append(list(HEADERS))
    start = date(2025, 3, 1)
    for n in range(1, rows + 1):
        amount = (f"{1000 + n % 900:,}", 85.5 + n % 40, f"{n % 300 + 20}万元")[n % 3]
        ws.append([n, f"2025ZD{n:05d}", f"面向第{n}类场景的关键技术研究与应用示范", f"专题{n % 7 + 1} / 方向{n % 23}",
                   "1、3" if n % 2 else "2", f"第{n % 900}科技有限公司", _uscc(n), f"负责人{n % 500}",
                   f"138{n:08d}", f"pi{n}@example.com", "officer" if n % 3 else None,
                   start + timedelta(days=n % 200), None, "3年" if n % 2 else "24个月", amount,
                   (n % 10) * 12.5, "后补助" if n % 4 else "前资助"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _baseline(data: bytes) -> int:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "awards.xlsx"
        path.write_bytes(build(args.rows))
        data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        ratio = sheet.file_size / sheet.compress_size
    reads, bases = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = read_award_list("awards.xlsx", data)
        reads.append(time.perf_counter() - start)
        start = time.perf_counter()
        _baseline(data)
        bases.append(time.perf_counter() - start)
    if result.errors:
        raise SystemExit(f"unexpected errors: {[str(e) for e in result.errors[:5]]}")
    read, base = statistics.median(reads), statistics.median(bases)
    print(f"file: {len(data) / 1024:.0f} KiB, sheet XML {sheet.file_size / 1024:.0f} KiB (deflate ratio {ratio:.1f})")
    print(f"rows read: {len(result.rows)}")
    print(f"openpyxl iterating: {base * 1000:8.1f} ms")
    print(f"read_award_list:    {read * 1000:8.1f} ms  ({read / base:.2f}× the baseline)")


if __name__ == "__main__":
    main()
