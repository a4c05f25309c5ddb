"""Extensions (延期) and terminations (终止) of projects, with the rules of DESIGN §2."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from indicators.deadlines import extension_deadline
from indicators.rules.period import add_period
from tracker.models import Project, ProjectChange, ProjectStatus
from tracker.services import audit, disbursements, monitoring
from tracker.services.accounts import AccountError
from tracker.services.audit import Actor

# Statuses in which the project still runs and may be extended or terminated.
RUNNING = {ProjectStatus.ACTIVE.value, ProjectStatus.EXTENDED.value}


def extend(db: Session, project: Project, *, requested_on: date, months: int, reason: str, actor: Actor,
           now: datetime, notice_months: int = 3, max_months: int = 12) -> ProjectChange:
    if project.status not in RUNNING:
        raise AccountError(f"项目当前状态为“{project.status_label}”，不能延期", field="months")
    if db.scalar(select(ProjectChange).where(ProjectChange.project_id == project.id,
                                             ProjectChange.kind == "extension")) is not None:
        raise AccountError("每个项目只能延期一次", field="months")
    if not 1 <= months <= max_months:
        raise AccountError(f"延期时长应为1至{max_months}个月", field="months")
    latest = extension_deadline(project.end_date, notice_months)
    if requested_on > latest:
        raise AccountError(f"延期须在结束日期前{notice_months}个月提出（不晚于{latest:%Y年%m月%d日}）",
                           field="requested_on")
    if not reason.strip():
        raise AccountError("请写明延期原因", field="reason")
    new_end = add_period(project.end_date + _one_day(), months)
    change = ProjectChange(project_id=project.id, kind="extension", requested_on=requested_on, months=months,
                           old_end_date=project.end_date, new_end_date=new_end, old_status=project.status,
                           reason=reason.strip()[:2000], decided_by_id=actor.user_id, decided_at=now)
    db.add(change)
    before = {"end_date": project.end_date.isoformat(), "status": project.status}
    project.end_date, project.status = new_end, ProjectStatus.EXTENDED.value
    project.next_reminder_at = None  # new periods and deadlines: the reminders sweep looks again
    project.period_months += months
    project.version += 1
    db.flush()
    audit.record(db, actor, "project_extended", now=now, object_type="project", object_id=project.id, before=before,
                 after={"end_date": new_end.isoformat(), "months": months, "reason": reason.strip()[:200]})
    monitoring.refresh_project(db, project, now=now)  # a later end: new expectations and deadlines
    return change


def terminate(db: Session, project: Project, *, requested_on: date, reason: str, actor: Actor,
              now: datetime) -> ProjectChange:
    if project.status not in RUNNING:
        raise AccountError(f"项目当前状态为“{project.status_label}”，不能终止", field="reason")
    if not reason.strip():
        raise AccountError("请写明终止原因", field="reason")
    change = ProjectChange(project_id=project.id, kind="termination", requested_on=requested_on, months=None,
                           old_end_date=project.end_date, new_end_date=None, old_status=project.status,
                           reason=reason.strip()[:2000], decided_by_id=actor.user_id, decided_at=now)
    db.add(change)
    before = project.status
    project.status = ProjectStatus.TERMINATED.value
    project.version += 1
    db.flush()
    audit.record(db, actor, "project_terminated", now=now, object_type="project", object_id=project.id,
                 before={"status": before}, after={"status": project.status, "reason": reason.strip()[:200]})
    disbursements.on_termination(db, project, change.id, actor=actor, now=now)  # 后补助: none, with the reason
    return change


def changes_of(db: Session, project: Project) -> list[ProjectChange]:
    return list(db.scalars(select(ProjectChange).where(ProjectChange.project_id == project.id)
                           .order_by(ProjectChange.id)))


def _one_day():
    from datetime import timedelta

    return timedelta(days=1)
