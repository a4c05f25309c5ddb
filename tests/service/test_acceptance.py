"""The acceptance workflow (DESIGN §2): apply within the window, form a committee, experts check every target,
the officer records the verdict with the certificate figures; milestone checks; nothing half-written."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from tests import builders as build
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    AuditEntry,
    DecisionIsFinal,
    ExpertCheck,
    MilestoneCheck,
    OutboxMail,
    ProjectStatus,
)
from tracker.services import acceptance, committees, verdicts
from tracker.services.acceptance import AcceptanceProblems, ApplicationInput
from tracker.services.audit import Actor
from tracker.services.business_settings import BusinessSettings
from tracker.services.projects import project_for
from tracker.services.reminders import queue_reminders

NOW, TODAY = build.ACCEPTANCE_NOW, build.ACCEPTANCE_TODAY


@pytest.fixture
def officer(db):
    return build.officer(db, username="officer-acc")


@pytest.fixture
def project(db, officer):
    """后补助 at 10% of the certified self-funding (default guideline), 2025-01-01 to 2026-12-31, confirmed."""
    return build.project(db, code="ACC-1", officer=officer, confirmed=True, pi_email="pi@example.org")


@pytest.fixture
def panel(db):
    return [build.expert(db, username="expert-a"), build.expert(db, username="expert-c")]


def _apply(db, project, **typed):
    return acceptance.apply(db, project, ApplicationInput(typed.pop("summary", "完成"), {}, typed, []),
                            actor=build.SYSTEM, now=NOW, today=TODAY, rules=BusinessSettings(),
                            store=None)


def test_the_rule_decides_which_figures_are_asked_and_says_why(project):
    needs = {n.key: n for n in acceptance.figures_needed(project)}
    assert needs["certified_self_funding"].required
    assert "核定的自筹经费" in needs["certified_self_funding"].why
    assert not needs["total_investment"].required  # offered, not needed by this rule


def test_the_window_and_the_final_report_decide_whether_a_project_may_apply(db, project):
    rules = BusinessSettings()
    assert acceptance.window_of(project, rules) == acceptance.Window(date(2026, 12, 1), date(2027, 6, 30))
    early = acceptance.refusal(db, project, rules, date(2026, 11, 30))
    assert any("2026年12月01日起开放" in r for r in early)
    assert any("结题报告" in r for r in early)
    late = acceptance.refusal(db, project, rules, date(2027, 7, 1))
    assert any("已于2027年06月30日截止" in r for r in late)
    build.final_report(db, project)
    assert acceptance.refusal(db, project, rules, TODAY) == []


def test_applying_records_the_figures_in_yuan_and_moves_the_project(db, project, tmp_path):
    application = build.application(db, project, figures={"certified_self_funding": "123.4567",
                                                          "total_investment": ""})
    assert project.status == ProjectStatus.ACCEPTANCE_APPLIED
    assert application.figure("certified_self_funding") == Decimal("1234567.00")
    assert application.figure("total_investment") is None
    assert [e.kind for e in application.evidence] == ["audit_report"]
    assert application.readiness is not None and "status" in application.readiness
    assert len(application.targets) == len(project.target_sets[-1].targets)
    assert db.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)) == "acceptance_applied"
    with pytest.raises(AcceptanceProblems, match="不能重复申请"):
        build.application(db, project)


@pytest.mark.parametrize(("typed", "field", "words"), [
    ({}, "figure_certified_self_funding", "请填写"),
    ({"certified_self_funding": "-5"}, "figure_certified_self_funding", "负数"),
    ({"certified_self_funding": "五十"}, "figure_certified_self_funding", "应为数字"),
    ({"certified_self_funding": "50", "summary": " "}, "summary", "自评总结"),
    ({"certified_self_funding": "50"}, "evidence", "审计报告"),
])
def test_a_bad_application_writes_nothing(db, project, typed, field, words):
    build.final_report(db, project)
    with pytest.raises(AcceptanceProblems) as raised:
        _apply(db, project, **typed)
    assert words in raised.value.errors[field]
    assert db.scalar(select(func.count()).select_from(AcceptanceApplication)) == 0
    assert project.status == ProjectStatus.ACTIVE


def test_a_project_without_targets_or_outside_its_window_is_refused(db, officer):
    unconfirmed = build.project(db, code="ACC-2", officer=officer)
    with pytest.raises(AcceptanceProblems, match="任务书尚未确认"):
        _apply(db, unconfirmed, certified_self_funding="1")


def test_applying_stops_the_acceptance_window_reminders(db, project, now):
    queue_reminders(db, NOW - timedelta(days=10), BusinessSettings())  # the window opened: its reminder waits in the outbox
    db.flush()
    waiting = select(OutboxMail).where(OutboxMail.dedupe_key.like(f"acceptance-open:{project.id}:%"))
    assert [m.status for m in db.scalars(waiting)] and all(m.status == "pending" for m in db.scalars(waiting))
    build.application(db, project)
    assert {m.status for m in db.scalars(waiting)} == {"skipped"}


def test_a_committee_refuses_an_expert_of_the_applicant(db, project, officer, panel):
    application = build.application(db, project)
    insider = build.expert(db, username="expert-in", organisation=project.organisation)
    with pytest.raises(AcceptanceProblems) as raised:
        build.meeting(db, [application], [*panel, insider], by=officer)
    assert "须回避" in raised.value.errors["members"] and project.organisation.uscc in raised.value.errors["members"]
    assert db.scalar(select(func.count()).select_from(AcceptanceMeeting)) == 0


def test_experts_see_only_their_cases(db, project, officer, panel):
    application = build.application(db, project)
    outsider = build.expert(db, username="expert-out")
    assert project_for(db, panel[0], project.id) is None
    meeting = build.meeting(db, [application], panel[:1], by=officer)
    assert meeting.code.startswith("YS2026-") and project.status == ProjectStatus.UNDER_ACCEPTANCE
    assert project_for(db, panel[0], project.id) is project
    assert project_for(db, outsider, project.id) is None
    assert committees.case_for(db, outsider, application.id) is None
    assert committees.case_for(db, panel[0], application.id) is application
    mails = db.scalars(select(OutboxMail).where(OutboxMail.template == "expert_assigned")).all()
    assert [m.recipient for m in mails] == [panel[0].email]


def test_a_verdict_needs_the_committee_and_every_check(db, project, officer, panel):
    application = build.application(db, project)
    typed = verdicts.VerdictInput("passed", "同意通过。", {"certified_self_funding": "40"})
    with pytest.raises(AcceptanceProblems, match="尚未组织验收会"):
        verdicts.record_verdict(db, application, typed, actor=Actor.of(officer), now=NOW)
    build.meeting(db, [application], panel, by=officer)
    build.check(db, application, panel[0])
    with pytest.raises(AcceptanceProblems, match="专家expert-c"):
        verdicts.record_verdict(db, application, typed, actor=Actor.of(officer), now=NOW)
    assert db.scalar(select(func.count()).select_from(AcceptanceVerdict)) == 0


def test_an_expert_check_is_complete_and_never_changed(db, project, officer, panel):
    application = build.application(db, project)
    build.meeting(db, [application], panel, by=officer)
    first = application.target_set.targets[0]
    with pytest.raises(AcceptanceProblems) as raised:
        committees.submit_check(db, application, panel[0], {first.id: committees.ItemInput("0")}, opinion="",
                                recommendation="maybe", actor=build.SYSTEM, now=NOW)
    assert {f"t{first.id}_comment", "opinion", "recommendation"} <= raised.value.errors.keys()
    check = build.check(db, application, panel[0])
    check.opinion = "改一改"
    with pytest.raises(DecisionIsFinal):
        db.flush()
    db.rollback()
    with pytest.raises(DatabaseError):  # the database refuses it too
        db.execute(text("UPDATE expert_checks SET opinion = 'x' WHERE id = :id"), {"id": check.id})
    db.rollback()
    second = build.check(db, application, panel[0], agrees=False, recommendation="failed")
    assert second.version == 2
    assert committees.latest_checks(db, application)[panel[0].id].recommendation == "failed"


def test_the_verdict_records_the_certificate_and_a_correction_supersedes_it(db, project, officer, panel):
    application = build.application(db, project)
    build.meeting(db, [application], panel, by=officer)
    for member in panel:
        build.check(db, application, member)
    actor = Actor.of(officer)
    with pytest.raises(AcceptanceProblems) as raised:
        verdicts.record_verdict(db, application, verdicts.VerdictInput("passed", "同意", {}), actor=actor, now=NOW)
    assert "核定的自筹经费" in raised.value.errors["figure_certified_self_funding"]
    first = verdicts.record_verdict(db, application, verdicts.VerdictInput(
        "passed", "各项指标均已完成，同意通过验收。", {"certified_self_funding": "80"}), actor=actor, now=NOW)
    assert project.status == ProjectStatus.PASSED
    assert first.figure("certified_self_funding") == Decimal("800000.00")
    assert {m.template for m in db.scalars(select(OutboxMail).where(OutboxMail.project_id == project.id))} >= {
        "acceptance_verdict"}
    with pytest.raises(AcceptanceProblems, match="更正须写明原因"):
        verdicts.record_verdict(db, application, verdicts.VerdictInput("failed", "x", {}), actor=actor, now=NOW)
    second = verdicts.record_verdict(db, application, verdicts.VerdictInput(
        "concluded", "经复核改为结题。", {}, reason="自筹经费核定有误"), actor=actor, now=NOW + timedelta(days=2))
    assert second.supersedes_id == first.id and project.status == ProjectStatus.CONCLUDED
    assert verdicts.current_verdict(db, project).id == second.id
    assert [v.id for v in verdicts.verdict_history(db, project)] == [first.id, second.id]
    with pytest.raises(AcceptanceProblems, match="已作出验收结论"):
        build.check(db, application, panel[0])


def test_milestone_checks_are_recorded_and_superseded(db, officer):
    document = build.guideline(db, officer=officer)
    project = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code="MS-1", officer=officer,
                            months=24, targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                                 "value": "500", "unit": "km", "kind": "level"}])
    assert project.is_milestone_funded
    typed = verdicts.MilestoneCheckInput("1", "2026-01-10", "第三方检测报告 GXJC-2026-01")
    made = verdicts.record_milestone_check(db, project, 0, typed, actor=Actor.of(officer), now=NOW,
                                           today=build.TODAY)
    assert made.passed and verdicts.milestone_checks(db, project)[0].id == made.id
    with pytest.raises(AcceptanceProblems) as raised:
        verdicts.record_milestone_check(db, project, 0, verdicts.MilestoneCheckInput("0", "2099-01-01", ""),
                                        actor=Actor.of(officer), now=NOW, today=build.TODAY)
    assert {"checked_on", "evidence", "comment", "reason"} <= raised.value.errors.keys()
    again = verdicts.record_milestone_check(db, project, 0, verdicts.MilestoneCheckInput(
        "0", "2026-01-20", "复核", "样机未达标", reason="检测报告有误"), actor=Actor.of(officer), now=NOW,
        today=build.TODAY)
    assert again.supersedes_id == made.id and not verdicts.milestone_checks(db, project)[0].passed
    assert db.scalar(select(func.count()).select_from(MilestoneCheck)) == 2
    other = build.project(db, code="NM-1", officer=officer, confirmed=True)
    with pytest.raises(AcceptanceProblems, match="不是里程碑式"):
        verdicts.record_milestone_check(db, other, 0, typed, actor=Actor.of(officer), now=NOW, today=build.TODAY)


def test_expert_checks_table_refuses_deletes(db, project, officer, panel):
    application = build.application(db, project)
    build.meeting(db, [application], panel[:1], by=officer)
    check = build.check(db, application, panel[0])
    with pytest.raises(DatabaseError):
        db.execute(text("DELETE FROM expert_check_items WHERE check_id = :id"), {"id": check.id})
    db.rollback()
    assert db.get(ExpertCheck, check.id) is not None




def test_the_final_report_opens_with_the_acceptance_window(db, project):
    from tracker.services import reports as report_service

    periods = report_service.project_periods(db, project, build.DUE_DAYS)
    final, before = periods[-1], periods[-2]
    twenty_days_before_the_end = project.end_date - timedelta(days=20)
    assert "起才能填报" in report_service.period_is_open(project, final, twenty_days_before_the_end, 15)
    assert report_service.period_is_open(project, final, twenty_days_before_the_end, 15, 30) is None
    assert "起才能填报" in report_service.period_is_open(project, before, before.end - timedelta(days=20), 15, 30)
