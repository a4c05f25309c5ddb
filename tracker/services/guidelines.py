"""Storing guideline documents and reading the catalogue.

The readers in `imports/` turn a file into the plain inputs below; this module stores them in one
transaction (all or nothing), versioned per programme and idempotent by the file's content hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from tracker.models import GuidelineClause, GuidelineDocument, GuidelineNode, Programme, RuleCorrection, User
from tracker.services import audit
from tracker.services.audit import Actor


@dataclass(frozen=True)
class ClauseInput:
    label: str | None
    text: str
    line: int
    group: str | None = None
    combine: str = "all"
    quantitative: bool = False
    targets: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class NodeInput:
    path: tuple[str, ...]
    title: str
    kind: str
    marker: str | None
    line: int
    leaf: bool
    direction: str
    inherits_indicators: bool = False
    fields: list[dict[str, Any]] = field(default_factory=list)
    content_items: list[dict[str, Any]] = field(default_factory=list)
    selection_texts: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    clauses: list[ClauseInput] = field(default_factory=list)
    selection_rule: dict[str, Any] | None = None
    funding_rule: dict[str, Any] | None = None
    period_rule: dict[str, Any] | None = None


@dataclass(frozen=True)
class DocumentInput:
    file_name: str
    title: str | None
    content_hash: str
    format: str
    encoding: str | None
    lines: tuple[str, ...]
    flags: list[dict[str, Any]]
    nodes: list[NodeInput]


@dataclass(frozen=True)
class StoreResult:
    document: GuidelineDocument
    created: bool  # False: the same file was already imported, nothing changed
    replaced: GuidelineDocument | None = None  # the previous version, when this is a new version


def programme_name_for(doc: DocumentInput) -> str:
    """A document's programme: its title, or its file name without the extension."""
    if doc.title and doc.title.strip():
        return doc.title.strip()[:300]
    return doc.file_name.rsplit(".", 1)[0][:300]


def store_guideline(db: Session, doc: DocumentInput, *, actor: Actor, now: datetime,
                    programme_name: str | None = None) -> StoreResult:
    """Store a parsed document as the newest version of its programme (created if needed)."""
    existing = db.scalar(select(GuidelineDocument).where(GuidelineDocument.content_hash == doc.content_hash)
                         .order_by(GuidelineDocument.id).limit(1))
    if existing is not None:
        return StoreResult(existing, created=False)
    name = (programme_name or "").strip()[:300] or programme_name_for(doc)
    programme = db.scalar(select(Programme).where(Programme.name == name))
    if programme is None:
        programme = Programme(name=name, description="", is_active=True, created_at=now, version=1)
        db.add(programme)
        db.flush()
        audit.record(db, actor, "programme_created", now=now, object_type="programme", object_id=programme.id,
                     after={"name": name, "from": doc.file_name})
    previous = db.scalar(select(GuidelineDocument).where(GuidelineDocument.programme_id == programme.id,
                                                         GuidelineDocument.is_current.is_(True)))
    version = (db.scalar(select(func.max(GuidelineDocument.version))
                         .where(GuidelineDocument.programme_id == programme.id)) or 0) + 1
    if previous is not None:
        previous.is_current = False
    document = GuidelineDocument(
        programme=programme, version=version, file_name=doc.file_name[:255], title=doc.title,
        content_hash=doc.content_hash, format=doc.format, encoding=doc.encoding, source_text="\n".join(doc.lines),
        flags=doc.flags, leaf_count=sum(1 for n in doc.nodes if n.leaf),
        clause_count=sum(len(n.clauses) for n in doc.nodes), is_current=True, imported_at=now,
        imported_by_id=actor.user_id,
    )
    db.add(document)
    db.flush()
    _store_nodes(db, document, doc.nodes)
    audit.record(db, actor, "guideline_imported", now=now, object_type="guideline_document", object_id=document.id,
                 after={"programme": name, "version": version, "file": doc.file_name, "hash": doc.content_hash,
                        "leaves": document.leaf_count, "clauses": document.clause_count})
    return StoreResult(document, created=True, replaced=previous)


