"""The task book (任务书): the officer confirms a project's targets — raising values, adding custom targets,
setting kinds — and every confirmation is a new version of the target set (DESIGN §2).

Lowering a value below what the guideline asks needs a recorded reason. A direction whose targets the
guideline leaves to the applicant (`applicant_defined`, 由申报单位设置) needs at least one custom target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from indicators.reading.categories import KINDS
from indicators.reading.numbers import parse_number
from indicators.reading.target_edit import check_target
from tracker.models import Milestone, Project, ProjectTarget, TargetSet
from tracker.services import audit, monitoring
from tracker.services.audit import Actor
from tracker.services.reports import may_be_negative

LOWER_OPS = {"<=", "<"}  # for these a smaller value is the stricter target


@dataclass(frozen=True)
class TargetChange:
    """The task-book value of one existing target (by position in the current set)."""

    position: int
    value: str  # as typed; empty keeps a qualitative target qualitative
    kind: str
    reason: str = ""
    baseline: str | None = None  # the value at the start, as typed (empty: none); None: not sent, kept


@dataclass(frozen=True)
class MilestoneInput:
    """A milestone as typed in the task book: amount in 万元 (as people write it), date YYYY-MM-DD."""

    title: str
    due_date: str
    amount: str
    condition: str = ""


@dataclass
class TaskBookProblems(Exception):
    """Field errors keyed like the form: `t{position}_value`, `new{i}_metric`, `reason`, `form`."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "；".join(self.errors.values())


def _stricter_or_equal(op: str | None, new: Decimal, guideline: Decimal) -> bool:
    if op in LOWER_OPS:
        return new <= guideline
    return new >= guideline


def _copy(target: ProjectTarget, position: int) -> ProjectTarget:
    return ProjectTarget(
        position=position, source=target.source, clause_id=target.clause_id, label=target.label,
        clause_text=target.clause_text, clause_combine=target.clause_combine, category=target.category,
        metric=target.metric, op=target.op, value=target.value, unit=target.unit, kind=target.kind,
        better=target.better, guideline_value=target.guideline_value, change_reason=target.change_reason,
        baseline=target.baseline,
    )


def confirm_task_book(db: Session, project: Project, changes: list[TargetChange], new_targets: list[dict[str, str]],
                      *, reason: str, actor: Actor, now: datetime,
                      milestones: list[MilestoneInput] | None = None) -> TargetSet:
    """A new confirmed version of the project's targets; raises TaskBookProblems with every field error."""
    current = project.target_sets[-1]
    errors: dict[str, str] = {}
    if current.confirmed and not reason.strip():
        errors["reason"] = "任务书已确认过，修改需要写明原因"
    by_position = {c.position: c for c in changes}
    targets: list[ProjectTarget] = []
    for old in current.targets:
        target = _copy(old, len(targets))
        change = by_position.get(old.position)
        if change is not None:
            _apply(target, change, errors, key=f"t{old.position}")
        targets.append(target)
    for i, raw in enumerate(new_targets):
        if not any((raw.get(k) or "").strip() for k in ("category", "metric", "value", "unit")):
            continue
        edit = check_target(raw)
        for name, message in edit.errors.items():
            errors[f"new{i}_{name}"] = message
        if edit.target is not None:
            t = edit.target
            targets.append(ProjectTarget(
                position=len(targets), source="custom", clause_id=None, label=None, clause_text="",
                clause_combine="all", category=t["category"], metric=t["metric"], op=t["op"],
                value=None if t["value"] is None else Decimal(str(t["value"])), unit=t["unit"], kind=t["kind"],
                better=t["better"], guideline_value=None, change_reason="任务书新增",
            ))
    if any(t.category == "applicant_defined" for t in targets) and not any(t.source == "custom" for t in targets):
        errors["form"] = "指南规定技术指标由申报单位设置：请在任务书中填写至少一个具体指标"
    planned = _milestones(project, current, milestones, errors)
    if errors:
        raise TaskBookProblems(errors)
    version = current.version + 1 if current.confirmed else current.version
    if current.confirmed:
        target_set = TargetSet(project_id=project.id, version=version, created_at=now)
        db.add(target_set)
        project.target_sets.append(target_set)
    else:
        target_set = current
        target_set.targets.clear()
        db.flush()
    target_set.targets.extend(targets)
    if planned is not None:
        target_set.milestones.clear()
        db.flush()
        target_set.milestones.extend(planned)
    target_set.confirmed, target_set.confirmed_at, target_set.confirmed_by_id = True, now, actor.user_id
    target_set.reason = reason.strip()[:2000] or "任务书确认"
    project.version += 1
    project.next_reminder_at = None  # its periods may now be reminded: the reminders sweep looks again
    db.flush()
    audit.record(db, actor, "task_book_confirmed", now=now, object_type="project", object_id=project.id,
                 before={"version": current.version, "confirmed": current.confirmed},
                 after={"version": target_set.version, "targets": [_summary(t) for t in targets]})
    monitoring.refresh_project(db, project, now=now)  # new targets, new expectations
    return target_set


