"""An officer fixes a mis-parsed target in the browser and sees it in the review history (issue 12)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import builders as build
from tests.conftest import csrf_from, login
from tracker.models import ClauseCorrection, GuidelineClause, GuidelineNode, RuleCorrection


@pytest.fixture
def document(db, now, demo_users):
    """The default guideline (clauses the reader flagged, content items with selection rules), the officer's."""
    return build.guideline(db, programme="广西科技计划", officer=demo_users["officer"], now=now)


def a_flagged_clause(db, doc):
    clauses = db.scalars(select(GuidelineClause).join(GuidelineNode).where(GuidelineNode.document_id == doc.id)
                         .order_by(GuidelineClause.id))
    return next(c for c in clauses if c.flags)


def target_form(token, **overrides):
    data = {"_csrf_token": token, "t0_category": "paper", "t0_metric": "核心期刊论文", "t0_op": ">=",
            "t0_value": "3", "t0_unit": "篇", "t0_kind": "cumulative", "combine": "all", "reason": "核对原文"}
    data.update(overrides)
    return data


def test_queue_shows_flagged_clauses_with_filters(client, demo_users, document):
    login(client, "officer")
    page = client.get("/review")
    assert page.status_code == 200 and "指标核对" in page.text
    assert client.get("/review?kind=split").status_code == 200
    assert client.get(f"/review?document={document.id}&state=all&page=2").status_code == 200


def test_officer_corrects_a_target_and_sees_the_history(client, demo_users, document, db):
    clause = a_flagged_clause(db, document)
    login(client, "officer")
    page = client.get(f"/review/clauses/{clause.id}")
    assert page.status_code == 200 and clause.text in page.text
    token = csrf_from(page.text)
    done = client.post(f"/review/clauses/{clause.id}/correct", data=target_form(token), follow_redirects=False)
    assert done.status_code == 303
    history = client.get(f"/review/clauses/{clause.id}")
    assert "第1版" in history.text and "核对原文" in history.text and "核心期刊论文" in history.text
    direction = client.get(f"/guidelines/directions/{clause.node_id}")
    assert "已更正（第1版）" in direction.text


@pytest.mark.parametrize(("field", "value", "words"), [
    ("t0_value", "三篇半", "不是数字"), ("t0_unit", "斤斤", "无法识别的单位"), ("reason", "", "更正原因"),
])
def test_bad_corrections_re_render_with_field_errors(client, demo_users, document, db, field, value, words):
    clause = a_flagged_clause(db, document)
    login(client, "officer")
    token = csrf_from(client.get(f"/review/clauses/{clause.id}").text)
    response = client.post(f"/review/clauses/{clause.id}/correct", data=target_form(token, **{field: value}))
    assert response.status_code == 400 and words in response.text
    assert db.scalar(select(func.count()).select_from(ClauseCorrection)) == 0


def test_officer_marks_a_clause_reviewed_and_reopens_it(client, demo_users, document, db):
    clause = a_flagged_clause(db, document)
    login(client, "officer")
    token = csrf_from(client.get(f"/review/clauses/{clause.id}").text)
    client.post(f"/review/clauses/{clause.id}/mark", data={"_csrf_token": token, "action": "mark", "note": "无误"})
    assert "已核对" in client.get(f"/review/clauses/{clause.id}").text
    client.post(f"/review/clauses/{clause.id}/mark", data={"_csrf_token": token, "action": "reopen"})
    assert "待核对" in client.get(f"/review/clauses/{clause.id}").text


def test_officer_corrects_a_selection_rule_in_the_guideline_wording(client, demo_users, document, db):
    node = build.direction(db, document, build.EVERY_KIND)  # its content items name subsets of ①–⑥
    assert node.selection_rule["items"]
    login(client, "officer")
    page = client.get(f"/review/directions/{node.id}/rules")
    token = csrf_from(page.text)
    bad = client.post(f"/review/directions/{node.id}/rules",
                      data={"_csrf_token": token, "kind": "period", "text": "随便写写", "reason": "x"})
    assert bad.status_code == 400 and "没有读出实施期限" in bad.text
    ok = client.post(f"/review/directions/{node.id}/rules",
                     data={"_csrf_token": token, "kind": "selection", "text": "①②或①③", "reason": "按通知"},
                     follow_redirects=False)
    assert ok.status_code == 303
    row = db.scalar(select(RuleCorrection))
    assert row.kind == "selection" and "满足" in row.data["description"]


def test_admin_reads_but_cannot_correct(client, demo_users, document, db):
    clause = a_flagged_clause(db, document)
    login(client, "admin")
    page = client.get(f"/review/clauses/{clause.id}")
    assert page.status_code == 200 and "保存更正" not in page.text
    token = csrf_from(page.text)
    assert client.post(f"/review/clauses/{clause.id}/correct", data=target_form(token)).status_code == 403
