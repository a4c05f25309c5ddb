"""Task-book confirmation: raise values, add custom targets, lowering needs a reason, versions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from imports.guideline_loader import load_file
from indicators.identifiers import uscc_check_char
from tracker.services.audit import Actor
from tracker.services.projects import ProjectInput, import_projects
from tracker.services.task_books import TargetChange, TaskBookProblems, confirm_task_book, confirmed_set

SAMPLES = Path(__file__).resolve().parents[2] / "tracker" / "demo" / "samples"
SYSTEM = Actor.system("test")


@pytest.fixture
def project(db, now, demo_users):
    doc = load_file(db, SAMPLES / "000_01a6d56b3cde02ef.txt", actor=SYSTEM, now=now).document
    body = "91450300MA5L00XY0"
    row = ProjectInput(row=2, project_code="GK-1", title="t", direction="智能视频位移监测装备研发与应用", content_items=(),
                       organisation_name="o", uscc=body + uscc_check_char(body), pi_name="p", pi_phone=None,
                       pi_email=None, officer=None, start_date=date(2025, 3, 1), end_date=None, period_months=None,
                       fiscal_funding=Decimal("1000000"), self_funding=Decimal("0"), funding_mode=None)
    return import_projects(db, [row], doc, actor=SYSTEM, now=now).created[0]


def numeric(project):
    return next(t for t in project.target_sets[-1].targets if t.value is not None and t.op in (">=", ">"))


def test_confirm_with_a_raised_value_and_a_custom_target(db, now, project):
    target = numeric(project)
    raised = str(target.value + 1)
    target_set = confirm_task_book(
        db, project, [TargetChange(target.position, raised, target.kind)],
        [{"category": "paper", "metric": "核心期刊论文", "op": ">=", "value": "2", "unit": "篇", "kind": "cumulative"}],
        reason="", actor=SYSTEM, now=now)
    assert target_set.version == 1 and target_set.confirmed
    assert target_set.targets[target.position].value == Decimal(raised)
    assert target_set.targets[-1].source == "custom" and target_set.targets[-1].metric == "核心期刊论文"
    assert confirmed_set(project) is target_set


def test_lowering_below_the_guideline_needs_a_reason(db, now, project):
    target = numeric(project)
    lower = str(target.guideline_value - 1)
    with pytest.raises(TaskBookProblems) as err:
        confirm_task_book(db, project, [TargetChange(target.position, lower, target.kind)], [], reason="",
                          actor=SYSTEM, now=now)
    assert f"t{target.position}_reason" in err.value.errors
    ok = confirm_task_book(db, project, [TargetChange(target.position, lower, target.kind, "专家论证后调整")], [],
                           reason="", actor=SYSTEM, now=now)
    assert ok.targets[target.position].change_reason == "专家论证后调整"


def test_a_confirmed_task_book_changes_only_as_a_new_version_with_a_reason(db, now, project):
    first = confirm_task_book(db, project, [], [], reason="", actor=SYSTEM, now=now)
    target = numeric(project)
    with pytest.raises(TaskBookProblems) as err:
        confirm_task_book(db, project, [TargetChange(target.position, str(target.value + 5), target.kind)], [],
                          reason="", actor=SYSTEM, now=now)
    assert "reason" in err.value.errors
    second = confirm_task_book(db, project, [TargetChange(target.position, str(target.value + 5), target.kind)], [],
                               reason="补充协议提高目标", actor=SYSTEM, now=now)
    assert (first.version, second.version) == (1, 2)
    assert first.targets[target.position].value == target.value  # the old version is untouched
    assert second.targets[target.position].value == target.value + 5


@pytest.mark.parametrize(("value", "words"), [("abc", "数字"), ("-1", "负数")])
def test_bad_values_are_field_errors(db, now, project, value, words):
    target = numeric(project)
    with pytest.raises(TaskBookProblems) as err:
        confirm_task_book(db, project, [TargetChange(target.position, value, target.kind)], [], reason="",
                          actor=SYSTEM, now=now)
    assert words in err.value.errors[f"t{target.position}_value"]


@pytest.fixture
def milestone_project(db, now, demo_users):
    doc = load_file(db, SAMPLES / "001_b77ff5cd7a582a9e.txt", actor=SYSTEM, now=now).document
    body = "91450200MA5L00XY0"
    row = ProjectInput(row=2, project_code="LZ-1", title="整车", direction="新能源与智能网联汽车专项 / 纯电动汽车整车研发",
                       content_items=(), organisation_name="o", uscc=body + uscc_check_char(body), pi_name="p",
                       pi_phone=None, pi_email=None, officer=None, start_date=date(2025, 3, 1), end_date=None,
                       period_months=None, fiscal_funding=Decimal("3000000"), self_funding=Decimal("9000000"),
                       funding_mode=None)
    result = import_projects(db, [row], doc, actor=SYSTEM, now=now)
    assert result.ok, result.problems
    return result.created[0]


def test_milestone_funded_projects_need_milestones(db, now, milestone_project):
    from tracker.services.task_books import MilestoneInput

    # This direction leaves its technical targets to the applicant: the task book names one.
    CUSTOM = [{"category": "product", "metric": "续航里程", "op": ">=", "value": "500", "unit": "km", "kind": "level"}]  # noqa: N806

    assert milestone_project.is_milestone_funded
    with pytest.raises(TaskBookProblems) as err:
        confirm_task_book(db, milestone_project, [], CUSTOM, reason="", actor=SYSTEM, now=now)
    assert "里程碑" in err.value.errors["milestones"]
    too_much = [MilestoneInput("样车下线", "2026-06-30", "200万元"), MilestoneInput("量产", "2027-12-31", "150")]
    with pytest.raises(TaskBookProblems) as err:
        confirm_task_book(db, milestone_project, [], CUSTOM, reason="", actor=SYSTEM, now=now, milestones=too_much)
    assert "超过财政资助" in err.value.errors["milestones"]
    outside = [MilestoneInput("样车下线", "2030-01-01", "100")]
    with pytest.raises(TaskBookProblems) as err:
        confirm_task_book(db, milestone_project, [], CUSTOM, reason="", actor=SYSTEM, now=now, milestones=outside)
    assert "实施期内" in err.value.errors["m0_due_date"]
    ok = [MilestoneInput("样车下线", "2026-06-30", "100万元", "第三方检测报告"), MilestoneInput("量产", "2027-12-31", "200")]
    first = confirm_task_book(db, milestone_project, [], CUSTOM, reason="", actor=SYSTEM, now=now, milestones=ok)
    assert [(m.title, m.amount) for m in first.milestones] == [("样车下线", Decimal("1000000.00")),
                                                               ("量产", Decimal("2000000.00"))]
    second = confirm_task_book(db, milestone_project, [], CUSTOM, reason="调整指标", actor=SYSTEM, now=now)
    assert [m.title for m in second.milestones] == ["样车下线", "量产"] and second.version == 2
