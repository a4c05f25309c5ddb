"""Guideline documents (指南) → a tree of nodes and their indicator clauses.

Public API (other code calls these names):

- `read_source(path) -> SourceText`, `read_source_bytes(name, data) -> SourceText` — .txt (UTF-8, UTF-8 with BOM,
  UTF-16, GB18030/GBK) or .docx; `GuidelineReadError` (a `ValueError`, Chinese message) for an empty, binary,
  oversized (`MAX_SOURCE_BYTES`) or unreadable file, a zip that is not a Word document, a .doc or a PDF.
- `parse_guideline(source) -> ParsedGuideline` — raises `GuidelineReadError` when no heading is recognised.
- `tree_records(parsed) -> list[dict]` — one per node, the `tracker guidelines tree` shape (DESIGN §4).
- `clause_records(parsed, interpret=None) -> list[dict]` — one per indicator clause per leaf, the
  `tracker guidelines parse` shape (DESIGN §4, `tests/data/indicators-dev.jsonl`) plus `path` and `flags`.

Data (frozen dataclasses, `imports.guideline_model`):

- `SourceText(name, lines, format, encoding, hints, warnings)` — lines are .txt lines or .docx paragraphs.
- `ParsedGuideline(name, title, nodes, flags, fields, clauses)` — nodes in document order; `fields`/`clauses`
  are document-level (003's global 考核要求 sits there and every leaf inherits it).
- `Node(path, title, kind, marker, number, line, leaf, fields, content_items, clauses, indicator_line,
  inherited_from, rules, flags)` — identity = document + `path` (titles from the root, never a title alone).
  `indicator_line` is set when the node has its own 考核指标 block; `inherited_from` is the path of the node
  whose block it shares (`()` = the document). `Node.direction` is the `direction` of clause records.
- `Field(kind, label, text, line)` with `FieldKind` content / indicators / period / funding / eligibility /
  notes; `ContentItem(label, text, line, selection)`; `Clause(label, text, line, group, flags)`;
  `SelectionRule(text, line)` for S4 text; `Flag(kind, line, message)` with `FlagKind`.

Modules: `guideline_text` (characters), `guideline_lines` (one line's shape), `guideline_builder` (the tree),
`guideline_clauses` (taxonomy S1/S2/S4), `guideline_source` (reading), `docx_reader` (.docx paragraphs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from imports.guideline_builder import build_tree
from imports.guideline_model import (
    Clause,
    ContentItem,
    Field,
    FieldKind,
    Flag,
    FlagKind,
    GuidelineReadError,
    Node,
    ParsedGuideline,
    SelectionRule,
    SourceText,
)
from imports.guideline_source import MAX_SOURCE_BYTES, read_source, read_source_bytes

__all__ = [
    "MAX_SOURCE_BYTES", "Clause", "ContentItem", "Field", "FieldKind", "Flag", "FlagKind", "GuidelineReadError",
    "Interpreter", "Node", "ParsedGuideline", "SelectionRule", "SourceText", "clause_records", "parse_guideline",
    "read_source", "read_source_bytes", "tree_records",
]

# interpret(text) → one dict per run (taxonomy S3), each with targets, combine, quantitative and optionally
# text, kind, flags.
Interpreter = Callable[[str], Iterable[Mapping[str, Any]]]


def parse_guideline(source: SourceText) -> ParsedGuideline:
    return build_tree(source)


def tree_records(parsed: ParsedGuideline) -> list[dict[str, Any]]:
    return [
        {"seed": parsed.name, "line": node.line, "path": list(node.path), "title": node.title, "leaf": node.leaf,
         "has_indicators": node.has_indicators, "flags": [f.as_dict() for f in node.flags]}
        for node in parsed.nodes
    ]


def clause_records(parsed: ParsedGuideline, interpret: Interpreter | None = None) -> list[dict[str, Any]]:
    """One record per clause per leaf; a shared block is printed for every leaf that inherits it."""
    records: list[dict[str, Any]] = []
    for leaf in parsed.leaves:
        for clause in leaf.clauses:
            records.extend(_clause_runs(parsed.name, leaf, clause, interpret))
    return records


def _clause_runs(seed: str, leaf: Node, clause: Clause, interpret: Interpreter | None) -> list[dict[str, Any]]:
    base = {"seed": seed, "line": clause.line, "direction": leaf.direction, "label": clause.label,
            "text": clause.text, "targets": [], "combine": "all", "quantitative": False,
            "path": list(leaf.path), "flags": [f.as_dict() for f in clause.flags]}
    runs = list(interpret(clause.text)) if interpret else []
    if not runs:
        return [base]
    records = []
    for run in runs:
        record = dict(base)
        record.update({key: run[key] for key in ("targets", "combine", "quantitative", "text", "kind") if key in run})
        record["flags"] = base["flags"] + list(run.get("flags") or [])
        records.append(record)
    return records