def _milestones(project: Project, current: TargetSet, typed: list[MilestoneInput] | None,
                errors: dict[str, str]) -> list[Milestone] | None:
    """The milestones of the new version: as typed, or copied from the current version when none were sent."""
    if typed is None:
        kept = [Milestone(position=m.position, title=m.title, due_date=m.due_date, amount=m.amount,
                          condition=m.condition) for m in current.milestones]
        if project.is_milestone_funded and not kept:
            errors["milestones"] = "里程碑式补助项目须在任务书中设定里程碑及各节点补助金额"
        return kept
    planned: list[Milestone] = []
    for i, m in enumerate(typed):
        if not any((m.title.strip(), m.due_date.strip(), m.amount.strip())):
            continue
        key = f"m{i}"
        title = m.title.strip()
        if not title:
            errors[f"{key}_title"] = "请填写里程碑名称"
        due = _date(m.due_date)
        if due is None:
            errors[f"{key}_due_date"] = "请填写日期（YYYY-MM-DD）"
        elif not project.start_date <= due <= project.end_date:
            errors[f"{key}_due_date"] = f"日期应在实施期内（{project.start_date} 至 {project.end_date}）"
        amount = parse_number(m.amount.strip().removesuffix("万元").removesuffix("万")) if m.amount.strip() else None
        if amount is None or amount <= 0:
            errors[f"{key}_amount"] = "请填写大于0的补助金额（万元）"
        if title and due is not None and amount is not None and amount > 0:
            planned.append(Milestone(position=len(planned), title=title[:200], due_date=due,
                                     amount=(amount * 10000).quantize(Decimal("0.01")), condition=m.condition[:2000]))
    total = sum((m.amount for m in planned), Decimal(0))
    if total > project.fiscal_funding:
        errors["milestones"] = (f"各里程碑补助合计 {total / 10000:f} 万元，超过财政资助 "
                                f"{project.fiscal_funding / 10000:f} 万元")
    if project.is_milestone_funded and not planned and "milestones" not in errors:
        errors["milestones"] = "里程碑式补助项目须在任务书中设定里程碑及各节点补助金额"
    return planned


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _summary(target: ProjectTarget) -> dict[str, Any]:
    return {"metric": target.metric, "op": target.op, "value": None if target.value is None else str(target.value),
            "unit": target.unit, "kind": target.kind, "source": target.source}


def _apply(target: ProjectTarget, change: TargetChange, errors: dict[str, str], *, key: str) -> None:
    if change.baseline is not None:  # monitoring measures progress from here (DESIGN §2)
        text = change.baseline.strip()
        number = parse_number(text) if text else None
        if text and number is None:
            errors[f"{key}_baseline"] = "基线请填写数字（项目开始时的数值），没有基线请留空"
        elif target.op is None and number is not None:
            errors[f"{key}_baseline"] = "定性指标不设基线"
        else:
            target.baseline = number
    if change.kind and change.kind not in KINDS:
        errors[f"{key}_kind"] = "考核方式无效"
    elif change.kind:
        target.kind = change.kind
    text = change.value.strip()
    if target.op is None:
        if text:
            errors[f"{key}_value"] = "定性指标不设目标值"
        return
    negative = text.startswith(("-", "－", "−"))
    # a level that can lie below zero (`相位噪声≤-145dBc/Hz`, `-55℃`) takes a negative target, as the report form does
    if negative and not may_be_negative(target):
        errors[f"{key}_value"] = "目标值不能为负数"
        return
    value = parse_number(text.lstrip("-－−")) if text else None
    if value is None:
        errors[f"{key}_value"] = "请填写数字目标值"
        return
    value = -value if negative else value
    if value < 0 and not may_be_negative(target):
        errors[f"{key}_value"] = "目标值不能为负数"
        return
    if target.guideline_value is not None and not _stricter_or_equal(target.op, value, target.guideline_value):
        if not change.reason.strip():
            errors[f"{key}_reason"] = (f"目标值低于指南要求（{format(target.guideline_value.normalize(), 'f')}"
                                       f"{target.unit or ''}），必须写明原因")
            return
        target.change_reason = change.reason.strip()[:500]
    elif value != target.value:
        target.change_reason = change.reason.strip()[:500] or "任务书提高目标"
    target.value = value


def confirmed_set(project: Project) -> TargetSet | None:
    for target_set in reversed(project.target_sets):
        if target_set.confirmed:
            return target_set
    return None
