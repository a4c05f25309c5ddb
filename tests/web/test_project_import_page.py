"""The award-list import in the browser: upload → preview → confirm, every problem by row and column with
nothing written, re-import changes nothing, hostile files answer 400 in Chinese, the template round trip, and
the scope of guidelines and pending uploads (DESIGN §1, §4, §5; G17)."""

from __future__ import annotations

import io
import json
import re
import secrets
import zipfile
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from imports.awards import read_award_list
from imports.guideline_loader import load_file
from indicators.identifiers import uscc_check_char
from tests.conftest import csrf_from, login
from tracker import clock
from tracker.models import AuditEntry, Organisation, Project, ProjectTarget, Role, TargetSet, User
from tracker.services import accounts
from tracker.services.accounts import assign_programmes
from tracker.services.audit import Actor
from tracker.services.guidelines import ClauseInput, DocumentInput, NodeInput, store_guideline
from tracker.services.projects import ProjectInput, import_projects
from tracker.web.controllers.project_import import save_award_upload

SAMPLES = Path(__file__).resolve().parents[2] / "tracker" / "demo" / "samples"
SYSTEM = Actor.system("test")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CJK = re.compile(r"[\u4e00-\u9fff]")
TOKEN_IN_FORM = re.compile(r'action="/projects/import/([A-Za-z0-9_-]{32})/confirm"')

VIDEO = "智能视频位移监测装备研发与应用"
PHOTONICS = "光电混合集成封装关键技术研发"
RARE_EARTH = "稀土金属电解绿色低碳制备技术研发及应用"


def uscc(body: str) -> str:
    return body + uscc_check_char(body)


NEW_ORG = uscc("91450300MA5L00XY0")  # 桂林市: not in the database yet
OTHER_ORG = uscc("12450100400000624")  # 南宁市