def _store_nodes(db: Session, document: GuidelineDocument, nodes: list[NodeInput]) -> None:
    by_path: dict[tuple[str, ...], GuidelineNode] = {}
    for position, node in enumerate(nodes):
        parent = by_path.get(node.path[:-1])
        content = " ".join(str(f.get("text", "")) for f in node.fields)
        row = GuidelineNode(
            document=document, parent_id=parent.id if parent else None, position=position, path=list(node.path),
            depth=len(node.path), title=node.title[:500], kind=node.kind, marker=node.marker, line=node.line,
            is_leaf=node.leaf, direction=node.direction[:500], inherits_indicators=node.inherits_indicators,
            fields=node.fields, content_items=node.content_items, selection_texts=node.selection_texts,
            flags=node.flags, selection_rule=node.selection_rule, funding_rule=node.funding_rule,
            period_rule=node.period_rule, search_text=f"{node.title} {content}"[:20000],
        )
        db.add(row)
        db.flush()
        by_path[node.path] = row
        for index, clause in enumerate(node.clauses):
            db.add(GuidelineClause(
                node_id=row.id, position=index, label=clause.label, text=clause.text, line=clause.line,
                group=clause.group, combine=clause.combine, quantitative=clause.quantitative,
                targets=clause.targets, flags=clause.flags,
            ))
    db.flush()


# --- reading the catalogue -----------------------------------------------------------------------


def visible_programme_ids(db: Session, user: User) -> set[int] | None:
    """None = every programme (admin, finance, expert read the catalogue); else the officer's assignments."""
    if user.role == "officer":
        return {p.id for p in user.programmes}
    if user.role in ("admin", "finance", "expert"):
        return None
    return set()


def current_documents(db: Session, user: User) -> list[GuidelineDocument]:
    query = (select(GuidelineDocument).join(Programme).where(GuidelineDocument.is_current.is_(True))
             .order_by(Programme.name))
    ids = visible_programme_ids(db, user)
    if ids is not None:
        query = query.where(GuidelineDocument.programme_id.in_(ids or {-1}))
    return list(db.scalars(query))


def document_for(db: Session, user: User, document_id: int) -> GuidelineDocument | None:
    """The document if the user may see it; None for a missing or foreign one alike."""
    document = db.get(GuidelineDocument, document_id)
    if document is None:
        return None
    ids = visible_programme_ids(db, user)
    if ids is not None and document.programme_id not in ids:
        return None
    return document


def node_for(db: Session, user: User, node_id: int) -> GuidelineNode | None:
    node = db.get(GuidelineNode, node_id)
    if node is None or document_for(db, user, node.document_id) is None:
        return None
    return node


def clause_for(db: Session, user: User, clause_id: int) -> GuidelineClause | None:
    clause = db.get(GuidelineClause, clause_id)
    if clause is None or node_for(db, user, clause.node_id) is None:
        return None
    return clause


def search_nodes(db: Session, user: User, words: str, *, limit: int = 100) -> list[GuidelineNode]:
    terms = [w for w in words.replace("　", " ").split() if w][:5]
    if not terms:
        return []
    query = (select(GuidelineNode).join(GuidelineDocument)
             .where(GuidelineDocument.is_current.is_(True), GuidelineNode.is_leaf.is_(True)))
    for term in terms:
        like = f"%{term[:50]}%"
        query = query.where(or_(GuidelineNode.title.ilike(like), GuidelineNode.search_text.ilike(like)))
    ids = visible_programme_ids(db, user)
    if ids is not None:
        query = query.where(GuidelineDocument.programme_id.in_(ids or {-1}))
    return list(db.scalars(query.order_by(GuidelineNode.document_id, GuidelineNode.position).limit(limit)))


# --- reading one document (constant query counts: nodes and clauses of a document in one query each) ---------


