"""Loading guideline files into the database: read, parse, interpret the clauses, store (all or nothing).

The reading and parsing are pure (`imports.guidelines`, `indicators`); this module turns their results into the
plain inputs of `tracker.services.guidelines` and calls it in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from imports.guideline_model import FieldKind, Node, ParsedGuideline, SourceText
from imports.guidelines import clause_records, parse_guideline, read_source_bytes
from indicators import interpret_clause
from tracker.services.audit import Actor
from tracker.services.guidelines import ClauseInput, DocumentInput, NodeInput, StoreResult, store_guideline


def interpret(text: str) -> list[dict[str, Any]]:
    """The clause interpreter the records and the database share."""
    return [reading.as_record() for reading in interpret_clause(text)]


@dataclass(frozen=True)
class Preview:
    """What an upload would store, shown before anything is saved."""

    source: SourceText
    parsed: ParsedGuideline
    content_hash: str
    document: DocumentInput


def prepare(name: str, data: bytes) -> Preview:
    """Read and parse an uploaded or local file; raises GuidelineReadError with a Chinese message."""
    source = read_source_bytes(name, data)
    parsed = parse_guideline(source)
    digest = hashlib.sha256(data).hexdigest()
    return Preview(source, parsed, digest, to_document_input(source, parsed, digest))


def to_document_input(source: SourceText, parsed: ParsedGuideline, content_hash: str) -> DocumentInput:
    records = clause_records(parsed, interpret)
    by_leaf: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record in records:
        by_leaf.setdefault(tuple(record["path"]), []).append(record)
    nodes = [_node_input(node, by_leaf.get(node.path, [])) for node in parsed.nodes]
    return DocumentInput(
        file_name=source.name, title=parsed.title, content_hash=content_hash, format=source.format,
        encoding=source.encoding, lines=source.lines, flags=[f.as_dict() for f in parsed.flags], nodes=nodes,
    )


def _node_input(node: Node, records: list[dict[str, Any]]) -> NodeInput:
    groups = {(c.line, c.label, c.text): c.group for c in node.clauses}
    clauses = []
    for record in records:
        clauses.append(ClauseInput(
            label=record["label"], text=record["text"], line=record["line"],
            group=_group_of(groups, record), combine=record["combine"], quantitative=record["quantitative"],
            targets=list(record["targets"]), flags=list(record.get("flags") or []),
        ))
    return NodeInput(
        path=node.path, title=node.title, kind=node.kind, marker=node.marker, line=node.line, leaf=node.leaf,
        direction=node.direction, inherits_indicators=node.inherited_from is not None,
        fields=[{"kind": str(f.kind), "label": f.label, "text": f.text, "line": f.line} for f in node.fields],
        content_items=[{"label": i.label, "text": i.text, "line": i.line, "selection": i.selection}
                       for i in node.content_items],
        selection_texts=[{"text": r.text, "line": r.line} for r in node.rules],
        flags=[f.as_dict() for f in node.flags],
        clauses=clauses,
    )


def _group_of(groups: dict[tuple[int, str | None, str], str | None], record: dict[str, Any]) -> str | None:
    exact = groups.get((record["line"], record["label"], record["text"]))
    if exact is not None:
        return exact
    # An S3 run carries a sub-text of its clause: find the clause it came from.
    for (line, label, text), group in groups.items():
        if line == record["line"] and label == record["label"] and record["text"] in text:
            return group
    return None


@dataclass(frozen=True)
class LoadOutcome:
    path: str
    result: StoreResult


def load_file(db: Session, path: str | Path, *, actor: Actor, now: datetime,
              programme_name: str | None = None) -> StoreResult:
    data = Path(path).read_bytes()
    preview = prepare(Path(path).name, data)
    return store_guideline(db, preview.document, actor=actor, now=now, programme_name=programme_name)


def store_preview(db: Session, preview: Preview, *, actor: Actor, now: datetime,
                  programme_name: str | None = None) -> StoreResult:
    return store_guideline(db, preview.document, actor=actor, now=now, programme_name=programme_name)


__all__ = ["FieldKind", "LoadOutcome", "Preview", "interpret", "load_file", "prepare", "store_preview"]
