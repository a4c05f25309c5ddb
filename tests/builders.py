"""Test builders: a guideline, a project with its targets in a given state, a report in a given status.

Everything is built the way a user would build it — the guideline through the reader and `store_preview`, the
project through the award-list import, the task book through `confirm_task_book`, reports through save, submit
and review — so a builder can never produce a state the rules forbid. Each builder commits (the test's
savepoint: the web app sees the rows, the outer transaction still rolls them back) and returns what it made.

The default guideline is a short text written the way the seeds are, so it is read in milliseconds; a test that
needs a real document says `guideline(db, seed="004")`.
"""

from __future__ import annotations

import copy
import hashlib
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from imports.guideline_loader import Preview, prepare, store_preview
from indicators.assessment.progress import is_per_year
from indicators.identifiers import uscc_check_char
from tracker.demo.accounts import DEMO_ORGANISATION_USCC
from tracker.files.store import EvidenceStore
from tracker.models import GuidelineDocument, GuidelineNode, Organisation, Project, Report, Role, TargetSet, User
from tracker.services import accounts, organisations
from tracker.services import reports as report_service
from tracker.services.audit import Actor
from tracker.services.projects import ProjectInput, import_projects
from tracker.services.reports import EvidenceInput, ReportInput, ValueInput
from tracker.services.task_books import MilestoneInput, confirm_task_book

SAMPLES = Path(__file__).resolve().parent.parent / "tracker" / "demo" / "samples"
SYSTEM = Actor.system("test")

# The builders' clock. On this day periods 1–5 of a project started on START are open and 1–4 overdue
# (period 1 is 2025 Q1, due 2025-04-15); period 6 (2026 Q2) is months away.
NOW = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
TODAY = NOW.date()
START = date(2025, 1, 1)
END = date(2026, 12, 31)  # START + the default direction's 实施期限 2年
DUE_DAYS = OPEN_DAYS = 15  # the default settings: due 15 days after the quarter, open 15 days before its end
FINAL_OPEN_DAYS = 30  # … and the final report opens with the acceptance window, 30 days before the end

# --- the default guideline ---------------------------------------------------------------------------

# One target of every kind the monitoring treats differently, a selection rule on the content items, a
# post-subsidy formula and a fixed period.
EVERY_KIND = "智能装备关键技术研发"
# Positions of its targets in the project's task book (the clause order).
PATENTS, REVENUE, STRENGTH, PLATFORM, PER_YEAR, QUALITATIVE = range(6)
# Clauses the reader flags for an officer's review: a clause mixing 且 and 或 (split in two runs) and a
# deliverable without a number (an implied quantity of one); an at-most period and a range of funding.
FLAGGED = "生态铝新产品研发"
# 里程碑式补助 under a path of two levels, whose technical targets the guideline leaves to the applicant.
MILESTONES = "纯电动汽车整车研发"
MILESTONES_PATH = "新能源与智能网联汽车专项 / 纯电动汽车整车研发"

GUIDELINE = """\
一、智能制造专项
方向一：智能装备关键技术研发
1. 研究内容：（1）高精度传感器研制（满足考核指标中的①②⑤⑥或①③⑤⑥）。（2）智能控制系统开发（满足考核指标中的①④⑤⑥）。
2. 考核指标：（1）申请发明专利3件以上。（2）实现新增销售收入1000万元以上。（3）抗拉强度≥1400MPa。（4）建成中试平台1个。（5）年产值达到5000万元/年。（6）取得显著经济效益。
3. 实施期限：2年。
4. 资助经费：后补助，验收通过后一次性拨付，按验收证书中核定的自筹经费的10%给予补助，单个项目最高补助30万元。
方向二：生态铝新产品研发
1. 研究内容：再生铝高质高效生产与保级循环利用关键技术研究。
2. 考核指标：（1）开发新产品、新工艺或新材料1项以上，形成具有自主知识产权的新技术1项以上，申请发明专利2项以上或获得授权专利1项以上。（2）形成自治区实验室建设方案。（3）项目实施期内，实现新增产值超过2000万元。
3. 实施期限：不超过3年。
4. 资助方式：前资助。
5. 资助经费：100万元—300万元。
二、新能源与智能网联汽车专项
方向一：纯电动汽车整车研发
1. 研究内容：集成开发纯电动汽车新车型。
2. 考核指标：（1）至少研发出1款纯电动汽车新车型。（2）申请发明专利2件以上。（3）技术指标由申报单位根据项目实际情况设置。
3. 实施期限：不超过3年。
4. 补助方式：里程碑式补助。
5. 资助经费：不少于80万元。
"""


