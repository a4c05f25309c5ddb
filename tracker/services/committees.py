"""Acceptance committees (验收会) and the experts' checks (DESIGN §2 Acceptance, §1: experts see their cases only).

The officer forms a meeting for one or more applications of their programmes: date, place, experts from the
expert accounts and a leader among them. An expert whose organisation is the applicant (the same 统一社会信用代码)
cannot sit on its case. Each expert then checks every target of each case (agree or not with the grantee's figure
and evidence, with a comment) and gives an opinion and a recommended verdict; a submitted check is never changed,
a correction is its next version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    ExpertCheck,
    ExpertCheckItem,
    Project,
    ProjectStatus,
    Role,
    User,
    Verdict,
    meeting_members,
)
from tracker.services import audit, outbox
from tracker.services.acceptance import AcceptanceProblems
from tracker.services.audit import Actor
from tracker.services.projects import scoped_projects

MAX_TEXT = 5000


# --- reading --------------------------------------------------------------------------------------------------


def applications_for(db: Session, user: User | None):
    """A SELECT of the applications this user may see: those of the projects in their scope, and for an expert
    those of the meetings they sit on."""
    query = select(AcceptanceApplication).join(Project, Project.id == AcceptanceApplication.project_id)
    if user is not None and user.role == Role.EXPERT.value:
        return query.join(meeting_members, meeting_members.c.meeting_id == AcceptanceApplication.meeting_id).where(
            meeting_members.c.user_id == user.id)
    return query.where(Project.id.in_(scoped_projects(user).with_only_columns(Project.id)))


def case_for(db: Session, user: User, application_id: int) -> AcceptanceApplication | None:
    """One application (an acceptance case) with what its pages show, if the user may see it; else None, as for
    a missing one."""
    return db.scalar(applications_for(db, user).where(AcceptanceApplication.id == application_id).options(
        joinedload(AcceptanceApplication.project).joinedload(Project.organisation),
        joinedload(AcceptanceApplication.meeting).selectinload(AcceptanceMeeting.members),
        selectinload(AcceptanceApplication.targets), selectinload(AcceptanceApplication.figures),
        selectinload(AcceptanceApplication.evidence)))


def waiting_applications(db: Session, user: User) -> list[AcceptanceApplication]:
    """Applications not yet placed in a meeting, the oldest first (the officer's to-do)."""
    return list(db.scalars(applications_for(db, user).where(AcceptanceApplication.meeting_id.is_(None))
                           .options(joinedload(AcceptanceApplication.project).joinedload(Project.organisation))
                           .order_by(AcceptanceApplication.submitted_at, AcceptanceApplication.id)))


def meetings_for(db: Session, user: User):
    """A SELECT of the meetings the user may see: an expert's own; an officer's with a case of their programmes
    (or one they formed); everyone's for the admin."""
    query = select(AcceptanceMeeting)
    if user.role == Role.EXPERT.value:
        return query.where(AcceptanceMeeting.id.in_(
            select(meeting_members.c.meeting_id).where(meeting_members.c.user_id == user.id)))
    if user.role in (Role.ADMIN.value, Role.FINANCE.value):
        return query
    cases = applications_for(db, user).with_only_columns(AcceptanceApplication.meeting_id)
    return query.where((AcceptanceMeeting.id.in_(cases)) | (AcceptanceMeeting.created_by_id == user.id))


def meeting_for(db: Session, user: User, meeting_id: int) -> AcceptanceMeeting | None:
    return db.scalar(meetings_for(db, user).where(AcceptanceMeeting.id == meeting_id).options(
        selectinload(AcceptanceMeeting.members), joinedload(AcceptanceMeeting.leader),
        selectinload(AcceptanceMeeting.applications).joinedload(AcceptanceApplication.project)
        .joinedload(Project.organisation)))


def meeting_by_code(db: Session, code: str) -> AcceptanceMeeting | None:
    return db.scalar(select(AcceptanceMeeting).where(AcceptanceMeeting.code == code))


def experts(db: Session) -> list[User]:
    """The active expert accounts an officer may invite, with their organisations (for conflicts of interest)."""
    return list(db.scalars(select(User).where(User.role == Role.EXPERT.value, User.is_active.is_(True))
                           .options(joinedload(User.organisation)).order_by(User.display_name, User.username)))


def latest_checks(db: Session, application: AcceptanceApplication) -> dict[int, ExpertCheck]:
    """Expert id → their latest check version of this case."""
    rows = db.scalars(select(ExpertCheck).where(ExpertCheck.application_id == application.id)
                      .options(selectinload(ExpertCheck.items), joinedload(ExpertCheck.expert))
                      .order_by(ExpertCheck.version))
    return {check.expert_id: check for check in rows}


def check_history(db: Session, application: AcceptanceApplication, expert: User) -> list[ExpertCheck]:
    return list(db.scalars(select(ExpertCheck).where(ExpertCheck.application_id == application.id,
                                                     ExpertCheck.expert_id == expert.id)
                           .options(selectinload(ExpertCheck.items)).order_by(ExpertCheck.version.desc())))


@dataclass(frozen=True)
class MeetingProgress:
    cases: int
    checks_done: int  # (case, expert) pairs with a submitted check
    checks_expected: int
    decided: int  # cases with a verdict
    mine_open: int  # for an expert: their cases still without their check

    @property
    def ready_for_verdicts(self) -> int:
        return self.cases - self.decided if self.checks_done == self.checks_expected else 0


def meeting_progress(db: Session, meeting: AcceptanceMeeting, user: User | None = None) -> MeetingProgress:
    """How far a meeting has come: the experts' checks in, the verdicts recorded (two queries)."""
    ids = [a.id for a in meeting.applications]
    members = {m.id for m in meeting.members}
    pairs = set(db.execute(select(ExpertCheck.application_id, ExpertCheck.expert_id)
                           .where(ExpertCheck.application_id.in_(ids))).all()) if ids else set()
    decided = set(db.scalars(select(AcceptanceVerdict.application_id)
                             .where(AcceptanceVerdict.application_id.in_(ids)))) if ids else set()
    done = {(a, e) for a, e in pairs if e in members}
    mine = sum(1 for a in ids if (a, user.id) not in done and a not in decided) \
        if user is not None and user.id in members else 0
    return MeetingProgress(len(ids), len(done), len(ids) * len(members), len(decided), mine)


def missing_checks(db: Session, application: AcceptanceApplication) -> list[User]:
    """The meeting's experts who have not submitted a check of this case."""
    if application.meeting is None:
        return []
    done = latest_checks(db, application)
    return [m for m in application.meeting.members if m.id not in done]


# --- forming a meeting --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingInput:
    title: str
    held_on: str  # YYYY-MM-DD as typed
    place: str
    member_ids: Sequence[int]
    leader_id: int | None
    application_ids: Sequence[int]


def conflicts(project: Project, members: Sequence[User]) -> list[str]:
    """Why members must stand aside for this project: they belong to the applicant (same 统一社会信用代码)."""
    found = []
    applicant = project.organisation
    for member in members:
        org = member.organisation
        if org is not None and applicant is not None and org.uscc.upper() == applicant.uscc.upper():
            found.append(f"专家{member.display_name or member.username}所在单位与项目{project.code}的承担单位相同"
                         f"（统一社会信用代码{applicant.uscc}），须回避")
    return found


def form_meeting(db: Session, user: User, data: MeetingInput, *, actor: Actor, now: datetime,
                 today: date) -> AcceptanceMeeting:
    """The officer forms a committee for applications of their programmes; raises AcceptanceProblems (nothing
    written) on bad input."""
    errors: dict[str, str] = {}
    title, place = data.title.strip(), data.place.strip()
    if not title:
        errors["title"] = "请填写会议名称"
    elif len(title) > 200:
        errors["title"] = "会议名称不超过200字"
    if not place:
        errors["place"] = "请填写会议地点"
    elif len(place) > 200:
        errors["place"] = "会议地点不超过200字"
    held_on = None
    try:
        held_on = date.fromisoformat(data.held_on.strip())
    except ValueError:
        errors["held_on"] = "请填写会议日期（年-月-日）"
    if held_on is not None and held_on < today:
        errors["held_on"] = "会议日期不能早于今天"
    applications = list(db.scalars(applications_for(db, user).where(
        AcceptanceApplication.id.in_(list(data.application_ids))).options(
        joinedload(AcceptanceApplication.project).joinedload(Project.organisation))
        .order_by(AcceptanceApplication.id)))
    if not data.application_ids:
        errors["applications"] = "请选择至少一个验收申请"
    elif len(applications) != len(set(data.application_ids)):
        errors["applications"] = "所选验收申请不存在或不在您负责的计划中"
    elif any(a.meeting_id is not None for a in applications):
        taken = "、".join(a.project.code for a in applications if a.meeting_id is not None)
        errors["applications"] = f"以下项目已安排验收会：{taken}"
    members = [u for u in experts(db) if u.id in set(data.member_ids)]
    if not data.member_ids:
        errors["members"] = "请选择验收专家"
    elif len(members) != len(set(data.member_ids)):
        errors["members"] = "所选专家不存在或账号已停用"
    if data.leader_id is None or data.leader_id not in {m.id for m in members}:
        errors["leader_id"] = "请从所选专家中指定专家组组长"
    clashes = [c for a in applications for c in conflicts(a.project, members)]
    if clashes:
        errors["members"] = "；".join(clashes)
    if errors:
        raise AcceptanceProblems(errors)

    year = held_on.year
    count = db.scalar(select(func.count()).select_from(AcceptanceMeeting)
                      .where(AcceptanceMeeting.code.like(f"YS{year}-%"))) or 0
    meeting = AcceptanceMeeting(code=f"YS{year}-{count + 1:03d}", title=title, held_on=held_on, place=place,
                                leader_id=data.leader_id, created_by_id=actor.user_id, created_at=now)
    meeting.members = members
    db.add(meeting)
    db.flush()
    for application in applications:
        application.meeting = meeting
        project = application.project
        project.status = ProjectStatus.UNDER_ACCEPTANCE.value
        project.version += 1
    db.flush()
    audit.record(db, actor, "acceptance_meeting_formed", now=now, object_type="acceptance_meeting",
                 object_id=meeting.id,
                 after={"code": meeting.code, "held_on": held_on.isoformat(), "place": place,
                        "members": [m.username for m in members], "leader": data.leader_id,
                        "projects": [a.project.code for a in applications]})
    for member in members:
        if member.email:
            outbox.queue_mail(db, dedupe_key=f"expert-assigned:{meeting.id}:{member.id}", template="expert_assigned",
                              recipient=member.email, user=member, now=now, context={
                                  "name": member.display_name or member.username, "meeting_code": meeting.code,
                                  "meeting_title": title, "held_on": held_on.isoformat(), "place": place,
                                  "leader": member.id == data.leader_id,
                                  "projects": [{"code": a.project.code, "title": a.project.title,
                                                "path": f"/acceptance/cases/{a.id}"} for a in applications],
                                  "path": f"/acceptance/meetings/{meeting.id}"})
    return meeting


# --- expert checks -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemInput:
    agrees: str  # "1" agree, "0" disagree, "" not answered
    comment: str = ""


def has_verdict(db: Session, application: AcceptanceApplication) -> bool:
    return bool(db.scalar(select(exists().where(AcceptanceVerdict.application_id == application.id))))


def submit_check(db: Session, application: AcceptanceApplication, expert: User, items: Mapping[int, ItemInput], *,
                 opinion: str, recommendation: str, actor: Actor, now: datetime) -> ExpertCheck:
    """An expert's check of every target of one case; raises AcceptanceProblems (nothing written)."""
    if application.meeting is None or expert.id not in {m.id for m in application.meeting.members}:
        raise AcceptanceProblems({"check": "您不是该项目验收专家组成员"})
    if has_verdict(db, application):
        raise AcceptanceProblems({"check": "该项目已作出验收结论，不能再提交核查意见"})
    errors: dict[str, str] = {}
    rows = []
    for target in application.target_set.targets:
        item = items.get(target.id, ItemInput(""))
        comment = item.comment.strip()
        if item.agrees not in ("1", "0"):
            errors[f"t{target.id}_agrees"] = f"请对“{target.metric}”选择“认可”或“不认可”"
        elif item.agrees == "0" and not comment:
            errors[f"t{target.id}_comment"] = f"不认可“{target.metric}”时请写明理由"
        if len(comment) > 2000:
            errors[f"t{target.id}_comment"] = "意见不超过2000字"
        rows.append(ExpertCheckItem(target_id=target.id, agrees=item.agrees == "1", comment=comment))
    opinion = opinion.strip()
    if not opinion:
        errors["opinion"] = "请填写专家意见"
    elif len(opinion) > MAX_TEXT:
        errors["opinion"] = f"专家意见不超过{MAX_TEXT}字"
    if recommendation not in {v.value for v in Verdict}:
        errors["recommendation"] = "请选择建议结论"
    if errors:
        raise AcceptanceProblems(errors)
    version = (db.scalar(select(func.max(ExpertCheck.version)).where(
        ExpertCheck.application_id == application.id, ExpertCheck.expert_id == expert.id)) or 0) + 1
    check = ExpertCheck(application_id=application.id, expert_id=expert.id, version=version, opinion=opinion,
                        recommendation=recommendation, submitted_at=now, items=rows)
    db.add(check)
    db.flush()
    audit.record(db, actor, "expert_check_submitted", now=now, object_type="acceptance_case",
                 object_id=application.id,
                 after={"version": version, "recommendation": recommendation,
                        "disagree": [i.target_id for i in rows if not i.agrees]})
    return check
