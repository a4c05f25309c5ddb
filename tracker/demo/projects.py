"""Demo data that needs the readers: the five sample guidelines, imported as programmes (DESIGN §4 `tracker demo`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from imports.guideline_loader import load_file
from indicators.deadlines import add_months
from indicators.rules import funding
from indicators.rules.period import add_period
from tracker import clock
from tracker.demo.accounts import DEMO_ORGANISATIONS, demo_organisation
from tracker.models import GuidelineDocument, GuidelineNode, Project, ProjectStatus
from tracker.services import project_changes
from tracker.services.accounts import assign_programmes, get_user_by_username
from tracker.services.audit import Actor
from tracker.services.projects import ProjectInput, import_projects
from tracker.services.task_books import MilestoneInput, TargetChange, confirm_task_book

SAMPLES = Path(__file__).parent / "samples"

# The samples carry no usable title line for 000, 002 and 004: the demo names them as an officer would.
DEMO_PROGRAMMES = {
    "000_01a6d56b3cde02ef.txt": "2025年广西区市科技创新联动类、产业科技创新类、产业园区创新发展类项目申报指南",
    "001_b77ff5cd7a582a9e.txt": "柳州市“科创中国”试点城市建设科技计划专项申报指南",
    "002_5acc37a79164e4dd.txt": "2025年度广西科技计划项目申报指南（六大行动计划）",
    "003_66db897801e56ec6.txt": "2024年中国—东盟产业合作区建设专项项目申报指南",
    "004_a88be7aaa3e07232.txt": "2024年百色市科技计划项目申报指南",
}


def story_start(now: datetime) -> datetime:
    """When the demo's story begins: the guidelines are loaded, before the first project is awarded (the oldest
    demo projects started about three years before `now`)."""
    return _at(clock.local(now).date() - timedelta(days=STORY_DAYS), 9)


def load_demo_guidelines(db: Session, *, now: datetime) -> list[GuidelineDocument]:
    """The five sample guidelines, loaded at the start of the story (`story_start(now)`)."""
    actor = Actor.system("demo")
    now = story_start(now)
    documents = [
        # The samples are stored under hashed names; the catalogue shows the name the office would have saved.
        load_file(db, SAMPLES / file_name, actor=actor, now=now, programme_name=name, file_name=f"{name}.txt").document
        for file_name, name in DEMO_PROGRAMMES.items()
    ]
    officer = get_user_by_username(db, "officer")
    if officer is not None:
        assign_programmes(db, officer, [d.programme for d in documents], actor=actor, now=now)
    return documents


# --- demo projects -------------------------------------------------------------------------------

STORY_DAYS = 1250  # the story's length before `now`: the longest course below (an extended 36-month project)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=clock.LOCAL_TZ)


# Acceptance (验收, DESIGN §2) stages a demo course reaches. Still running: near the end and ready by its accepted
# reports, or far from it; its window open and the final report in, not applied yet; a 里程碑式补助 project whose
# first milestone the officer has checked, or whose milestone is due and not checked. Then, in the order they
# happen: applied (waiting for a committee); in a committee whose experts are checking (the `expert` login not
# yet, or already while others have not); every check in, the verdict to be recorded; and the verdicts 通过,
# 不通过, 结题, 终止, a 通过 corrected later (superseded, with its reason), and a 通过 whose certificate shows
# self-funding below the rule's matching ratio (its disbursement is blocked). tracker/demo/acceptance.py takes the
# steps.
RUNNING_STAGES = ("ready", "not_ready", "to_apply", "milestone_checked", "milestone_due")
COMMITTEE_STAGES = ("checking", "checked", "to_decide")
VERDICT_OF = {"passed": "passed", "corrected": "passed", "matching_short": "passed", "failed": "failed",
              "concluded": "concluded", "terminated": "terminated"}
# What happens to a disbursement (后补助拨付) after the verdict or milestone check that created it, as
# tracker/demo/acceptance.py `PAYMENT_STEPS` takes it: "" nothing (it waits for approval, stays blocked or
# refused); "paid" finance approves and pays it (each milestone's, for a 里程碑式 project); "returned"
# finance returns it to the officer; "amount_paid" the officer enters the amount (bounds without a rate), then
# finance approves and pays; "approved_after_correction" the correction voided the first row before finance acted,
# and finance approves the new one; "paid_then_reversed" paid before the correction, the reversal recorded, the
# night's `disbursements` sweep creates the corrected row; "paid_before_correction" paid, the reversal still to make.
PAYMENT_STORIES = ("", "paid", "returned", "amount_paid", "approved_after_correction", "paid_then_reversed",
                   "paid_before_correction")

# The acceptance courses of every cycle of 60 demo projects: i % 60 → (stage, the funding form its direction must
# have (`funding_form`; "" any), its committee's round, its disbursement's story). Chosen among the plain running
# courses of `course_of`, so that the others keep their spread, except 11, 31 and 51 (an ended project and two
# extended ones otherwise): 001, the document with most forms of 后补助, has no plain one left. The funding forms
# fall on the documents that have them (001 is i % 5 == 1, 002 i % 5 == 2), the project to apply for on the demo
# grantee's (i % 3 == 0), and the cases of the committees the `expert` login checks in the browser on
# organisations other than its own (in the first cycle; later cycles seat it where no conflict of interest keeps
# it out). Every rate form passes twice (算力费用20%: 1, 31; 核定自筹经费10%: 16, 51; 技术交易总额1%: 2, 12, 52).
_ACCEPTANCE_COURSES: dict[int, tuple[str, str, str, str]] = {
    0: ("ready", "", "", ""), 8: ("not_ready", "", "", ""), 30: ("to_apply", "", "", ""),
    6: ("milestone_checked", "milestone", "", ""), 21: ("milestone_due", "milestone", "", ""),
    5: ("applied", "", "", ""), 33: ("applied", "", "", ""), 36: ("applied", "matching", "", ""),
    13: ("checking", "", "D", ""), 17: ("checking", "", "D", ""), 25: ("checked", "", "E", ""),
    37: ("to_decide", "", "C", ""), 38: ("to_decide", "", "C", ""),
    1: ("passed", "compute_spend", "A", "paid"), 2: ("passed", "technology_transaction_total", "A", "paid"),
    16: ("corrected", "certified_self_funding", "A", "approved_after_correction"),
    51: ("corrected", "certified_self_funding", "A", "paid_then_reversed"),
    50: ("failed", "", "A", ""), 32: ("failed", "post", "A", ""),
    26: ("passed", "partner_payment", "B", ""), 41: ("passed", "total_investment", "B", "amount_paid"),
    56: ("passed", "milestone", "B", "paid"), 53: ("concluded", "", "B", ""),
    11: ("matching_short", "certified_self_funding+matching", "B", ""),
    42: ("terminated", "technology_transaction_total", "B", ""),
    31: ("passed", "compute_spend", "F", "returned"), 12: ("passed", "technology_transaction_total", "F", ""),
    52: ("corrected", "technology_transaction_total", "F", "paid_before_correction"),
}
# When each round's committee was formed, in days before today (it meets ten days later).
_ROUNDS = {"A": 200, "B": 110, "F": 60, "C": 28, "D": 16, "E": 12}
MEETS_AFTER = 10


@dataclass(frozen=True)
class Course:
    """How a demo project has gone so far (项目的经过), relative to the demo's today: when it started, how long it
    runs, whether its task book is confirmed, and its extension (延期) or termination (终止), requested on
    `changed_on`. `status` is the project's status while it ran; a course that reaches acceptance (验收) names its
    `acceptance` stage, the day it applied (moved later if its final report was accepted later) and the day its
    committee was formed, and the acceptance services move the status on (tracker/demo/acceptance.py)."""

    status: str
    start: date
    months: int
    confirmed: bool = True
    changed_on: date | None = None  # the extension or termination was requested that day
    extension_months: int = 0
    acceptance: str = ""  # the acceptance stage reached (above); "" none
    funding: str = ""  # the funding form its direction has (`funding_form`); "" any
    applies_on: date | None = None
    committee_on: date | None = None
    payment: str = ""  # what happens to its disbursement after the verdict (PAYMENT_STORIES)

    @property
    def end(self) -> date:
        return add_period(self.start, self.months)


def course_of(i: int, today: date) -> Course:
    """The course of the demo's i-th project. A spread that every page needs: projects just awarded whose task
    book awaits the officer (one in five), running ones at every share of their period (some ending within 90
    days, one in twelve ended weeks ago without an acceptance application yet), extended ones (two in twelve),
    terminated ones (one in twelve), and about a third at a stage of acceptance (`_ACCEPTANCE_COURSES`)."""
    months = 24 if i % 4 == 0 else 36
    days = round(months * 30.44)  # the period's length in days, near enough for placing the story
    if i % 5 == 4:  # just awarded: started this month or starts next month
        return Course(ProjectStatus.ACTIVE, today - timedelta(days=(i * 7) % 45 - 15), months, confirmed=False)
    if i % 60 in _ACCEPTANCE_COURSES:
        return _acceptance_course(i, today, months)
    if i % 12 in (3, 7):
        # The end is three to five months away; an extension of 6 or 12 months was requested in the last weeks,
        # at least three months before the end as the rules require, and is approved today (load_demo_extensions).
        original_end = add_months(today, 3) + timedelta(days=20 + (i * 11) % 60)
        requested = today - timedelta(days=3 + i % 25)
        return Course(ProjectStatus.EXTENDED, original_end - timedelta(days=days), months, changed_on=requested,
                      extension_months=12 if i % 2 else 6)
    if i % 12 == 10:  # reported for a while, fell behind, terminated past the middle of its period
        start = today - timedelta(days=int(days * (0.6 + (i % 4) * 0.08)))
        return Course(ProjectStatus.TERMINATED, start, months, changed_on=start + timedelta(days=int(days * 0.55)))
    if i % 12 == 11:  # ended a few weeks ago; the acceptance application is not in yet
        return Course(ProjectStatus.ACTIVE, today - timedelta(days=days + 20 + i % 30), months)
    share = 0.1 + ((i * 7) % 12) * 0.075  # 10% to 92.5% of the period gone
    return Course(ProjectStatus.ACTIVE, today - timedelta(days=int(days * share)), months)


def _acceptance_course(i: int, today: date, months: int) -> Course:
    stage, form, round_, payment = _ACCEPTANCE_COURSES[i % 60]
    committee_on = applies_on = None
    if stage in ("milestone_checked", "milestone_due"):
        # Past the middle of the period, where the task book puts the first milestone (`_confirm`): by a quarter
        # of the period (checked three weeks after it) or by a tenth (due, not checked).
        share = 0.75 if stage == "milestone_checked" else 0.6
        start = today - timedelta(days=int(round(months * 30.44) * share))
        return Course(ProjectStatus.ACTIVE, start, months, acceptance=stage, funding=form)
    if stage == "ready":  # the window opened days ago; the final report is not due yet
        end = today + timedelta(days=20 + i % 10)
    elif stage == "not_ready":
        end = today + timedelta(days=45 + i % 10)
    elif stage == "to_apply":  # ended six weeks ago: the final report has been accepted
        end = today - timedelta(days=45 + i % 10)
    else:
        # The committee was formed two weeks or so after the application, the application some seven weeks after
        # the end: the final report is due 15 days after it (a working day, so up to a week later still) and
        # accepted within ten days of being filed.
        if round_:
            committee_on = today - timedelta(days=_ROUNDS[round_])
            applies_on = committee_on - timedelta(days=14 + i % 7)
        else:
            applies_on = today - timedelta(days=5 + i % 9)
        end = applies_on - timedelta(days=50)
    if applies_on is not None or stage == "to_apply":
        months = 24  # two-year projects: their whole history fits the story (a 10,000-project demo writes each)
    start = add_months(end + timedelta(days=1), -months)
    return Course(ProjectStatus.ACTIVE, start, months, acceptance=stage, funding=form, applies_on=applies_on,
                  committee_on=committee_on, payment=payment)


def demo_number(code: str) -> int | None:
    """The place in the demo (i) of the project with this code (DEMO-d-NNNNN); None for any other."""
    number = code.rsplit("-", 1)[-1]
    return int(number) - 1 if code.startswith("DEMO-") and number.isdigit() else None


def course_for(code: str, today: date) -> Course | None:
    """The course of the demo project with this code; None for any other project."""
    i = demo_number(code)
    return course_of(i, today) if i is not None else None


# The funding forms of 后补助 the disbursements compute differently (indicators/rules/funding.py), as the demo's
# acceptance courses ask for them.
def funding_form(rule: dict | None) -> str:
    """"milestone" (里程碑式补助); for 后补助, the base of its formula ("compute_spend": 算力费用的20%,
    "certified_self_funding": 核定的自筹经费的10%, "technology_transaction_total": 技术交易总额的1%; with
    "+matching" when the payment is also held to a matching ratio: 核定自筹经费的20%且配套比例不低于4:1), else
    "partner_payment" (paid after the partner's payment), "total_investment" (bounds without a rate: 不高于项目总投入
    的20%, the officer enters the amount), "matching" (a matching ratio only) or "post"; "" for anything else."""
    try:
        parsed = funding.from_dict((rule or {}).get("rule") or {})
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return ""
    if funding.FundingMode.MILESTONE in parsed.modes:
        return "milestone"
    if funding.FundingMode.POST not in parsed.modes:
        return ""
    if parsed.formula is not None:
        return parsed.formula.base + ("+matching" if parsed.matching_ratio is not None else "")
    if parsed.trigger is funding.Trigger.AFTER_PARTNER_PAYMENT:
        return "partner_payment"
    if any(share.base == "total_investment" for share in parsed.relative_caps):
        return "total_investment"
    return "matching" if parsed.matching_ratio is not None else "post"


def load_demo_projects(db: Session, documents: list[GuidelineDocument], *, now: datetime,
                       count: int = 60, progress: Callable[[str, int, int], None] | None = None) -> int:
    """`count` projects spread over the documents' directions, organisations, cities and the courses of
    `course_of`, each made the way it happens: imported from the award list a month before it starts, its task
    book confirmed by the officer shortly after the start, terminated through the project-change service on the
    day the story says (extensions come after the report histories: `load_demo_extensions`). Returns how many
    were created."""
    actor = Actor.system("demo")
    today = clock.local(now).date()
    officer = get_user_by_username(db, "officer")
    officer_actor = Actor.of(officer) if officer is not None else actor
    organisations = [demo_organisation(db, body, name, kind, now=story_start(now))
                     for body, name, kind in DEMO_ORGANISATIONS]
    leaves = [leaf for document in documents for leaf in db.scalars(
        select(GuidelineNode).where(GuidelineNode.document_id == document.id, GuidelineNode.is_leaf.is_(True))
        .order_by(GuidelineNode.position))]
    by_document: dict[int, list] = {}
    by_form: dict[tuple[int, str], list] = {}  # (document, funding form) → its directions, with indicators or not
    for leaf in leaves:
        if leaf.clauses:
            by_document.setdefault(leaf.document_id, []).append(leaf)
        by_form.setdefault((leaf.document_id, funding_form(leaf.funding_rule)), []).append(leaf)
    batch: list[tuple[ProjectInput, GuidelineDocument, Course]] = []
    for i in range(count):
        # Codes name the document by its place in the demo, never by a database id: every database gets the same
        # codes, and the report histories (seeded by code) with them.
        document = documents[i % len(documents)]
        options = by_document.get(document.id)
        if not options:
            continue
        course = course_of(i, today)
        leaf = options[(i // len(documents)) % len(options)]
        if course.funding:  # a direction paid as the course needs (each cycle of 60 the next one of them)
            matching = by_form.get((document.id, course.funding)) or [leaf]
            leaf = matching[(i // 60) % len(matching)]
        org = organisations[i % len(organisations)] if i % 3 else organisations[0]
        batch.append((ProjectInput(
            row=i + 2, project_code=f"DEMO-{i % len(documents) + 1}-{i + 1:05d}",
            title=f"{leaf.title[:40]}（示范项目{i + 1}）",
            direction=" / ".join(leaf.path), content_items=(), organisation_name=org.name, uscc=org.uscc,
            pi_name=("李", "王", "张", "刘", "陈", "杨")[i % 6] + ("工", "教授", "博士")[i % 3], pi_phone=None,
            # Contact addresses so that reminders reach someone; every twelfth project has none, to show the page's
            # "无法提醒" warning. The .invalid domain can never deliver anywhere.
            pi_email=None if i % 12 == 11 else f"pi{i + 1:03d}@demo.invalid", officer="officer",
            start_date=course.start, end_date=course.end, period_months=course.months,
            fiscal_funding=Decimal(100 + (i * 37) % 400) * 10000,
            self_funding=Decimal(200 + (i * 53) % 900) * 10000, funding_mode=None), document, course))
    imported: dict[str, Project] = {}
    # The default demo imports row by row, as it always has; a large one a chunk at a time, one call per document
    # (each call reads the document's directions once), falling back to row by row if a chunk is refused. A chunk
    # is imported a month before the earliest start in it.
    size = 1 if count <= 60 else 500
    created = 0
    for n, (row, _document, course) in enumerate(batch, 1):
        if progress is not None:
            progress("演示项目", n, len(batch))
        if row.project_code not in imported and (n - 1) % size == 0:
            chunk = batch[n - 1:n - 1 + size]
            awarded = min(now, _at(min(c.start for _, _, c in chunk) - timedelta(days=30), 10))
            for doc in dict.fromkeys(d for _, d, _ in chunk):
                rows = [r for r, d, _ in chunk if d is doc]
                result = import_projects(db, rows, doc, actor=actor, now=awarded)
                if not result.ok:
                    result.created = [p for r in rows for p in import_projects(db, [r], doc, actor=actor,
                                                                               now=awarded).created]
                imported.update((p.code, p) for p in result.created)
        project = imported.get(row.project_code)
        if project is None:
            continue
        if course.confirmed:
            _confirm(db, project, created, officer_actor, min(now - timedelta(hours=1),
                                                              _at(course.start + timedelta(days=10), 15)))
        if course.status == ProjectStatus.TERMINATED:
            assert course.changed_on is not None
            project_changes.terminate(db, project, requested_on=course.changed_on,
                                      reason="核心技术路线验证失败，承担单位申请终止，经审核同意", actor=officer_actor,
                                      now=_at(course.changed_on + timedelta(days=5), 11))
        created += 1
    return created


def _confirm(db: Session, project: Project, n: int, actor: Actor, now: datetime) -> None:
    """The officer confirms the task book (任务书): some raised a value, an applicant-defined direction names its
    product, a milestone-funded project gets its two milestones."""
    targets = project.target_sets[-1].targets
    target = next((t for t in targets if t.value is not None and t.op in (">=", ">")), None)
    changes = []
    if target is not None and n % 2:
        changes = [TargetChange(target.position, str(target.value + 1), target.kind)]
    custom = []
    if any(t.category == "applicant_defined" for t in targets):
        custom = [{"category": "product", "metric": "任务书约定的新产品", "op": ">=", "value": "2",
                   "unit": "项", "kind": "cumulative"}]
    if not targets:  # a direction without indicators (002's 奖励性后补助): the task book sets what is promised
        custom = [{"category": "tech_transfer", "metric": "促成技术合同登记", "op": ">=", "value": "20", "unit": "项",
                   "kind": "cumulative"},
                  {"category": "tech_transfer", "metric": "促成技术合同成交额", "op": ">=", "value": "3000",
                   "unit": "万元", "kind": "cumulative"}]
    plan = None
    if project.is_milestone_funded:
        half = project.fiscal_funding / 2 / 10000
        middle = project.start_date + (project.end_date - project.start_date) / 2
        plan = [MilestoneInput("中期节点：样机/中试完成", middle.isoformat(), f"{half:f}", "第三方检测报告"),
                MilestoneInput("完成全部考核指标", project.end_date.isoformat(), f"{half:f}", "验收通过")]
    confirm_task_book(db, project, changes, custom, reason="", actor=actor, now=now, milestones=plan)


def load_demo_extensions(db: Session, *, now: datetime) -> int:
    """The extensions (延期) of the projects whose course has one, approved by the officer this morning: after
    their report histories, so that everything the project did before runs under its original end date, in time
    order. Returns how many."""
    today = clock.local(now).date()
    officer = get_user_by_username(db, "officer")
    actor = Actor.of(officer) if officer is not None else Actor.system("demo")
    decided = now - timedelta(hours=2)  # after every step of the histories (those end the day before)
    done = 0
    for project in db.scalars(select(Project).where(Project.code.like("DEMO-%"),
                                                    Project.status == ProjectStatus.ACTIVE).order_by(Project.id)):
        course = course_for(project.code, today)
        if course is None or course.status != ProjectStatus.EXTENDED or course.changed_on is None:
            continue
        project_changes.extend(db, project, requested_on=course.changed_on, months=course.extension_months,
                               reason="关键设备到货延迟，中试验证需顺延", actor=actor, now=decided)
        done += 1
    return done
