"""Helpers for the indicator tests: labelled records, predictions on the gold clause texts, and a crude
extraction of every indicator clause of the seed documents (test-only; the real segmenter is
`imports/guidelines.py`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from indicators.reading import interpret_clause

ROOT = Path(__file__).resolve().parents[3]
LABELS = ROOT / "tests" / "data" / "indicators-dev.jsonl"
SEEDS = ROOT / "tracker" / "demo" / "samples"


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_lines(seed: str) -> list[str] | None:
    path = SEEDS / seed
    if not path.exists():
        return None
    return path.read_text(encoding="utf-8").splitlines()


def parent_texts(records: list[dict]) -> list[str]:
    """The clause texts to interpret for one (seed, line, label) group: S3-split records that sit side by
    side in the source line, separated by a comma, are joined back into their parent clause."""
    texts = [r["text"] for r in records]
    lines = seed_lines(records[0]["seed"])
    if lines is None or len(texts) == 1:
        return texts
    raw = lines[records[0]["line"] - 1]
    out: list[str] = []
    pos = 0
    span: tuple[int, int] | None = None
    for text in texts:
        start = raw.find(text, pos)
        if start == -1:
            if span:
                out.append(raw[span[0]:span[1]])
                span = None
            out.append(text)
            continue
        end = start + len(text)
        if span and raw[span[1]:start] in ("，", ","):
            span = (span[0], end)
        else:
            if span:
                out.append(raw[span[0]:span[1]])
            span = (start, end)
        pos = end
    if span:
        out.append(raw[span[0]:span[1]])
    return out


def predict_from_gold(labels: list[dict]) -> list[dict]:
    """Run `interpret_clause` on the gold clause texts (S3 children rejoined) and return records."""
    groups: dict[tuple, list[dict]] = {}
    for r in labels:
        groups.setdefault((r["seed"], r["line"], r["label"]), []).append(r)
    out = []
    for (seed, line, label), records in groups.items():
        for text in parent_texts(records):
            for reading in interpret_clause(text):
                record = reading.as_record()
                record.update(seed=seed, line=line, label=label, direction=records[0]["direction"])
                out.append(record)
    return out


def direction_split(labels: list[dict], every: int = 5) -> tuple[list[dict], list[dict]]:
    """(development, held-out): every ``every``-th direction, in order of first appearance, is held out."""
    order: dict[tuple, int] = {}
    for r in labels:
        order.setdefault((r["seed"], r["direction"]), len(order))
    held = [r for r in labels if order[(r["seed"], r["direction"])] % every == every - 1]
    dev = [r for r in labels if order[(r["seed"], r["direction"])] % every != every - 1]
    return dev, held


# -- crude extraction of every indicator clause of a seed (smoke checks) ------------------------------

_BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")
_FIELD = re.compile(r"^\s*(?:\d+[.．]\s*)?(考核指标|考核要求)[：:](.*)$")
_NEXT_FIELD = re.compile(
    r"^\s*(?:\d+[.．]\s*)?(?:实施|资助|申报|相关说明|项目总投入|支持|研究内容|主要内容|方向|子方向)"
)
_MARKER = re.compile(r"（\d+）|[①②③④⑤⑥⑦⑧⑨⑩]")


def _depth0_split(text: str, separators: str) -> list[str]:
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(0, depth - 1)
        elif ch in separators and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [t.strip(" 。；;，") for t in out if t.strip(" 。；;，")]


def seed_clauses() -> Iterator[tuple[str, int, str]]:
    """(seed, line, clause text) for every indicator clause the crude segmenter finds in the seeds."""
    for path in sorted(SEEDS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            m = _FIELD.match(_BOOKMARK.sub("", line))
            if not m:
                continue
            values = [(n, m.group(2))] if m.group(2).strip() else []
            k = n
            while not values and k < len(lines) and k < n + 8:
                nxt = _BOOKMARK.sub("", lines[k])
                k += 1
                if nxt.strip() and not _NEXT_FIELD.match(nxt):
                    values.append((k, nxt))
            for line_no, value in values:
                positions = [mm.start() for mm in _MARKER.finditer(value)]
                if positions:
                    bounds = positions + [len(value)]
                    for a, b in zip(bounds, bounds[1:], strict=False):
                        item = _MARKER.sub("", value[a:b], count=1)
                        for clause in _depth0_split(item, "。"):
                            yield path.name, line_no, clause
                else:
                    for clause in _depth0_split(value, "。；;"):
                        yield path.name, line_no, clause


FROZEN = ROOT / "tests" / "data" / "indicators-frozen.jsonl"


def parse_seeds() -> list[dict]:
    """Every record `tracker guidelines parse --format jsonl` prints for the five seeds (the importer's segmenter
    and the reader together), so a sample is scored as the shared scorer scores it."""
    from imports.guideline_loader import interpret
    from imports.guidelines import clause_records, parse_guideline, read_source

    records: list[dict] = []
    for path in sorted(SEEDS.glob("*.txt")):
        records.extend(clause_records(parse_guideline(read_source(path)), interpret))
    return records
