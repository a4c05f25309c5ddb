"""Acceptance (验收, DESIGN §2) in the demo: the projects whose course reaches it (tracker/demo/projects.py
`Course.acceptance`) apply, committees meet, experts check, the officer records the verdicts and the milestone
checks of 里程碑式补助 projects; then the disbursements (后补助拨付) those create go their way (`Course.payment`):
the officer enters an amount, finance (the `finance` login) approves, returns, pays with a voucher and records a
reversal, the nightly `disbursements` sweep creates a row a reversal had held back.

It comes after the report histories (an application needs the final report) and goes through the acceptance
services step by step, every step on the day the story gives it and all of them in time order: an application
some weeks after the final report was accepted and inside the window, the committee formed two weeks or so later
and meeting ten days after that, the experts checking on the day, the verdict four days later. The inputs are what
a grantee, an expert or the officer would type: the self-assessment from the accepted reports, the certificate
figures the project's own funding rule needs (`acceptance.figures_needed`) with an audit report behind each.
The disbursement steps come days after the verdict or milestone check that created the row, on a row in the state
the story expects (in a later cycle of a large demo another direction may have taken it elsewhere: then nothing).

`plan` works the steps out from the database; the default demo takes them through the services
(`load_demo_acceptance`), the demo at scale records the rows they would write (tracker/demo/bulk.py
`AcceptanceWriter`, proved equal by tests/service/test_demo_bulk.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from indicators.rules import funding
from tracker import clock
from tracker.demo.projects import COMMITTEE_STAGES, MEETS_AFTER, VERDICT_OF, Course, course_of, demo_number
from tracker.demo.reports import _pdf
from tracker.files.evidence import check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    Disbursement,
    ExpertCheck,
    MilestoneCheck,
    Project,
    Report,
    ReportStatus,
    Role,
    TargetSet,
    User,
)
from tracker.models.disbursements import PROJECT_TRANCHE, milestone_tranche
from tracker.services import acceptance, business_settings, committees, disbursements, monitoring, verdicts
from tracker.services.acceptance import AcceptanceProblems, ApplicationInput, ClaimInput, EvidenceUpload
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
    "terminated": "项目核心技术路线经验证不可行，主要考核指标无法完成，同意终止。",
}
_DISAGREE = "完成值未达到任务书要求，佐证材料不足以证明完成情况"
_CORRECTION = "验收证书中{}录入有误（多录一位），按专项审计报告更正"
_TYPED_AS = {"certified_self_funding": "核定的自筹经费"}  # how the correction names the figure typed wrong
_RETURNED = "验收证书核定的数据与所附专项审计报告、发票不一致，请核对后重新提交"
# What follows a verdict for its disbursement, by the course's story (tracker/demo/projects.py PAYMENT_STORIES):
# (days after the verdict, hour, action). The officer enters an amount two days after it; finance approves within a
# week and pays a week later. A correction comes CORRECTED_AFTER days after the verdict: the payment before it
# leaves a reversal to make, which finance records months later (the corrected row comes with that night's
# `disbursements` sweep); a row it voided is approved by finance weeks before today.
PAYMENT_STEPS: dict[str, tuple[tuple[int, int, str], ...]] = {
    "": (),
    "paid": ((5, 10, "approve"), (12, 15, "pay")),
    "returned": ((6, 10, "return"),),
    "amount_paid": ((2, 11, "amount"), (6, 10, "approve"), (14, 15, "pay")),
    "approved_after_correction": ((170, 10, "approve"),),
    "paid_then_reversed": ((5, 10, "approve"), (12, 15, "pay"), (175, 10, "reverse"), (176, 2, "sweep")),
    "paid_before_correction": ((5, 10, "approve"), (12, 15, "pay")),
}


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


@dataclass(frozen=True)
class Disburse:
    """A step of a disbursement (后补助拨付) after its verdict: the officer enters the amount of a rule without a
    rate ("amount"); finance approves, returns it to the officer, pays it with a voucher, records the reversal of
    a payment whose verdict was corrected ("approve", "return", "pay", "reverse"); or the night's `disbursements`
    sweep ("sweep", no project). `text` is the amount typed (万元) or finance's comment."""

    at: datetime
    project: Project | None
    action: str
    tranche: str = PROJECT_TRANCHE
    text: str = ""
    voucher: str = ""


Step = Apply | Form | Check | Decide | CheckMilestone | Disburse


