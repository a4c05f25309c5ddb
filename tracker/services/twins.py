"""Twin documents: the same direction title in two current guidelines (000 三、 ≈ 002 方向39–40).

When a sentence reads the same in both except for its numbers, one of the two is wrong or out of date:
the clause (or field) of the newly imported document is flagged `twin_conflict` with both readings, never
silently preferred (issue: indicator understanding, every doubt flagged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import GuidelineDocument, GuidelineNode

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SENTENCE = re.compile(r"[^。；;！!？?\n]+")
KIND = "twin_conflict"


def _shape(text: str) -> tuple[str, tuple[str, ...]]:
    return _NUMBER.sub("#", text.strip()), tuple(_NUMBER.findall(text))


@dataclass(frozen=True)
class Conflict:
    ours: str
    theirs: str
    their_line: int
    their_document: GuidelineDocument


def _conflicts(ours: str, candidates: list[tuple[str, int, GuidelineDocument]]) -> list[Conflict]:
    shape, numbers = _shape(ours)
    if not numbers or shape.count("#") == len(shape):
        return []
    found = []
    for theirs, line, document in candidates:
        their_shape, their_numbers = _shape(theirs)
        if their_shape == shape and their_numbers != numbers:
            found.append(Conflict(ours, theirs, line, document))
    return found


def _message(conflict: Conflict) -> str:
    return (f"与《{conflict.their_document.programme.name}》同名方向第{conflict.their_line}行的同一句话数字不同："
            f"本文“{conflict.ours.strip()[:80]}”，对方“{conflict.theirs.strip()[:80]}”，请核对以哪份为准")


def flag_twin_conflicts(db: Session, document: GuidelineDocument) -> int:
    """Flag clauses and field sentences of `document` that contradict a twin; returns how many flags."""
    leaves = [n for n in document.nodes if n.is_leaf]
    titles = {n.title for n in leaves}
    if not titles:
        return 0
    twins = db.scalars(
        select(GuidelineNode).join(GuidelineDocument)
        .where(GuidelineDocument.is_current.is_(True), GuidelineDocument.id != document.id,
               GuidelineDocument.programme_id != document.programme_id,
               GuidelineNode.is_leaf.is_(True), GuidelineNode.title.in_(titles))
    ).all()
    by_title: dict[str, list[GuidelineNode]] = {}
    for twin in twins:
        by_title.setdefault(twin.title, []).append(twin)
    count = 0
    for leaf in leaves:
        others = by_title.get(leaf.title, [])
        if not others:
            continue
        their_clauses = [(c.text, c.line, o.document) for o in others for c in o.clauses]
        for clause in leaf.clauses:
            found = _conflicts(clause.text, their_clauses)
            if found:
                clause.flags = [*clause.flags, *({"kind": KIND, "message": _message(c)} for c in found)]
                count += len(found)
        their_sentences = [(s.group(0), f.get("line", 0), o.document) for o in others for f in o.fields
                           if f.get("kind") != "indicators" for s in _SENTENCE.finditer(str(f.get("text", "")))]
        new_flags = []
        for f in leaf.fields:
            if f.get("kind") == "indicators":
                continue
            for sentence in _SENTENCE.finditer(str(f.get("text", ""))):
                for conflict in _conflicts(sentence.group(0), their_sentences):
                    new_flags.append({"kind": KIND, "line": f.get("line"), "message": _message(conflict)})
        if new_flags:
            leaf.flags = [*leaf.flags, *new_flags]
            document.flags = [*document.flags, *new_flags]
            count += len(new_flags)
    db.flush()
    return count
