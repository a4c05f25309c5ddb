"""Building the demo database at scale, per stage, next to the default demo built in the same run (never run by CI).

usage: python bench/demo_build.py [--projects N] [--no-baseline] [--code DIR]

Each build goes into a new SQLite file in a temporary directory (schema by Alembic, then `build_demo` in this
process, in one transaction, committed), removed at the end. Printed: the seconds of every stage (as `build_demo`
reports them through its progress callback), the total with the commit, the per-project figure, and the same for
the default 60-project demo built first in the same run (the baseline: DESIGN §5 wants ratios against a baseline
of the same run, the machine being shared). The load average is printed with the figures.

`--code DIR` measures another checkout's code (e.g. the branch start extracted with
`git archive b954200 | tar -x -C DIR`); a `build_demo` without the progress callback is timed as a whole.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(projects: int, tmp: Path) -> tuple[float, list[tuple[str, float]], list[str]]:
    """(total seconds, [(stage, seconds)], the demo's summary lines) for one fresh build."""
    from tracker import clock
    from tracker.db import make_engine, make_session_factory
    from tracker.demo.build import build_demo
    from tracker.schema import upgrade_database

    stages: list[tuple[str, float]] = []
    marks = {"stage": "数据库结构", "at": time.perf_counter()}
    start = marks["at"]

    def progress(stage: str, done: int, total: int) -> None:
        if stage != marks["stage"]:
            now = time.perf_counter()
            stages.append((marks["stage"], now - marks["at"]))
            marks.update(stage=stage, at=now)

    engine = make_engine(f"sqlite:///{tmp / f'demo-{projects}.db'}")
    upgrade_database(engine)
    kwargs = {"progress": progress} if "progress" in inspect.signature(build_demo).parameters else {}
    with make_session_factory(engine)() as db:
        lines = build_demo(db, now=clock.now(), data_dir=tmp / f"files-{projects}", projects=projects, **kwargs)
        progress("提交", 0, 0)
        db.commit()
    progress("", 0, 0)
    engine.dispose()
    return time.perf_counter() - start, stages, lines


def show(title: str, projects: int, result: tuple[float, list[tuple[str, float]], list[str]]) -> None:
    total, stages, lines = result
    print(f"{title}: {projects} projects in {total:.1f} s ({total / projects * 1000:.1f} ms a project)")
    for stage, seconds in stages:
        print(f"  {stage:<16}{seconds:8.1f} s")
    for line in lines:
        print(f"  | {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the default 60-project demo")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code is measured")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    os.environ.setdefault("TRACKER_ENV", "dev")
    print(f"code: {args.code.resolve()}; load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        baseline = None
        if not args.no_baseline:
            baseline = build(60, Path(tmp))
            show("baseline, the default demo", 60, baseline)
        result = build(args.projects, Path(tmp))
        show("the demo", args.projects, result)
    if baseline is not None:
        ratio = (result[0] / args.projects) / (baseline[0] / 60)
        print(f"per project: {ratio:.2f}x the default demo's; the whole build {result[0] / baseline[0]:.1f}x its time")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