def disburse_applies(step: Disburse, status: str, reversal_due: bool, computation: dict) -> bool:
    """Whether the tranche is where the step expects it. A later cycle's direction may have taken it elsewhere
    (blocked where the first cycle's was not): then the people in the story have nothing to do."""
    if step.action == "amount":
        return status == "blocked" and bool(computation.get("officer_enters_amount"))
    if step.action in ("approve", "return"):
        return status == "pending"
    if step.action == "pay":
        return status == "approved"
    return step.action == "reverse" and reversal_due


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
            steps.extend(_milestones(case, today, first_only=True))
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
    # One `disbursements` sweep a night, whatever number of stories asked for it; nothing from today on.
    sweeps = {s.at for s in steps if isinstance(s, Disburse) and s.action == "sweep"}
    steps = [s for s in steps if not (isinstance(s, Disburse) and (s.action == "sweep" or s.at >= now))]
    steps.extend(Disburse(at, None, "sweep") for at in sorted(sweeps) if at < now)
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
        # Enough for the ratio, but for the course whose audit found four fifths of it.
        short = case.course.acceptance == "matching_short"
        own = fiscal * rule.matching_ratio * Decimal("0.8") if short else max(
            own, fiscal * rule.matching_ratio * Decimal("1.05"))
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
        certified = intended in ("passed", "concluded")
        certificate = f"桂科验〔{decided.year}〕{case.number + 1:05d}号" if certified else ""
        figures = {} if not certified else {
            need.key: _wan(_figure(case, need.key)) for need in acceptance.figures_needed(case.project)}
        if stage == "corrected":  # the payment's figure typed with one digit too many, corrected five weeks later
            typo = _typo_key(case.project)
            wrong = {key: _wan(Decimal(value) * 10) if key == typo else value for key, value in figures.items()}
            reason = _CORRECTION.format(_TYPED_AS.get(typo, funding.BASES.get(typo, typo)))
            steps.append(Decide(_moment(decided, 10, 20 * k), case.project,
                                VerdictInput(intended, _OPINIONS[intended], wrong, certificate)))
            steps.append(Decide(_moment(decided + timedelta(days=CORRECTED_AFTER), 10, 20 * k), case.project,
                                VerdictInput(intended, _OPINIONS[intended], figures, certificate, reason)))
        else:
            steps.append(Decide(_moment(decided, 10, 20 * k), case.project,
                                VerdictInput(intended, _OPINIONS[intended], figures, certificate)))
        if intended == "passed" and case.project.is_milestone_funded:  # paid per milestone, not as a project
            steps.extend(_milestones(case, decided + timedelta(days=3), first_only=False))
        else:
            steps.extend(_payments(case, decided, k, figures))
    return steps


def _typo_key(project: Project) -> str:
    """The certificate figure the corrected course's typo is in: the one its payment is computed from."""
    rule = acceptance.funding_rule_of(project)
    return rule.formula.base if rule is not None and rule.formula is not None else "certified_self_funding"


def _payments(case: _Case, decided: date, k: int, figures: dict[str, str], tranche: str = PROJECT_TRANCHE
              ) -> list[Disburse]:
    """What the officer and finance do with a disbursement of the project after the verdict or milestone check
    that created it (`decided`), as the course's story has it."""
    steps = []
    # Vouchers: the day, the project's number and, for a milestone, its place (unique whatever the demo's size).
    suffix = "" if tranche == PROJECT_TRANCHE else f"-M{int(tranche.split(':')[1]) + 1}"
    for days, hour, action in PAYMENT_STEPS[case.course.payment]:
        at = _moment(decided + timedelta(days=days), hour, 0 if action == "sweep" else 20 * k)
        voucher = f"{clock.local(at).date():%Y%m%d}-{case.number + 1:05d}{suffix}"
        if action == "amount":
            steps.append(Disburse(at, case.project, action, tranche, text=_officer_amount(case.project, figures)))
        elif action == "return":
            steps.append(Disburse(at, case.project, action, tranche, text=_RETURNED))
        elif action in ("pay", "reverse"):
            steps.append(Disburse(at, case.project, action, tranche,
                                  voucher=("ZF" if action == "pay" else "CX") + voucher))
        else:
            steps.append(Disburse(at, case.project, action, tranche))
    return steps


def _officer_amount(project: Project, figures: dict[str, str]) -> str:
    """The amount the officer enters for a rule without a rate (万元, as typed): a quarter of the way up the range
    the rule gives on the certificate's figures, so that it lies within the bounds the system enforces."""
    rule = acceptance.funding_rule_of(project)
    if rule is None:
        return ""
    calc = funding.compute_disbursement(rule, {key: Decimal(value) for key, value in figures.items()})
    floor, cap = calc.floor, calc.cap
    if cap is None:
        return _wan(floor * Decimal("1.2")) if floor is not None else ""
    low = floor if floor is not None else Decimal(0)
    return format((low + (cap - low) / 4).quantize(Decimal("0.01"), rounding=ROUND_DOWN), "f")


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


