"""The guideline catalogue in the browser: browsing by role and assignment, search, flags, directions, and the
upload with a preview before anything is stored (bad files never write anything and never give a 500)."""

from __future__ import annotations

import io
import re
import zipfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from imports.guideline_loader import load_file
from tests.conftest import PROJECT_ROOT, csrf_from, login
from tracker.models import GuidelineClause, GuidelineDocument, GuidelineNode, Programme, User
from tracker.services import accounts
from tracker.services.audit import Actor

SAMPLES = PROJECT_ROOT / "tracker" / "demo" / "samples"
SEED_002 = SAMPLES / "002_5acc37a79164e4dd.txt"
SEED_003 = SAMPLES / "003_66db897801e56ec6.txt"
SEED_004 = SAMPLES / "004_a88be7aaa3e07232.txt"

# A small guideline that parses quickly; the markup in it must come out escaped.
TINY = """2026年<b>测试</b>科技计划项目申报指南
一、重点研发专项
（一）智能装备关键技术
方向1：<script>alert(1)</script>智能焊接机器人
研究内容：研发智能焊接机器人及其控制系统。
考核指标：申请发明专利2项以上；焊接合格率≥99%。
实施期限：不超过3年。
资助经费：不超过100万元，前资助。
方向2：工业视觉检测
研究内容：研发工业视觉检测装备。
考核指标：开发新产品1项以上。
"""
TINY_PROGRAMME = "2026年<b>测试</b>科技计划项目申报指南"


def _import(db, path: Path, now, officer: User | None = None) -> GuidelineDocument:
    document = load_file(db, path, actor=Actor.system(), now=now).document
    if officer is not None:
        accounts.assign_programmes(db, officer, [*officer.programmes, document.programme], actor=Actor.system(),
                                   now=now)
    db.commit()
    return document


@pytest.fixture
def seed_004(db, demo_users, now) -> GuidelineDocument:
    """004 (the quickest seed), assigned to the demo officer."""
    return _import(db, SEED_004, now, demo_users["officer"])


@pytest.fixture
def seed_003(db, demo_users, now) -> GuidelineDocument:
    """003, NOT assigned to the demo officer."""
    return _import(db, SEED_003, now)


@pytest.fixture
def seed_002(db, demo_users, now) -> GuidelineDocument:
    return _import(db, SEED_002, now, demo_users["officer"])


def counts(db) -> dict[str, int]:
    return {model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (Programme, GuidelineDocument, GuidelineNode, GuidelineClause)}


def first_leaf(db, document: GuidelineDocument) -> GuidelineNode:
    return db.scalar(select(GuidelineNode).where(GuidelineNode.document_id == document.id,
                                                 GuidelineNode.is_leaf.is_(True)).order_by(GuidelineNode.position))


def same_404(foreign, missing, foreign_id: int, missing_id: int = 987654) -> None:
    assert foreign.status_code == missing.status_code == 404
    # Identical but for the id echoed in the language links.
    assert re.sub(rf"/{foreign_id}\b", "/ID", foreign.text) == re.sub(rf"/{missing_id}\b", "/ID", missing.text)


# --- browsing ------------------------------------------------------------------------------------


def test_officer_sees_only_assigned_programmes(client, db, seed_004, seed_003):
    login(client, "officer")
    home = client.get("/").text
    assert 'href="/guidelines"' in home  # the navigation entry
    listing = client.get("/guidelines")
    assert listing.status_code == 200
    assert seed_004.programme.name in listing.text and seed_003.programme.name not in listing.text
    assert "004_a88be7aaa3e07232.txt" in listing.text
    page = client.get(f"/guidelines/{seed_004.id}")
    assert page.status_code == 200 and "新型生态铝关键技术攻关和新产品研发" in page.text
    # Another programme's document, its flags and its directions answer exactly like missing ones.
    same_404(client.get(f"/guidelines/{seed_003.id}"), client.get("/guidelines/987654"), seed_003.id)
    same_404(client.get(f"/guidelines/{seed_003.id}/flags"), client.get("/guidelines/987654/flags"), seed_003.id)
    leaf = first_leaf(db, seed_003)
    same_404(client.get(f"/guidelines/directions/{leaf.id}"), client.get("/guidelines/directions/987654"), leaf.id)