def catalogue_documents(db: Session, user: User) -> list[GuidelineDocument]:
    """`current_documents` for the catalogue list: programme loaded with it, source text left in the database."""
    query = (select(GuidelineDocument).join(GuidelineDocument.programme)
             .options(contains_eager(GuidelineDocument.programme))
             .where(GuidelineDocument.is_current.is_(True)).order_by(Programme.name))
    ids = visible_programme_ids(db, user)
    if ids is not None:
        query = query.where(GuidelineDocument.programme_id.in_(ids or {-1}))
    return list(db.scalars(query))


def documents_by_id(db: Session, ids: set[int]) -> dict[int, GuidelineDocument]:
    """Documents with their programme, in one query (the source text is not loaded)."""
    if not ids:
        return {}
    query = (select(GuidelineDocument).join(GuidelineDocument.programme)
             .options(contains_eager(GuidelineDocument.programme))
             .where(GuidelineDocument.id.in_(ids)))
    return {d.id: d for d in db.scalars(query)}


def document_nodes(db: Session, document_id: int) -> list[GuidelineNode]:
    """Every node of a document in document order, in one query."""
    return list(db.scalars(select(GuidelineNode).where(GuidelineNode.document_id == document_id)
                           .order_by(GuidelineNode.position)))


def clause_counts(db: Session, document_id: int) -> dict[int, int]:
    """Node id → number of indicator clauses (own or inherited), for a whole document in one query."""
    rows = db.execute(select(GuidelineClause.node_id, func.count()).join(GuidelineNode)
                      .where(GuidelineNode.document_id == document_id).group_by(GuidelineClause.node_id))
    return {node_id: count for node_id, count in rows}


@dataclass(frozen=True)
class ClauseFlags:
    document_id: int
    node_id: int
    line: int
    flags: list[dict[str, Any]]


def clause_flags(db: Session, document_ids: set[int]) -> list[ClauseFlags]:
    """The flags of every clause of these documents (one query), in document order."""
    if not document_ids:
        return []
    rows = db.execute(select(GuidelineNode.document_id, GuidelineClause.node_id, GuidelineClause.line,
                             GuidelineClause.flags).join(GuidelineNode)
                      .where(GuidelineNode.document_id.in_(document_ids))
                      .order_by(GuidelineNode.document_id, GuidelineNode.position, GuidelineClause.position))
    return [ClauseFlags(doc_id, node_id, line, list(flags or [])) for doc_id, node_id, line, flags in rows if flags]


def programme_versions(db: Session, programme_id: int) -> list[GuidelineDocument]:
    """Every version of a programme's guideline, newest first (source text not loaded)."""
    return list(db.scalars(select(GuidelineDocument)
                           .where(GuidelineDocument.programme_id == programme_id)
                           .order_by(GuidelineDocument.version.desc())))


def ancestors_of(db: Session, node: GuidelineNode) -> list[GuidelineNode]:
    """The nodes above this one, from the root down (one query)."""
    prefixes = [list(node.path[:n]) for n in range(1, len(node.path))]
    if not prefixes:
        return []
    rows = db.scalars(select(GuidelineNode).where(GuidelineNode.document_id == node.document_id,
                                                  GuidelineNode.is_leaf.is_(False),
                                                  GuidelineNode.depth < node.depth,
                                                  GuidelineNode.position < node.position)
                      .order_by(GuidelineNode.position))
    # Titles repeat: of the nodes with a matching path, the last one before this node is its ancestor.
    found: dict[int, GuidelineNode] = {}
    for row in rows:
        if list(row.path) in prefixes:
            found[row.depth] = row
    return [found[d] for d in sorted(found)]


# --- what storing an upload would do (read only, for the preview) ----------------------------------


@dataclass(frozen=True)
class StorePlan:
    """What `store_guideline` would do with a document, computed without writing anything."""

    status: str  # "duplicate" | "new_programme" | "new_version"
    programme_name: str
    programme: Programme | None = None  # the existing programme (new_version, duplicate)
    existing: GuidelineDocument | None = None  # the document already holding this file (duplicate)
    current: GuidelineDocument | None = None  # the programme's current version (new_version)
    version: int = 1  # the version number the document would get


