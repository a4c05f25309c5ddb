"""The officer's acceptance verdict (验收结论) with the acceptance certificate (验收证书), and milestone checks of
里程碑式补助 projects (DESIGN §2 Acceptance).

A verdict needs a committee whose every expert has checked the case. It records 通过 / 不通过 / 结题 / 终止, the
committee's opinion and the certificate figures the project's own funding rule needs (money in yuan, typed in
万元). It is never edited: a correction is a new verdict that supersedes it, with the reason, and the project's
status follows the newest. The disbursement work consumes these rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tracker.models import (
    AcceptanceApplication,
    AcceptanceVerdict,
    CertificateFigure,
    MilestoneCheck,
    Project,
    ProjectStatus,
    Verdict,
)
from tracker.services import audit, disbursements, outbox
from tracker.services.acceptance import AcceptanceProblems, figures_needed, parse_figures
from tracker.services.audit import Actor
from tracker.services.committees import missing_checks
from tracker.services.projects import current_targets
from tracker.services.reminders import recipients_of

MAX_TEXT = 5000
STATUS_OF = {Verdict.PASSED: ProjectStatus.PASSED, Verdict.FAILED: ProjectStatus.FAILED,
             Verdict.CONCLUDED: ProjectStatus.CONCLUDED, Verdict.TERMINATED: ProjectStatus.TERMINATED}


def current_verdict(db: Session, project: Project) -> AcceptanceVerdict | None:
    """The verdict in force: the newest of the line of corrections."""
    return db.scalar(select(AcceptanceVerdict).where(AcceptanceVerdict.project_id == project.id)
                     .options(selectinload(AcceptanceVerdict.figures))
                     .order_by(AcceptanceVerdict.id.desc()).limit(1))


def verdict_history(db: Session, project: Project) -> list[AcceptanceVerdict]:
    return list(db.scalars(select(AcceptanceVerdict).where(AcceptanceVerdict.project_id == project.id)
                           .options(selectinload(AcceptanceVerdict.figures)).order_by(AcceptanceVerdict.id)))


@dataclass(frozen=True)
class VerdictInput:
    verdict: str
    opinion: str
    figures: Mapping[str, str]  # figure key → 万元 as typed
    certificate_no: str = ""
    reason: str = ""  # required when it supersedes a verdict


def record_verdict(db: Session, application: AcceptanceApplication, data: VerdictInput, *, actor: Actor,
                   now: datetime) -> AcceptanceVerdict:
    """Record the verdict (or its correction); raises AcceptanceProblems, writing nothing, when the committee is
    missing, a check is missing or the form is incomplete."""
    project = application.project
    if application.meeting is None:
        raise AcceptanceProblems({"verdict": "尚未组织验收会（专家组），不能作出验收结论"})
    waiting = missing_checks(db, application)
    if waiting:
        names = "、".join(m.display_name or m.username for m in waiting)
        raise AcceptanceProblems({"verdict": f"以下专家尚未提交核查意见：{names}"})
    previous = current_verdict(db, project)
    errors: dict[str, str] = {}
    if data.verdict not in {v.value for v in Verdict}:
        errors["verdict"] = "请选择验收结论（通过、不通过、结题或终止）"
    opinion = data.opinion.strip()
    if not opinion:
        errors["opinion"] = "请填写专家组意见"
    elif len(opinion) > MAX_TEXT:
        errors["opinion"] = f"专家组意见不超过{MAX_TEXT}字"
    reason = data.reason.strip()
    if previous is not None and not reason:
        errors["reason"] = "已有验收结论，更正须写明原因"
    certificate_no = data.certificate_no.strip()
    if len(certificate_no) > 40:
        errors["certificate_no"] = "证书编号不超过40个字符"
    needs = figures_needed(project)
    if data.verdict != Verdict.PASSED:  # figures matter for the payment, which only 通过 brings
        needs = [replace(n, required=False) for n in needs]
    figures = parse_figures(needs, data.figures, errors, "figure_")
    if errors:
        raise AcceptanceProblems(errors)

    verdict = AcceptanceVerdict(project_id=project.id, application_id=application.id, verdict=data.verdict,
                                opinion=opinion, certificate_no=certificate_no, decided_by_id=actor.user_id,
                                decided_at=now, supersedes_id=previous.id if previous is not None else None,
                                reason=reason[:2000],
                                figures=[CertificateFigure(key=k, amount=v) for k, v in figures.items()])
    db.add(verdict)
    before = project.status
    project.status = STATUS_OF[Verdict(data.verdict)].value
    project.version += 1
    db.flush()
    audit.record(db, actor, "acceptance_verdict_superseded" if previous is not None else "acceptance_verdict",
                 now=now, object_type="project", object_id=project.id,
                 before={"status": before, "verdict": previous.verdict if previous is not None else None},
                 after={"status": project.status, "verdict": data.verdict, "verdict_id": verdict.id,
                        "figures": {k: str(v) for k, v in figures.items()}, "reason": reason[:200]})
    # 后补助: the disbursement comes with the verdict, in its transaction (the `disbursements` sweep is the net).
    disbursements.on_verdict(db, verdict, project, superseded=previous is not None, actor=actor, now=now)
    for to in recipients_of(project):
        outbox.queue_mail(db, dedupe_key=f"verdict:{verdict.id}:to:{to.key}", template="acceptance_verdict",
                          recipient=to.address, user=to.user, project_id=project.id, now=now, context={
                              "name": to.name, "project_code": project.code, "project_title": project.title,
                              "verdict": verdict.label, "corrected": previous is not None, "reason": reason[:500],
                              "opinion": opinion[:2000], "path": f"/projects/{project.id}/acceptance"})
    return verdict


# --- milestone checks ---------------------------------------------------------------------------------------------


def milestone_checks(db: Session, project: Project) -> dict[int, MilestoneCheck]:
    """Milestone position → its check in force (the newest)."""
    rows = db.scalars(select(MilestoneCheck).where(MilestoneCheck.project_id == project.id)
                      .order_by(MilestoneCheck.id))
    return {row.position: row for row in rows}


@dataclass(frozen=True)
class MilestoneCheckInput:
    passed: str  # "1" passed, "0" not passed
    checked_on: str  # YYYY-MM-DD
    evidence: str
    comment: str = ""
    reason: str = ""  # required when it supersedes a check


def record_milestone_check(db: Session, project: Project, position: int, data: MilestoneCheckInput, *,
                           actor: Actor, now: datetime, today: date, file_id: int | None = None) -> MilestoneCheck:
    """The officer records a task-book milestone as passed or not; raises AcceptanceProblems (nothing written)."""
    if not project.is_milestone_funded:
        raise AcceptanceProblems({"milestone": "该项目不是里程碑式补助项目"})
    target_set = current_targets(project)
    if not target_set.confirmed:
        raise AcceptanceProblems({"milestone": "任务书尚未确认，不能核查里程碑"})
    milestone = next((m for m in target_set.milestones if m.position == position), None)
    if milestone is None:
        raise AcceptanceProblems({"milestone": "任务书中没有这个里程碑"})
    if project.status == ProjectStatus.TERMINATED:
        raise AcceptanceProblems({"milestone": "项目已终止，不能核查里程碑"})
    errors: dict[str, str] = {}
    if data.passed not in ("1", "0"):
        errors["passed"] = "请选择“通过”或“未通过”"
    checked_on = None
    try:
        checked_on = date.fromisoformat(data.checked_on.strip())
    except ValueError:
        errors["checked_on"] = "请填写核查日期（年-月-日）"
    if checked_on is not None and checked_on > today:
        errors["checked_on"] = "核查日期不能晚于今天"
    evidence, comment, reason = data.evidence.strip(), data.comment.strip(), data.reason.strip()
    if not evidence and file_id is None:
        errors["evidence"] = "请写明核查所依据的材料，或上传材料"
    if data.passed == "0" and not comment:
        errors["comment"] = "未通过时请写明原因"
    previous = milestone_checks(db, project).get(position)
    if previous is not None and not reason:
        errors["reason"] = "该里程碑已有核查结论，更正须写明原因"
    for name, text in (("evidence", evidence), ("comment", comment), ("reason", reason)):
        if len(text) > 2000:
            errors[name] = "不超过2000字"
    if errors:
        raise AcceptanceProblems(errors)
    check = MilestoneCheck(project_id=project.id, milestone_id=milestone.id, position=position,
                           passed=data.passed == "1", checked_on=checked_on, evidence=evidence, file_id=file_id,
                           comment=comment, decided_by_id=actor.user_id, decided_at=now,
                           supersedes_id=previous.id if previous is not None else None, reason=reason)
    db.add(check)
    db.flush()
    audit.record(db, actor, "milestone_checked", now=now, object_type="project", object_id=project.id,
                 before={"passed": previous.passed} if previous is not None else None,
                 after={"milestone": position, "title": milestone.title, "passed": check.passed,
                        "checked_on": checked_on.isoformat(), "check": check.id, "reason": reason[:200]})
    disbursements.on_milestone_check(db, check, project, superseded=previous is not None, actor=actor, now=now)
    return check
