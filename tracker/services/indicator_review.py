"""The review queue of what the parser flagged, and officers' corrections (versioned, audited).

A correction never overwrites the parsed original: effective values are the newest correction, else the
parse. Marks and corrections follow a document into its next version where the clause reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from tracker.models import (
    ClauseCorrection,
    GuidelineClause,
    GuidelineDocument,
    GuidelineNode,
    ReviewMark,
    RuleCorrection,
    User,
)
from tracker.services import audit
from tracker.services.accounts import AccountError
from tracker.services.audit import Actor
from tracker.services.guidelines import visible_programme_ids

RULE_KINDS = ("selection", "funding", "period")
PAGE_SIZE = 50


def latest_correction(db: Session, clause: GuidelineClause) -> ClauseCorrection | None:
    return db.scalar(select(ClauseCorrection).where(ClauseCorrection.clause_id == clause.id)
                     .order_by(ClauseCorrection.version.desc()).limit(1))


def latest_corrections(db: Session, clause_ids: list[int]) -> dict[int, ClauseCorrection]:
    """The newest correction of each clause, in one query (pages list many clauses)."""
    latest: dict[int, ClauseCorrection] = {}
    if not clause_ids:
        return latest
    for row in db.scalars(select(ClauseCorrection).where(ClauseCorrection.clause_id.in_(clause_ids))
                          .order_by(ClauseCorrection.clause_id, ClauseCorrection.version)):
        latest[row.clause_id] = row
    return latest


def corrections_of(db: Session, clause: GuidelineClause) -> list[ClauseCorrection]:
    return list(db.scalars(select(ClauseCorrection).where(ClauseCorrection.clause_id == clause.id)
                           .order_by(ClauseCorrection.version.desc())))


@dataclass(frozen=True)
class EffectiveClause:
    targets: list[dict[str, Any]]
    combine: str
    correction: ClauseCorrection | None


def effective(db: Session, clause: GuidelineClause) -> EffectiveClause:
    correction = latest_correction(db, clause)
    if correction is None:
        return EffectiveClause(list(clause.targets), clause.combine, None)
    return EffectiveClause(list(correction.targets), correction.combine, correction)


def correct_clause(db: Session, clause: GuidelineClause, targets: list[dict[str, Any]], combine: str, reason: str,
                   *, actor: Actor, now: datetime) -> ClauseCorrection:
    reason = reason.strip()
    if not reason:
        raise AccountError("请写明更正原因", field="reason")
    if combine not in ("all", "any"):
        raise AccountError("请选择多个目标之间的关系（全部满足 / 满足其一）", field="combine")
    before = effective(db, clause)
    version = (before.correction.version if before.correction else 0) + 1
    correction = ClauseCorrection(clause_id=clause.id, version=version, targets=targets, combine=combine,
                                  reason=reason[:2000], corrected_by_id=actor.user_id, corrected_at=now)
    db.add(correction)
    db.flush()
    audit.record(db, actor, "clause_corrected", now=now, object_type="guideline_clause", object_id=clause.id,
                 before={"targets": before.targets, "combine": before.combine},
                 after={"targets": targets, "combine": combine, "version": version, "reason": reason[:200]})
    mark_reviewed(db, clause=clause, note=f"已更正（第{version}版）", actor=actor, now=now)
    return correction


def latest_rule(db: Session, node: GuidelineNode, kind: str) -> RuleCorrection | None:
    return db.scalar(select(RuleCorrection).where(RuleCorrection.node_id == node.id, RuleCorrection.kind == kind)
                     .order_by(RuleCorrection.version.desc()).limit(1))


def correct_rule(db: Session, node: GuidelineNode, kind: str, data: dict[str, Any], reason: str, *, actor: Actor,
                 now: datetime) -> RuleCorrection:
    if kind not in RULE_KINDS:
        raise AccountError("未知的规则类型")
    reason = reason.strip()
    if not reason:
        raise AccountError("请写明更正原因", field="reason")
    previous = latest_rule(db, node, kind)
    original = getattr(node, f"{kind}_rule")
    version = (previous.version if previous else 0) + 1
    row = RuleCorrection(node_id=node.id, kind=kind, version=version, data=data, reason=reason[:2000],
                         corrected_by_id=actor.user_id, corrected_at=now)
    db.add(row)
    db.flush()
    audit.record(db, actor, f"{kind}_rule_corrected", now=now, object_type="guideline_node", object_id=node.id,
                 before=previous.data if previous else original, after={"rule": data, "version": version})
    return row


def review_mark(db: Session, *, clause: GuidelineClause | None = None,
                node: GuidelineNode | None = None) -> ReviewMark | None:
    if clause is not None:
        return db.scalar(select(ReviewMark).where(ReviewMark.clause_id == clause.id))
    if node is not None:
        return db.scalar(select(ReviewMark).where(ReviewMark.node_id == node.id))
    return None


def mark_reviewed(db: Session, *, clause: GuidelineClause | None = None, node: GuidelineNode | None = None,
                  note: str = "", actor: Actor, now: datetime) -> ReviewMark:
    existing = review_mark(db, clause=clause, node=node)
    if existing is not None:
        existing.note, existing.reviewed_by_id, existing.reviewed_at = note[:500], actor.user_id, now
        mark = existing
    else:
        mark = ReviewMark(clause_id=clause.id if clause else None, node_id=node.id if node else None,
                          note=note[:500], reviewed_by_id=actor.user_id, reviewed_at=now)
        db.add(mark)
    db.flush()
    audit.record(db, actor, "marked_reviewed", now=now,
                 object_type="guideline_clause" if clause else "guideline_node",
                 object_id=(clause or node).id, after={"note": note[:200]})
    return mark


def reopen(db: Session, *, clause: GuidelineClause, actor: Actor, now: datetime) -> None:
    mark = review_mark(db, clause=clause)
    if mark is not None:
        db.delete(mark)
        audit.record(db, actor, "review_reopened", now=now, object_type="guideline_clause", object_id=clause.id)


# --- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuePage:
    clauses: list[GuidelineClause]
    marks: dict[int, ReviewMark]
    corrected: set[int]
    page: int
    pages: int
    total: int


def review_queue(db: Session, user: User, *, document_id: int | None = None, flag_kind: str = "",
                 state: str = "open", page: int = 1) -> QueuePage:
    """Flagged clauses of the current documents the user may see; `state` = open / reviewed / all."""
    flags_text = cast(GuidelineClause.flags, Text)
    query = (select(GuidelineClause).join(GuidelineNode).join(GuidelineDocument)
             .where(GuidelineDocument.is_current.is_(True), flags_text != "[]"))
    ids = visible_programme_ids(db, user)
    if ids is not None:
        query = query.where(GuidelineDocument.programme_id.in_(ids or {-1}))
    if document_id:
        query = query.where(GuidelineDocument.id == document_id)
    if flag_kind:
        query = query.where(flags_text.like(f'%"kind": "{flag_kind.replace("%", "").replace(chr(34), "")}"%'))
    reviewed = select(ReviewMark.clause_id).where(ReviewMark.clause_id.is_not(None))
    if state == "open":
        query = query.where(GuidelineClause.id.not_in(reviewed))
    elif state == "reviewed":
        query = query.where(GuidelineClause.id.in_(reviewed))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    clauses = list(db.scalars(query.order_by(GuidelineDocument.id, GuidelineNode.position, GuidelineClause.position)
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    clause_ids = [c.id for c in clauses] or [-1]
    marks = {m.clause_id: m for m in db.scalars(select(ReviewMark).where(ReviewMark.clause_id.in_(clause_ids)))}
    corrected = set(db.scalars(select(ClauseCorrection.clause_id).where(ClauseCorrection.clause_id.in_(clause_ids))))
    return QueuePage(clauses, marks, corrected, page, pages, total)


# --- a new version of a document keeps the work done on the old one --------------------------------


def carry_over(db: Session, new: GuidelineDocument, old: GuidelineDocument, *, actor: Actor, now: datetime) -> int:
    """Copy corrections and review marks to clauses that read the same in the new version; returns how many."""
    def key(clause: GuidelineClause) -> tuple[Any, ...]:
        return (tuple(clause.node.path), clause.label, clause.text)

    old_clauses = db.scalars(select(GuidelineClause).join(GuidelineNode).where(GuidelineNode.document_id == old.id))
    by_key = {key(c): c for c in old_clauses}
    carried = 0
    new_clauses = db.scalars(select(GuidelineClause).join(GuidelineNode).where(GuidelineNode.document_id == new.id))
    for clause in new_clauses:
        source = by_key.get(key(clause))
        if source is None:
            continue
        correction = latest_correction(db, source)
        if correction is not None:
            db.add(ClauseCorrection(clause_id=clause.id, version=1, targets=correction.targets,
                                    combine=correction.combine,
                                    reason=f"沿用第{old.version}版的更正：{correction.reason}"[:2000],
                                    corrected_by_id=correction.corrected_by_id, corrected_at=now))
            carried += 1
        mark = review_mark(db, clause=source)
        if mark is not None:
            db.add(ReviewMark(clause_id=clause.id, note=mark.note, reviewed_by_id=mark.reviewed_by_id,
                              reviewed_at=mark.reviewed_at))
    db.flush()
    if carried:
        audit.record(db, actor, "corrections_carried_over", now=now, object_type="guideline_document",
                     object_id=new.id, after={"from_version": old.version, "clauses": carried})
    return carried