def wrong_check(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


def save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def messy_award_list(demo_uscc: str) -> bytes:
    """What offices really send: a title row, a blank row, headers with spaces, units and notes, full-width
    digits, a lower-case code, a direction by its path, a totals row and a signature footer."""
    wb = Workbook()
    ws = wb.active
    ws.title = "2025年立项"
    ws["A1"] = "2025年度区市科技创新联动类立项项目清单"
    ws.merge_cells("A1:M1")
    ws.append([])
    ws.append(["序号", "编 号", "项目名称", "支持方向", "项目承担单位", "统一社会信用代码\n（必填）", "负责人", "联系电话",
               "项目管理专员", "起始时间", "资助经费（万元）", "自筹经费(元)", "资助方式"])
    ws.append([1, "ＧＸ２０２５-001", " 智能 视频 位移监测 装备 ", VIDEO, "桂林某光电有限公司", NEW_ORG.lower(), "李 工",
               13900001111, "officer", datetime(2025, 3, 1), "1,200", "3,000,000", "前资助"])
    ws.append([2, "GX2025-002", "光电封装项目", f"新一代信息技术 / {PHOTONICS}", "柳州示范智能装备有限公司", demo_uscc,
               "王工", None, None, "2025年3月1日", "85.5万元", None, None])
    ws.append([3, "GX2025-003", "稀土电解项目", RARE_EARTH, "南宁某研究院", OTHER_ORG, "赵工", "0771-1234567", None,
               "2025.3.1", 60, "—", "后补助"])
    ws.append(["合计", None, None, None, None, None, None, None, None, None, "=SUM(K4:K6)"])
    ws.append([])
    ws.append(["填表人：张三", None, None, None, None, None, None, "联系电话：0771-1"])
    return save(wb)


def simple_list(*rows: list, headers: list[str] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers or ["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "任务书签订日期",
                          "财政资助"])
    for row in rows:
        ws.append(row)
    return save(wb)


@pytest.fixture
def world(db, now, demo_users):
    doc = load_file(db, SAMPLES / "000_01a6d56b3cde02ef.txt", actor=SYSTEM, now=now).document
    assign_programmes(db, demo_users["officer"], [doc.programme], actor=SYSTEM, now=now)
    leaf = NodeInput(path=("他人计划", "方向"), title="方向", kind="direction", marker=None, line=2, leaf=True,
                     direction="方向", clauses=[ClauseInput(label=None, text="申请发明专利1项以上", line=3)])
    root = NodeInput(path=("他人计划",), title="他人计划", kind="plan", marker=None, line=1, leaf=False,
                     direction="他人计划")
    foreign = store_guideline(db, DocumentInput(file_name="他人.txt", title="他人计划", content_hash="e" * 64, format="txt",
                                                encoding="utf-8", lines=("他人计划", "方向", "x"), flags=[],
                                                nodes=[root, leaf]), actor=SYSTEM, now=now).document
    db.commit()
    return {"doc": doc, "foreign": foreign, "demo_uscc": demo_users["grantee"].organisation.uscc}


def counts(db) -> tuple[int, int, int, int]:
    return tuple(db.scalar(select(func.count()).select_from(model))
                 for model in (Project, Organisation, ProjectTarget, User))


def upload(client, document_id, data: bytes, name: str = "立项清单.xlsx", content_type: str = XLSX):
    token = csrf_from(client.get("/projects/import").text)
    return client.post("/projects/import", data={"_csrf_token": token, "document": str(document_id)},
                       files={"file": (name, data, content_type)})


def confirm(client, import_token: str):
    token = csrf_from(client.get("/projects/import").text)
    return client.post(f"/projects/import/{import_token}/confirm", data={"_csrf_token": token})


def problem_rows(html: str) -> list[tuple[str, str, str, str]]:
    """(行, 列, 单元格, 问题) of the problem table."""
    table = re.split(r'<table class="problems[^"]*">', html, maxsplit=1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>", table)
    return [tuple(c.strip() for c in row) for row in cells]


# --- the browser flow ----------------------------------------------------------------------------


def test_officer_imports_a_messy_award_list_through_preview_and_confirm(client, world, db):
    login(client, "officer")
    form = client.get("/projects/import")
    assert form.status_code == 200
    assert f"/projects/import/template?document={world['doc'].id}" in form.text
    assert f'value="{world["foreign"].id}"' not in form.text  # another programme's guideline is not offered
    before = counts(db)

    preview = upload(client, world["doc"].id, messy_award_list(world["demo_uscc"]))
    assert preview.status_code == 200, preview.text[:2000]
    assert counts(db) == before  # nothing written by the preview
    html = preview.text
    for code in ("GX2025-001", "GX2025-002", "GX2025-003"):
        assert code in html
    assert "智能视频位移监测装备" in html and f"区市科技创新联动类 / 桂林市 / 新一代信息技术 / {PHOTONICS}" in html
    assert "1,200.00" in html and "300.00" in html and "85.50" in html  # 万元 (3,000,000 元 = 300 万元)
    assert "桂林某光电有限公司" in html and NEW_ORG in html and "南宁某研究院" in html
    assert "将新建单位" in html
    match = TOKEN_IN_FORM.search(html)
    assert match, "the preview offers a confirm button"

    done = confirm(client, match.group(1))
    assert done.status_code == 200, done.text[:2000]
    projects = {p.code: p for p in db.scalars(select(Project))}
    assert set(projects) == {"GX2025-001", "GX2025-002", "GX2025-003"}
    first = projects["GX2025-001"]
    assert first.title == "智能视频位移监测装备" and first.fiscal_funding == 12_000_000
    assert first.self_funding == 3_000_000 and first.officer.username == "officer"
    assert projects["GX2025-002"].organisation.uscc == world["demo_uscc"]  # matched, not created again
    for project in projects.values():
        targets = db.scalars(select(ProjectTarget).join(TargetSet).where(TargetSet.project_id == project.id)).all()
        assert targets, f"{project.code} inherited no targets"
        assert f'href="/projects/{project.id}"' in done.text
        row_html = done.text.split(f'href="/projects/{project.id}"', 1)[1].split("</tr>", 1)[0]
        assert re.search(rf'<td[^>]*>{len(targets)}</td>', row_html)  # the inherited targets counted
    # Two new organisations, each with a grantee account whose activation link the officer sees once.
    links = re.findall(r'href="(http://[^"]+/activate/[A-Za-z0-9_-]+)"', done.text)
    # Without the leader's e-mail, an account is named by the organisation's code as its licence prints it.
    assert len(links) == 2 and re.search(rf'<td[^>]*>{NEW_ORG}</td>', done.text) and OTHER_ORG in done.text
    activation = client.get(urlsplit(links[0]).path)
    assert activation.status_code == 200 and "激活账号" in activation.text
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "award_list_imported")) is not None
    # The token is spent.
    assert confirm(client, match.group(1)).status_code == 404


