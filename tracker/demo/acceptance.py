"""Acceptance (验收, DESIGN §2) in the demo: the projects whose course reaches it (tracker/demo/projects.py
`Course.acceptance`) apply, committees meet, experts check, the officer records the verdicts and the milestone
checks of 里程碑式补助 projects.

It comes after the report histories (an application needs the final report) and goes through the acceptance
services step by step, every step on the day the story gives it and all of them in time order: an application
some weeks after the final report was accepted and inside the window, the committee formed two weeks or so later
and meeting ten days after that, the experts checking on the day, the verdict four days later. The inputs are what
a grantee, an expert or the officer would type: the self-assessment from the accepted reports, the certificate
figures the project's own funding rule needs (`acceptance.figures_needed`) with an audit report behind each.

`plan` works the steps out from the database; the default demo takes them through the services
(`load_demo_acceptance`), the demo at scale records the rows they would write (tracker/demo/bulk.py
`AcceptanceWriter`, proved equal by tests/service/test_demo_bulk.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tracker import clock
from tracker.demo.projects import COMMITTEE_STAGES, MEETS_AFTER, VERDICT_OF, Course, course_of, demo_number
from tracker.demo.reports import _pdf
from tracker.files.evidence import check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    ExpertCheck,
    MilestoneCheck,
    Project,
    Report,
    ReportStatus,
    Role,
    TargetSet,
    User,
)
from tracker.services import acceptance, business_settings, committees, monitoring, verdicts
from tracker.services.acceptance import ApplicationInput, ClaimInput, EvidenceUpload
from tracker.services.audit import Actor
from tracker.services.committees import ItemInput, MeetingInput
from tracker.services.projects import current_targets
from tracker.services.reports import target_specs
from tracker.services.verdicts import MilestoneCheckInput, VerdictInput

Progress = Callable[[str, int, int], None]
WAN = Decimal(10_000)
CHECKS_AFTER = 0  # the experts check on the day the committee meets
DECIDED_AFTER = 4  # the officer records the verdict four days after the meeting
CORRECTED_AFTER = 40  # … and the corrected one some five weeks later
PANEL = 3  # experts per committee
_PLACES = ("南宁市科技大厦3楼会议室", "柳州市科技局5楼会议室", "桂林市科技交流中心2号会议室", "线上会议（腾讯会议）")
_OPINIONS = {
    "passed": "项目完成了任务书规定的研究内容和考核指标，验收资料齐全、数据真实，经费使用基本合理，同意通过验收。",
    "failed": "项目主要考核指标未完成，部分佐证材料不足以证明完成情况，建议不通过验收。",
    "concluded": "项目完成了主要研究内容，但部分考核指标未达到任务书要求，同意结题。",
}
_DISAGREE = "完成值未达到任务书要求，佐证材料不足以证明完成情况"
_CORRECTION = "验收证书中核定的自筹经费录入有误（多录一位），按专项审计报告更正"


# --- the steps ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Apply:
    at: datetime
    project: Project
    data: ApplicationInput
    actor: Actor


@dataclass(frozen=True)
class Form:
    at: datetime
    projects: tuple[Project, ...]
    title: str
    held_on: date
    place: str
    members: tuple[User, ...]
    leader: User


@dataclass(frozen=True)
class Check:
    at: datetime
    project: Project
    expert: User
    items: dict[int, ItemInput]
    opinion: str
    recommendation: str


@dataclass(frozen=True)
class Decide:
    at: datetime
    project: Project
    data: VerdictInput


@dataclass(frozen=True)
class CheckMilestone:
    at: datetime
    project: Project
    position: int
    data: MilestoneCheckInput


Step = Apply | Form | Check | Decide | CheckMilestone


def _moment(day: date, hour: int, minutes: int = 0) -> datetime:
    return (datetime.combine(day, time(hour, 0), tzinfo=clock.LOCAL_TZ) + timedelta(minutes=minutes)).astimezone(UTC)


# --- working the steps out ----------------------------------------------------------------------------------------


@dataclass
class _Case:
    """One project on its way through acceptance, as `plan` sees it."""

    number: int  # its place in the demo (i)
    project: Project
    course: Course
    applies: datetime | None = None


def plan(db: Session, *, now: datetime, readings: dict[int, monitoring.Reading] | None = None) -> list[Step]:
    """Every acceptance step of the demo's story, in time order. A project whose final report is not in, or whose
    application would fall outside its window, is left out (its story has gone otherwise). `readings` receives
    the applying projects' monitoring inputs as read before any step (the bulk writer's too)."""
    today = clock.local(now).date()
    rules = business_settings.load(db)
    cases = _cases(db, today)
    grantees: dict[int, User] = {}
    for user in db.scalars(select(User).where(User.role == Role.GRANTEE, User.is_active.is_(True)).order_by(User.id)):
        if user.organisation_id is not None:
            grantees.setdefault(user.organisation_id, user)
    finals = _final_reports(db, [c.project.id for c in cases])
    applying = [c for c in cases if c.course.applies_on is not None]
    readings = {} if readings is None else readings
    for start in range(0, len(applying), monitoring.CHUNK):
        readings.update(monitoring.read_inputs(db, [c.project for c in applying[start:start + monitoring.CHUNK]],
                                               rules))
    progressed = {project_id: reading.inputs.progressed() for project_id, reading in readings.items()}
    steps: list[Step] = []
    for case in cases:
        if case.course.acceptance == "milestone_checked":
            steps.extend(_milestones(case.project, today, first_only=True))
    for case in applying:
        project, course = case.project, case.course
        final = finals.get(project.id)
        if final is None or not current_targets(project).confirmed:
            continue
        day = max(course.applies_on, clock.local(final).date() + timedelta(days=1))
        window = acceptance.window_of(project, rules)
        if window.state(day) != "open" or day >= today:
            continue
        case.applies = _moment(day, 10, 7 * (case.number % 40))
        grantee = grantees.get(project.organisation_id)
        actor = Actor.of(grantee) if grantee is not None else Actor(None, "demo", Role.GRANTEE.value)
        steps.append(Apply(case.applies, project, _application(case, progressed[project.id]), actor))
    experts = committees.experts(db)
    committees_of: dict[tuple[int, date], list[_Case]] = defaultdict(list)
    for case in applying:
        if case.applies is not None and case.course.committee_on is not None:
            committees_of[(case.number // 60, case.course.committee_on)].append(case)
    for n, ((_cycle, formed_on), members_cases) in enumerate(sorted(committees_of.items())):
        steps.extend(_committee(n, formed_on, members_cases, experts, progressed))
    return sorted(steps, key=lambda step: step.at)


def _cases(db: Session, today: date) -> list[_Case]:
    codes = db.execute(select(Project.id, Project.code).where(Project.code.like("DEMO-%")).order_by(Project.id)).all()
    wanted: dict[int, tuple[int, Course]] = {}
    for project_id, code in codes:
        number = demo_number(code)
        course = course_of(number, today) if number is not None else None
        if course is not None and course.acceptance:
            wanted[project_id] = (number, course)
    found = []
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        for project in db.scalars(select(Project).where(Project.id.in_(ids[start:start + 500])).order_by(Project.id)
                                  .options(selectinload(Project.target_sets).selectinload(TargetSet.targets),
                                           selectinload(Project.target_sets).selectinload(TargetSet.milestones),
                                           selectinload(Project.organisation), selectinload(Project.contacts))):
            number, course = wanted[project.id]
            found.append(_Case(number, project, course))
    return found


def _final_reports(db: Session, ids: list[int]) -> dict[int, datetime]:
    """Project id → when its final report (结题报告) was last touched (submitted or reviewed), if it is in."""
    found = {}
    for start in range(0, len(ids), 500):
        found.update(db.execute(
            select(Report.project_id, func.max(Report.updated_at))
            .where(Report.project_id.in_(ids[start:start + 500]), Report.is_final.is_(True),
                   Report.status.in_((ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)))
            .group_by(Report.project_id)).all())
    return found


def _value(target, progress) -> Decimal | None:
    if progress is None:
        return None
    if progress.by_year and (target.unit or "").endswith("/年"):
        return max(progress.by_year.values())
    return progress.current


def _met(project: Project, progressed: dict) -> dict[int, bool | None]:
    """Target id → reached by the accepted reports (None: the numbers cannot tell)."""
    specs = {spec.id: spec for spec in target_specs(current_targets(project))}
    return {t.id: (progressed[t.position].met(specs[t.position]) if t.position in progressed else None)
            for t in current_targets(project).targets}


def _text(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f") if value != 0 else "0"


def _application(case: _Case, progressed: dict) -> ApplicationInput:
    """What the grantee types: the self-assessment from the accepted reports, the figures the funding rule needs
    (and the standard ones) with an audit report behind each needed one."""
    project = case.project
    met = _met(project, progressed)
    claims = {}
    for t in current_targets(project).targets:
        progress = progressed.get(t.position)
        claims[t.id] = ClaimInput(value="" if t.kind == "deliverable" else _text(_value(t, progress)),
                                  done="1" if progress is not None and progress.done else "",
                                  claim={True: "met", False: "not_met"}.get(met[t.id], ""))
    reached = sum(1 for value in met.values() if value)
    summary = (f"项目按任务书开展了研究开发工作，任务书{len(met)}项考核指标中{reached}项已达到，"
               "各项佐证材料和经费专项审计报告已整理齐全，现申请验收。")
    needs = acceptance.figures_needed(project)
    figures = {need.key: _wan(_figure(case, need.key)) for need in needs}
    evidence = [EvidenceUpload("audit_report", _file(project, f"专项审计报告（{need.label}）", need.key), need.key,
                               f"{need.label}的专项审计报告") for need in needs if need.required]
    if "compute_spend" in figures:
        evidence.append(EvidenceUpload("invoice", _file(project, "算力服务费发票", "invoice"), "compute_spend",
                                       "算力服务费增值税专用发票"))
    if not evidence:
        evidence.append(EvidenceUpload("audit_report", _file(project, "项目经费专项审计报告", "audit"), "",
                                       "项目经费专项审计报告"))
    return ApplicationInput(summary, claims, figures, evidence)


def _file(project: Project, name: str, key: str):
    return check_evidence_file(f"{name}.pdf", _pdf(f"demo {project.code} acceptance {key}"))


def _figure(case: _Case, key: str) -> Decimal:
    """A figure of the application (and of the certificate), in 万元: the funds as the audit found them, enough
    for what the funding rule requires (a matching ratio, a minimum total investment)."""
    project, i = case.project, case.number
    fiscal, own = project.fiscal_funding / WAN, project.self_funding / WAN * Decimal("0.96")
    rule = acceptance.funding_rule_of(project)
    if rule is not None and rule.matching_ratio is not None:
        own = max(own, fiscal * rule.matching_ratio * Decimal("1.05"))
    if key in ("certified_self_funding", "self_funding"):
        return own
    if key == "total_investment":
        floor = rule.min_total_investment * Decimal("1.05") if rule is not None and rule.min_total_investment else 0
        return max(fiscal + own, floor)
    if key == "compute_spend":
        return Decimal(60 + (i * 13) % 140)
    if key == "partner_payment":
        return Decimal(20 + (i * 7) % 60)
    if key == "technology_transaction_total":
        return Decimal(2000 + (i * 37) % 3000)
    return fiscal


def _wan(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _committee(n: int, formed_on: date, cases: list[_Case], experts: list[User], progressed: dict[int, dict]
               ) -> list[Step]:
    """A committee for these applications, formed after the last of them, its experts' checks and the verdicts
    their stage has reached."""
    formed = max(_moment(formed_on, 15), max(c.applies for c in cases) + timedelta(days=1))
    held_on = clock.local(formed).date() + timedelta(days=MEETS_AFTER)
    members = _panel(n, cases, experts)
    if len(members) < PANEL:
        return []  # no committee without a conflict of interest (never with the demo's experts)
    projects = tuple(c.project for c in cases)
    steps: list[Step] = [Form(formed, projects, f"{held_on.year}年{held_on.month}月科技计划项目验收会",
                              held_on, _PLACES[n % len(_PLACES)], tuple(members), members[1])]
    for k, case in enumerate(cases):
        stage = case.course.acceptance
        intended = VERDICT_OF.get(stage, "passed")
        checking = {"checking": members[1:2], "checked": members[:2]}.get(stage, members)
        met = _met(case.project, progressed[case.project.id])
        for j, expert in enumerate(checking):
            at = _moment(held_on + timedelta(days=CHECKS_AFTER), 14, 40 * k + 9 * j)
            steps.append(Check(at, case.project, expert, _items(case.project, met, intended), _OPINIONS[intended],
                               intended))
        if stage in COMMITTEE_STAGES:
            continue
        decided = held_on + timedelta(days=DECIDED_AFTER)
        certificate = f"桂科验〔{decided.year}〕{case.number + 1:05d}号" if intended != "failed" else ""
        figures = {} if intended == "failed" else {
            need.key: _wan(_figure(case, need.key)) for need in acceptance.figures_needed(case.project)}
        if stage == "corrected":  # typed with one digit too many, corrected five weeks later
            wrong = {key: _wan(Decimal(value) * 10) if key == "certified_self_funding" else value
                     for key, value in figures.items()}
            steps.append(Decide(_moment(decided, 10, 20 * k), case.project,
                                VerdictInput(intended, _OPINIONS[intended], wrong, certificate)))
            steps.append(Decide(_moment(decided + timedelta(days=CORRECTED_AFTER), 10, 20 * k), case.project,
                                VerdictInput(intended, _OPINIONS[intended], figures, certificate, _CORRECTION)))
        else:
            steps.append(Decide(_moment(decided, 10, 20 * k), case.project,
                                VerdictInput(intended, _OPINIONS[intended], figures, certificate)))
        if intended == "passed" and case.project.is_milestone_funded:
            steps.extend(_milestones(case.project, decided + timedelta(days=3), first_only=False))
    return steps


def _panel(n: int, cases: list[_Case], experts: list[User]) -> list[User]:
    """Three experts none of whom works for an applicant (回避); the `expert` login first when it may sit, the
    others taking turns."""
    applicants = {c.project.organisation.uscc.upper() for c in cases}
    others = [e for e in experts if e.username != "expert"]
    turn = n % len(others) if others else 0
    order = [e for e in experts if e.username == "expert"] + others[turn:] + others[:turn]
    return [e for e in order if e.organisation is None or e.organisation.uscc.upper() not in applicants][:PANEL]


def _items(project: Project, met: dict[int, bool | None], intended: str) -> dict[int, ItemInput]:
    """An expert's check of every target: agreed, but for a verdict other than 通过 the targets the reports fell
    short of (at least one)."""
    items = {target_id: ItemInput("1") for target_id in met}
    if intended != "passed":
        short = [target_id for target_id, reached in met.items() if reached is False] or list(met)[:1]
        items.update((target_id, ItemInput("0", _DISAGREE)) for target_id in short)
    return items


def _milestones(project: Project, after: date, *, first_only: bool) -> list[Step]:
    """The officer's checks of a 里程碑式补助 project's milestones: the first three weeks after its day, passed on
    the test report; with `first_only` false, the last one too, passed on the acceptance verdict (`after`)."""
    if not project.is_milestone_funded:
        return []
    milestones = sorted(current_targets(project).milestones, key=lambda m: m.position)
    if not milestones:
        return []
    first = milestones[0]
    checked = first.due_date + timedelta(days=20)
    steps: list[Step] = [CheckMilestone(_moment(checked, 16), project, first.position, MilestoneCheckInput(
        "1", checked.isoformat(), "第三方检测报告（样机性能检测）；中试现场核查记录",
        "样机通过第三方检测，中试线运行正常"))]
    if not first_only and len(milestones) > 1:
        last = milestones[-1]
        steps.append(CheckMilestone(_moment(after, 16), project, last.position, MilestoneCheckInput(
            "1", after.isoformat(), "项目验收结论：通过（验收证书）", "考核指标全部完成，验收通过")))
    return steps


# --- taking the steps -----------------------------------------------------------------------------------------------


def take(db: Session, steps: list[Step], *, store: EvidenceStore, progress: Progress | None = None) -> None:
    """The steps through the acceptance services, one call each, as the people in the story would."""
    rules = business_settings.load(db)
    officer = db.scalar(select(User).where(User.username == "officer"))
    officer_actor = Actor.of(officer) if officer is not None else Actor.system("demo")
    applications: dict[int, AcceptanceApplication] = {}
    for n, step in enumerate(steps, 1):
        if progress is not None:
            progress("演示验收", n, len(steps))
        today = clock.local(step.at).date()
        if isinstance(step, Apply):
            applications[step.project.id] = acceptance.apply(db, step.project, step.data, actor=step.actor,
                                                             now=step.at, today=today, rules=rules, store=store)
        elif isinstance(step, Form):
            committees.form_meeting(db, officer, MeetingInput(
                step.title, step.held_on.isoformat(), step.place, [m.id for m in step.members], step.leader.id,
                [applications[p.id].id for p in step.projects]), actor=officer_actor, now=step.at, today=today)
        elif isinstance(step, Check):
            committees.submit_check(db, applications[step.project.id], step.expert, step.items,
                                    opinion=step.opinion, recommendation=step.recommendation,
                                    actor=Actor.of(step.expert), now=step.at)
        elif isinstance(step, Decide):
            verdicts.record_verdict(db, applications[step.project.id], step.data, actor=officer_actor, now=step.at)
        else:
            verdicts.record_milestone_check(db, step.project, step.position, step.data, actor=officer_actor,
                                            now=step.at, today=today)
    db.flush()


def load_demo_acceptance(db: Session, *, now: datetime, store: EvidenceStore, bulk: bool = False,
                         progress: Progress | None = None) -> dict[str, int]:
    """The demo's acceptance story (`plan`), through the services, or with `bulk` recorded as the rows they would
    write (tracker/demo/bulk.py `AcceptanceWriter`); returns what there is."""
    readings: dict[int, monitoring.Reading] = {}
    steps = plan(db, now=now, readings=readings)
    if bulk:
        from tracker.demo.bulk import AcceptanceWriter

        AcceptanceWriter(db, store).write(steps, readings, progress=progress)
    else:
        take(db, steps, store=store, progress=progress)
    return counts(db)


def counts(db: Session) -> dict[str, int]:
    def count(model, *where) -> int:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0

    in_force = select(func.max(AcceptanceVerdict.id)).group_by(AcceptanceVerdict.project_id)
    decided = dict(db.execute(select(AcceptanceVerdict.verdict, func.count())
                              .where(AcceptanceVerdict.id.in_(in_force)).group_by(AcceptanceVerdict.verdict)).all())
    return {"applications": count(AcceptanceApplication), "meetings": count(AcceptanceMeeting),
            "checks": count(ExpertCheck), "verdicts": count(AcceptanceVerdict),
            "corrected": count(AcceptanceVerdict, AcceptanceVerdict.supersedes_id.is_not(None)),
            "passed": decided.get("passed", 0), "failed": decided.get("failed", 0),
            "concluded": decided.get("concluded", 0), "milestones": count(MilestoneCheck)}


def summary_line(counts: dict[str, int]) -> str:
    return (f"演示验收：申请 {counts['applications']} 个，验收会 {counts['meetings']} 场，"
            f"专家核查 {counts['checks']} 份，验收结论 {counts['verdicts']} 个（通过 {counts['passed']}，"
            f"不通过 {counts['failed']}，结题 {counts['concluded']}，更正 {counts['corrected']}），"
            f"里程碑核查 {counts['milestones']} 个")
