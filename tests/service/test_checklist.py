"""The acceptance checklist (验收清单, DESIGN §2 Acceptance, §5): Excel, printable HTML and PDF of what the committee
examined and decided, built from cases made through the acceptance services as users would make them."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests import builders as build
from tests.unit.tracker.test_pdf import poppler, run
from tracker.exports import checklist
from tracker.exports.checklist import (
    cases_for_meeting,
    cases_for_project,
    checklist_html,
    checklist_pdf,
    checklist_workbook,
    sheet_title,
    wan_text,
)
from tracker.files.evidence import check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.services import acceptance, committees, verdicts
from tracker.services import reports as report_service
from tracker.services.audit import Actor
from tracker.services.business_settings import BusinessSettings
from tracker.services.reports import EvidenceInput, ValueInput

NOW = build.ACCEPTANCE_NOW
RARE_ORG = "广西昇镕珺瑄智能装备有限公司"  # rare characters of names (DESIGN §5), through the organisation
FORMULA = '=HYPERLINK("http://evil.example/","点击")'
SCRIPT = "<script>alert('x')</script>"
SUMMARY = f"{FORMULA} 各项任务已按任务书完成。{SCRIPT}"
PATENT_NO = "202310123456.6"
PATENT_NO_2 = "202410654321.7"


def people(db):
    """The officer, and two experts with rare characters in their names (the first leads the committee)."""
    officer = build.officer(db, username="officer-ck")
    officer.display_name = "赵建国"
    li, wang = build.expert(db, username="expert-li"), build.expert(db, username="expert-wang")
    li.display_name, wang.display_name = "李堃", "王喆"
    db.commit()
    return officer, [li, wang]


def apply_for(db, project, store_dir, *, summary=SUMMARY):
    """The grantee's application with their own claims: patents met (with a note typed as a formula), the rest left
    to the experts; the certified self-funding its rule needs, with an audit report."""
    last = report_service.project_periods(db, project, build.DUE_DAYS)[-1].index
    build.report(db, project, period=last, status="accepted", now=NOW, values={
        build.PATENTS: ValueInput(value="4"), build.REVENUE: ValueInput(value="1234.5"),
        build.STRENGTH: ValueInput(value="1450"), build.PLATFORM: ValueInput(done="1"),
        build.PER_YEAR: ValueInput(year_value="5200")}, evidence=[
        EvidenceInput(kind="patent_application", identifier=PATENT_NO_2, target=str(build.PATENTS)),
        EvidenceInput(kind="certificate", identifier="中试平台验收报告2026-11", target=str(build.PLATFORM))])
    targets = {t.position: t for t in project.target_sets[-1].targets}
    claims = {targets[build.PATENTS].id: acceptance.ClaimInput(value="4", claim="met", note=FORMULA),
              targets[build.REVENUE].id: acceptance.ClaimInput(value="1234.5", claim="met"),
              targets[build.PLATFORM].id: acceptance.ClaimInput(done="1", claim="met"),
              targets[build.QUALITATIVE].id: acceptance.ClaimInput(note="经济效益显著，新增利税300万元")}
    evidence = [acceptance.EvidenceUpload("audit_report", check_evidence_file("专项审计报告.pdf", build.TINY_PDF),
                                          figure_key="certified_self_funding", description="2026年度专项审计")]
    made = acceptance.apply(db, project, acceptance.ApplicationInput(summary, claims, {
        "certified_self_funding": "123.4567"}, evidence), actor=build.SYSTEM, now=NOW, today=NOW.date(),
        rules=BusinessSettings(), store=EvidenceStore(store_dir))
    db.commit()
    return made


def awarded(db, officer, code, title, organisation):
    """A confirmed project with an accepted progress report citing a patent application for its patents target."""
    project = build.project(db, code=code, title=title, organisation=organisation, officer=officer, confirmed=True)
    build.report(db, project, period=1, status="accepted", values={build.PATENTS: ValueInput(value="2")},
                 evidence=[EvidenceInput(kind="patent_application", identifier=PATENT_NO, description="一种传感器标定方法",
                                         target=str(build.PATENTS))])
    return project


def examined_meeting(db, store_dir, *, second: bool = False):
    """CK-1 (of an organisation with rare characters in its name) through the whole acceptance: applied, examined
    by 李堃 (leader) and 王喆 (whose opinion holds a script), verdict 通过. With `second`, CK-2 of another
    organisation sits in the same meeting, examined by both, without a verdict yet."""
    officer, panel = people(db)
    org = build.organisation(db, name=RARE_ORG)
    first = apply_for(db, awarded(db, officer, "CK-1", "高精度光纤传感器研制与产业化", org), store_dir)
    applications = [first]
    if second:
        other = build.organisation(db, credit_code=build.uscc("91450100MA5L11AB2"), name="南宁市测试研究院")
        applications.append(apply_for(db, awarded(db, officer, "CK-2", "智能控制系统开发", other), store_dir,
                                      summary="按计划完成。"))
    meeting = build.meeting(db, applications, panel, by=officer)
    for application in applications:
        build.check(db, application, panel[0])
        items = {t.id: committees.ItemInput("1") for t in application.target_set.targets}
        items[application.target_set.targets[build.QUALITATIVE].id] = committees.ItemInput(
            "0", "效益数据缺少财务报表支撑")
        committees.submit_check(db, application, panel[1], items, opinion=f"{SCRIPT}佐证材料基本齐全。",
                                recommendation="passed", actor=Actor.of(panel[1]), now=NOW)
    verdicts.record_verdict(db, first, verdicts.VerdictInput(
        "passed", "项目完成了任务书规定的各项考核指标，同意通过验收。", {"certified_self_funding": "100.5"},
        certificate_no="GXYS-2026-0001"), actor=Actor.of(officer), now=NOW + timedelta(days=2))
    db.commit()
    return {"officer": officer, "panel": panel, "project": first.project, "application": first, "meeting": meeting,
            "applications": applications}


@pytest.fixture
def case(db, tmp_path):
    return examined_meeting(db, tmp_path / "files")


def _cells(ws) -> list:
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


def _texts(ws) -> str:
    return "\n".join(str(c.value) for c in _cells(ws))


# --- the data ----------------------------------------------------------------------------------------------------


def test_the_case_holds_what_the_committee_examined_and_decided(db, case):
    [found] = cases_for_meeting(db, case["meeting"])
    p = found.project
    assert (p.code, p.title, p.organisation, p.pi, p.officer) == ("CK-1", "高精度光纤传感器研制与产业化", RARE_ORG,
                                                                  "李工", "赵建国")
    assert p.uscc == build.uscc() and p.fiscal_text == "200.00" and p.self_text == "100.00"
    assert found.meeting.leader == "李堃" and [m.name for m in found.meeting.members] == ["李堃", "王喆"]
    patents = found.targets[build.PATENTS]
    assert patents.goal == "≥3件" and patents.achieved == "4件" and patents.claim == "达到"
    assert patents.note == FORMULA
    # From the accepted reports, oldest first.
    assert [(e.identifier, e.source) for e in patents.evidence] == [(PATENT_NO, "第1期进展报告"),
                                                                    (PATENT_NO_2, "结题报告")]
    assert [i.text for i in patents.checks] == ["认可", "认可"]
    qualitative = found.targets[build.QUALITATIVE]
    assert qualitative.claim == "由专家组判断" and qualitative.state == "需专家判断"
    assert qualitative.checks[1].text == "不认可：效益数据缺少财务报表支撑"
    assert found.targets[build.PLATFORM].achieved == "已完成"
    assert [(e.name, e.is_leader, e.recommendation) for e in found.experts] == [("李堃", True, "通过"),
                                                                                 ("王喆", False, "通过")]
    figure = next(f for f in found.figures if f.key == "certified_self_funding")
    assert (figure.declared_text, figure.certified_text, figure.required) == ("123.4567", "100.50", True)
    assert found.application_evidence[0].file_name == "专项审计报告.pdf"
    assert found.verdict.label == "通过" and found.verdict.certificate_no == "GXYS-2026-0001"
    assert found.verdict.superseded == ""
    assert [s.role for s in found.signatures] == ["专家组组长签字", "专家签字", "项目管理专员签字"]
    assert cases_for_project(db, case["project"])[0].project.code == "CK-1"


def test_a_correction_says_what_it_replaced_and_no_verdict_says_so(db, case):
    officer = case["officer"]
    verdicts.record_verdict(db, case["application"], verdicts.VerdictInput(
        "concluded", "经复核改为结题。", {}, reason="自筹经费核定有误"), actor=Actor.of(officer),
        now=NOW + timedelta(days=5))
    db.commit()
    [found] = cases_for_project(db, case["project"])
    assert found.verdict.label == "结题"
    assert "更正" in found.verdict.superseded and "“通过”" in found.verdict.superseded
    assert "自筹经费核定有误" in found.verdict.superseded
    other = build.project(db, code="CK-NONE", officer=officer, confirmed=True)
    assert cases_for_project(db, other) == []  # not applied: nothing to list


def test_money_in_wan_is_exact_and_sheet_titles_follow_excels_rules():
    assert wan_text(Decimal("1234567.89")) == "123.456789"
    assert wan_text(Decimal("2000000")) == "200.00" and wan_text(Decimal("12345678900")) == "1,234,567.89"
    assert wan_text(None) == ""
    taken = {"汇总"}
    assert sheet_title("GX[2026]:01/02*?", taken) == "GX_2026__01_02__"
    assert sheet_title("A" * 40, taken) == "A" * 31
    assert sheet_title("a" * 40, taken) == "a" * 28 + "(2)"  # Excel compares sheet names ignoring case
    assert sheet_title("汇总", taken) == "汇总(2)" and sheet_title("'X'", taken) == "X"
    assert checklist.checklist_filename("YS2026-001", "xlsx") == "验收清单-YS2026-001.xlsx"
    assert checklist.checklist_filename('a/b:"c"', ".pdf") == "验收清单-a_b__c_.pdf"


# --- Excel -------------------------------------------------------------------------------------------------------


def test_the_workbook_has_a_styled_sheet_per_project_and_no_formula(db, case):
    data = checklist_workbook(cases_for_meeting(db, case["meeting"]), generated_at=NOW)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "CK-1"]
    ws = wb["CK-1"]
    text = _texts(ws)
    for expected in ("CK-1", "高精度光纤传感器研制与产业化", RARE_ORG, build.uscc(), "李堃", "王喆", "GXYS-2026-0001",
                     "专家组组长签字", "项目管理专员签字", PATENT_NO, "效益数据缺少财务报表支撑", "通过"):
        assert expected in text, expected
    for target in case["application"].target_set.targets:
        assert target.metric in text
    # Nothing a user typed is a formula: the summary starts with "=" and stays text, as it was typed.
    typed = [c for c in _cells(ws) if isinstance(c.value, str) and c.value.startswith("=")]
    assert [c.value for c in typed] == [SUMMARY] and typed[0].data_type == "s"
    assert FORMULA in text  # the note, beside the self-claim
    assert not any(c.data_type == "f" for c in _cells(ws))
    # Styled and ready to print.
    assert ws.freeze_panes is not None and ws.freeze_panes.startswith("C")
    header_row = int(ws.freeze_panes[1:]) - 1
    assert header_row <= 4  # the targets' header right under the title: the frozen rows leave the screen to them
    assert ws.cell(header_row, 1).value == "序号" and ws.cell(header_row, 1).font.b
    assert ws.cell(header_row, 1).fill.fgColor.rgb.endswith("DDEBF7")
    assert ws.cell(header_row, 2).border.left.style == "thin"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == f"${header_row}:${header_row}"
    assert "CK-1" in ws.oddHeader.left.text and "&P" in ws.oddFooter.center.text
    money = [c for c in _cells(ws) if c.value == Decimal("123.4567") or c.value == 123.4567]
    assert money and money[0].number_format == checklist.WAN_FORMAT  # 万元, a number, exact
    summary = wb["汇总"]
    assert "CK-1" in _texts(summary) and "通过" in _texts(summary)


def test_a_meeting_with_two_projects_gives_one_file_with_both(db, tmp_path):
    made = examined_meeting(db, tmp_path / "files", second=True)
    cases = cases_for_meeting(db, made["meeting"])
    assert [c.project.code for c in cases] == ["CK-1", "CK-2"]  # the meeting's order
    wb = load_workbook(io.BytesIO(checklist_workbook(cases, generated_at=NOW)))
    assert wb.sheetnames == ["汇总", "CK-1", "CK-2"]
    assert "智能控制系统开发" in _texts(wb["CK-2"]) and "尚未作出结论" in _texts(wb["CK-2"])
    html = checklist_html(cases, generated_at=NOW)
    assert html.count('<section class="case">') == 2 and html.index("CK-1") < html.index("CK-2")
    assert cases[1].verdict is None and "尚未作出结论" in html
    path = tmp_path / "meeting.pdf"
    path.write_bytes(checklist_pdf(cases, generated_at=NOW))
    text = run(poppler("pdftotext"), "-enc", "UTF-8", str(path), "-")
    assert "高精度光纤传感器研制与产业化" in text and "智能控制系统开发" in text and "南宁市测试研究院" in text


# --- HTML and PDF ------------------------------------------------------------------------------------------------


def test_the_printable_page_is_standalone_and_escapes_what_users_typed(db, case):
    html = checklist_html(cases_for_meeting(db, case["meeting"]), generated_at=NOW)
    for expected in ("验收清单", "CK-1", "高精度光纤传感器研制与产业化", RARE_ORG, build.uscc(), "李工", "赵建国", "李堃",
                     "王喆", "≥3件", PATENT_NO, "GXYS-2026-0001", "123.4567", "100.50", "专家组组长签字"):
        assert expected in html, expected
    assert "<script" not in html  # the summary's and the opinion's script are text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "@page" in html and "counter(page)" in html and "page-break-before" in html
    for external in ("http://", "https://", "<link", "@import", "url("):
        assert external not in html.replace("http://evil.example/", ""), external


@pytest.fixture
def pdf(db, case, tmp_path):
    path = tmp_path / "checklist.pdf"
    path.write_bytes(checklist_pdf(cases_for_meeting(db, case["meeting"]), generated_at=NOW))
    return path


def test_the_pdf_embeds_only_the_shipped_font_and_reads_back(pdf):
    lines = run(poppler("pdffonts"), str(pdf)).splitlines()[2:]
    assert lines, "no font in the PDF"
    for line in lines:
        name, emb = line.split()[0], line.split()[-5]
        assert "Tracker-CJK" in name and emb == "yes", line  # no system font filled a gap
    text = run(poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-")
    for expected in ("验收清单", "高精度光纤传感器研制与产业化", "CK-1", "李堃", "王喆", "通过", "第 1 页"):
        assert expected in text, expected
    assert all(ch in text for ch in "堃喆昇镕珺瑄")


def test_a_milestone_project_lists_its_milestones_and_their_checks(db, tmp_path):
    officer, _panel = people(db)
    document = build.guideline(db, officer=officer)
    project = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code="MS-1", officer=officer,
                            months=24, targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                                 "value": "500", "unit": "km", "kind": "level"}])
    verdicts.record_milestone_check(db, project, 0, verdicts.MilestoneCheckInput(
        "1", "2026-01-10", "第三方检测报告 GXJC-2026-01"), actor=Actor.of(officer), now=build.NOW, today=build.TODAY)
    db.commit()
    build.application(db, project, store=EvidenceStore(tmp_path / "files"))
    [found] = cases_for_project(db, project)
    assert [(m.number, m.result) for m in found.milestones] == [(1, "通过"), (2, "尚未核查")]
    assert found.milestones[0].evidence == "第三方检测报告 GXJC-2026-01" and found.milestones[0].amount_text == "100.00"
    assert any(t.goal == "≥500km" for t in found.targets)
    html = checklist_html([found], generated_at=NOW)
    assert "六、里程碑核查" in html and "七、验收结论" in html and "GXJC-2026-01" in html
    ws = load_workbook(io.BytesIO(checklist_workbook([found], generated_at=NOW)))["MS-1"]
    assert "里程碑核查" in _texts(ws) and "尚未核查" in _texts(ws)