def test_reimporting_the_same_file_changes_nothing(client, world, db):
    login(client, "officer")
    data = messy_award_list(world["demo_uscc"])
    first = upload(client, world["doc"].id, data)
    assert confirm(client, TOKEN_IN_FORM.search(first.text).group(1)).status_code == 200
    before = counts(db)
    again = upload(client, world["doc"].id, data)
    assert again.status_code == 200
    assert TOKEN_IN_FORM.search(again.text) is None  # nothing to confirm
    assert "都已导入且内容相同" in again.text and "GX2025-003" in again.text
    assert counts(db) == before


def test_every_bad_row_is_listed_by_row_and_column_and_nothing_is_written(client, world, db):
    login(client, "officer")
    good = ["P1", "项目", VIDEO, "某公司", NEW_ORG, "张三", "2025-03-01", 100]
    rows = [
        good,  # row 2: fine
        ["P2", "项目", VIDEO, "某公司", wrong_check(NEW_ORG), "张三", "2025-03-01", 100],  # row 3: check digit
        ["P3", "项目", VIDEO, "某公司", NEW_ORG, "张三", "2025-03-01", -5],  # row 4: negative
        ["P4", "项目", VIDEO, "某公司", NEW_ORG, None, "2025年2月30日", 100],  # row 5: two problems
        good,  # row 6: duplicate code
    ]
    before = counts(db)
    response = upload(client, world["doc"].id, simple_list(*rows))
    assert response.status_code == 400
    assert counts(db) == before
    found = problem_rows(response.text)
    assert [(r, c, cell) for r, c, cell, _m in found] == [
        ("3", "统一社会信用代码", "E3"), ("4", "财政资助", "H4"), ("5", "项目负责人", "F5"),
        ("5", "任务书签订日期", "G5"), ("6", "项目编号", "A6")]
    assert all(CJK.search(message) for *_rest, message in found)
    assert "校验位错误" in found[0][3] and "重复" in found[4][3]
    assert "未导入任何数据" in response.text
    assert TOKEN_IN_FORM.search(response.text) is None


def test_problems_found_against_the_database_name_the_cell_too(client, world, db):
    login(client, "officer")
    headers = ["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "项目管理专员", "任务书签订日期",
               "财政资助"]
    rows = [["Q1", "项目", "没有这个方向", "某公司", NEW_ORG, "张三", None, "2025-03-01", 100],
            ["Q2", "项目", VIDEO, "某公司", NEW_ORG, "张三", "nobody", "2025-03-01", 100]]
    before = counts(db)
    response = upload(client, world["doc"].id, simple_list(*rows, headers=headers))
    assert response.status_code == 400
    assert [(r, c, cell) for r, c, cell, _m in problem_rows(response.text)] == [
        ("2", "方向", "C2"), ("3", "项目管理专员", "G3")]
    assert counts(db) == before


def test_problems_appearing_between_preview_and_confirm_are_shown(client, world, db, now):
    login(client, "officer")
    preview = upload(client, world["doc"].id, simple_list(["R1", "项目", VIDEO, "某公司", NEW_ORG, "张三", "2025-03-01",
                                                            100]))
    token = TOKEN_IN_FORM.search(preview.text).group(1)
    # Meanwhile the same code is imported with other content.
    import_projects(db, [ProjectInput(
        row=2, project_code="R1", title="另一个项目", direction=VIDEO, content_items=(), organisation_name="某公司",
        uscc=NEW_ORG, pi_name="张三", pi_phone=None, pi_email=None, officer=None, start_date=now.date(),
        end_date=None, period_months=None, fiscal_funding=1_000_000, self_funding=0, funding_mode=None)],
        world["doc"], actor=SYSTEM, now=now)
    db.commit()
    before = counts(db)
    response = confirm(client, token)
    assert response.status_code == 400
    assert [(r, c) for r, c, _cell, _m in problem_rows(response.text)] == [("2", "项目编号")]
    assert "内容与本行不同" in response.text
    assert counts(db) == before


