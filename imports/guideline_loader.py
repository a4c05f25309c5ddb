"""Loading guideline files into the database: read, parse, interpret the clauses, store (all or nothing).

The reading and parsing are pure (`imports.guidelines`, `indicators`); this module turns their results into the
plain inputs of `tracker.services.guidelines` and calls it in the caller's transaction.

An upload (the catalogue page) is two steps: `preview_upload` reads the file once and says what storing it would do
and whether this user may; `store_upload` stores it after planning again against the database as it is then.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from imports.guideline_model import FieldKind, Node, ParsedGuideline, SourceText
from imports.guidelines import GuidelineReadError, clause_records, parse_guideline, read_source_bytes
from indicators.reading import interpret_clause
from indicators.rules import funding, period, selection
from tracker.models import User
from tracker.services import guidelines as catalogue
from tracker.services.audit import Actor
from tracker.services.guidelines import (
    ClauseInput,
    DocumentInput,
    NodeInput,
    StorePlan,
    StoreResult,
    store_guideline,
)
from tracker.services.indicator_review import carry_over
from tracker.services.twins import flag_twin_conflicts


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
        selection_rule=_selection(node) if node.leaf else None,
        funding_rule=_funding(node) if node.leaf else None,
        period_rule=_period(node) if node.leaf else None,
    )


def _flags(found: Any) -> list[dict[str, Any]]:
    return [{"kind": f.kind, "message": f.message} for f in found]


def _selection(node: Node) -> dict[str, Any] | None:
    """Which indicators a project must meet: block-level rules (满足考核指标①或②即可) and per content item
    (（满足考核指标中的①②⑤⑥⑦或①③⑤⑥⑦）); without either, all of the block (DESIGN §2)."""
    labels = [c.label for c in node.clauses]
    block = None
    flags: list[dict[str, Any]] = []
    for rule in node.rules:
        parsed = selection.parse_selection_rule(rule.text, labels)
        flags += _flags(parsed.flags)
        if parsed.rule is not None and block is None:
            block = {"rule": selection.to_dict(parsed.rule), "text": rule.text, "line": rule.line,
                     "description": selection.describe(parsed.rule)}
    items = []
    for item in node.content_items:
        if not item.selection:
            continue
        parsed = selection.parse_selection_rule(f"满足考核指标中的{item.selection}", labels)
        flags += _flags(parsed.flags)
        if parsed.rule is not None:
            items.append({"label": item.label, "line": item.line, "rule": selection.to_dict(parsed.rule),
                          "description": selection.describe(parsed.rule)})
    if block is None and not items:
        if not labels:
            return None
        default = selection.default_rule(labels)
        block = {"rule": selection.to_dict(default), "text": None, "line": None,
                 "description": selection.describe(default)}
    return {"block": block, "items": items, "flags": flags}


def _labelled(node: Node, *kinds: FieldKind) -> list[str]:
    return [f"{f.label}：{f.text}" if f.label else f.text for f in node.fields if f.kind in kinds]


def _funding(node: Node) -> dict[str, Any] | None:
    texts = _labelled(node, FieldKind.FUNDING, FieldKind.ELIGIBILITY, FieldKind.NOTES)
    if not texts:
        return None
    rule = funding.parse_funding(texts)
    return {"rule": funding.to_dict(rule), "description": funding.describe(rule), "flags": _flags(rule.flags)}


def _period(node: Node) -> dict[str, Any] | None:
    text = node.text_of(FieldKind.PERIOD)
    if not text:
        return None
    rule = period.parse_period(text)
    return {"rule": period.to_dict(rule), "description": period.describe(rule), "text": text}


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
              programme_name: str | None = None, file_name: str | None = None) -> StoreResult:
    """`file_name`: the name people know the file by, when the path's own name is a storage name."""
    data = Path(path).read_bytes()
    preview = prepare(file_name or Path(path).name, data)
    return store_preview(db, preview, actor=actor, now=now, programme_name=programme_name)


def store_preview(db: Session, preview: Preview, *, actor: Actor, now: datetime,
                  programme_name: str | None = None) -> StoreResult:
    """Store, and carry the officers' corrections of the previous version over to the clauses that stayed."""
    result = store_guideline(db, preview.document, actor=actor, now=now, programme_name=programme_name)
    if result.created:
        flag_twin_conflicts(db, result.document)
        if result.replaced is not None:
            carry_over(db, result.document, result.replaced, actor=actor, now=now)
    return result


# --- an upload in two steps --------------------------------------------------------------------------------------

log = logging.getLogger("tracker.imports")


class StoreRefused(Exception):
    """This user may not store this guideline; str(exc) says why, in Chinese."""


@dataclass(frozen=True)
class UploadPreview:
    parsed: Preview
    programme_name: str  # as typed by the uploader ("" = the document's own title)
    plan: StorePlan
    refusal: str  # why the uploader may not store it; "" when they may
    size: int  # bytes

    @property
    def needs_confirming(self) -> bool:
        """A file already imported has nothing to store."""
        return self.plan.status != "duplicate" and not self.refusal


def preview_upload(db: Session, name: str, data: bytes, *, user: User | None, programme_name: str = ""
                   ) -> UploadPreview:
    """Read and parse the file once and plan its storing; nothing is written. Raises GuidelineReadError with a
    Chinese message for a file that cannot be read, whatever went wrong in the reader (never a 500)."""
    try:
        parsed = prepare(name, data)
    except GuidelineReadError:
        raise
    except Exception as exc:
        incident = secrets.token_hex(6)
        log.exception("guideline parser failed on an upload, incident %s", incident)
        raise GuidelineReadError(f"文件“{name}”无法解析（事件编号：{incident}），请检查文件内容，"
                                 "或把文件和事件编号交给管理员") from exc
    plan = catalogue.plan_store(db, parsed.document, programme_name or None)
    return UploadPreview(parsed, programme_name, plan, catalogue.store_refusal(db, user, plan), len(data))


def store_upload(db: Session, upload: UploadPreview, *, user: User | None, actor: Actor, now: datetime
                 ) -> StoreResult:
    """Store the previewed file in the caller's transaction. The plan is made again first: the programmes may have
    changed since the preview (StoreRefused when the user may no longer store it). An officer who starts a new
    programme is assigned to it."""
    plan = catalogue.plan_store(db, upload.parsed.document, upload.programme_name or None)
    refusal = catalogue.store_refusal(db, user, plan)
    if refusal:
        raise StoreRefused(refusal)
    result = store_preview(db, upload.parsed, actor=actor, now=now, programme_name=upload.programme_name or None)
    if user is not None and result.created:
        catalogue.assign_uploader(db, user, result.document.programme, actor=actor, now=now)
    return result


__all__ = ["FieldKind", "LoadOutcome", "Preview", "StoreRefused", "UploadPreview", "interpret", "load_file",
           "prepare", "preview_upload", "store_preview", "store_upload"]
