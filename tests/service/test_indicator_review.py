"""The review queue and officers' corrections: versioned, audited, the parse kept, carried to new versions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from indicators.reading.target_edit import check_target
from tests import builders as build
from tracker.models import AuditEntry, GuidelineClause, GuidelineNode
from tracker.services import indicator_review as review
from tracker.services.accounts import AccountError
from tracker.services.audit import Actor

SYSTEM = build.SYSTEM


@pytest.fixture
def document(db, now, demo_users):
    """The default guideline (clauses the reader flagged: split runs, an implied quantity), the officer's."""
    return build.guideline(db, programme="百色", officer=demo_users["officer"], now=now)


def flagged(db, doc):
    clauses = db.scalars(select(GuidelineClause).join(GuidelineNode).where(GuidelineNode.document_id == doc.id)
                         .order_by(GuidelineClause.id)).all()
    return [c for c in clauses if c.flags]


def test_the_queue_lists_flagged_clauses_of_visible_documents(db, document, demo_users):
    page = review.review_queue(db, demo_users["officer"])
    assert page.total > 0 and all(c.flags for c in page.clauses)
    assert review.review_queue(db, demo_users["grantee"]).total == 0
    split_only = review.review_queue(db, demo_users["officer"], flag_kind="split")
    assert 0 < split_only.total <= page.total
    assert all(any(f["kind"] == "split" for f in c.flags) for c in split_only.clauses)


def test_a_correction_is_a_new_version_and_keeps_the_parse(db, document, demo_users, now):
    clause = review.review_queue(db, demo_users["officer"]).clauses[0]
    original = list(clause.targets)
    edit = check_target({"category": "revenue", "metric": "销售收入", "op": ">=", "value": "1.2亿", "unit": "元",
                         "kind": "cumulative"})
    assert edit.target["value"] == 12000 and edit.target["unit"] == "万元"
    actor = Actor.of(demo_users["officer"], "10.0.0.1")
    review.correct_clause(db, clause, [edit.target], "all", "原文单位为亿元", actor=actor, now=now)
    review.correct_clause(db, clause, [edit.target], "any", "第二次更正", actor=actor, now=now)
    assert [c.version for c in review.corrections_of(db, clause)] == [2, 1]
    assert review.effective(db, clause).combine == "any"
    assert clause.targets == original
    assert review.review_mark(db, clause=clause) is not None
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(clause.id))).all()
    assert actions.count("clause_corrected") == 2
    assert review.review_queue(db, demo_users["officer"]).total == review.review_queue(
        db, demo_users["officer"], state="all").total - 1


def test_a_correction_needs_a_reason(db, document, demo_users, now):
    clause = flagged(db, document)[0]
    with pytest.raises(AccountError) as err:
        review.correct_clause(db, clause, [], "all", "  ", actor=SYSTEM, now=now)
    assert err.value.field == "reason"


@pytest.mark.parametrize(("raw", "field"), [
    ({"value": "abc"}, "value"), ({"unit": "斤斤"}, "unit"), ({"value": "-3"}, "value"),
    ({"category": "nonsense"}, "category"), ({"value": ""}, "value"), ({"value": "1e30"}, "value"),
])
def test_bad_target_fields_are_named(raw, field):
    base = {"category": "paper", "metric": "论文", "op": ">=", "value": "3", "unit": "篇", "kind": "cumulative"}
    assert field in check_target({**base, **raw}).errors


def test_corrections_follow_the_document_into_its_next_version(db, document, demo_users, now):
    clause = flagged(db, document)[0]
    edit = check_target({"category": "paper", "metric": "论文", "op": ">=", "value": "3", "unit": "篇",
                         "kind": "cumulative"})
    review.correct_clause(db, clause, [edit.target], "all", "核对原文", actor=SYSTEM, now=now)
    new = build.guideline(db, programme="百色", text=build.GUIDELINE + "\n", now=now)  # a changed file
    assert new.id != document.id and new.programme_id == document.programme_id
    twin = db.scalar(select(GuidelineClause).join(GuidelineNode).where(
        GuidelineNode.document_id == new.id, GuidelineClause.text == clause.text,
        GuidelineClause.line == clause.line))
    carried = review.effective(db, twin)
    assert carried.targets == [edit.target] and "沿用第1版" in carried.correction.reason
    assert review.review_mark(db, clause=twin) is not None


def test_rule_corrections_are_versioned(db, document, demo_users, now):
    node = db.scalar(select(GuidelineNode).where(GuidelineNode.document_id == document.id,
                                                 GuidelineNode.is_leaf.is_(True)))
    review.correct_rule(db, node, "period", {"kind": "at_most", "months": 36}, "指南写明不超过3年", actor=SYSTEM,
                        now=now)
    second = review.correct_rule(db, node, "period", {"kind": "fixed", "months": 24}, "补充说明", actor=SYSTEM,
                                 now=now)
    assert second.version == 2 and review.latest_rule(db, node, "period").data["months"] == 24
