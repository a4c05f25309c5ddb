"""Importing a 5,000-row award list into a fresh database, timed against openpyxl merely reading it (never run by CI).

usage: python bench/import_award_list.py [--rows N] [--repeat K] [--dry-runs M]

In a temporary directory: a new SQLite database brought to the newest schema, one officer account and the sample
guideline tracker/demo/samples/000_01a6d56b3cde02ef.txt. The award list is the downloadable template
(tracker.exports.award_template, its example row kept: the reader skips it) filled with openpyxl: directions
cycling over the guideline's leaf paths ("a / b / c"), a few dozen organisations whose 统一社会信用代码 carry valid
check characters, Excel dates, amounts in 万元, 实施期限 matching the guideline's 3 years or left blank.

Timed (time.perf_counter):
  (a) the baseline: `load_workbook(read_only=True, data_only=True)` + `iter_rows(values_only=True)` over the list
      sheet; median of K repetitions;
  (c) the preview: `preview_award_list` (read the file once and check every row against the database, write
      nothing), then a rollback; median of M repetitions;
  (b) the import: `preview_award_list` + `import_award_list` + commit, in one transaction, once (the command
      line's path; it fills the database, so a second run would only find the projects already there).
Times are printed next to the baseline of the same run, as ratios (DESIGN §5). G17 asks for ≤ 30 s.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

# `python bench/...` puts bench/ first on sys.path, so an installed copy of the project (an editable install of
# another checkout) would be measured: import this checkout's code.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import load_workbook  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from imports.award_loader import find_guideline, import_award_list, preview_award_list  # noqa: E402
from imports.guideline_loader import load_file  # noqa: E402
from indicators.identifiers import uscc_check_char  # noqa: E402
from tracker.db import make_engine, make_session_factory, session_scope  # noqa: E402
from tracker.exports.award_template import COLUMNS, SHEET_LIST, award_template  # noqa: E402
from tracker.models import Organisation, Project, Role  # noqa: E402
from tracker.schema import upgrade_database  # noqa: E402
from tracker.services.accounts import create_user  # noqa: E402
from tracker.services.audit import Actor  # noqa: E402
from tracker.services.projects import leaf_index  # noqa: E402

T = TypeVar("T")
SAMPLE = Path(__file__).resolve().parents[1] / "tracker" / "demo" / "samples" / "000_01a6d56b3cde02ef.txt"
ORGANISATIONS = 36
# Guangxi's prefecture-level divisions, so the organisations spread over cities as real lists do.
DIVISIONS = ("450100", "450200", "450300", "450400", "450500", "450600", "450700", "450800", "450900",
             "451000", "451100", "451200", "451300", "451400")
FUNDING_MODES = ["前资助", "后补助"]


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _organisations() -> list[tuple[str, str]]:
    """(统一社会信用代码, name): 91 = enterprise; check character computed (GB 32100-2015)."""
    result = []
    for n in range(ORGANISATIONS):
        body = f"91{DIVISIONS[n % len(DIVISIONS)]}MA5K{n:05d}"
        result.append((body + uscc_check_char(body), f"广西基准测试第{n + 1}科技有限公司"))
    return result


def build(rows: int, directions: list[str]) -> bytes:
    """The template filled with `rows` valid rows from its row 3 on (row 2 is the template's example)."""
    wb = load_workbook(io.BytesIO(award_template(directions, FUNDING_MODES)))
    ws = wb[SHEET_LIST]
    fields = [column.field for column in COLUMNS]
    organisations = _organisations()
    start = date(2025, 3, 1)
    for n in range(1, rows + 1):
        uscc, name = organisations[n % len(organisations)]
        values = {
            "project_code": f"2025GX{n:05d}", "title": f"面向第{n}类场景的关键技术研究与应用示范",
            "direction": directions[n % len(directions)], "content_items": None, "organisation_name": name,
            "uscc": uscc, "pi_name": ("李", "王", "张", "刘", "陈", "杨")[n % 6] + f"负责人{n % 97}",
            "pi_phone": f"138{n:08d}", "pi_email": f"pi{n}@example.com", "officer": "officer" if n % 3 else None,
            "start_date": start + timedelta(days=n % 200), "end_date": None, "period_months": "3年" if n % 2 else None,
            "fiscal_funding": 50 + (n * 37) % 450 + (n % 4) * 0.25, "self_funding": (n % 10) * 12.5 or None,
            "funding_mode": FUNDING_MODES[n % 2] if n % 5 else None,
        }
        for column, field in enumerate(fields, start=1):
            if values[field] is not None:
                ws.cell(row=n + 2, column=column, value=values[field])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _problems(result: Any) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.message) for p in result.problems[:5]]


