"""The review queue and the audit log show words, never the codes behind them (issue 26).

Both pages are rendered with a row of every kind: a clause carrying every flag kind the readers emit; audit rows
of every action, role, object type and result. The visible text (attribute values aside, and data marked
`translate="no"`: a requested address, the stored before/after) must not contain any of the English identifiers.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from tests import builders as build
from tests.conftest import login
from tracker.models import GuidelineClause, GuidelineNode, Role
from tracker.services import audit, labels
from tracker.services.audit import Actor

RESULTS = ["ok", "locked", "invalid", "refused:400", "refused:403", "refused:404", "refused:409", "refused:429"]


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles, nor elements marked as data."""

    SKIPPED = {"script", "style", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        hidden = self.skipping or tag in self.SKIPPED or ("translate", "no") in attrs
        if hidden and tag not in ("br", "input", "img", "meta", "link"):  # void elements have no end tag
            self.skipping.append(tag)

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def raw_codes(text: str, codes) -> list[str]:
    return sorted({c for c in codes if re.search(rf"(?<![A-Za-z0-9_:]){re.escape(c)}(?![A-Za-z0-9_])", text)})


@pytest.fixture
def flagged(db, now, demo_users):
    """The officer's guideline with one clause carrying every clause-reading flag kind."""
    document = build.guideline(db, programme="代码测试计划", officer=demo_users["officer"], now=now)
    clause = db.scalars(select(GuidelineClause).join(GuidelineNode).where(GuidelineNode.document_id == document.id)
                        .order_by(GuidelineClause.id)).first()
    clause.flags = [{"kind": kind, "message": "方向““人工智能+”研究”的这一条需要核对"} for kind in labels.READING_FLAGS]
    db.commit()
    return clause


def test_the_review_queue_names_every_flag_kind_in_words(client, demo_users, flagged):
    login(client, "officer")
    page = client.get("/review?state=all")
    assert page.status_code == 200
    text = visible(page.text)
    for words in labels.READING_FLAGS.values():
        assert words in text
    assert not raw_codes(text, set(labels.FLAG_LABELS))
    assert "方向“‘人工智能+’研究”的这一条需要核对" in text  # a quoted title inside quotes: single quotes
    # The filter is a choice of the kinds in words, not a box to type codes into.
    assert '<select id="kind" name="kind">' in page.text and 'placeholder="typo' not in page.text
    chosen = client.get("/review?state=all&kind=implied_one")
    assert '<option value="implied_one" selected>未写数量，按1计</option>' in chosen.text


@pytest.fixture
def audited(db, now, demo_users):
    """Audit rows of every action, role, object type and result, by people, visitors and the system."""
    demo_users["admin"].username = "zhang.wei"  # a person's name, not the role's code
    db.commit()
    project = build.project(db, code="AUD-1", confirmed=True)
    report = build.report(db, project)
    person = Actor(demo_users["officer"].id, "li.ming", Role.OFFICER.value, "10.0.0.1")
    actors = [person, Actor.system("demo"), Actor.system("housekeeping"), Actor(None, "demo", Role.GRANTEE.value),
              Actor(None, "guess", "anonymous", "10.0.0.9"),
              *(Actor(demo_users["officer"].id, "li.ming", r.value) for r in Role)]
    objects = [(kind, "1") for kind in labels.OBJECT_LABELS] + [("report", report.id), ("project", project.id),
                                                                ("settings", "business"), ("", "/admin/users/3")]
    for i, action in enumerate(sorted(labels.ACTION_LABELS)):
        kind, object_id = objects[i % len(objects)]
        audit.record(db, actors[i % len(actors)], action, now=now, object_type=kind, object_id=object_id,
                     result=RESULTS[i % len(RESULTS)])
    db.commit()
    return report


def audit_codes() -> set[str]:
    return (set(labels.ACTION_LABELS) | {r.value for r in Role} | {"system", "anonymous"}
            | set(labels.OBJECT_LABELS) | set(RESULTS))


def test_the_audit_log_shows_actions_roles_objects_and_results_in_words(client, db, demo_users, audited):
    login(client, "zhang.wei")
    text = ""
    for page_no in (1, 2, 3):
        page = client.get(f"/admin/audit?page={page_no}")
        assert page.status_code == 200
        text += visible(page.text)
    assert not raw_codes(text, audit_codes())
    for words in ("报告审核通过", "项目管理专员", "未登录访客", "系统（演示数据）", "系统（定时清理）", "被拒绝：无权操作",
                  "失败：账号暂时锁定", "进展报告 AUD-1"):
        assert words in text, words
    page = client.get("/admin/audit?page=1")
    assert f'href="/projects/{audited.project_id}/reports/{audited.period_index}"' in "".join(
        client.get(f"/admin/audit?page={n}").text for n in (1, 2, 3))
    # The filters are choices in words: actions and object types.
    assert '<select id="object_type" name="object_type">' in page.text
    assert '<option value="report_accepted">报告审核通过</option>' in page.text
    assert '<option value="guideline_clause">指南条款</option>' in page.text


def test_in_english_the_words_are_english(client, db, demo_users, audited, flagged):
    login(client, "zhang.wei")
    client.get("/lang/en")
    text = visible(client.get("/admin/audit").text)
    # In English, identifiers with `_` or `:` are what a raw code looks like (plain words like "user" are English).
    assert not raw_codes(text, {c for c in audit_codes() if "_" in c or ":" in c})
    assert "Signed in" in text or "Sign in" in text
    assert "系统（演示数据）" not in text and "被拒绝" not in text
    queue = visible(client.get("/review?state=all").text)
    assert not raw_codes(queue, {c for c in labels.READING_FLAGS if "_" in c}) and "Implied quantity" not in queue