# --- people and organisations --------------------------------------------------------------------------


def uscc(body: str = "91450200MA5L00XY0") -> str:
    """A 统一社会信用代码 with its check character; characters 3–8 of the body give the city (450200 = 柳州市)."""
    return body + uscc_check_char(body)


def organisation(db: Session, *, credit_code: str | None = None, name: str = "柳州测试装备有限公司",
                 kind: str = "enterprise", now: datetime = NOW) -> Organisation:
    """An organisation registered by the admin (no account yet); by default the one project() would create."""
    org = organisations.create_organisation(db, uscc=credit_code or uscc(), name=name, kind=kind, actor=SYSTEM,
                                            now=now)
    db.commit()
    return org


def grantee(db: Session, org: Organisation, *, username: str | None = None, now: datetime = NOW) -> User:
    """A grantee account of the organisation, waiting for its activation (no password: no argon2 cost)."""
    user = accounts.create_user(db, username=username or f"g-{org.uscc.lower()}", password=None, role=Role.GRANTEE,
                                now=now, organisation=org, actor=SYSTEM)
    db.commit()
    return user


def officer(db: Session, *, username: str = "officer-b", programmes: Sequence = (), now: datetime = NOW) -> User:
    """An officer (no password) managing the given programmes."""
    user = accounts.create_user(db, username=username, password=None, role=Role.OFFICER, now=now, actor=SYSTEM)
    if programmes:
        accounts.assign_programmes(db, user, list(programmes), actor=SYSTEM, now=now)
    db.commit()
    return user


def assign(db: Session, officer: User, document: GuidelineDocument, *, now: datetime = NOW) -> None:
    """Add the document's programme to those the officer manages (keeping the others)."""
    if document.programme not in officer.programmes:
        accounts.assign_programmes(db, officer, [*officer.programmes, document.programme], actor=SYSTEM, now=now)


# --- guidelines --------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _read(name: str, data: bytes) -> Preview:
    """Reading a seed costs up to a quarter of a second: read each text once per run."""
    return prepare(name, data)


def _preview(name: str, data: bytes) -> Preview:
    cached = _read(name, data)
    # The stored rows keep the input's lists and dicts: every test gets its own copy.
    return Preview(cached.source, cached.parsed, cached.content_hash, copy.deepcopy(cached.document))


def seed_path(seed: str) -> Path:
    (path,) = SAMPLES.glob(f"{seed}_*.txt")
    return path


def guideline(db: Session, *, programme: str | None = None, text: str = GUIDELINE, seed: str | None = None,
              officer: User | None = None, now: datetime = NOW) -> GuidelineDocument:
    """The current document of a programme, read from `text` (the default guideline, titled `programme`) or from a
    seed file (`seed="004"`; the programme named after the file unless given). Importing the same bytes twice
    gives the same document; a changed text under the same programme is its next version. `officer` is assigned
    the programme."""
    if seed is not None:
        path = seed_path(seed)
        preview = _preview(path.name, path.read_bytes())
    else:
        programme = programme or "测试科技计划"
        data = f"{programme}\n\n{text}".encode()  # the title line makes each programme's file its own
        name = f"{programme}-{hashlib.sha256(data).hexdigest()[:8]}.txt"
        preview = _preview(name, data)
    document = store_preview(db, preview, actor=SYSTEM, now=now, programme_name=programme).document
    if officer is not None:
        assign(db, officer, document, now=now)
    db.commit()
    return document


