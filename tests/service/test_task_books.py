"""Task-book confirmation: raise values, add custom targets, lowering needs a reason, versions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import builders as build
from tracker.services.task_books import TargetChange, TaskBookProblems, confirm_task_book, confirmed_set

SYSTEM = build.SYSTEM


@pytest.fixture
def project(db, now):
    """Imported, its targets inherited from the guideline's direction and not yet confirmed."""
    return build.project(db, code="GK-1", start=date(2025, 3, 1), fiscal=Decimal("1000000"),
                         self_funding=Decimal("0"), now=now)


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


def test_a_negative_level_is_accepted_where_the_unit_allows_it(db, now, project):
    """`相位噪声≤-145dBc/Hz`: the guidelines contain negative levels; the task book takes them, as the report form
    does, and still refuses a negative count."""
    target = numeric(project)
    target.kind, target.op, target.unit = "level", "<=", "dBc/Hz"
    target.value = target.guideline_value = Decimal("-140")
    db.flush()
    custom = [{"category": "performance_metric", "metric": "工作温度下限", "op": "<=", "value": "-55", "unit": "℃",
               "kind": "level"}]
    confirmed = confirm_task_book(db, project, [TargetChange(target.position, "-145", "level")], custom, reason="",
                                  actor=SYSTEM, now=now)
    assert confirmed.targets[target.position].value == Decimal("-145")
    assert confirmed.targets[-1].value == Decimal("-55")
    with pytest.raises(TaskBookProblems) as err:
        confirm_task_book(db, project, [], [{"category": "paper", "metric": "论文", "op": ">=", "value": "-2",
                                             "unit": "篇", "kind": "cumulative"}],
                          reason="再次确认", actor=SYSTEM, now=now)
    assert any("负数" in message for message in err.value.errors.values())


@pytest.fixture
def milestone_project(db, now):
    """里程碑式补助 under a direction with an at-most period of 3 years, not yet confirmed."""
    return build.project(db, code="LZ-1", title="整车", direction=build.MILESTONES_PATH, start=date(2025, 3, 1),
                         fiscal=Decimal("3000000"), self_funding=Decimal("9000000"), now=now)


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


def test_a_baseline_is_set_in_the_task_book_kept_across_versions_and_used_by_monitoring(db, now, project):
    from tracker.services import monitoring

    revenue = next(t for t in project.target_sets[-1].targets if t.category == "revenue")
    qualitative = next(t for t in project.target_sets[-1].targets if t.op is None)
    with pytest.raises(TaskBookProblems) as refused:
        confirm_task_book(db, project, [TargetChange(revenue.position, str(revenue.value), revenue.kind,
                                                     baseline="约四成"),
                                        TargetChange(qualitative.position, "", qualitative.kind, baseline="5")],
                          [], reason="", actor=SYSTEM, now=now)
    assert set(refused.value.errors) == {f"t{revenue.position}_baseline", f"t{qualitative.position}_baseline"}
    first = confirm_task_book(db, project, [TargetChange(revenue.position, str(revenue.value), revenue.kind,
                                                         baseline="400")], [], reason="", actor=SYSTEM, now=now)
    assert first.targets[revenue.position].baseline == Decimal(400)
    second = confirm_task_book(db, project, [], [], reason="增加论文指标", actor=SYSTEM, now=now)
    assert second.version == 2 and second.targets[revenue.position].baseline == Decimal(400)  # carried over
    db.flush()
    row = next(r for r in monitoring.assessment_of(db, project).targets if r["position"] == revenue.position)
    assert row["baseline"] == "400"