# --- hostile files -------------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org'
                         '/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application'
                         '/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * (8 * 1024 * 1024) + b"</worksheet>")
    data = out.getvalue()
    assert len(data) < 64 * 1024  # small on the wire, 8 MB inflated
    return data


HOSTILE = {
    "xls renamed": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048, "立项清单.xlsx", ".xls"),
    "csv renamed": ("项目编号,项目名称,方向\nP1,项目,方向\n".encode(), "立项清单.xlsx", "CSV"),
    "zip bomb": (None, "立项清单.xlsx", "压缩炸弹"),
    "empty": (b"", "立项清单.xlsx", "文件为空"),
    "a word document": (None, "立项清单.docx", "Word"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_files_are_refused_in_chinese_without_a_500(client, world, db, kind):
    login(client, "officer")
    data, name, words = HOSTILE[kind]
    if kind == "zip bomb":
        data = _zip_bomb()
    elif kind == "a word document":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
                             '.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType='
                             '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                             '</Types>')
            archive.writestr("word/document.xml", "<document/>")
        data = out.getvalue()
    before = counts(db)
    response = upload(client, world["doc"].id, data, name=name)
    assert response.status_code == 400
    rows = problem_rows(response.text)
    assert len(rows) == 1 and rows[0][0] == "—" and words in rows[0][3] and CJK.search(rows[0][3])
    assert counts(db) == before


def test_missing_file_or_guideline_is_a_form_error(client, world):
    login(client, "officer")
    token = csrf_from(client.get("/projects/import").text)
    no_file = client.post("/projects/import", data={"_csrf_token": token, "document": str(world["doc"].id)})
    assert no_file.status_code == 400 and "请选择要上传的立项清单文件" in no_file.text
    no_document = client.post("/projects/import", data={"_csrf_token": token},
                              files={"file": ("a.xlsx", b"x", XLSX)})
    assert no_document.status_code == 400 and "请选择立项清单所属的指南" in no_document.text


# --- the template --------------------------------------------------------------------------------


def test_template_download_fills_in_and_reads_back(client, world, db):
    login(client, "officer")
    response = client.get(f"/projects/import/template?document={world['doc'].id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(XLSX)
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert disposition.endswith(quote("立项清单模板.xlsx"))
    wb = load_workbook(io.BytesIO(response.content))
    choices = [c.value for c in wb["下拉选项"]["A"][1:] if c.value]
    assert len(choices) == world["doc"].leaf_count
    assert f"区市科技创新联动类 / 桂林市 / 新一代信息技术 / {VIDEO}" in choices
    assert [c.value for c in wb["下拉选项"]["B"][1:] if c.value] == [
        "前资助", "后补助", "里程碑式补助", "定额资助", "贷补联动", "自筹", "包干制"]
    ws = wb["立项清单"]
    headers = [c.value for c in ws[1]]
    values = {"*项目编号": "TPL-001", "*项目名称": "模板项目", "*方向": choices[0], "*承担单位": "桂林某光电有限公司",
              "*统一社会信用代码": NEW_ORG, "*项目负责人": "李工", "*任务书签订日期": datetime(2025, 3, 1),
              "*财政资助（万元）": 150, "资助方式": "后补助"}
    for column, header in enumerate(headers, start=1):
        if header in values:
            ws.cell(row=3, column=column, value=values[header])
    filled = save(wb)
    sheet = read_award_list("立项清单模板.xlsx", filled)
    assert sheet.errors == ()
    assert [(r.project_code, r.direction, r.fiscal_funding, r.funding_mode) for r in sheet.rows] == [
        ("TPL-001", choices[0], 1_500_000, "后补助")]
    # And the filled template passes the page's preview.
    preview = upload(client, world["doc"].id, filled, name="立项清单模板.xlsx")
    assert preview.status_code == 200 and "TPL-001" in preview.text and TOKEN_IN_FORM.search(preview.text)


def test_blank_template_without_a_guideline(client, world):
    login(client, "officer")
    response = client.get("/projects/import/template")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in wb["下拉选项"]["A"][1:] if c.value] == []


# --- scope ---------------------------------------------------------------------------------------


def test_another_programmes_guideline_is_a_404(client, world, db):
    login(client, "officer")
    foreign = world["foreign"].id
    assert client.get(f"/projects/import/template?document={foreign}").status_code == 404
    assert client.get("/projects/import/template?document=987654").status_code == 404
    assert client.get("/projects/import/template?document=abc").status_code == 404
    assert client.get("/projects/import/template?document=%C2%B2").status_code == 404
    before = counts(db)
    response = upload(client, foreign, simple_list(["S1", "项目", "方向", "某公司", NEW_ORG, "张三", "2025-03-01", 1]))
    assert response.status_code == 404
    assert counts(db) == before


def test_another_users_or_an_unknown_token_is_a_404(client, world, db, settings):
    other = accounts.create_user(db, username="officer2", password=None, role=Role.OFFICER, now=clock.now(),
                                 actor=SYSTEM)
    db.commit()
    data = simple_list(["T1", "项目", VIDEO, "某公司", NEW_ORG, "张三", "2025-03-01", 100])
    theirs = save_award_upload(settings, user_id=other.id, document_id=world["doc"].id, file_name="a.xlsx", data=data,
                               now=clock.now())
    login(client, "officer")
    before = counts(db)
    assert confirm(client, theirs).status_code == 404
    assert confirm(client, secrets.token_urlsafe(24)).status_code == 404
    assert confirm(client, "..%2F..%2Fetc").status_code == 404
    assert counts(db) == before
    # The officer's own pending upload works.
    mine = save_award_upload(settings, user_id=db.scalar(select(User.id).where(User.username == "officer")),
                             document_id=world["doc"].id, file_name="a.xlsx", data=data, now=clock.now())
    assert confirm(client, mine).status_code == 200
    assert db.scalar(select(Project).where(Project.code == "T1")) is not None


def test_a_pending_upload_for_a_programme_no_longer_assigned_is_a_404(client, world, db, settings, demo_users, now):
    officer = demo_users["officer"]
    data = simple_list(["U1", "项目", VIDEO, "某公司", NEW_ORG, "张三", "2025-03-01", 100])
    token = save_award_upload(settings, user_id=officer.id, document_id=world["doc"].id, file_name="a.xlsx",
                              data=data, now=clock.now())
    assign_programmes(db, officer, [], actor=SYSTEM, now=now)
    db.commit()
    login(client, "officer")
    assert confirm(client, token).status_code == 404
    assert db.scalar(select(Project).where(Project.code == "U1")) is None


def test_only_officers_see_the_import_link(client, world):
    login(client, "officer")
    assert 'href="/projects/import"' in client.get("/projects").text
    client.cookies.clear()
    login(client, "admin")
    page = client.get("/projects").text
    assert 'href="/projects/import"' not in page and "/projects/export.xlsx?" in page
    assert client.get("/projects/import").status_code == 403


def test_a_file_over_the_size_limit_is_refused_in_chinese(client, world, db):
    from imports.xlsx_guard import MAX_FILE_BYTES

    login(client, "officer")
    before = counts(db)
    response = upload(client, world["doc"].id, b"PK\x03\x04" + b"\x00" * (MAX_FILE_BYTES + 128 * 1024))
    assert response.status_code == 413 and "过大" in response.text
    assert counts(db) == before


# --- one use case for the page and the command line ----------------------------------------------


def test_four_bad_rows_found_at_different_stages_are_all_named_at_once(client, world, db):
    """The reader's problems (a check character, a date) and the database's (a direction, an officer) together:
    fixing three rows never reveals a fourth."""
    login(client, "officer")
    headers = ["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "项目管理专员", "任务书签订日期",
               "财政资助"]
    rows = [["V1", "项目", VIDEO, "某公司", wrong_check(NEW_ORG), "张三", None, "2025-03-01", 100],
            ["V2", "项目", VIDEO, "某公司", NEW_ORG, "张三", None, "2025年2月30日", 100],
            ["V3", "项目", "没有这个方向", "某公司", NEW_ORG, "张三", None, "2025-03-01", 100],
            ["V4", "项目", VIDEO, "某公司", NEW_ORG, "张三", "nobody", "2025-03-01", 100],
            ["V5", "项目", VIDEO, "某公司", NEW_ORG, "张三", None, "2025-03-01", 100]]
    before = counts(db)
    response = upload(client, world["doc"].id, simple_list(*rows, headers=headers))
    assert response.status_code == 400
    assert [(r, c, cell) for r, c, cell, _m in problem_rows(response.text)] == [
        ("2", "统一社会信用代码", "E2"), ("3", "任务书签订日期", "H3"), ("4", "方向", "C4"), ("5", "项目管理专员", "G5")]
    assert "有 4 处问题" in response.text
    assert counts(db) == before


def _snapshot(db, document_id: int, after_audit_id: int) -> dict:
    """What an award-list import leaves, without the ids and secrets that differ between two databases."""
    projects = db.scalars(select(Project).where(Project.document_id == document_id).order_by(Project.code)).all()
    rows = [(p.code, p.title, tuple(p.node.path), p.organisation.uscc, p.organisation.name, p.start_date, p.end_date,
             p.period_months, p.fiscal_funding, p.self_funding, p.funding_mode, p.officer.username, p.status,
             p.imported_batch, [(t.position, t.metric, t.op, t.value, t.unit, t.kind)
                                for t in p.target_sets[-1].targets]) for p in projects]
    grantees = sorted((u.username, u.role, u.organisation.uscc, u.is_active, u.password_hash is None)
                      for u in db.scalars(select(User).where(User.role == "grantee", User.username != "grantee")))
    trail = []
    for entry in db.scalars(select(AuditEntry).where(AuditEntry.id > after_audit_id).order_by(AuditEntry.id)):
        after = {k: v for k, v in json.loads(entry.after or "{}").items()
                 if k not in ("document", "id", "organisation_id", "created_at")}
        trail.append((entry.action, entry.object_type, entry.result, after))
    return {"projects": rows, "grantees": grantees, "audit": trail}


def test_a_web_import_and_a_cli_import_leave_the_same_rows_and_audit_trail(client, world, db, tmp_path, monkeypatch,
                                                                          capsys):
    from tracker import cli
    from tracker.db import make_engine, make_session_factory, session_scope
    from tracker.settings import get_settings

    headers = ["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "项目管理专员", "任务书签订日期",
               "财政资助"]
    data = simple_list(["W1", "位移监测", VIDEO, "桂林某光电有限公司", NEW_ORG, "李工", "officer", "2025-03-01", 120],
                       ["W2", "光电封装", PHOTONICS, "南宁某研究院", OTHER_ORG, "赵工", "officer", "2025-04-01", 85.5],
                       headers=headers)
    programme = world["doc"].programme.name

    # The page: upload, preview, confirm (the rows written by the confirmation).
    login(client, "officer")
    preview = upload(client, world["doc"].id, data, name="清单.xlsx")
    assert preview.status_code == 200, problem_rows(preview.text)
    mark = db.scalar(select(func.max(AuditEntry.id)))
    assert confirm(client, TOKEN_IN_FORM.search(preview.text).group(1)).status_code == 200
    web = _snapshot(db, world["doc"].id, mark)

    # The command line, on a database of its own holding the same guideline and officer.
    list_path = tmp_path / "清单.xlsx"
    list_path.write_bytes(data)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert cli.main(["guidelines", "import", str(SAMPLES / "000_01a6d56b3cde02ef.txt")]) == 0
        factory = make_session_factory(make_engine(url))
        with session_scope(factory) as other:
            accounts.create_user(other, username="officer", password=None, role=Role.OFFICER, now=clock.now(),
                                 actor=SYSTEM)
            mark = other.scalar(select(func.max(AuditEntry.id)))
        assert cli.main(["projects", "import", str(list_path), "--guideline", programme]) == 0
        assert "新建 2 个项目" in capsys.readouterr().out
        with session_scope(factory) as other:
            document_id = other.scalar(select(Project.document_id).limit(1))
            command_line = _snapshot(other, document_id, mark)
    finally:
        get_settings.cache_clear()

    assert web["projects"] and len(web["projects"]) == 2
    assert command_line == web
    assert [a for a, *_ in web["audit"]].count("award_list_imported") == 1