_default_guideline = guideline  # project() has a parameter of that name


def direction(db: Session, document: GuidelineDocument, title: str = EVERY_KIND) -> GuidelineNode:
    """A leaf of the document by its title (the last part of a path is enough)."""
    title = title.split(" / ")[-1]
    return db.scalars(select(GuidelineNode).where(GuidelineNode.document_id == document.id,
                                                  GuidelineNode.is_leaf.is_(True), GuidelineNode.title == title)).one()


# --- projects ------------------------------------------------------------------------------------------------


def milestone_plan(project: Project) -> list[MilestoneInput]:
    """Two milestones sharing the fiscal funding: half at mid-term, half at the end."""
    half = project.fiscal_funding / 2 / 10000
    middle = project.start_date + (project.end_date - project.start_date) / 2
    return [MilestoneInput("中期节点：样机完成", middle.isoformat(), f"{half:f}", "第三方检测报告"),
            MilestoneInput("完成全部考核指标", project.end_date.isoformat(), f"{half:f}", "验收通过")]


def project(db: Session, *, guideline: GuidelineDocument | None = None, direction: str = EVERY_KIND,
            code: str = "BLD-1", title: str = "智能装备测试项目", organisation: Organisation | None = None,
            officer: User | None = None, start: date = START, end: date | None = None, months: int | None = None,
            fiscal: Decimal = Decimal("2000000"), self_funding: Decimal = Decimal("1000000"),
            funding_mode: str | None = None, content_items: Sequence[str] = (), confirmed: bool = False,
            pi_email: str | None = None,
            targets: Sequence[dict[str, str]] = (), milestones: list[MilestoneInput] | None = None,
            now: datetime = NOW) -> Project:
    """A project imported from an award list (money in yuan), its targets inherited from the direction.

    Without `organisation`, a new one (uscc()) and its grantee account come with the import; without
    `guideline`, the default one (assigned to `officer`). The end date follows the direction's period unless
    given. `confirmed=True` (or custom `targets`) confirms the task book as version 1, with the custom targets
    after the inherited ones and, for 里程碑式补助, `milestones` (default: milestone_plan). `pi_email` is the
    contact address of the award list (a new organisation's grantee account gets it too)."""
    if guideline is None:
        guideline = _default_guideline(db, officer=officer, now=now)
    elif officer is not None:
        assign(db, officer, guideline, now=now)
    row = ProjectInput(
        row=2, project_code=code, title=title, direction=direction, content_items=tuple(content_items),
        organisation_name=organisation.name if organisation else "柳州测试装备有限公司",
        uscc=organisation.uscc if organisation else uscc(), pi_name="李工", pi_phone=None, pi_email=pi_email,
        officer=officer.username if officer else None, start_date=start, end_date=end, period_months=months,
        fiscal_funding=Decimal(fiscal), self_funding=Decimal(self_funding), funding_mode=funding_mode)
    result = import_projects(db, [row], guideline, actor=SYSTEM, now=now)
    assert result.ok and result.created, [str(p) for p in result.problems] or f"{code} exists already"
    made = result.created[0]
    if confirmed or targets or milestones:
        plan = milestones if milestones is not None or not made.is_milestone_funded else milestone_plan(made)
        confirm_task_book(db, made, [], list(targets), reason="", actor=SYSTEM, now=now, milestones=plan)
    db.commit()
    return made


def demo_project(db: Session, *, code: str = "RPT-1", programme: str = "报告测试计划", confirmed: bool = True,
                 now: datetime = NOW) -> Project:
    """A project the demo logins work on (they must exist: the demo_users fixture or `tracker demo`): the demo
    grantee's organisation, the demo officer's programme `programme` (the default guideline), the direction with
    one target of every kind (PATENTS … QUALITATIVE), from START to END, its task book confirmed unless asked."""
    org = db.scalar(select(Organisation).where(Organisation.uscc == DEMO_ORGANISATION_USCC))
    demo_officer = accounts.get_user_by_username(db, "officer")
    document = guideline(db, programme=programme, officer=demo_officer, now=now)
    return project(db, guideline=document, code=code, title="报告测试项目", organisation=org, officer=demo_officer,
                   confirmed=confirmed, now=now)


