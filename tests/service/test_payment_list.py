"""The payment list (支付清单, tracker/exports/disbursements_xlsx.py): the issue's columns in order, 万元 with four
decimals and numbers as numbers, 比例 on rate rows only, 金额 empty where nothing is owed, a subtotal per programme
and a grand total that add up, reversals on their own negative line, voided rows only when asked, text from
grantees never a formula, and a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from indicators.rules import funding
from tests import builders as build
from tracker.exports.disbursements_xlsx import COLUMNS, payment_list_workbook, payment_rows
from tracker.models import Disbursement, Project, Role
from tracker.services import accounts, disbursements, verdicts
from tracker.services.acceptance import application_of
from tracker.services.audit import Actor

NOW, TODAY = build.ACCEPTANCE_NOW, build.ACCEPTANCE_TODAY
EVIL = '=HYPERLINK("http://example.invalid","点此领取补助")'
TITLES = ["项目编号", "项目名称", "承担单位", "补助方式", "计算依据", "基数(万元)", "比例", "下限(万元)", "上限(万元)",
          "金额(万元)", "金额(元)", "状态", "支付日期", "凭证号"]
COLUMN = {title: i for i, title in enumerate(TITLES, start=1)}


def _decide(db, project: Project, officer, verdict: str = "passed", figures: dict | None = None, reason: str = ""):
    application = application_of(db, project) or build.application(db, project)
    if application.meeting is None:
        expert = build.expert(db, username=f"expert-{project.code.lower()}")
        build.meeting(db, [application], [expert], by=officer)
        build.check(db, application, expert)
    verdicts.record_verdict(db, application, verdicts.VerdictInput(
        verdict, "专家组意见", figures if figures is not None else {"certified_self_funding": "80"}, reason=reason),
        actor=Actor.of(officer), now=NOW)
    db.flush()


def _rule(project: Project, rule: funding.FundingRule) -> None:
    project.funding_rule = {"rule": funding.to_dict(rule), "description": funding.describe(rule)}
    project.funding_mode = "后补助"


def _pay(db, row: Disbursement, finance: Actor, voucher: str) -> None:
    disbursements.approve(db, row, lock=None, actor=finance, now=NOW)
    disbursements.mark_paid(db, row, paid_on=TODAY.isoformat(), voucher_no=voucher, lock=None, actor=finance,
                            today=TODAY, now=NOW)


def ledger(db) -> dict[str, object]:
    """Disbursements of every kind in two programmes, through the services: in 测试科技计划 a rate row of an
    organisation named like a formula (pending), a bounds row with the officer's amount (paid), a refusal, a
    rate row blocked by its matching ratio; in 第二科技计划 a payment reversed after a correction (and the corrected
    row), a voided row, a paid row whose reversal is due, and the two tranches of a 里程碑式 project."""
    officer = build.officer(db, username="officer-pl")
    user = accounts.create_user(db, username="finance-pl", password=None, role=Role.FINANCE, now=NOW,
                                email="finance-pl@example.org", actor=build.SYSTEM)
    finance = Actor.of(user)
    first = build.guideline(db, programme="测试科技计划", officer=officer)
    second = build.guideline(db, programme="第二科技计划", officer=officer)
    evil = build.organisation(db, credit_code=build.uscc("91450100MA5L00EK0"), name=EVIL)

    rate = build.project(db, guideline=first, code="PL-1", organisation=evil, officer=officer, confirmed=True)
    _decide(db, rate, officer, figures={"certified_self_funding": "123.4567"})  # 12.34567万 → 123,457 元

    bounds = build.project(db, guideline=first, code="PL-2", officer=officer, confirmed=True)
    _rule(bounds, funding.FundingRule(modes=frozenset({funding.FundingMode.POST}), bounds=funding.Bounds(floor=Decimal(10)),
                                      relative_caps=(funding.Share(Decimal("0.2"), "total_investment"),)))
    _decide(db, bounds, officer, figures={"total_investment": "100"})
    row = disbursements.live_row(db, bounds, "project")
    disbursements.officer_update(db, row, amount="15", actor=Actor.of(officer), now=NOW)
    _pay(db, row, finance, "PZ-2")

    failed = build.project(db, guideline=first, code="PL-3", officer=officer, confirmed=True)
    _decide(db, failed, officer, verdict="failed", figures={})

    short = build.project(db, guideline=first, code="PL-4", officer=officer, confirmed=True)
    _rule(short, funding.FundingRule(modes=frozenset({funding.FundingMode.POST}),
                                     formula=funding.Share(Decimal("0.1"), "certified_self_funding"),
                                     bounds=funding.Bounds(cap=Decimal(30)), matching=(funding.Matching(Decimal(3)),)))
    _decide(db, short, officer, figures={"certified_self_funding": "300"})  # fiscal 200万: needs 600万

    reversed_ = build.project(db, guideline=second, code="PL-5", officer=officer, confirmed=True)
    _decide(db, reversed_, officer, figures={"certified_self_funding": "250"})
    row = disbursements.live_row(db, reversed_, "project")
    _pay(db, row, finance, "PZ-5")
    _decide(db, reversed_, officer, figures={"certified_self_funding": "25"}, reason="自筹经费多录一位")
    disbursements.record_reversal(db, row, reversed_on=TODAY.isoformat(), voucher_no="CX-5", lock=None,
                                  actor=finance, today=TODAY, now=NOW)
    disbursements.sweep(db, NOW)  # the corrected verdict's row

    due = build.project(db, guideline=second, code="PL-6", officer=officer, confirmed=True)
    _decide(db, due, officer, figures={"certified_self_funding": "90"})
    _decide(db, due, officer, figures={"certified_self_funding": "80"}, reason="复核更正")  # voids the first
    _pay(db, disbursements.live_row(db, due, "project"), finance, "PZ-6")
    _decide(db, due, officer, figures={"certified_self_funding": "70"}, reason="再次复核")  # a reversal due

    staged = build.project(db, guideline=second, direction=build.MILESTONES_PATH, code="PL-7", officer=officer,
                           months=24, targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                                "value": "500", "unit": "km", "kind": "level"}])
    for position in (0, 1):
        verdicts.record_milestone_check(db, staged, position, verdicts.MilestoneCheckInput(
            "1", "2026-01-10", "检测报告"), actor=Actor.of(officer), now=NOW, today=build.TODAY)
    db.commit()
    return {"officer": officer, "finance": user}


@pytest.fixture
def made(db):
    return ledger(db)


def _sheet(rows, **kwargs):
    data = payment_list_workbook(rows, generated_at=datetime(2026, 12, 20, 3, 0, tzinfo=NOW.tzinfo),
                                 scope_note="测试导出", **kwargs)
    return load_workbook(io.BytesIO(data))["支付清单"]


def _lines(ws) -> list[dict[str, object]]:
    """The data and total lines of the sheet, by column title, with each cell kept under "cells"."""
    found = []
    for number in range(2, ws.max_row + 1):
        cells = {title: ws.cell(row=number, column=i) for title, i in COLUMN.items()}
        found.append({**{title: cell.value for title, cell in cells.items()}, "cells": cells})
    return found


def _by_code(lines, code: str) -> list[dict[str, object]]:
    return [line for line in lines if line["项目编号"] == code]


def test_the_columns_are_the_issues_with_numbers_as_numbers_in_their_formats(db, made):
    assert [c.title for c in COLUMNS] == TITLES
    ws = _sheet(payment_rows(db, disbursements.disbursements_for(None)))
    assert [ws.cell(row=1, column=i).value for i in range(1, len(TITLES) + 1)] == TITLES
    assert all(ws.cell(row=1, column=i).font.bold for i in range(1, len(TITLES) + 1))
    assert ws.freeze_panes == "C2" and ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    lines = _lines(ws)
    for line in lines:
        for title in ("基数(万元)", "下限(万元)", "上限(万元)", "金额(万元)"):
            cell = line["cells"][title]
            if cell.value is not None:
                assert cell.data_type == "n" and cell.number_format == "0.0000", (line["项目编号"], title)
        if line["金额(元)"] is not None:
            assert line["cells"]["金额(元)"].data_type == "n"
        if line["比例"] is not None:
            assert line["cells"]["比例"].number_format.endswith("%")
        if line["支付日期"] is not None:
            assert isinstance(line["支付日期"], datetime) and line["cells"]["支付日期"].is_date
    [rate] = _by_code(lines, "PL-1")
    # 123.4567万元 × 10% = 12.34567万元 → 123,457元: four decimals of 万元 keep the yuan.
    assert rate["基数(万元)"] == pytest.approx(123.4567) and rate["比例"] == pytest.approx(0.1)
    assert rate["金额(万元)"] == pytest.approx(12.3457) and rate["金额(元)"] == 123457
    assert rate["上限(万元)"] == 30 and rate["状态"] == "待审批"
    assert rate["计算依据"].startswith("项目补助：验收证书中核定的自筹经费123.4567万元×10%=12.34567万元")
    [paid] = _by_code(lines, "PL-2")
    assert paid["状态"] == "已支付" and paid["凭证号"] == "PZ-2" and paid["支付日期"].date() == TODAY


def test_a_formula_looking_organisation_stays_text(db, made):
    ws = _sheet(payment_rows(db, disbursements.disbursements_for(None)))
    [line] = _by_code(_lines(ws), "PL-1")
    cell = line["cells"]["承担单位"]
    assert cell.value == EVIL and cell.data_type == "s" and cell.quotePrefix


def test_the_rate_shows_on_rate_rows_only_and_amounts_only_where_something_is_owed(db, made):
    rows = payment_rows(db, disbursements.disbursements_for(None))
    by_code: dict[str, list] = {}
    for row in rows:
        by_code.setdefault(row.code, []).append(row)
    [bounds] = by_code["PL-2"]  # the officer's amount within the bounds, no rate
    assert bounds.rate is None and bounds.base is None and bounds.floor == 10 and bounds.cap == 20
    assert bounds.amount_wan == 15 and bounds.amount_yuan == Decimal("150000")
    assert "录入金额15万元" in bounds.basis
    milestones = by_code["PL-7"]
    assert [m.basis.split("：")[0] for m in milestones] == ["里程碑1", "里程碑2"]
    assert all(m.rate is None and m.base is None and m.amount_yuan == Decimal("1000000") for m in milestones)
    [refused] = by_code["PL-3"]
    assert refused.status == "不予拨付" and refused.amount_wan is refused.amount_yuan is refused.rate is None
    assert "验收不通过" in refused.basis
    [blocked] = by_code["PL-4"]  # a rate row held back by its matching ratio: the rate, no amount
    assert blocked.status == "受阻" and blocked.rate == Decimal("0.1") and blocked.amount_wan is None
    assert "配套比例" in blocked.basis
    ws = _sheet(rows)
    for line in _lines(ws):
        if line["状态"] in ("受阻", "不予拨付"):
            assert line["金额(万元)"] is None and line["金额(元)"] is None
        if line["项目编号"] in ("PL-2", "PL-3", "PL-7"):
            assert line["比例"] is None


def test_reversals_have_their_own_negative_line_and_voided_rows_show_only_when_asked(db, made):
    rows = payment_rows(db, disbursements.disbursements_for(None))
    five = [(r.status, r.amount_yuan, r.voucher) for r in rows if r.code == "PL-5"]
    # Paid 25万, reversed after the correction (its own line), then the corrected 2.5万 waiting for approval.
    assert five == [("已冲销", Decimal("250000"), "PZ-5"), ("冲销", Decimal("-250000"), "CX-5"),
                    ("待审批", Decimal("25000"), "")]
    six = [r.status for r in rows if r.code == "PL-6"]
    assert six == ["待冲销"]  # the voided row left out; the paid one whose verdict was corrected again stays
    with_void = payment_rows(db, disbursements.disbursements_for(None), include_void=True)
    voided = [r for r in with_void if r.code == "PL-6" and r.status == "已作废"]
    assert len(voided) == 1 and voided[0].amount_yuan is None and "复核更正" in voided[0].basis


def test_totals_per_programme_equal_the_sum_of_their_rows(db, made):
    rows = payment_rows(db, disbursements.disbursements_for(None), include_void=True)
    lines = _lines(_sheet(rows))
    subtotals, grand, pending = [], None, []
    for line in lines:
        label = line["项目名称"] or ""
        if label.startswith("小计："):
            for title in ("金额(万元)", "金额(元)"):
                expected = sum(Decimal(str(x[title])) for x in pending if x[title] is not None)
                assert Decimal(str(line[title])) == expected, (label, title)
            assert label.endswith(f"（{len([x for x in pending if x['状态'] != '冲销'])}笔）")
            subtotals.append((label, line))
            pending = []
        elif label.startswith("合计"):
            grand = line
        else:
            pending.append(line)
    assert [label.split("（")[0] for label, _ in subtotals] == ["小计：测试科技计划", "小计：第二科技计划"]
    for title in ("金额(万元)", "金额(元)"):
        assert Decimal(str(grand[title])) == sum(Decimal(str(line[title])) for _, line in subtotals)
    assert Decimal(str(grand["金额(元)"])) == sum(r.amount_yuan for r in rows if r.amount_yuan is not None)
    assert grand["cells"]["金额(万元)"].number_format == "0.0000"


def test_the_rows_come_in_a_fixed_number_of_queries(db, made):
    engine = db.get_bind()
    counted: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not the test harness's savepoints
            counted.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        db.expire_all()
        everything = payment_rows(db, disbursements.disbursements_for(None))
        many = len(counted)
        counted.clear()
        db.expire_all()
        some = payment_rows(db, disbursements.disbursements_for(None).where(Project.code == "PL-1"))
        assert len(counted) == many <= 4 and len(some) == 1 < len(everything)
    finally:
        event.remove(engine, "before_cursor_execute", count)
