"""The Excel round trip of a quarterly progress report (tracker.exports.report_xlsx → imports.report_xlsx).

Pure: the model objects are built in memory with ids set by hand; no database, no web. The reader only turns
cells into text and checks the file's identity and shape; the service judges the values (a few checks below
feed the read text to the service's own parser to show it arrives as the service expects).
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from imports.report_xlsx import (
    NOT_OURS,
    TARGETS_CHANGED,
    SheetError,
    cell_text,
    locate,
    read_report_sheet,
    read_report_workbook,
)
from indicators.assessment.report_values import read_value
from indicators.evidence_ids import EVIDENCE_KINDS
from indicators.workdays import ReportingPeriod
from tracker.exports.report_xlsx import (
    EVIDENCE_EMPTY_ROWS,
    EVIDENCE_HEADERS,
    KEPT_MARK,
    SHEET_EVIDENCE,
    SHEET_FUNDS,
    SHEET_HELP,
    SHEET_LISTS,
    SHEET_META,
    SHEET_TARGETS,
    SHEET_TEXT,
    TARGET_HEADERS,
    report_workbook,
)
from tracker.models import (
    EvidenceFile,
    Project,
    ProjectTarget,
    ReportEvidence,
    ReportValue,
    ReportVersion,
    TargetSet,
)
from tracker.services.reports import EvidenceInput, ReportInput, ValueInput

FORMULA = '=HYPERLINK("http://evil.example/","点击")'


def _target(position: int, category: str, metric: str, kind: str, op: str | None, value: str | None,
            unit: str | None) -> ProjectTarget:
    return ProjectTarget(id=100 + position, target_set_id=7, position=position, source="guideline", category=category,
                         metric=metric, kind=kind, op=op, value=Decimal(value) if value is not None else None,
                         unit=unit, clause_text="", clause_combine="all", change_reason="")


def _targets() -> list[ProjectTarget]:
    return [
        _target(0, "patent_application", "发明专利申请", "cumulative", ">=", "3", "件"),
        _target(1, "performance_metric", "抗拉强度", "level", ">=", "1400", "MPa"),
        _target(2, "platform", "建成中试验证平台", "deliverable", None, None, None),
        _target(3, "revenue", "新增销售收入", "cumulative", ">=", "500", "万元/年"),
        _target(4, "impact", "取得显著经济效益", "qualitative", None, None, None),
        _target(5, "performance_metric", "工作温度下限", "level", "<=", "-40", "℃"),
    ]


@pytest.fixture
def target_set() -> TargetSet:
    return TargetSet(id=7, project_id=11, version=2, confirmed=True, reason="", targets=_targets())


@pytest.fixture
def project() -> Project:
    return Project(id=11, code="2025-KJ-001", title=FORMULA + "关键技术", fiscal_funding=Decimal("2000000.00"),
                   self_funding=Decimal("6000000.00"), status="active")


@pytest.fixture
def period() -> ReportingPeriod:
    return ReportingPeriod(index=3, start=date(2025, 7, 1), end=date(2025, 9, 30), due=date(2025, 10, 15),
                           provisional=False, is_final=False, label="2025年第3季度", year=2025, quarter=3)


KEPT_FILE = EvidenceFile(id=55, project_id=11, sha256="0" * 64, storage_name="x" * 32, display_name="检测报告.pdf",
                         media_type="application/pdf", size=10)
KEPT = [EvidenceInput(kind="certificate", identifier="JC-2025-018", description="第三方检测报告", target="1",
                      file_id=55)]


@pytest.fixture
def version(target_set) -> ReportVersion:
    t = {x.position: x for x in target_set.targets}
    values = [
        ReportValue(target_id=100, target=t[0], value=Decimal("2.000000"), explanation="", note=""),
        ReportValue(target_id=101, target=t[1], value=Decimal("1412.500000"), explanation="", note="实验室测量"),
        ReportValue(target_id=102, target=t[2], done=True, explanation="", note=""),
        ReportValue(target_id=103, target=t[3], value=Decimal("820"), year_value=Decimal("0.000001"),
                    explanation="", note=""),
        ReportValue(target_id=104, target=t[4], explanation="", note=FORMULA),
        ReportValue(target_id=105, target=t[5], value=Decimal("-42.5"), explanation="", note=""),
    ]
    evidence = [
        ReportEvidence(position=0, kind="patent_application", identifier="202310123456.6", description="一种方法",
                       target=t[0]),
        ReportEvidence(position=1, kind="certificate", identifier="JC-2025-018", description="第三方检测报告",
                       target=t[1], file_id=55, file=KEPT_FILE),
        ReportEvidence(position=2, kind="standard", identifier="GB/T 12345-2020", description=""),
    ]
    return ReportVersion(id=900, number=1, target_set_id=7, values=values, evidence=evidence,
                         fiscal_received=Decimal("1200000.00"), fiscal_spent=Decimal("834567.89"),
                         self_received=Decimal("3000000.00"), self_spent=None,
                         narrative="本期完成中试。\n第二行", problems=FORMULA, next_steps="")


LAST_ACCEPTED = {0: Decimal("1"), 1: Decimal("1350.5"), 2: None, 3: Decimal("300"), 4: None, 5: Decimal("-35")}
ACCEPTED_FUNDS = {"fiscal_received": Decimal("1000000.00"), "fiscal_spent": Decimal("500000.00"),
                  "self_received": None, "self_spent": None}


def _write(project, period, target_set, version=None) -> bytes:
    return report_workbook(project=project, period=period, target_set=target_set, version=version,
                           last_accepted=LAST_ACCEPTED, accepted_funds=ACCEPTED_FUNDS)


def _read(data, project, period, target_set, kept=()):
    return read_report_workbook(data, project=project, period=period, target_set=target_set,
                                kept_evidence=list(kept))


def _edit(data: bytes, change) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    change(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _target_row(position: int) -> int:
    return position + 2


# --- round trip ------------------------------------------------------------------------------------------


def test_round_trip_of_a_draft(project, period, target_set, version):
    report, errors = _read(_write(project, period, target_set, version), project, period, target_set, KEPT)
    assert errors == []
    assert report == ReportInput(
        values={
            0: ValueInput(value="2"),
            1: ValueInput(value="1412.5", note="实验室测量"),
            2: ValueInput(done="1"),
            3: ValueInput(value="820", year_value="0.000001"),
            4: ValueInput(note=FORMULA),
            5: ValueInput(value="-42.5"),
        },
        evidence=[
            EvidenceInput(kind="patent_application", identifier="202310123456.6", description="一种方法", target="0"),
            KEPT[0],  # the file-carrying item comes back from the caller's list, in its place
            EvidenceInput(kind="standard", identifier="GB/T 12345-2020"),
        ],
        funds={"fiscal_received": "120", "fiscal_spent": "83.456789", "self_received": "300", "self_spent": ""},
        narrative="本期完成中试。\n第二行", problems=FORMULA, next_steps="", edit_lock=None)


def test_round_trip_without_a_draft_prefills_the_accepted_values(project, period, target_set):
    report, errors = _read(_write(project, period, target_set), project, period, target_set)
    assert errors == []
    assert {p: v.value for p, v in report.values.items()} == {0: "1", 1: "1350.5", 2: "", 3: "300", 4: "", 5: "-35"}
    assert all(v.year_value == "" and v.done == "" for v in report.values.values())
    assert report.funds == {"fiscal_received": "100", "fiscal_spent": "50", "self_received": "", "self_spent": ""}
    assert report.evidence == [] and report.narrative == "" and report.edit_lock is None


def test_filled_values_pass_through_as_text(project, period, target_set):
    def fill(wb):
        ws = wb[SHEET_TARGETS]
        ws.cell(_target_row(0), 8).value = 5
        ws.cell(_target_row(0), 11).value = "上期多报了一项"
        ws.cell(_target_row(1), 8).value = 1e-7  # a float Excel would show as 1E-07
        ws.cell(_target_row(2), 10).value = "是"
        ws.cell(_target_row(3), 8).value = "1.2亿元"
        ws.cell(_target_row(3), 9).value = 1234.5
        ws.cell(_target_row(5), 8).value = "三件左右"  # text in a number cell: the service refuses it
        funds = wb[SHEET_FUNDS]
        funds["B2"] = "1.2亿元"
        funds["B3"] = 80.25
        ev = wb[SHEET_EVIDENCE]
        ev.append([EVIDENCE_KINDS["software_copyright"], "2023SR0123456", "配套软件", 1])
        ev["A3"] = EVIDENCE_KINDS["doi"]
        ev["B3"] = "10.1000/xyz123"
        ev["D3"] = "2"
        ev["A4"] = EVIDENCE_KINDS["patent_application"]
        ev["B4"] = 202310123456.6  # typed over the text format: Excel made it a number
        text = wb[SHEET_TEXT]
        text["B2"] = "完成了中试线建设。"
        text["B4"] = 2026

    report, errors = _read(_edit(_write(project, period, target_set), fill), project, period, target_set)
    assert errors == []
    values = report.values
    assert values[0] == ValueInput(value="5", explanation="上期多报了一项")
    assert values[1].value == "0.0000001"
    assert values[2].done == "1"
    assert values[3] == ValueInput(value="1.2亿元", year_value="1234.5")
    assert values[5].value == "三件左右"
    assert report.funds["fiscal_received"] == "1.2亿元" and report.funds["fiscal_spent"] == "80.25"
    assert read_value(report.funds["fiscal_received"], "万元").value == Decimal(12000)
    assert read_value(values[1].value, "MPa").value == Decimal("0.0000001")
    assert read_value(values[5].value, "℃").error
    assert report.evidence == [
        EvidenceInput(kind="doi", identifier="10.1000/xyz123", target="1"),
        EvidenceInput(kind="patent_application", identifier="202310123456.6"),
        EvidenceInput(kind="software_copyright", identifier="2023SR0123456", description="配套软件", target="0"),
    ]  # the last one was added below the 30 prepared rows
    assert report.narrative == "完成了中试线建设。" and report.next_steps == "2026"


def test_yes_no_and_evidence_rows(project, period, target_set):
    def fill(wb):
        wb[SHEET_TARGETS].cell(_target_row(2), 10).value = "否"
        ev = wb[SHEET_EVIDENCE]
        ev["A2"], ev["B2"], ev["C2"], ev["D2"] = EVIDENCE_KINDS["standard"], "GB/T 12345-2020", "参编", 3
        ev["A5"], ev["C5"] = EVIDENCE_KINDS["file"], "照片见网页"
        ev["B6"] = "ZL202310123456.6"  # no type: the service answers 请选择材料类型 (e{i}_kind)

    data = _edit(_write(project, period, target_set), fill)
    sheet = read_report_sheet(data, project=project, period=period, target_set=target_set, kept_evidence=[])
    assert sheet.errors == []
    assert sheet.report.values[2].done == "0"
    assert sheet.report.evidence == [
        EvidenceInput(kind="standard", identifier="GB/T 12345-2020", description="参编", target="2"),
        EvidenceInput(kind="file", description="照片见网页"),
        EvidenceInput(kind="", identifier="ZL202310123456.6"),
    ]
    assert sheet.evidence_rows == {0: 2, 1: 5, 2: 6}


def test_other_answers_for_done_go_to_the_service(project, period, target_set):
    data = _edit(_write(project, period, target_set),
                 lambda wb: setattr(wb[SHEET_TARGETS].cell(_target_row(2), 10), "value", "差不多"))
    report, errors = _read(data, project, period, target_set)
    assert errors == [] and report.values[2].done == "差不多"


def test_kept_file_rows_survive_and_deleted_ones_are_appended(project, period, target_set, version):
    data = _write(project, period, target_set, version)
    ws = load_workbook(io.BytesIO(data))[SHEET_EVIDENCE]
    assert ws["E3"].value == KEPT_MARK + "检测报告.pdf"
    assert ws["A3"].protection.locked and not ws["A2"].protection.locked
    # Protection removed and the kept row deleted: the file is kept all the same (at the end).
    report, errors = _read(_edit(data, lambda wb: wb[SHEET_EVIDENCE].delete_rows(3)), project, period, target_set,
                           KEPT)
    assert errors == []
    assert [e.kind for e in report.evidence] == ["patent_application", "standard", "certificate"]
    assert report.evidence[-1] is KEPT[0]
    # A file removed on the web page since the download stays removed.
    report, errors = _read(data, project, period, target_set, [])
    assert [e.kind for e in report.evidence] == ["patent_application", "standard"]


def test_kept_rows_are_found_by_their_marker_when_rows_move(project, period, target_set, version):
    second = EvidenceFile(id=56, project_id=11, sha256="1" * 64, storage_name="y" * 32, display_name="照片.jpg",
                          media_type="image/jpeg", size=10)
    version.evidence.append(ReportEvidence(position=3, kind="file", description="现场照片", file_id=56, file=second))
    kept = [*KEPT, EvidenceInput(kind="file", description="现场照片", file_id=56)]
    data = _edit(_write(project, period, target_set, version), lambda wb: wb[SHEET_EVIDENCE].delete_rows(2))
    sheet = read_report_sheet(data, project=project, period=period, target_set=target_set, kept_evidence=kept)
    assert sheet.errors == []
    assert sheet.report.evidence == [kept[0], EvidenceInput(kind="standard", identifier="GB/T 12345-2020"), kept[1]]
    assert sheet.evidence_rows == {0: 2, 1: 3, 2: 4}


# --- the file's identity and shape ---------------------------------------------------------------------


def test_a_file_of_another_period_or_project_is_refused(project, period, target_set):
    data = _write(project, period, target_set)
    other_period = ReportingPeriod(index=4, start=date(2025, 10, 1), end=date(2025, 12, 31), due=date(2026, 1, 15),
                                   provisional=False, is_final=False, label="2025年第4季度")
    report, errors = _read(data, project, other_period, target_set)
    assert report is None
    assert [str(e) for e in errors] == [
        "这个文件属于项目2025-KJ-001的第3期报告（2025年第3季度），不是项目2025-KJ-001的第4期报告（2025年第4季度）；"
        "请在本期报告页面下载模板后填写"]
    other = Project(id=12, code="2025-KJ-002", title="另一个项目", fiscal_funding=Decimal(1), self_funding=Decimal(0))
    report, errors = _read(data, other, period, target_set)
    assert report is None and len(errors) == 1 and errors[0].row is None
    assert "属于项目2025-KJ-001" in errors[0].message and "不是项目2025-KJ-002" in errors[0].message


def test_a_file_of_an_older_task_book_is_refused(project, period, target_set):
    data = _write(project, period, target_set)
    newer = TargetSet(id=8, project_id=11, version=3, confirmed=True, reason="", targets=_targets())
    assert _read(data, project, period, newer) == (None, [SheetError("", None, None, TARGETS_CHANGED)])
    fewer = TargetSet(id=7, project_id=11, version=2, confirmed=True, reason="", targets=_targets()[:5])
    assert _read(data, project, period, fewer)[1][0].message == TARGETS_CHANGED


def test_files_that_are_not_the_template(project, period, target_set):
    report, errors = _read(b"a,b\n1,2\n", project, period, target_set)
    assert report is None and "CSV" in errors[0].message
    no_meta = _edit(_write(project, period, target_set), lambda wb: wb.remove(wb[SHEET_META]))
    assert _read(no_meta, project, period, target_set)[1] == [SheetError("", None, None, NOT_OURS)]
    no_funds = _edit(_write(project, period, target_set), lambda wb: wb.remove(wb[SHEET_FUNDS]))
    report, errors = _read(no_funds, project, period, target_set)
    assert report is None and errors[0].sheet == SHEET_FUNDS and "缺少工作表" in errors[0].message


def test_a_deleted_target_row_is_an_error(project, period, target_set):
    data = _edit(_write(project, period, target_set), lambda wb: wb[SHEET_TARGETS].delete_rows(_target_row(1)))
    report, errors = _read(data, project, period, target_set)
    assert report is None
    assert errors[0] == SheetError(SHEET_TARGETS, 3, "考核指标", errors[0].message, "C3")
    assert "第2项考核指标“抗拉强度”的行已被删除或修改" in errors[0].message
    assert str(errors[0]).startswith("考核指标 第3行 考核指标：第2项考核指标")


def test_moved_target_rows_are_errors(project, period, target_set):
    def swap(wb):
        ws = wb[SHEET_TARGETS]
        for column in range(1, len(TARGET_HEADERS) + 1):
            a, b = ws.cell(2, column), ws.cell(3, column)
            a.value, b.value = b.value, a.value

    report, errors = _read(_edit(_write(project, period, target_set), swap), project, period, target_set)
    assert report is None
    assert [(e.row, e.column) for e in errors] == [(3, "考核指标"), (2, "考核指标")]
    assert errors[0].message.startswith("第1项考核指标“发明专利申请”应在第2行，现在在第3行；请不要插入、删除或移动")
    assert errors[1].message.startswith("第2项考核指标“抗拉强度”应在第3行，现在在第2行")


def test_an_extra_row_below_the_targets_is_an_error(project, period, target_set):
    data = _edit(_write(project, period, target_set),
                 lambda wb: wb[SHEET_TARGETS].append([7, "论文", "发表论文", None, None, None, None, 3]))
    report, errors = _read(data, project, period, target_set)
    assert report is None and errors[0].row == 8 and "不是任务书中的考核指标" in errors[0].message


def test_a_changed_header_is_an_error(project, period, target_set):
    def change(wb):
        wb[SHEET_TARGETS]["H1"] = "本期值"
        wb[SHEET_FUNDS]["A3"] = "财政支出"

    report, errors = _read(_edit(_write(project, period, target_set), change), project, period, target_set)
    assert report is None
    assert str(errors[0]) == ("考核指标 第1行 本期累计值/最佳测量值：表头应为“本期累计值/最佳测量值”，文件中是“本期值”；"
                              "请不要修改表头，或请在本期报告页面重新下载模板")


def test_a_changed_fund_label_is_an_error(project, period, target_set):
    data = _edit(_write(project, period, target_set), lambda wb: setattr(wb[SHEET_FUNDS]["A3"], "value", "支出"))
    report, errors = _read(data, project, period, target_set)
    assert report is None and (errors[0].sheet, errors[0].row, errors[0].column) == (SHEET_FUNDS, 3, "经费项目")


def test_content_in_a_cell_that_does_not_apply(project, period, target_set):
    def fill(wb):
        ws = wb[SHEET_TARGETS]
        ws.cell(_target_row(0), 9).value = 2  # year value of a target that is not per-year
        ws.cell(_target_row(2), 8).value = 1  # a value for a deliverable

    report, errors = _read(_edit(_write(project, period, target_set), fill), project, period, target_set)
    assert report is None
    assert [(e.row, e.column) for e in errors] == [(2, "本项目年度值"), (4, "本期累计值/最佳测量值")]
    assert "交付型指标不填数值" in errors[1].message


def test_unknown_evidence_type(project, period, target_set):
    data = _edit(_write(project, period, target_set), lambda wb: setattr(wb[SHEET_EVIDENCE]["A2"], "value", "论文"))
    report, errors = _read(data, project, period, target_set)
    assert report is None and str(errors[0]).startswith("佐证材料 第2行 材料类型：材料类型“论文”不在列表中")


def test_a_formula_without_a_cached_value_is_an_error(project, period, target_set):
    data = _edit(_write(project, period, target_set),
                 lambda wb: setattr(wb[SHEET_TARGETS].cell(_target_row(0), 8), "value", "=1+2"))
    report, errors = _read(data, project, period, target_set)
    assert report is None
    assert errors == [SheetError(SHEET_TARGETS, 2, "本期累计值/最佳测量值", "该单元格是公式且没有计算结果，请粘贴为数值",
                                 "H2")]


# --- locate: the service's keys back to sheet, row and column -------------------------------------------


def test_locate_names_sheet_row_and_column(target_set):
    problems = {
        "narrative": "请填写项目进展情况（至少10个字）",
        "v5_value": "工作温度下限：“三件左右”不是数字",
        "v0_value": "发明专利申请：不能为负数",
        "v3_year_value": "新增销售收入（本项目年度）：请填写",
        "v2_done": "建成中试验证平台：请选择是否已完成",
        "v0_explanation": "减少时必须说明原因",
        "e1_identifier": "专利申请号校验位应为6，填写的是7",
        "e0_kind": "请选择材料类型",
        "e2_file": "所选文件不存在，请重新上传",
        "fiscal_spent": "财政资金累计支出不能超过累计到位金额",
        "lock": "报告已被他人修改",
    }
    errors = locate(problems, target_set=target_set, evidence_rows={0: 2, 1: 6})
    assert [str(e) for e in errors] == [
        "报告已被他人修改",
        "考核指标 第2行 本期累计值：发明专利申请：不能为负数",
        "考核指标 第2行 减少原因说明：减少时必须说明原因",
        "考核指标 第4行 是否完成：建成中试验证平台：请选择是否已完成",
        "考核指标 第5行 本项目年度值：新增销售收入（本项目年度）：请填写",
        "考核指标 第7行 最佳测量值：工作温度下限：“三件左右”不是数字",
        "经费 第3行 截至本期末累计（万元）：财政资金累计支出不能超过累计到位金额",
        "佐证材料 文件：所选文件不存在，请重新上传",
        "佐证材料 第2行 材料类型：请选择材料类型",
        "佐证材料 第6行 编号：专利申请号校验位应为6，填写的是7",
        "进展情况 第2行 项目进展情况：请填写项目进展情况（至少10个字）",
    ]
    assert errors[1].cell == "H2" and errors[-2].cell == "B6"


def test_text_in_a_number_cell_is_located_after_the_service_refuses_it(project, period, target_set):
    data = _edit(_write(project, period, target_set),
                 lambda wb: setattr(wb[SHEET_TARGETS].cell(_target_row(1), 8), "value", "很高"))
    sheet = read_report_sheet(data, project=project, period=period, target_set=target_set, kept_evidence=[])
    typed = sheet.report.values[1].value
    refused = read_value(typed, "MPa")
    assert typed == "很高" and refused.error
    problems = {"v1_value": f"抗拉强度：{refused.error}"}
    [error] = locate(problems, target_set=target_set, evidence_rows=sheet.evidence_rows)
    assert (error.sheet, error.row, error.column, error.cell) == (SHEET_TARGETS, 3, "最佳测量值", "H3")


# --- the written file ---------------------------------------------------------------------------------


def test_sheets_protection_and_unlocked_value_cells(project, period, target_set, version):
    wb = load_workbook(io.BytesIO(_write(project, period, target_set, version)))
    assert wb.sheetnames == [SHEET_HELP, SHEET_TARGETS, SHEET_FUNDS, SHEET_EVIDENCE, SHEET_TEXT, SHEET_LISTS,
                             SHEET_META]
    assert wb.active.title == SHEET_HELP
    assert wb[SHEET_META].sheet_state == "veryHidden" and wb[SHEET_LISTS].sheet_state == "hidden"
    ws = wb[SHEET_TARGETS]
    assert [c.value for c in ws[1]] == list(TARGET_HEADERS)
    assert ws.protection.sheet and wb[SHEET_FUNDS].protection.sheet and wb[SHEET_TEXT].protection.sheet
    assert all(ws.cell(1, c).protection.locked for c in range(1, 13))
    row = [c.value for c in ws[_target_row(0)]][:7]
    assert row == [1, "专利申请", "发明专利申请", "累计型", "≥ 3", "件", 1]
    assert ws.cell(_target_row(5), 5).value == "≤ -40"
    assert ws.cell(_target_row(2), 5).value == "完成"
    for target in target_set.targets:
        r = _target_row(target.position)
        assert all(ws.cell(r, c).protection.locked for c in range(1, 8))  # the task book is read-only
        assert not ws.cell(r, 11).protection.locked and not ws.cell(r, 12).protection.locked
    assert not ws["H2"].protection.locked and ws["I2"].protection.locked  # year value of a non-per-year target
    assert ws["I2"].fill.fgColor.rgb.endswith("D9D9D9")
    assert not ws["I5"].protection.locked  # 万元/年
    assert ws["H4"].protection.locked and not ws["J4"].protection.locked  # the deliverable
    assert ws["H6"].protection.locked and ws["H6"].fill.fgColor.rgb.endswith("D9D9D9")  # qualitative
    assert not wb[SHEET_FUNDS]["B2"].protection.locked and wb[SHEET_FUNDS]["A2"].protection.locked
    assert not wb[SHEET_TEXT]["B2"].protection.locked
    assert wb[SHEET_TEXT]["B2"].alignment.wrap_text and wb[SHEET_TEXT].row_dimensions[2].height >= 100
    ev = wb[SHEET_EVIDENCE]
    assert [c.value for c in ev[1]] == list(EVIDENCE_HEADERS)
    assert ev.max_row == 1 + 3 + EVIDENCE_EMPTY_ROWS
    assert not ev.cell(ev.max_row, 1).protection.locked


def _validations(ws) -> dict[str, object]:
    found = {}
    for dv in ws.data_validations.dataValidation:
        for cell_range in dv.sqref.ranges:
            for row in ws[cell_range.coord] if ":" in cell_range.coord else [[ws[cell_range.coord]]]:
                for cell in row:
                    found[cell.coordinate] = dv
    return found


def test_data_validations_on_the_value_cells(project, period, target_set, version):
    wb = load_workbook(io.BytesIO(_write(project, period, target_set, version)))
    dv = _validations(wb[SHEET_TARGETS])
    assert (dv["H2"].type, dv["H2"].operator, dv["H2"].formula1) == ("decimal", "greaterThanOrEqual", "0")
    assert dv["H3"].operator == "greaterThanOrEqual"  # MPa cannot be negative
    assert (dv["H7"].type, dv["H7"].operator) == ("decimal", "between")  # ℃ can
    assert dv["I5"].type == "decimal" and "I2" not in dv
    assert (dv["J4"].type, dv["J4"].formula1) == ("list", '"是,否"') and "J2" not in dv
    assert "H4" not in dv and "H6" not in dv
    assert dv["K2"].type == "textLength"
    funds = _validations(wb[SHEET_FUNDS])
    assert all(funds[f"B{r}"].type == "decimal" and funds[f"B{r}"].formula1 == "0" for r in range(2, 6))
    ev = _validations(wb[SHEET_EVIDENCE])
    assert ev["A2"].type == "list" and ev["A2"].formula1 == "'下拉选项'!$A$2:$A$11"
    assert "A3" not in ev  # the kept row
    assert (ev["D2"].type, ev["D2"].formula1, ev["D2"].formula2) == ("whole", "1", "6")
    lists = wb[SHEET_LISTS]
    assert [lists.cell(r, 1).value for r in range(2, 12)] == list(EVIDENCE_KINDS.values())


def test_formula_looking_user_text_is_written_as_text(project, period, target_set, version):
    version.evidence[2].description = "+cmd|' /C calc'!A0"
    wb = load_workbook(io.BytesIO(_write(project, period, target_set, version)))
    cells = [wb[SHEET_TEXT]["B3"], wb[SHEET_TARGETS].cell(_target_row(4), 12), wb[SHEET_HELP]["B4"],
             wb[SHEET_EVIDENCE]["C4"]]
    assert [c.value for c in cells] == [FORMULA, FORMULA, FORMULA + "关键技术", "+cmd|' /C calc'!A0"]
    assert all(c.data_type == "s" for c in cells)
    assert wb[SHEET_TEXT]["B3"].quotePrefix


def test_the_instructions(project, period, target_set):
    wb = load_workbook(io.BytesIO(_write(project, period, target_set)))
    text = "\n".join(str(c.value) for row in wb[SHEET_HELP].iter_rows() for c in row if c.value is not None)
    for expected in ("2025-KJ-001", "2025年第3季度", "2025-10-15", "累计总数", "最好的测量值", "“是”或“否”",
                     "/年", "减少原因说明", "202310123456.6", "2023SR0123456", "GB/T 12345-2020", "DOI", "ISSN",
                     "网页上上传", "只能用于上面这个项目的这一期报告"):
        assert expected in text, expected


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (3, "3"), (3.0, "3"), (1e-7, "0.0000001"), (1.5e16, "15000000000000000"), (0.1, "0.1"),
    (Decimal("1E+2"), "100"), (True, "TRUE"), (date(2025, 3, 1), "2025-03-01"), ("  a ", "  a "),
])
def test_cell_text(value, text):
    assert cell_text(value) == text