# --- reports --------------------------------------------------------------------------------------------------


def report_input(target_set: TargetSet, *, values: dict[int, ValueInput] | None = None,
                 evidence: Sequence[EvidenceInput] = (), funds: dict[str, str] | None = None,
                 narrative: str = "本季度按任务书计划推进各项研究工作。", edit_lock: int | None = None) -> ReportInput:
    """A report that can be submitted: every target answered (nothing achieved yet: 0, not done) unless `values`
    says otherwise, funds received and spent 0 万元 unless given."""
    typed: dict[int, ValueInput] = {}
    for target in target_set.targets:
        if is_per_year(target.unit, target.kind):
            typed[target.position] = ValueInput(year_value="0")
        elif target.kind == "cumulative":
            typed[target.position] = ValueInput(value="0")
        elif target.kind == "deliverable":
            typed[target.position] = ValueInput(done="0")
    typed.update(values or {})
    return ReportInput(values=typed, evidence=list(evidence),
                       funds=funds if funds is not None else {"fiscal_received": "0", "fiscal_spent": "0"},
                       narrative=narrative, edit_lock=edit_lock)


def _grantee_of(db: Session, project: Project) -> Actor:
    user = db.scalar(select(User).where(User.organisation_id == project.organisation_id,
                                        User.role == Role.GRANTEE.value).order_by(User.id).limit(1))
    return Actor.of(user) if user is not None else SYSTEM


def report(db: Session, project: Project, *, period: int = 1, status: str = "draft", data: ReportInput | None = None,
           values: dict[int, ValueInput] | None = None, evidence: Sequence[EvidenceInput] = (),
           funds: dict[str, str] | None = None, comment: str = "请补充佐证材料", by: User | None = None,
           reviewer: User | None = None, store: EvidenceStore | None = None, today: date | None = None,
           now: datetime = NOW) -> Report:
    """The project's report of `period` in `status` ("draft", "submitted", "accepted" or "returned" with `comment`),
    filled with `data` (whose edit_lock is the caller's), else report_input(values=, evidence=, funds=), saved
    over the period's draft if it has one. It needs a confirmed task book and an open period. Saved and submitted
    by `by` (default: the organisation's first grantee), reviewed by `reviewer` (default: the project's officer),
    on `today` (default: the day of `now`). Uploaded files need a `store`."""
    if status not in ("draft", "submitted", "accepted", "returned"):
        raise ValueError(f"no report status {status!r}")
    today = today or now.date()
    grantee = Actor.of(by) if by is not None else _grantee_of(db, project)
    decided_by = reviewer or project.officer
    checker = Actor.of(decided_by) if decided_by is not None else SYSTEM
    quarter = report_service.period_of(db, project, period, DUE_DAYS)
    if quarter is None:
        raise ValueError(f"{project.code} has no reporting period {period}")
    existing = report_service.reports_of(db, project).get(period)
    lock = existing.latest.edit_lock if existing is not None and existing.latest.is_draft else None
    if data is None:
        data = report_input(existing.latest.target_set if lock is not None else project.target_sets[-1],
                            values=values, evidence=evidence, funds=funds, edit_lock=lock)
    if store is None:
        if any(e.new_file is not None for e in data.evidence):
            raise ValueError("uploaded files need store=EvidenceStore(tmp_path / ...)")
        store = EvidenceStore(Path("/nonexistent/builders-evidence"))  # never written: no file in this report
    made = report_service.save_draft(db, project, quarter, data, actor=grantee, now=now, today=today,
                                     open_days=OPEN_DAYS, final_open_days=FINAL_OPEN_DAYS, store=store)
    if status != "draft":
        report_service.submit(db, project, quarter, edit_lock=made.latest.edit_lock, actor=grantee, now=now,
                              today=today, open_days=OPEN_DAYS, final_open_days=FINAL_OPEN_DAYS)
    if status in ("accepted", "returned"):
        report_service.review(db, made, decision=status, comment=comment if status == "returned" else "",
                              lock=made.lock, actor=checker, now=now)
    db.commit()
    return made