@pytest.mark.parametrize("role", ["admin", "finance", "expert"])
def test_admin_finance_and_expert_read_every_programme(client, db, seed_004, seed_003, role):
    login(client, role)
    listing = client.get("/guidelines").text
    assert seed_004.programme.name in listing and seed_003.programme.name in listing
    assert client.get(f"/guidelines/{seed_003.id}").status_code == 200
    assert client.get(f"/guidelines/directions/{first_leaf(db, seed_003).id}").status_code == 200
    # Only officers and admins upload.
    assert ('href="/guidelines/upload"' in listing) == (role == "admin")
    assert client.get("/guidelines/upload").status_code == (200 if role == "admin" else 403)


def test_grantee_does_not_browse_the_catalogue(client, db, seed_004):
    login(client, "grantee")
    assert 'href="/guidelines"' not in client.get("/").text
    for path in ("/guidelines", f"/guidelines/{seed_004.id}", "/guidelines/search?q=铝",
                 f"/guidelines/directions/{first_leaf(db, seed_004).id}", "/guidelines/upload"):
        assert client.get(path).status_code == 403, path


def test_officer_without_programmes_sees_an_empty_catalogue(client, demo_users, seed_003):
    login(client, "officer")
    listing = client.get("/guidelines")
    assert listing.status_code == 200 and seed_003.programme.name not in listing.text
    assert "还没有分配给您的指南" in listing.text


def test_document_page_shows_the_tree_with_badges_and_links(client, db, seed_004):
    login(client, "officer")
    html = client.get(f"/guidelines/{seed_004.id}").text
    leaf = first_leaf(db, seed_004)
    assert f'href="/guidelines/directions/{leaf.id}"' in html
    assert "depth-1" in html and "depth-3" in html
    assert "考核指标3条" in html  # 004's first direction: three runs of one clause
    assert "无考核指标" in html  # 004 L124: 另行通知
    assert "疑点" in html and f'href="/guidelines/{seed_004.id}/flags"' in html
    assert "第11行" in html