def _baseline(data: bytes) -> int:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return sum(1 for _ in wb[SHEET_LIST].iter_rows(values_only=True))
    finally:
        wb.close()


def _prepare(url: str) -> tuple[str, list[str]]:
    """Schema, the officer account and the guideline; returns the guideline's name and its leaf paths."""
    engine = make_engine(url)
    try:
        upgrade_database(engine)
        now, actor = datetime.now(UTC), Actor.system("bench")
        with session_scope(make_session_factory(engine)) as db:
            create_user(db, username="officer", password=None, role=Role.OFFICER, now=now, display_name="王专员",
                        actor=actor)
            document = load_file(db, SAMPLE, actor=actor, now=now).document
            name = document.file_name
            paths = [" / ".join(leaf.path) for leaf in leaf_index(db, document)]
    finally:
        engine.dispose()
    return name, paths


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of the openpyxl baseline (median)")
    parser.add_argument("--dry-runs", type=int, default=3, help="repetitions of the dry run (median)")
    args = parser.parse_args()
    actor = Actor.system("bench")
    with tempfile.TemporaryDirectory(prefix="bench-awards-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        setup, (guideline, directions) = _timed(lambda: _prepare(url))
        build_time, data = _timed(lambda: build(args.rows, directions))
        (Path(tmp) / "awards.xlsx").write_bytes(data)
        print(f"guideline {SAMPLE.name}: {len(directions)} leaf directions (schema + guideline {setup:.1f} s)")
        print(f"award list: {args.rows} rows, {len(_organisations())} organisations, {len(data) / 1024:.0f} KiB "
              f"(built in {build_time:.1f} s)")

        bases = []
        for _ in range(args.repeat):
            elapsed, count = _timed(lambda: _baseline(data))
            bases.append(elapsed)
        base = statistics.median(bases)

        engine = make_engine(url)
        factory = make_session_factory(engine)
        try:
            dries = []
            for _ in range(args.dry_runs):
                db = factory()
                try:
                    document = find_guideline(db, guideline)
                    assert document is not None
                    elapsed, result = _timed(lambda d=db, doc=document: preview_award_list(
                        d, "awards.xlsx", data, doc, actor=actor, now=datetime.now(UTC)))
                    db.rollback()
                finally:
                    db.close()
                if result.problems:
                    raise SystemExit(f"unexpected problems: {_problems(result)}")
                dries.append(elapsed)
            dry = statistics.median(dries)

            db = factory()
            try:
                document = find_guideline(db, guideline)
                assert document is not None
                start = time.perf_counter()
                preview = preview_award_list(db, "awards.xlsx", data, document, actor=actor, now=datetime.now(UTC))
                if preview.problems:
                    raise SystemExit(f"unexpected problems: {_problems(preview)}")
                result = import_award_list(db, preview, document, actor=actor, now=datetime.now(UTC))
                if result.problems:
                    db.rollback()
                    raise SystemExit(f"unexpected problems: {_problems(result)}")
                db.commit()
                full = time.perf_counter() - start
            finally:
                db.close()
            with session_scope(factory) as db:
                projects = db.scalar(select(func.count()).select_from(Project)) or 0
                organisations = db.scalar(select(func.count()).select_from(Organisation)) or 0
                nodes = db.scalar(select(func.count(func.distinct(Project.node_id)))) or 0
        finally:
            engine.dispose()

    created = len(result.created)
    print(f"rows iterated by openpyxl: {count} (header and example row included)")
    print(f"created: {created} projects on {nodes} directions, {len(result.new_organisations)} new organisations "
          f"(database: {projects} projects, {organisations} organisations)")
    print(f"{f'(a) openpyxl iterating ({args.repeat}x, median)':<40}{base * 1000:10.1f} ms    1.0x")
    print(f"{f'(c) preview ({args.dry_runs}x, median)':<40}{dry * 1000:10.1f} ms  {dry / base:5.1f}x the baseline"
          f"   {args.rows / dry:7.0f} rows/s")
    print(f"{'(b) import + commit (once)':<40}{full * 1000:10.1f} ms  {full / base:5.1f}x the baseline"
          f"   {created / full:7.0f} projects/s")
    print(f"G17 asks for ≤ 30 s for 5,000 rows; this machine took {full:.1f} s for {args.rows} "
          "(shared machine: compare the ratios, not the seconds)")


if __name__ == "__main__":
    main()