def _milestones(case: _Case, after: date, *, first_only: bool) -> list[Step]:
    """The officer's checks of a 里程碑式补助 project's milestones: the first three weeks after its day, passed on
    the test report; with `first_only` false, the last one too, passed on the acceptance verdict (`after`). Each
    passed check creates its tranche, which the course's story takes on from there."""
    project = case.project
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
    steps.extend(_payments(case, checked, 0, {}, milestone_tranche(first.position)))
    if not first_only and len(milestones) > 1:
        last = milestones[-1]
        steps.append(CheckMilestone(_moment(after, 16), project, last.position, MilestoneCheckInput(
            "1", after.isoformat(), "项目验收结论：通过（验收证书）", "考核指标全部完成，验收通过")))
        steps.extend(_payments(case, after, 0, {}, milestone_tranche(last.position)))
    return steps


# --- taking the steps -----------------------------------------------------------------------------------------------


def take(db: Session, steps: list[Step], *, store: EvidenceStore, progress: Progress | None = None) -> None:
    """The steps through the acceptance services, one call each, as the people in the story would."""
    rules = business_settings.load(db)
    officer = db.scalar(select(User).where(User.username == "officer"))
    officer_actor = Actor.of(officer) if officer is not None else Actor.system("demo")
    finance = db.scalar(select(User).where(User.username == "finance"))
    finance_actor = Actor.of(finance) if finance is not None else Actor.system("demo")
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
        elif isinstance(step, CheckMilestone):
            verdicts.record_milestone_check(db, step.project, step.position, step.data, actor=officer_actor,
                                            now=step.at, today=today)
        else:
            _disburse(db, step, officer=officer_actor, finance=finance_actor)
    db.flush()


def _disburse(db: Session, step: Disburse, *, officer: Actor, finance: Actor) -> None:
    """One disbursement step through the disbursement service, on the row as a request would read it."""
    today = clock.local(step.at).date()
    if step.action == "sweep":
        disbursements.sweep(db, step.at)
        return
    row = disbursements.live_row(db, step.project, step.tranche)
    if row is None:
        return
    db.refresh(row)  # from the database, as the page would find it (amounts with their two decimals)
    if not disburse_applies(step, row.status, row.reversal_due, row.computation or {}):
        return
    try:
        if step.action == "amount":
            disbursements.officer_update(db, row, amount=step.text, actor=officer, now=step.at)
        elif step.action == "approve":
            disbursements.approve(db, row, lock=row.lock, actor=finance, now=step.at)
        elif step.action == "return":
            disbursements.return_to_officer(db, row, comment=step.text, lock=row.lock, actor=finance, now=step.at)
        elif step.action == "pay":
            disbursements.mark_paid(db, row, paid_on=today.isoformat(), voucher_no=step.voucher, lock=row.lock,
                                    actor=finance, today=today, now=step.at)
        else:
            disbursements.record_reversal(db, row, reversed_on=today.isoformat(), voucher_no=step.voucher,
                                          lock=row.lock, actor=finance, today=today, now=step.at)
    except AcceptanceProblems:
        return  # refused, nothing written (an amount outside another direction's bounds): the story ends here


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


def payments_line(db: Session) -> str:
    """The disbursements by state, for `tracker demo`'s closing lines."""
    found = Counter()
    for status, due in db.execute(select(Disbursement.status, Disbursement.reversal_due)):
        found["reversal_due" if due else status] += 1
    labels = (("pending", "待审批"), ("approved", "已审批"), ("paid", "已支付"), ("blocked", "受阻"),
              ("returned", "已退回"), ("refused", "不予拨付"), ("void", "已作废"), ("reversal_due", "待冲销"),
              ("reversed", "已冲销"))
    return f"演示拨付：{sum(found.values())} 笔（" + "，".join(f"{label} {found[key]}" for key, label in labels) + "）"


def summary_line(counts: dict[str, int]) -> str:
    return (f"演示验收：申请 {counts['applications']} 个，验收会 {counts['meetings']} 场，"
            f"专家核查 {counts['checks']} 份，验收结论 {counts['verdicts']} 个（通过 {counts['passed']}，"
            f"不通过 {counts['failed']}，结题 {counts['concluded']}，更正 {counts['corrected']}），"
            f"里程碑核查 {counts['milestones']} 个")
