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
from indicators.rules.period import add_period
from tracker import clock
from tracker.models import GuidelineDocument, GuidelineNode, Organisation, Project, ProjectStatus
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
        load_file(db, SAMPLES / file_name, actor=actor, now=now, programme_name=name).document
        for file_name, name in DEMO_PROGRAMMES.items()
    ]
    officer = get_user_by_username(db, "officer")
    if officer is not None:
        assign_programmes(db, officer, [d.programme for d in documents], actor=actor, now=now)
    return documents


# --- demo projects -------------------------------------------------------------------------------

# Fictitious organisations across Guangxi's cities (valid check characters are computed below).
_DEMO_ORGANISATIONS = (
    ("91450200MA5K0DEM0", "柳州示范智能装备有限公司", "enterprise"),  # the demo grantee's organisation
    ("91450100MA5K1NN00", "南宁示范生物科技有限公司", "enterprise"),
    ("91450300MA5K2GL00", "桂林示范光电技术有限公司", "enterprise"),
    ("12450000MB1D2GX00", "广西示范工业技术研究院", "institute"),
    ("12450000MB1D3DX00", "广西示范大学", "university"),
    ("12451000MB1D4BT00", "百色示范人民医院", "hospital"),
    ("91450400MA5K5WX00", "梧州示范新材料有限公司", "enterprise"),
    ("91451100MA5K6HX00", "贺州示范碳酸钙科技有限公司", "enterprise"),
)
STORY_DAYS = 1250  # the story's length before `now`: the longest course below (an extended 36-month project)


def _demo_uscc(body: str) -> str:
    from indicators.identifiers import uscc_check_char

    return body + uscc_check_char(body)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=clock.LOCAL_TZ)


@dataclass(frozen=True)
class Course:
    """How a demo project has gone so far (项目的经过), relative to the demo's today: when it started, how long it
    runs, whether its task book is confirmed, and its extension (延期) or termination (终止), requested on
    `changed_on`. Acceptance (验收) comes with the acceptance workflow: until then no demo project is in an
    acceptance state, rather than in a false one."""

    status: str
    start: date
    months: int
    confirmed: bool = True
    changed_on: date | None = None  # the extension or termination was requested that day
    extension_months: int = 0

    @property
    def end(self) -> date:
        return add_period(self.start, self.months)


def course_of(i: int, today: date) -> Course:
    """The course of the demo's i-th project. A spread that every page needs: projects just awarded whose task
    book awaits the officer (one in five), running ones at every share of their period (some ending within 90
    days, one in twelve ended weeks ago without an acceptance application yet), extended ones (two in twelve) and
    terminated ones (one in twelve)."""
    months = 24 if i % 4 == 0 else 36
    days = round(months * 30.44)  # the period's length in days, near enough for placing the story
    if i % 5 == 4:  # just awarded: started this month or starts next month
        return Course(ProjectStatus.ACTIVE, today - timedelta(days=(i * 7) % 45 - 15), months, confirmed=False)
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
    organisations = []
    for body, name, kind in _DEMO_ORGANISATIONS:
        uscc = _demo_uscc(body)
        org = db.scalar(select(Organisation).where(Organisation.uscc == uscc))
        if org is None:
            org = Organisation(uscc=uscc, name=name, division_code=uscc[2:8], kind=kind, is_active=True,
                               created_at=story_start(now), version=1)
            db.add(org)
        organisations.append(org)
    db.flush()
    leaves = [leaf for document in documents for leaf in db.scalars(
        select(GuidelineNode).where(GuidelineNode.document_id == document.id, GuidelineNode.is_leaf.is_(True))
        .order_by(GuidelineNode.position)) if leaf.clauses]
    by_document: dict[int, list] = {}
    for leaf in leaves:
        by_document.setdefault(leaf.document_id, []).append(leaf)
    batch: list[tuple[ProjectInput, GuidelineDocument, Course]] = []
    for i in range(count):
        # Codes name the document by its place in the demo, never by a database id: every database gets the same
        # codes, and the report histories (seeded by code) with them.
        document = documents[i % len(documents)]
        options = by_document.get(document.id)
        if not options:
            continue
        leaf = options[(i // len(documents)) % len(options)]
        org = organisations[i % len(organisations)] if i % 3 else organisations[0]
        course = course_of(i, today)
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
        course = course_of(int(project.code.rsplit("-", 1)[1]) - 1, today)
        if course.status != ProjectStatus.EXTENDED or course.changed_on is None:
            continue
        project_changes.extend(db, project, requested_on=course.changed_on, months=course.extension_months,
                               reason="关键设备到货延迟，中试验证需顺延", actor=actor, now=decided)
        done += 1
    return done