@contextmanager
def count_queries(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_pages_run_a_constant_number_of_queries(client, db, engine, demo_users, now, seed_004):
    # 003 has 44 nodes, 004 has 25: the document page must not issue a query per node.
    seed_003 = _import(db, SEED_003, now, demo_users["officer"])
    login(client, "officer")
    client.get("/guidelines")  # warm up (the session's first request)
    assert db.scalar(select(func.count()).select_from(GuidelineNode)
                     .where(GuidelineNode.document_id == seed_003.id)) > 40
    seen = {}
    for document in (seed_004, seed_003):
        leaf = first_leaf(db, document)
        pages = {"document": f"/guidelines/{document.id}", "flags": f"/guidelines/{document.id}/flags",
                 "direction": f"/guidelines/directions/{leaf.id}"}
        for label, page in pages.items():
            with count_queries(engine) as statements:
                assert client.get(page).status_code == 200
            seen.setdefault(label, []).append(len(statements))
    with count_queries(engine) as statements:
        client.get("/guidelines")
    assert len(statements) < 12
    for page, numbers in seen.items():
        assert numbers[0] == numbers[1], (page, numbers)
        assert numbers[0] < 17, (page, numbers)  # the officer's scheduler banner costs one or two of them


def test_old_versions_are_listed_and_kept(client, db, demo_users, now, tmp_path, seed_004):
    changed = tmp_path / SEED_004.name
    text = SEED_004.read_text(encoding="utf-8")
    changed.write_text(text.replace("经济效益金额500万元以上", "经济效益金额800万元以上", 1), encoding="utf-8")
    second = load_file(db, changed, actor=Actor.system(), now=now + timedelta(days=1)).document
    db.commit()
    assert second.programme_id == seed_004.programme_id and second.version == 2
    login(client, "officer")
    html = client.get(f"/guidelines/{second.id}").text
    assert f'href="/guidelines/{seed_004.id}"' in html and "第1版" in html
    old = client.get(f"/guidelines/{seed_004.id}").text
    assert "这是旧版本" in old and f'href="/guidelines/{second.id}"' in old


# --- search --------------------------------------------------------------------------------------


def test_search_finds_a_direction_by_a_content_word_within_assigned_programmes(client, db, seed_004, seed_003):
    login(client, "officer")
    # 004: "磷酸锰铁锂电池" is in the content of 方向2, not in its title.
    found = client.get("/guidelines/search", params={"q": "磷酸锰铁锂电池 储能"})
    assert found.status_code == 200
    assert "新能源关键技术攻关和新产品研发" in found.text and "<mark>磷酸锰铁锂电池</mark>" in found.text
    assert "新型生态铝" not in found.text  # not every word is in 方向1
    # 003's directions are not the officer's: its words find nothing for them, but do for the admin.
    assert "没有找到" in client.get("/guidelines/search", params={"q": "碲化铋"}).text
    client.post("/logout", data={"_csrf_token": csrf_from(found.text)})
    login(client, "admin")
    found = client.get("/guidelines/search", params={"q": "碲化铋"}).text
    assert seed_003.programme.name in found and "<mark>碲化铋</mark>" in found


def test_search_escapes_the_query_and_the_document_text(client, db, demo_users, now, tmp_path):
    source = tmp_path / "tiny.txt"
    source.write_text(TINY, encoding="utf-8")
    _import(db, source, now, demo_users["officer"])
    login(client, "officer")
    html = client.get("/guidelines/search", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in html
    html = client.get("/guidelines/search", params={"q": "焊接"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;智能<mark>焊接</mark>机器人" in html and "<script>alert" not in html
    assert client.get("/guidelines/search", params={"q": ""}).status_code == 200


# --- flags and directions ------------------------------------------------------------------------


def test_flags_page_lists_the_lost_headings_of_002(client, seed_002):
    login(client, "officer")
    html = client.get(f"/guidelines/{seed_002.id}/flags").text
    assert "标题缺失" in html
    for line in (1, 2, 17, 18, 459):
        assert f"第{line}行" in html
    lines = seed_002.lines
    # The source line is shown beside the flag (escaped as any text).
    assert lines[458].strip()[:20] in html
    only = client.get(f"/guidelines/{seed_002.id}/flags", params={"kind": "lost_heading"}).text
    rows = re.findall(r'<tr class="(structure|reading)">', only)
    assert len(rows) == 5 and "缺少考核指标" not in only.split("<table")[1]
    # The clause readings are in the same list.
    assert "指标解读" in html and "隐含数量1" in html
    assert client.get(f"/guidelines/{seed_002.id}/flags", params={"kind": "nonsense"}).status_code == 200


def test_direction_page_shows_fields_lines_clauses_and_targets(client, db, seed_004):
    login(client, "officer")
    leaf = first_leaf(db, seed_004)
    html = client.get(f"/guidelines/directions/{leaf.id}").text
    assert "新型生态铝关键技术攻关和新产品研发" in html
    # Breadcrumb: the programme document and the ancestors.
    assert f'href="/guidelines/{seed_004.id}"' in html and "新质生产力培育项目" in html
    # Fields by kind with their lines (004: 内容 L13, 考核要求 L15, 申报条件 L16).
    assert "研究内容" in html and "第13行" in html
    assert "考核指标" in html and "第15行" in html
    assert "申报要求" in html and "第16行" in html
    # Clauses with their parsed targets, and the split flag highlighted.
    assert "申请发明专利" in html and "≥" in html and "专利申请" in html and "累计型" in html
    assert 'class="flagged"' in html and "且/或混合已拆分" in html
    assert "经济效益金额" in html and "万元" in html


def test_inherited_indicator_block_is_noted(client, db, demo_users, now):
    seed_003 = _import(db, SEED_003, now, demo_users["officer"])
    inherited = db.scalar(select(GuidelineNode).where(GuidelineNode.document_id == seed_003.id,
                                                      GuidelineNode.inherits_indicators.is_(True)))
    assert inherited is not None
    login(client, "officer")
    html = client.get(f"/guidelines/directions/{inherited.id}").text
    assert "沿用上级或全文共用的考核要求" in html


# --- upload --------------------------------------------------------------------------------------


def upload(client, name: str, data: bytes, programme_name: str = "", token: str | None = None):
    token = token or csrf_from(client.get("/guidelines/upload").text)
    return client.post("/guidelines/upload", data={"_csrf_token": token, "programme_name": programme_name},
                       files={"file": (name, data, "application/octet-stream")})


def confirm(client, preview_html: str):
    action = re.search(r'action="(/guidelines/upload/[\w-]+/confirm)"', preview_html)
    assert action, "no confirm form in the preview"
    return client.post(action.group(1), data={"_csrf_token": csrf_from(preview_html)}, follow_redirects=False)


def uploads_dir(app) -> Path:
    return Path(app.state.settings.data_dir) / "uploads" / "guideline"


def test_upload_preview_confirm_and_reupload(app, client, db, demo_users):
    login(client, "officer")
    before = counts(db)
    data = SEED_004.read_bytes()
    preview = upload(client, SEED_004.name, data)
    assert preview.status_code == 200
    html = preview.text
    assert "新的项目计划" in html and "004_a88be7aaa3e07232" in html
    assert "新型生态铝关键技术攻关和新产品研发" in html and "方向无标题" in html  # the tree and the flags
    assert "导入后该项目计划将自动分配给您" in html
    assert counts(db) == before  # the preview stores nothing
    assert len(list(uploads_dir(app).glob("*.bin"))) == 1

    done = confirm(client, html)
    assert done.status_code == 303
    document = db.scalar(select(GuidelineDocument))
    assert done.headers["location"] == f"/guidelines/{document.id}"
    after = counts(db)
    assert after["Programme"] == before["Programme"] + 1 and after["GuidelineDocument"] == 1
    assert after["GuidelineNode"] == 25 and after["GuidelineClause"] == document.clause_count > 0
    assert list(uploads_dir(app).glob("*")) == []  # the temporary file is gone
    db.refresh(demo_users["officer"])
    assert document.programme in demo_users["officer"].programmes  # assigned to the uploader
    assert client.get(done.headers["location"]).status_code == 200  # still signed in, may see it

    # The same file again: already imported, nothing to confirm, nothing written.
    again = upload(client, SEED_004.name, data)
    assert again.status_code == 200 and "此文件已导入" in again.text
    assert f'href="/guidelines/{document.id}"' in again.text and "/confirm" not in again.text
    assert counts(db) == after


def test_a_changed_file_becomes_version_2_and_version_1_is_kept(client, db, seed_004):
    login(client, "officer")
    changed = SEED_004.read_text(encoding="utf-8").replace("500万元以上", "600万元以上", 1).encode()
    preview = upload(client, SEED_004.name, changed)
    assert preview.status_code == 200 and "新版本：第2版" in preview.text
    done = confirm(client, preview.text)
    assert done.status_code == 303
    db.expire_all()
    versions = db.scalars(select(GuidelineDocument).order_by(GuidelineDocument.version)).all()
    assert [(v.version, v.is_current) for v in versions] == [(1, False), (2, True)]
    assert versions[0].programme_id == versions[1].programme_id
    html = client.get(done.headers["location"]).text
    assert f'href="/guidelines/{versions[0].id}"' in html


def test_officer_may_not_add_a_version_to_a_programme_not_assigned(client, db, seed_003):
    login(client, "officer")
    before = counts(db)
    response = upload(client, "tiny.txt", TINY.encode(), programme_name=seed_003.programme.name)
    assert response.status_code == 403
    assert "没有分配给您" in response.text and "/confirm" not in response.text
    assert counts(db) == before


def test_confirm_refuses_when_the_programme_was_taken_meanwhile(client, db, demo_users, now):
    login(client, "officer")
    preview = upload(client, "tiny.txt", TINY.encode(), programme_name="并发测试计划")
    assert preview.status_code == 200
    # Someone else creates that programme before the officer confirms.
    accounts_programme = Programme(name="并发测试计划", description="", is_active=True, created_at=now, version=1)
    db.add(accounts_programme)
    db.commit()
    before = counts(db)
    refused = confirm(client, preview.text)
    assert refused.status_code == 403 and "没有分配给您" in refused.text
    assert counts(db) == before


def test_admin_uploads_without_being_assigned(client, db, demo_users):
    login(client, "admin")
    preview = upload(client, "tiny.txt", TINY.encode(), programme_name="管理员导入的计划")
    assert preview.status_code == 200 and "管理员导入的计划" in preview.text
    assert confirm(client, preview.text).status_code == 303
    programme = db.scalar(select(Programme).where(Programme.name == "管理员导入的计划"))
    assert programme is not None and programme.officers == []


def test_upload_output_is_escaped(client, db, demo_users):
    login(client, "officer")
    preview = upload(client, "tiny.txt", TINY.encode())
    assert preview.status_code == 200
    assert "<script>alert(1)</script>" not in preview.text and "<b>测试</b>" not in preview.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.text
    done = confirm(client, preview.text)
    html = client.get(done.headers["location"]).text
    assert "<script>alert" not in html and "&lt;b&gt;测试&lt;/b&gt;" in html
    assert "style=" not in html and "<script>" not in html


def test_confirm_tokens_are_bound_to_the_uploader_and_expire(app, client, db, demo_users):
    import time_machine

    login(client, "officer")
    preview = upload(client, "tiny.txt", TINY.encode())
    action = re.search(r'action="(/guidelines/upload/([\w-]+)/confirm)"', preview.text)
    path, token = action.group(1), action.group(2)
    client.post("/logout", data={"_csrf_token": csrf_from(preview.text)})
    # Another uploader (the admin) cannot use the officer's token: the same 404 as an unknown one.
    login(client, "admin")
    csrf = csrf_from(client.get("/guidelines/upload").text)
    foreign = client.post(path, data={"_csrf_token": csrf})
    unknown = client.post("/guidelines/upload/" + "A" * 32 + "/confirm", data={"_csrf_token": csrf})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.text.replace(token, "T") == unknown.text.replace("A" * 32, "T")
    for bad in ("..%2F..%2Fetc%2Fpasswd", "short", "A" * 33):
        assert client.post(f"/guidelines/upload/{bad}/confirm", data={"_csrf_token": csrf}).status_code == 404
    client.post("/logout", data={"_csrf_token": csrf})
    # Back as the officer, but two hours later: expired, and the file is deleted.
    with time_machine.travel(timedelta(hours=2)):
        login(client, "officer")
        csrf = csrf_from(client.get("/guidelines/upload").text)
        assert client.post(path, data={"_csrf_token": csrf}).status_code == 404
    assert list(uploads_dir(app).glob(f"{token}.*")) == []
    assert counts(db)["GuidelineDocument"] == 0


def _zip_of_something_else() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    return buffer.getvalue()


BAD_FILES = [
    ("empty.txt", b"", "为空"),
    ("blank.txt", b"   \n\n ", "为空"),
    ("binary.txt", bytes(range(256)) * 64, "不是文本文件"),
    ("fake.docx", _zip_of_something_else(), "不是Word文档"),
    ("broken.docx", b"PK\x03\x04" + b"\x00" * 200, "不是有效的Word文档"),
    ("no-headings.txt", "这是一段没有任何标题的文字。\n还是没有标题。\n".encode(), "未识别到任何标题"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "另存为.docx"),
    ("scan.pdf", b"%PDF-1.7\n...", "PDF"),
    ("table.xlsx", b"PK\x03\x04", "只能上传.txt或.docx"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_with_a_chinese_message_and_write_nothing(app, client, db, demo_users, name, data,
                                                                        message):
    login(client, "officer")
    before = counts(db)
    response = upload(client, name, data, programme_name="保留的名称")
    assert response.status_code == 400, response.text[:500]
    assert message in response.text
    assert 'value="保留的名称"' in response.text  # the form comes back with what was typed
    assert counts(db) == before
    assert not uploads_dir(app).exists() or list(uploads_dir(app).glob("*")) == []


def test_missing_file_is_a_form_error(client, db, demo_users):
    login(client, "officer")
    token = csrf_from(client.get("/guidelines/upload").text)
    response = client.post("/guidelines/upload", data={"_csrf_token": token, "programme_name": ""},
                           files={"other": ("x.txt", b"x", "text/plain")})
    assert response.status_code == 400 and "请选择要上传的指南文件" in response.text


def test_gbk_text_is_read_correctly(client, db, demo_users):
    login(client, "officer")
    response = upload(client, "gbk.txt", TINY.encode("gbk"))
    assert response.status_code == 200
    assert "智能焊接机器人" in response.text and "gb18030" in response.text
    assert confirm(client, response.text).status_code == 303
    document = db.scalar(select(GuidelineDocument))
    assert document.title == TINY_PROGRAMME and document.encoding == "gb18030"


def test_oversized_upload_is_the_413_page_and_writes_nothing(app, client, db, demo_users):
    login(client, "officer")
    before = counts(db)
    response = upload(client, "huge.txt", "一、标题\n".encode() * (25 * 1024 * 1024 // 13))
    assert response.status_code == 413
    assert "过大" in response.text
    assert counts(db) == before
    assert not uploads_dir(app).exists() or list(uploads_dir(app).glob("*")) == []


def test_a_file_above_the_old_1mb_body_limit_is_accepted(client, db, demo_users):
    login(client, "officer")
    padded = TINY + "相关说明：" + "补充说明文字。" * 60_000 + "\n"
    assert len(padded.encode()) > 1_100_000
    response = upload(client, "big.txt", padded.encode())
    assert response.status_code == 200 and "新的项目计划" in response.text


@pytest.mark.parametrize("role", ["finance", "expert"])
def test_finance_and_experts_may_not_upload(client, db, demo_users, role):
    login(client, role)
    token = csrf_from(client.get("/guidelines").text)
    response = client.post("/guidelines/upload", data={"_csrf_token": token},
                           files={"file": ("tiny.txt", TINY.encode(), "text/plain")})
    assert response.status_code == 403
    assert counts(db)["GuidelineDocument"] == 0


def test_pages_render_in_english_without_inline_scripts_or_styles(client, db, seed_004):
    login(client, "officer")
    client.get("/lang/en")
    leaf = first_leaf(db, seed_004)
    pages = [client.get(path) for path in ("/guidelines", f"/guidelines/{seed_004.id}", "/guidelines/upload",
                                           f"/guidelines/{seed_004.id}/flags", f"/guidelines/directions/{leaf.id}",
                                           "/guidelines/search?q=铝")]
    pages.append(upload(client, "tiny.txt", TINY.encode()))
    for response in pages:
        assert response.status_code == 200, response.url
        html = response.text
        assert "<script>" not in html and "style=" not in html and "onclick" not in html
    assert "Guideline catalogue" in pages[0].text and "line 11" in pages[1].text


def test_a_word_document_is_previewed_and_stored(client, db, demo_users):
    from docx import Document

    document = Document()
    for line in TINY.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    login(client, "officer")
    preview = upload(client, "指南.docx", buffer.getvalue())
    assert preview.status_code == 200, preview.text[:300]
    assert "docx" in preview.text and "工业视觉检测" in preview.text
    assert confirm(client, preview.text).status_code == 303
    stored = db.scalar(select(GuidelineDocument))
    assert stored.format == "docx" and stored.file_name == "指南.docx" and stored.leaf_count == 2
