"""Post-subsidy disbursements (DESIGN §2, G23): computed from the project's own rule on the certificate, blocked
with the reason, completed by the officer, approved once and paid once by finance; superseded verdicts void or ask
for a reversal; the sweep creates what is missing and nothing twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from indicators.rules import funding
from tests import builders as build
from tracker.models import Disbursement, OutboxMail
from tracker.services import disbursements, verdicts
from tracker.services.acceptance import AcceptanceProblems
from tracker.services.audit import Actor

NOW, TODAY = build.ACCEPTANCE_NOW, build.ACCEPTANCE_TODAY


@pytest.fixture
def officer(db):
    return build.officer(db, username="officer-pay")


@pytest.fixture
def finance(db):
    from tracker.models import Role
    from tracker.services import accounts

    user = accounts.create_user(db, username="finance-b", password=None, role=Role.FINANCE, now=NOW,
                                email="finance@example.org", actor=build.SYSTEM)
    db.commit()
    return Actor.of(user)


def _decide(db, project, officer, verdict="passed", figures=None, reason=""):
    """The project through acceptance to a verdict (the certificate figures in 万元)."""
    from tracker.services.acceptance import application_of

    application = application_of(db, project) or build.application(db, project)
    if application.meeting is None:
        expert = build.expert(db, username=f"expert-{project.code.lower()}")
        build.meeting(db, [application], [expert], by=officer)
        build.check(db, application, expert)
    made = verdicts.record_verdict(db, application, verdicts.VerdictInput(
        verdict, "专家组意见", figures if figures is not None else {"certified_self_funding": "80"}, reason=reason),
        actor=Actor.of(officer), now=NOW)
    db.flush()
    return made


def _with_rule(project, rule: funding.FundingRule, mode: str = "后补助"):
    project.funding_rule = {"rule": funding.to_dict(rule), "description": funding.describe(rule)}
    project.funding_mode = mode


@pytest.fixture
def project(db, officer):
    """后补助: 10% of the certified self-funding, at most 30万元; fiscal 200万元."""
    return build.project(db, code="PAY-1", officer=officer, confirmed=True, pi_email="pi@example.org")


def test_a_passed_verdict_creates_the_computed_disbursement_in_its_transaction(db, project, officer, finance):
    _decide(db, project, officer, figures={"certified_self_funding": "123.4567"})
    row = disbursements.live_row(db, project, "project")
    assert row.status == "pending" and row.amount == Decimal("123457")  # 123.4567万 × 10% = 123,456.7 元 → 123,457
    assert row.computation["base"] == "certified_self_funding" and row.computation["rate"] == "0.1"
    assert any("×10%" in step for step in row.computation["steps"])
    assert row.computation["rule"] == project.funding_rule["rule"]  # the rule as copied at award
    assert db.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.template == "disbursement_pending"))


def test_the_cap_clamps_and_says_so(db, project, officer):
    _decide(db, project, officer, figures={"certified_self_funding": "500"})
    row = disbursements.live_row(db, project, "project")
    assert row.amount == Decimal("300000") and row.computation["clamped"] == "cap"
    assert any("上限" in s for s in row.computation["steps"])


def test_a_failed_verdict_records_the_refusal(db, project, officer):
    _decide(db, project, officer, verdict="failed", figures={})
    row = disbursements.live_row(db, project, "project")
    assert row.status == "refused" and row.amount is None and "验收不通过" in row.message


def test_finance_approves_once_and_pays_once_with_a_unique_voucher(db, project, officer, finance):
    _decide(db, project, officer)
    row = disbursements.live_row(db, project, "project")
    with pytest.raises(AcceptanceProblems, match="只有已审批"):
        disbursements.mark_paid(db, row, paid_on=TODAY.isoformat(), voucher_no="PZ-1", lock=None, actor=finance,
                                today=TODAY, now=NOW)
    disbursements.approve(db, row, lock=row.lock, actor=finance, now=NOW)
    with pytest.raises(AcceptanceProblems, match="只有待审批"):
        disbursements.approve(db, row, lock=None, actor=finance, now=NOW)
    disbursements.mark_paid(db, row, paid_on=TODAY.isoformat(), voucher_no="PZ-1", lock=None, actor=finance,
                            today=TODAY, now=NOW)
    assert row.status == "paid" and row.voucher_no == "PZ-1"
    assert db.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.template == "disbursement_paid"))
    other = build.project(db, code="PAY-2", officer=officer, confirmed=True)
    _decide(db, other, officer)
    second = disbursements.live_row(db, other, "project")
    disbursements.approve(db, second, lock=None, actor=finance, now=NOW)
    with pytest.raises(AcceptanceProblems) as raised:
        disbursements.mark_paid(db, second, paid_on=(TODAY + timedelta(days=1)).isoformat(), voucher_no="PZ-1",
                                lock=None, actor=finance, today=TODAY, now=NOW)
    assert "已用于其他拨付" in raised.value.errors["voucher_no"] and "晚于今天" in raised.value.errors["paid_on"]


def test_finance_returns_to_the_officer_who_sends_it_back(db, project, officer, finance):
    _decide(db, project, officer)
    row = disbursements.live_row(db, project, "project")
    with pytest.raises(AcceptanceProblems, match="退回须写明原因"):
        disbursements.return_to_officer(db, row, comment=" ", lock=None, actor=finance, now=NOW)
    disbursements.return_to_officer(db, row, comment="请核对自筹经费", lock=None, actor=finance, now=NOW)
    assert row.status == "returned"
    disbursements.officer_update(db, row, actor=Actor.of(officer), now=NOW)
    assert row.status == "pending"


def test_a_corrected_verdict_voids_the_row_or_asks_for_a_reversal_once_paid(db, project, officer, finance):
    _decide(db, project, officer, figures={"certified_self_funding": "80"})
    first = disbursements.live_row(db, project, "project")
    _decide(db, project, officer, figures={"certified_self_funding": "60"}, reason="自筹经费核定有误")
    assert first.status == "void" and "核定有误" in first.void_reason
    second = disbursements.live_row(db, project, "project")
    assert second.amount == Decimal("60000")
    disbursements.approve(db, second, lock=None, actor=finance, now=NOW)
    disbursements.mark_paid(db, second, paid_on=TODAY.isoformat(), voucher_no="PZ-9", lock=None, actor=finance,
                            today=TODAY, now=NOW)
    _decide(db, project, officer, figures={"certified_self_funding": "50"}, reason="复核")
    assert second.status == "paid" and second.reversal_due and second.status_label == "待冲销"
    assert disbursements.live_row(db, project, "project").id == second.id  # the new one waits for the reversal
    disbursements.record_reversal(db, second, reversed_on=TODAY.isoformat(), voucher_no="CX-1", lock=None,
                                  actor=finance, today=TODAY, now=NOW)
    assert second.status == "reversed"
    assert disbursements.sweep(db, NOW)["created"] == 1  # the corrected verdict's row now comes
    assert disbursements.live_row(db, project, "project").amount == Decimal("50000")


def test_a_rule_needing_a_figure_the_certificate_lacks_blocks_with_the_message(db, project, officer):
    _with_rule(project, funding.FundingRule(modes=frozenset({funding.FundingMode.POST}),
                                            formula=funding.Share(Decimal("0.2"), "compute_spend", "算力费用"),
                                            bounds=funding.Bounds(cap=Decimal(50))))
    _decide(db, project, officer, figures={"compute_spend": "100"})
    row = disbursements.live_row(db, project, "project")
    assert row.status == "pending" and row.amount == Decimal("200000")


def test_the_matching_ratio_blocks_until_an_exception_is_approved(db, project, officer):
    _with_rule(project, funding.FundingRule(modes=frozenset({funding.FundingMode.POST}),
                                            formula=funding.Share(Decimal("0.1"), "certified_self_funding"),
                                            matching=(funding.Matching(Decimal(3)),)))
    _decide(db, project, officer, figures={"certified_self_funding": "300"})  # fiscal 200万: needs 600万
    row = disbursements.live_row(db, project, "project")
    assert row.status == "blocked" and "应不少于600万元" in row.message
    disbursements.officer_update(db, row, exception_reason="经局务会研究同意", actor=Actor.of(officer), now=NOW)
    assert row.status == "pending" and row.amount == Decimal("300000")


def test_bounds_without_a_rate_take_the_officers_amount_within_them(db, project, officer):
    _with_rule(project, funding.FundingRule(modes=frozenset({funding.FundingMode.POST}),
                                            bounds=funding.Bounds(floor=Decimal(10)),
                                            relative_caps=(funding.Share(Decimal("0.2"), "total_investment"),)))
    _decide(db, project, officer, figures={"total_investment": "100"})
    row = disbursements.live_row(db, project, "project")
    assert row.status == "blocked" and "请录入补助金额" in row.message
    with pytest.raises(AcceptanceProblems, match="高于上限20万元"):
        disbursements.officer_update(db, row, amount="25", actor=Actor.of(officer), now=NOW)
    assert db.get(Disbursement, row.id).officer_amount is None
    disbursements.officer_update(db, row, amount="15", actor=Actor.of(officer), now=NOW)
    assert row.status == "pending" and row.amount == Decimal("150000")


def test_a_passed_milestone_creates_its_tranche_and_the_award_is_never_exceeded(db, officer):
    document = build.guideline(db, officer=officer)
    project = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code="PAY-MS", officer=officer,
                            months=24, targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                                 "value": "500", "unit": "km", "kind": "level"}])
    actor = Actor.of(officer)
    for position in (0, 1):
        verdicts.record_milestone_check(db, project, position, verdicts.MilestoneCheckInput(
            "1", "2026-01-10", "检测报告"), actor=actor, now=NOW, today=build.TODAY)
    rows = disbursements.of_project(db, project)
    assert [r.tranche for r in rows] == ["milestone:0", "milestone:1"]
    assert sum(r.amount for r in rows) == project.fiscal_funding  # two halves of the award
    again = verdicts.record_milestone_check(db, project, 1, verdicts.MilestoneCheckInput(
        "1", "2026-01-11", "复核", reason="日期有误"), actor=actor, now=NOW, today=build.TODAY)
    assert again is not None
    live = [r for r in disbursements.of_project(db, project) if r.status not in ("void", "reversed")]
    assert len(live) == 2 and sum(r.amount for r in live) <= project.fiscal_funding


def test_the_sweep_creates_what_is_missing_and_nothing_twice(db, project, officer):
    _decide(db, project, officer)
    row = disbursements.live_row(db, project, "project")
    db.delete(row)  # as if the verdict's transaction had not written it (an older database)
    db.flush()
    assert disbursements.sweep(db, NOW)["created"] == 1
    assert disbursements.sweep(db, NOW)["created"] == 0
    assert db.scalar(select(func.count()).select_from(Disbursement)) == 1




def test_a_terminated_post_subsidy_project_records_the_refusal(db, project, officer):
    from tracker.services.project_changes import terminate

    terminate(db, project, requested_on=build.TODAY, reason="技术路线失败", actor=Actor.of(officer), now=NOW)
    row = disbursements.live_row(db, project, "project")
    assert row.status == "refused" and "项目终止" in row.message
    assert disbursements.sweep(db, NOW)["created"] == 0
