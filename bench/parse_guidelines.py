"""Parsing the five seed guidelines, timed against merely reading them from disk (never run by CI).

usage: python bench/parse_guidelines.py [--repeat N]

Per repetition: read (`read_source`: disk, decoding, line split) all five seeds, parse them (`parse_guideline`),
then build the clause and tree records. Medians over the repetitions; the parse time is printed as a ratio of
the read time measured in the same run (DESIGN §5: figures are ratios against a baseline of the same run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# `python bench/...` puts bench/ first on sys.path, so an installed copy of the project (an editable install of
# another checkout) would be measured: import this checkout's code.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imports.guidelines import clause_records, parse_guideline, read_source, tree_records  # noqa: E402

T = TypeVar("T")
SAMPLES = Path(__file__).resolve().parents[1] / "tracker" / "demo" / "samples"


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    files = sorted(SAMPLES.glob("*.txt"))
    reads, parses, records = [], [], []
    per_file: dict[str, list[float]] = {f.name: [] for f in files}
    for _ in range(args.repeat):
        read_time, sources = _timed(lambda: [read_source(f) for f in files])
        parsed = []
        for source in sources:
            elapsed, result = _timed(lambda s=source: parse_guideline(s))
            per_file[source.name].append(elapsed)
            parsed.append(result)
        record_time, _ = _timed(lambda done=parsed: [(clause_records(p), tree_records(p)) for p in done])
        reads.append(read_time)
        parses.append(sum(per_file[s.name][-1] for s in sources))
        records.append(record_time)
    read, parse, record = (statistics.median(x) for x in (reads, parses, records))
    lines = sum(len(s.lines) for s in sources)
    print(f"{len(files)} seeds, {lines} lines, {args.repeat} repetitions (medians)")
    print(f"  read from disk   {read * 1000:8.2f} ms   1.0x")
    print(f"  parse            {parse * 1000:8.2f} ms   {parse / read:.1f}x read")
    print(f"  records          {record * 1000:8.2f} ms   {record / read:.1f}x read")
    for name, times in per_file.items():
        print(f"    parse {name:<28} {statistics.median(times) * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