def plan_store(db: Session, doc: DocumentInput, programme_name: str | None = None) -> StorePlan:
    """Mirror of `store_guideline`'s decisions: the same file already imported, a new programme, or a new
    version of an existing one."""
    existing = db.scalar(select(GuidelineDocument).where(GuidelineDocument.content_hash == doc.content_hash)
                         .order_by(GuidelineDocument.id).limit(1))
    if existing is not None:
        return StorePlan("duplicate", existing.programme.name, programme=existing.programme, existing=existing,
                         version=existing.version)
    name = (programme_name or "").strip()[:300] or programme_name_for(doc)
    programme = db.scalar(select(Programme).where(Programme.name == name))
    if programme is None:
        return StorePlan("new_programme", name)
    current = db.scalar(select(GuidelineDocument)
                        .where(GuidelineDocument.programme_id == programme.id,
                               GuidelineDocument.is_current.is_(True)))
    version = (db.scalar(select(func.max(GuidelineDocument.version))
                         .where(GuidelineDocument.programme_id == programme.id)) or 0) + 1
    return StorePlan("new_version", name, programme=programme, current=current, version=version)


def store_refusal(db: Session, user: User | None, plan: StorePlan) -> str:
    """Why this user may not store the planned document ("" when they may). An officer may start a new programme
    or add a version to one assigned to them; an admin, or the system (command line), may store any."""
    if user is None or user.role != "officer" or plan.status != "new_version" or plan.programme is None:
        return ""
    if plan.programme.id in (visible_programme_ids(db, user) or set()):
        return ""
    return (f"项目计划“{plan.programme_name}”已存在，但没有分配给您：这份指南会成为它的第{plan.version}版，"
            "只有负责该计划的项目管理专员或管理员可以导入。请联系管理员分配该计划，或填写另一个项目计划名称。")


def plan_visible(db: Session, user: User, plan: StorePlan) -> bool:
    """Whether the user may see the programme the document would join (a preview names it only then)."""
    if plan.programme is None:
        return True
    ids = visible_programme_ids(db, user)
    return ids is None or plan.programme.id in ids


def assign_uploader(db: Session, user: User, programme: Programme, *, actor: Actor, now: datetime) -> None:
    """An officer who imports a new programme manages it. Unlike accounts.assign_programmes this adds one programme
    and keeps the officer's sessions: their rights only grow."""
    if user.role != "officer" or programme in user.programmes:
        return
    before = sorted(p.id for p in user.programmes)
    user.programmes.append(programme)
    audit.record(db, actor, "programmes_assigned", now=now, object_type="user", object_id=user.id,
                 before={"programmes": before}, after={"programmes": sorted([*before, programme.id]),
                                                       "reason": "guideline_upload"})


# --- read-only helpers of the JSON API (constant query counts) -------------------------------------


def current_document_of(db: Session, programme_id: int) -> GuidelineDocument | None:
    """The current guideline version of a programme (source text not loaded), or None before any import."""
    return db.scalar(select(GuidelineDocument)
                     .where(GuidelineDocument.programme_id == programme_id, GuidelineDocument.is_current.is_(True))
                     .order_by(GuidelineDocument.version.desc()).limit(1))


def leaves_with_clauses(db: Session, document_id: int) -> list[GuidelineNode]:
    """The leaf directions of a document in document order, their clauses loaded with them (two queries)."""
    return list(db.scalars(select(GuidelineNode).options(selectinload(GuidelineNode.clauses))
                           .where(GuidelineNode.document_id == document_id, GuidelineNode.is_leaf.is_(True))
                           .order_by(GuidelineNode.position)))


def latest_rule_corrections(db: Session, node_ids: list[int]) -> dict[tuple[int, str], RuleCorrection]:
    """(node id, kind) → the newest rule correction, for many directions in one query."""
    latest: dict[tuple[int, str], RuleCorrection] = {}
    if not node_ids:
        return latest
    for row in db.scalars(select(RuleCorrection).where(RuleCorrection.node_id.in_(node_ids))
                          .order_by(RuleCorrection.node_id, RuleCorrection.kind, RuleCorrection.version)):
        latest[(row.node_id, row.kind)] = row
    return latest