# --- acceptance ------------------------------------------------------------------------------------------------

# A day in the default project's acceptance window (END - 30 days to END + 6 months) with its final report open.
ACCEPTANCE_NOW = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
ACCEPTANCE_TODAY = ACCEPTANCE_NOW.date()
TINY_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def expert(db: Session, *, username: str = "expert-b", organisation: Organisation | None = None,
           email: str | None = None, now: datetime = NOW) -> User:
    """An expert account (no password), of `organisation` if given (conflicts of interest go by it)."""
    user = accounts.create_user(db, username=username, password=None, role=Role.EXPERT, now=now,
                                display_name=f"专家{username}", organisation=organisation,
                                email=email or f"{username}@example.org", actor=SYSTEM)
    db.commit()
    return user


def final_report(db: Session, project: Project, *, now: datetime = ACCEPTANCE_NOW) -> Report:
    """The project's last period's report (结题报告), submitted, on `now`."""
    last = report_service.project_periods(db, project, DUE_DAYS)[-1]
    return report(db, project, period=last.index, status="submitted", now=now)


def application(db: Session, project: Project, *, figures: dict[str, str] | None = None,
                now: datetime = ACCEPTANCE_NOW, store: EvidenceStore | None = None):
    """The project's acceptance application on `now` with its final report submitted first; the figures its rule
    needs (default: 50 万元 each) with an audit report."""
    from tracker.files.evidence import check_evidence_file
    from tracker.services import acceptance
    from tracker.services.business_settings import BusinessSettings

    if report_service.reports_of(db, project).get(report_service.project_periods(db, project, DUE_DAYS)[-1].index) \
            is None:
        final_report(db, project, now=now)
    needs = acceptance.figures_needed(project)
    typed = figures if figures is not None else {n.key: "50" for n in needs if n.required}
    evidence = [acceptance.EvidenceUpload("audit_report", check_evidence_file("审计报告.pdf", TINY_PDF))] \
        if any(n.required for n in needs) else []
    made = acceptance.apply(db, project, acceptance.ApplicationInput("各项任务已按任务书完成。", {}, typed, evidence),
                            actor=_grantee_of(db, project), now=now, today=now.date(), rules=BusinessSettings(),
                            store=store or EvidenceStore(Path(tempfile.mkdtemp(prefix="acceptance-evidence-"))))
    db.commit()
    return made


def meeting(db: Session, applications: Sequence, members: Sequence[User], *, by: User,
            now: datetime = ACCEPTANCE_NOW):
    """A committee for the applications, led by the first member, held the next day."""
    from datetime import timedelta

    from tracker.services import committees

    made = committees.form_meeting(db, by, committees.MeetingInput(
        "测试验收会", (now.date() + timedelta(days=1)).isoformat(), "南宁市科技大厦", [m.id for m in members],
        members[0].id, [a.id for a in applications]), actor=Actor.of(by), now=now, today=now.date())
    db.commit()
    return made


def check(db: Session, application, expert_user: User, *, agrees: bool = True, recommendation: str = "passed",
          now: datetime = ACCEPTANCE_NOW):
    """An expert's check agreeing (or not) with every target."""
    from tracker.services import committees

    items = {t.id: committees.ItemInput("1" if agrees else "0", "" if agrees else "佐证不足")
             for t in application.target_set.targets}
    made = committees.submit_check(db, application, expert_user, items, opinion="同意通过验收。",
                                   recommendation=recommendation, actor=Actor.of(expert_user), now=now)
    db.commit()
    return made
