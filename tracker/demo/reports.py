"""Report histories for the demo projects (DESIGN §4 `tracker demo`: "projects at every stage with report histories").

Everything goes through `tracker.services.reports` exactly as the form would: drafts saved, submitted (frozen and
hashed), accepted or returned with a comment, resubmitted, corrected. Only the moments are made up: each step is
given the day it happened in the story (`today` = that day, so the period is open; `now` = that moment), so
`first_submitted_at` lies before or after the due date as the story needs and the audit log shows the history.

The stories, spread over the projects so that every one exists at least once: on time and accepted (most);
late; returned with an officer's comment, then resubmitted and accepted; returned and not yet resubmitted; the
newest period still a draft, or submitted and waiting in the officer's queue; periods never reported (overdue);
behind target (cumulative values growing far too slowly, one drop explained); ahead of target; a correction of an
earlier period accepted later; reported for a while and then stopped, before a termination. The projects whose
course reaches acceptance (tracker/demo/projects.py `Course.acceptance`) have stories of their own: every report
accepted up to the final one, and every numeric target met by then ("complete"), or far short of them.

A history begins after the officer confirmed the task book and a terminated project's ends with its termination
(tracker/demo/projects.py gives each project its course).

Deterministic: one `random.Random` per project, seeded by its code, and the stories assigned in project order;
the same `now` on a fresh database gives the same histories. Projects that already have reports are left alone.
Every project gets its history. The default demo's go through the report service, call by call; at scale
(`tracker demo --projects N`) the same stories are recorded by tracker/demo/bulk.py as the rows the service would
write and inserted together (a history through the service costs a few dozen calls per period, about 0.4 s a
project).
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any, Protocol

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from indicators.assessment.progress import is_per_year, project_year
from indicators.workdays import ReportingPeriod, reporting_periods
from tracker import clock
from tracker.demo.projects import course_for
from tracker.files.evidence import check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.models import (
    EvidenceFile,
    Project,
    ProjectChange,
    ProjectStatus,
    ProjectTarget,
    Report,
    ReportStatus,
    ReportVersion,
    Role,
    TargetSet,
    User,
)
from tracker.services import reports as service
from tracker.services.audit import Actor
from tracker.services.reports import EvidenceInput, ReportInput, ValueInput
from tracker.services.work_calendar import load_calendar

# (stage, done, total): how far a long step has come, for the command's progress line (total 0: unknown).
Progress = Callable[[str, int, int], None]

# Projects that no longer report but did: their histories run up to the last period due.
REPORTED_BEFORE = frozenset({ProjectStatus.UNDER_ACCEPTANCE, ProjectStatus.PASSED, ProjectStatus.FAILED,
                             ProjectStatus.CONCLUDED, ProjectStatus.TERMINATED})
COUNT_UNITS = frozenset({"件", "项", "篇", "人", "名", "个", "款", "套", "种", "份", "人次", "条", "类", "家", "次",
                         "台", "座", "批", "部", "本", "株", "户", "场", "期", "门", "通道", "家次"})
WAN = Decimal(10_000)
CENT = Decimal("0.01")
MAX_ITEMS_PER_TARGET = 4  # identifiers listed per target per report (the narrative covers the rest)

RETURN_COMMENTS = {
    "patent": "专利申请号与受理通知书不一致，请核对后重新提交",
    "funds": "财政资金累计支出与财务台账不一致，请核对后重新填报",
    "level": "性能指标实测值缺少检测报告，请补充第三方检测报告后重新提交",
    "narrative": "进展情况过于简略，请补充本季度完成的具体工作并附现场照片",
}
_WORK = ("关键工艺参数优化试验", "样机总体方案设计与评审", "核心算法模型训练与验证", "中试生产线设备安装调试",
         "第三方检测机构的性能测试", "示范应用场景的现场部署", "用户需求调研与系统联调", "原材料配方筛选与小批量试制")
_DETAIL = ("进度符合任务书安排", "阶段性成果已通过项目组内部评审", "相关试验数据已整理归档",
           "与合作单位召开了两次技术推进会", "形成阶段性技术报告一份")
_PROBLEMS = ("部分进口元器件到货周期延长，影响样机装配进度。", "核心技术人员有所流动，新进人员仍在熟悉工作。",
             "中试验证所需的检测设备排期紧张。", "暂无重大问题。", "配套资金到位略有滞后，已与合作单位协调。")
_PROBLEMS_BEHIND = ("关键技术路线验证未达预期，需调整试验方案，进度滞后于任务书安排。",
                    "合作企业生产线改造推迟，示范应用未能按期开展。",
                    "专利撰写与申请进度慢于计划，部分成果尚在整理。")
_NEXT = ("下季度将完成样机性能测试并提交专利申请。", "继续推进中试验证，组织阶段性技术评审。",
         "开展示范应用推广，收集用户反馈并优化系统。", "加快成果转化，推进与下游企业的合作洽谈。")
_NEXT_FINAL = "整理全部考核指标的佐证材料，按期提出验收申请。"
_NOTES = ("正在推进，尚无可量化的成效。", "已在合作企业开展试用，成效初步显现。", "已形成可推广的应用成果，成效明显。")
_DROP = "1名核心技术人员离职，已启动补充招聘"


# --- the stories ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Template:
    name: str
    min_periods: int
    trajectory: str  # on_track / ahead / behind / complete
    newest: str = "accepted"  # accepted / submitted / late_submitted / draft / returned / missing
    late: int = 0  # how many earlier periods are late (the newest one too for "late_awaiting")
    returned_fixed: int = 0
    gap: bool = False  # a period in the middle never reported
    correction: bool = False
    drop: bool = False  # one cumulative count goes down, with its explanation


# Each round gives these stories to the next projects with enough periods due; then a new round starts.
_ROUND = (
    _Template("awaiting", 1, "on_track", newest="submitted"),
    _Template("returned_open", 1, "on_track", newest="returned"),
    _Template("draft", 1, "on_track", newest="draft"),
    _Template("correction", 3, "on_track", correction=True),
    _Template("behind_overdue", 3, "behind", newest="missing", gap=True),
    _Template("late_returned", 2, "on_track", late=1, returned_fixed=1),
    _Template("ahead", 2, "ahead", newest="submitted"),
    _Template("behind", 3, "behind", late=2, drop=True),
    _Template("late_awaiting", 2, "on_track", newest="late_submitted", late=1),
    _Template("on_track", 1, "on_track"),
)
_PLAIN = _Template("on_track", 1, "on_track")
# The stories of the projects that reach acceptance (tracker/demo/projects.py `Course.acceptance`): every report
# accepted up to the last one due, the final report included, and every numeric target met by then; or, for the
# projects that are not ready and those the committee fails or concludes, far behind.
_COMPLETE = _Template("complete", 1, "complete")
_SHORT = _Template("short", 1, "behind")
_ACCEPTANCE_STORIES = {"ready": _COMPLETE, "not_ready": _SHORT, "to_apply": _COMPLETE, "applied": _COMPLETE,
                       "checking": _COMPLETE, "checked": _COMPLETE, "to_decide": _COMPLETE, "passed": _COMPLETE,
                       "corrected": _COMPLETE, "failed": _SHORT, "concluded": _SHORT}


class _Stories:
    def __init__(self) -> None:
        self.remaining = list(_ROUND)

    def next_for(self, due_count: int) -> _Template:
        for template in self.remaining:
            if template.min_periods <= due_count:
                self.remaining.remove(template)
                if not self.remaining:
                    self.remaining = list(_ROUND)
                return template
        return _PLAIN


@dataclass
class _Plan:
    template: _Template
    roles: dict[int, str]  # period index → accepted / late / returned_fixed / returned / submitted / draft / gap
    correction: int | None = None  # the period whose accepted report is corrected after the next one is accepted
    drop_at: int | None = None


def _plan(project: Project, due: list[ReportingPeriod], stories: _Stories, rng: random.Random,
          acceptance: str = "") -> _Plan:
    n = len(due)
    status = project.status
    if status == ProjectStatus.TERMINATED:
        template = _Template("terminated", 1, "behind")
    elif acceptance in _ACCEPTANCE_STORIES:
        template = _ACCEPTANCE_STORIES[acceptance]
    else:
        template = stories.next_for(n)
    indices = [p.index for p in due]
    roles = dict.fromkeys(indices, "accepted")
    if status == ProjectStatus.TERMINATED:  # reported for a while, then stopped, before it was terminated
        for index in indices[max(1, (n + 1) // 2):]:
            roles[index] = "stopped"
    newest = indices[-1]
    forced: set[int] = set()
    if template.newest != "accepted":
        roles[newest] = "gap" if template.newest == "missing" else template.newest
        forced.add(newest)
    if template.gap and n >= 3:
        roles[indices[n // 2]] = "gap"
        forced.add(indices[n // 2])
    plan = _Plan(template, roles)
    if template.correction and n >= 3:
        plan.correction = indices[-3]
        forced.update(indices[-3:])
    if template.drop and n >= 3:
        plan.drop_at = indices[-2]
    earlier = [i for i in indices[:-1] if i not in forced and roles[i] == "accepted"]
    for index in rng.sample(earlier, min(template.returned_fixed, len(earlier))):
        roles[index] = "returned_fixed"
        forced.add(index)
    earlier = [i for i in earlier if i not in forced]
    for index in rng.sample(earlier, min(template.late, len(earlier))):
        roles[index] = "late"
        forced.add(index)
    for index in indices:  # a sprinkle of late and returned reports everywhere else
        if roles[index] == "accepted" and index not in forced and index != newest:
            draw = rng.random()
            roles[index] = "late" if draw < 0.1 else "returned_fixed" if draw < 0.17 else "accepted"
    return plan


# --- values -----------------------------------------------------------------------------------------


def _txt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != 0 else "0"


def _integral(target: ProjectTarget) -> bool:
    unit = (target.unit or "").split("/")[0]
    return unit in COUNT_UNITS and target.value is not None and target.value == target.value.to_integral_value()


def _amount(x: float, integral: bool) -> Decimal:
    if integral:
        return Decimal(math.floor(x + 1e-9))
    return Decimal(repr(max(x, 0.0))).quantize(CENT, rounding=ROUND_DOWN)


def _round_sig(x: float, digits: int = 4) -> Decimal:
    if x == 0:
        return Decimal(0)
    exponent = max(math.floor(math.log10(abs(x))) - digits + 1, -6)
    if exponent >= 0:
        return Decimal(round(x))
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


_MULTIPLIER = {"on_track": (1.0, 1.15), "ahead": (1.3, 1.6), "behind": (0.15, 0.35), "complete": (1.0, 1.25)}


def _needed(target: ProjectTarget, integral: bool) -> Decimal:
    value = target.value or Decimal(0)
    if target.op == ">":
        return value + 1 if integral else (value * Decimal("1.02")).quantize(CENT, rounding=ROUND_HALF_UP) + CENT
    return value


def _cumulative(target: ProjectTarget, fracs: list[float], trajectory: str, rng: random.Random,
                must_meet: bool) -> list[Decimal]:
    total = float(target.value or 1)
    integral = _integral(target)
    low, high = _MULTIPLIER[trajectory]
    mult = rng.uniform(low, high)
    out: list[Decimal] = []
    previous = Decimal(0)
    for i, frac in enumerate(fracs):
        shape = min(1.0, frac * 1.5) if trajectory == "ahead" else frac
        noise = 1.0 if i == len(fracs) - 1 else rng.uniform(0.85, 1.05)
        value = max(previous, _amount(total * mult * shape * noise, integral))
        out.append(value)
        previous = value
    if must_meet and out:
        out[-1] = max(out[-1], _needed(target, integral))
    return out


def _per_year(target: ProjectTarget, project: Project, due: list[ReportingPeriod], trajectory: str,
              rng: random.Random, must_meet: bool) -> list[tuple[Decimal, Decimal]]:
    """(cumulative since the start, the current project year's value so far) per period."""
    rate = float(target.value or 1)
    integral = _integral(target)
    low, high = _MULTIPLIER[trajectory]
    mult = rng.uniform(low, high)
    out: list[tuple[Decimal, Decimal]] = []
    total = Decimal(0)
    year_values: dict[int, Decimal] = {}
    for i, period in enumerate(due):
        year = project_year(project.start_date, period.end)
        ramp = 0.6 if year == 1 and trajectory != "ahead" else 1.05
        days = (period.end - period.start).days + 1
        increment = _amount(rate * mult * ramp * days / 365 * rng.uniform(0.9, 1.1), integral)
        ytd = year_values.get(year, Decimal(0)) + increment
        if must_meet and i == len(due) - 1 and max([ytd, *year_values.values()]) < _needed(target, integral):
            ytd = _needed(target, integral) + (1 if integral else Decimal("0.5"))
            increment = ytd - year_values.get(year, Decimal(0))
        year_values[year] = ytd
        total += increment
        out.append((total, ytd))
    return out


def _level(target: ProjectTarget, fracs: list[float], trajectory: str) -> list[Decimal | None]:
    """The best measurement to date per period (None: not measured yet, or not reportable)."""
    if target.value is None or target.op not in (">=", ">", "<=", "<", "=="):
        return [None] * len(fracs)
    goal = float(target.value)
    signed = service.may_be_negative(target)
    speed = {"on_track": 1.0, "complete": 1.0, "ahead": 1.6, "behind": 0.5}[trajectory]
    size = abs(goal) or 1.0
    integral = _integral(target)
    out: list[Decimal | None] = []
    best: Decimal | None = None
    for i, frac in enumerate(fracs):
        p = min(1.0, frac * speed)
        if i == 0 and frac < 0.5 and len(fracs) > 1:  # nothing measured in the 1st quarter
            out.append(None)
            continue
        if target.op in (">=", ">"):
            margin = size * 0.02
            if target.unit == "%" and goal < 100:
                margin = min(margin, (100 - goal) / 2)
            x = goal - size * 0.4 * (1 - p) + (margin if p >= 1 else 0)
        elif target.op in ("<=", "<"):
            x = goal + size * 0.5 * (1 - p) - (size * 0.05 if p >= 1 else 0)
        else:
            x = goal * (1 + 0.1 * (1 - p)) if goal else (1 - p)
        if (x < 0 or (x == 0 and target.op == "<")) and not signed:
            out.append(best)
            continue
        value = Decimal(round(x)) if integral else _round_sig(x)
        if integral and target.op == ">" and p >= 1:
            value = Decimal(math.floor(goal) + 1)
        if best is not None and target.op in (">=", ">"):
            value = max(best, value)
        elif best is not None and target.op in ("<=", "<"):
            value = min(best, value)
        best = value
        out.append(value)
    return out


def _met(target: ProjectTarget, value: Decimal | None) -> bool:
    if value is None or target.value is None:
        return False
    return {">=": value >= target.value, ">": value > target.value, "<=": value <= target.value,
            "<": value < target.value, "==": value == target.value}.get(target.op or "", False)


# --- evidence ---------------------------------------------------------------------------------------


_APPLICATION_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def patent_application_number(year: int, kind: int, serial: int) -> str:
    """A CNIPA application number with its check character (weighted sum mod 11; 10 is `X`)."""
    digits = f"{year:04d}{kind}{serial:07d}"
    remainder = sum(int(d) * w for d, w in zip(digits, _APPLICATION_WEIGHTS, strict=True)) % 11
    return f"{digits}.{'X' if remainder == 10 else remainder}"


class _Identifiers:
    """Distinct, well-formed identifiers for one project."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def application(self, year: int, kind: int = 1) -> str:
        return self._unique(lambda: patent_application_number(year, kind, self.rng.randrange(100_000, 9_999_999)))

    def grant(self, year: int, kind: int = 1) -> str:
        return "ZL" + self.application(year - self.rng.randint(1, 2), kind)

    def software(self, year: int) -> str:
        return self._unique(lambda: f"{year}SR0{self.rng.randrange(100_000, 999_999)}")

    def standard(self, year: int) -> str:
        return self._unique(lambda: self.rng.choice((f"T/GXAS {self.rng.randint(100, 999)}-{year}",
                                                     f"DB45/T {self.rng.randint(2000, 2999)}-{year}")))

    def doi(self, year: int) -> str:
        return self._unique(lambda: f"10.{self.rng.choice(('3969', '16085', '13373', '11896'))}/"
                                    f"j.issn.{self.rng.randint(1000, 1999)}-{self.rng.randint(1000, 9999)}."
                                    f"{year}.{self.rng.randint(1, 12):02d}.{self.rng.randint(1, 200):03d}")

    def free(self, prefix: str, year: int) -> str:
        return self._unique(lambda: f"{prefix}{year}-{self.rng.randint(1, 9999):04d}")


def _ip_items(target: ProjectTarget, count: int, year: int, ids: _Identifiers) -> list[EvidenceInput]:
    """Evidence for `count` new outputs of an IP, standard or paper target (none for other categories)."""
    metric = target.metric
    items = []
    for i in range(min(count, MAX_ITEMS_PER_TARGET)):
        if target.category == "patent_application":
            kind, identifier, what = "patent_application", ids.application(year), "发明专利申请受理"
        elif target.category == "patent_grant":
            kind, identifier, what = "patent_grant", ids.grant(year), "发明专利授权"
        elif target.category == "ip_other" and "实用新型" in metric:
            kind, identifier, what = "patent_grant", ids.grant(year, 2), "实用新型专利授权"
        elif target.category == "ip_other" or (target.category == "ip_any" and i % 2):
            kind, identifier, what = "software_copyright", ids.software(year), "软件著作权登记"
        elif target.category == "ip_any":
            kind, identifier, what = "patent_grant", ids.grant(year, 2), "实用新型专利授权"
        elif target.category == "standard":
            kind, identifier, what = "standard", ids.standard(year), "标准发布"
        elif target.category == "paper":
            kind, identifier, what = "doi", ids.doi(year), "论文发表"
        else:
            return []
        items.append(EvidenceInput(kind=kind, identifier=identifier, description=f"{what}（{metric[:40]}）",
                                   target=str(target.position)))
    return items


def _png(label: str, seed: int) -> bytes:
    rng = random.Random(f"{label}:{seed}")
    image = Image.new("RGB", (160, 120), (236, 240, 244))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randint(0, 120), rng.randint(0, 80)
        draw.rectangle((x, y, x + rng.randint(10, 40), y + rng.randint(10, 40)),
                       fill=(rng.randint(20, 200), rng.randint(60, 200), rng.randint(100, 230)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _pdf(label: str) -> bytes:
    return (b"%PDF-1.4\n% " + label.encode("ascii") + b"\n1 0 obj << /Type /Catalog >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


# --- one project's history ------------------------------------------------------------------------


class _Backend(Protocol):
    """Where a history's steps go: the report service (`_ServiceBackend`), or the bulk writer's recorder
    (tracker/demo/bulk.py), which keeps the rows the service would write and inserts them all at the end."""

    def save(self, period: ReportingPeriod, data: ReportInput, *, now: datetime, today: date) -> Any: ...
    def submit(self, period: ReportingPeriod, report: Any, *, now: datetime, today: date) -> Any: ...
    def review(self, report: Any, decision: str, comment: str, *, now: datetime) -> None: ...
    def revise(self, report: Any, *, now: datetime, today: date) -> Any: ...
    def report_at(self, index: int) -> Any: ...


@dataclass
class _ServiceBackend:
    db: Session
    project: Project
    grantee: Actor
    officer: Actor
    store: EvidenceStore
    open_days: int

    def save(self, period: ReportingPeriod, data: ReportInput, *, now: datetime, today: date) -> Report:
        return service.save_draft(self.db, self.project, period, data, actor=self.grantee, now=now, today=today,
                                  open_days=self.open_days, store=self.store)

    def submit(self, period: ReportingPeriod, report: Report, *, now: datetime, today: date) -> Report:
        return service.submit(self.db, self.project, period, edit_lock=report.latest.edit_lock, actor=self.grantee,
                              now=now, today=today, open_days=self.open_days)

    def review(self, report: Report, decision: str, comment: str, *, now: datetime) -> None:
        service.review(self.db, report, decision=decision, comment=comment, lock=report.lock, actor=self.officer,
                       now=now)

    def revise(self, report: Report, *, now: datetime, today: date) -> ReportVersion:
        return service.start_revision(self.db, self.project, report, lock=report.lock, actor=self.grantee, now=now,
                                      today=today, open_days=self.open_days)

    def report_at(self, index: int) -> Report:
        return service.reports_of(self.db, self.project)[index]



@dataclass
class _History:
    project: Project
    due: list[ReportingPeriod]
    plan: _Plan
    rng: random.Random
    backend: _Backend
    today: date
    since: datetime | None = None  # the task book's confirmation: every step comes after it
    ids: _Identifiers = field(init=False)
    targets: list[ProjectTarget] = field(init=False)
    series: dict[int, list] = field(init=False)  # target position → the planned value per due period
    fund_rows: list[dict[str, str]] = field(init=False)
    carried: dict[int, EvidenceInput] = field(default_factory=dict)  # deliverable position → its evidence
    level_reported: set[int] = field(default_factory=set)  # level targets whose test report is on file
    clock: datetime | None = None  # the last moment used, so a period never starts before the previous ended
    correction_data: ReportInput | None = None  # what the corrected period should have said
    correction_note: str = ""

    def __post_init__(self) -> None:
        self.clock = self.since
        self.ids = _Identifiers(self.rng)
        self.targets = list(self.project.target_sets[-1].targets)
        self.series = self._series()
        self.fund_rows = self._fund_series()

    # -- the planned values

    def _fracs(self) -> list[float]:
        start, end = self.project.start_date, self.project.end_date
        length = (end - start).days + 1
        fracs = [min(1.0, ((p.end - start).days + 1) / length) for p in self.due]
        if self.plan.template.trajectory == "complete":
            fracs = [f / fracs[-1] for f in fracs]
        return fracs

    def _series(self) -> dict[int, list]:
        fracs = self._fracs()
        trajectory = self.plan.template.trajectory
        must_meet = trajectory == "complete" or (trajectory in ("on_track", "ahead") and fracs[-1] >= 1)
        series: dict[int, list] = {}
        for target in self.targets:
            if target.kind == "cumulative" and is_per_year(target.unit, target.kind):
                series[target.position] = _per_year(target, self.project, self.due, trajectory, self.rng, must_meet)
            elif target.kind == "cumulative":
                values = _cumulative(target, fracs, trajectory, self.rng, must_meet)
                series[target.position] = values
            elif target.kind == "level":
                series[target.position] = _level(target, fracs, trajectory)
            elif target.kind == "deliverable":
                threshold = {"complete": 0.99, "on_track": 0.85, "ahead": 0.6, "behind": 2.0}[trajectory]
                series[target.position] = [f >= threshold for f in fracs]
            else:
                series[target.position] = [_NOTES[min(2, int(f * 2.5))] for f in fracs]
        if self.plan.drop_at is not None:
            self._drop(series)
        return series

    def _drop(self, series: dict[int, list]) -> None:
        """One cumulative count goes down by one at `drop_at` (someone counted last quarter left; explained in
        the report). A head count is preferred."""
        at = [p.index for p in self.due].index(self.plan.drop_at)
        counts = [t for t in self.targets
                  if t.kind == "cumulative" and not is_per_year(t.unit, t.kind) and _integral(t)]
        counts.sort(key=lambda t: t.category != "talent")
        if not counts or at < 1:
            return
        values = series[counts[0].position]
        values[at - 1] = max(values[at - 1], values[at] + 1)

    # -- building one period's input

    def _input(self, i: int, period: ReportingPeriod, day: date) -> ReportInput:
        values: dict[int, ValueInput] = {}
        evidence: list[EvidenceInput] = []
        required: list[EvidenceInput] = []  # a deliverable marked done needs its evidence
        outputs: list[str] = []
        for target in self.targets:
            planned = self.series[target.position][i]
            previous = self.series[target.position][i - 1] if i else None
            if target.kind == "cumulative" and is_per_year(target.unit, target.kind):
                total, ytd = planned
                values[target.position] = ValueInput(value=_txt(total), year_value=_txt(ytd))
            elif target.kind == "cumulative":
                explanation = ""
                if previous is not None and planned < previous:
                    explanation = _DROP
                values[target.position] = ValueInput(value=_txt(planned), explanation=explanation)
                new = int(planned - (previous or 0)) if previous is None or planned > previous else 0
                items = _ip_items(target, new, period.end.year, self.ids)
                evidence.extend(items)
                if new > 0 and target.category not in ("revenue",):
                    outputs.append(f"{target.metric[:16]}{new}{(target.unit or '').split('/')[0]}")
                if target.category == "revenue" and previous is not None and planned > previous and i % 2:
                    evidence.append(EvidenceInput(kind="contract", identifier=self.ids.free("GXHT-", day.year),
                                                  description="产品销售合同", target=str(target.position)))
            elif target.kind == "level":
                measured = "" if planned is None else _txt(planned)
                values[target.position] = ValueInput(value=measured, note="" if measured else "尚未测得")
                if planned is not None and _met(target, planned) and target.position not in self.level_reported:
                    self.level_reported.add(target.position)
                    evidence.append(self._test_report(target, day))
            elif target.kind == "deliverable":
                values[target.position] = ValueInput(done="1" if planned else "0")
                if planned:
                    required.append(self._deliverable_evidence(target, day))
            else:
                values[target.position] = ValueInput(note=planned)
        behind = self.plan.template.trajectory == "behind"
        narrative = (f"{period.label}，项目组开展了{self.rng.choice(_WORK)}，{self.rng.choice(_DETAIL)}。"
                     + (f"本期新增{'、'.join(outputs[:3])}。" if outputs else ""))
        problems = self.rng.choice(_PROBLEMS_BEHIND if behind else _PROBLEMS)
        next_steps = _NEXT_FINAL if period.is_final else self.rng.choice(_NEXT)
        evidence = required + evidence[:service.MAX_EVIDENCE - len(required)]
        return ReportInput(values=values, evidence=evidence, funds=dict(self.fund_rows[i]), narrative=narrative,
                           problems=problems, next_steps=next_steps)

    def _deliverable_evidence(self, target: ProjectTarget, day: date) -> EvidenceInput:
        carried = self.carried.get(target.position)
        if carried is not None:
            return carried
        name = f"{target.metric[:20]}完成证明.pdf"
        checked = check_evidence_file(name, _pdf(f"demo {self.project.code} deliverable {target.position}"))
        return EvidenceInput(kind="certificate", identifier=self.ids.free("GXYS-", day.year),
                             description=f"{target.metric[:60]}完成证明", target=str(target.position),
                             new_file=checked)

    def _test_report(self, target: ProjectTarget, day: date) -> EvidenceInput:
        checked = check_evidence_file("第三方检测报告.pdf", _pdf(f"demo {self.project.code} test {target.position}"))
        return EvidenceInput(kind="certificate", identifier=self.ids.free("GXJC", day.year),
                             description=f"{target.metric[:40]}检测报告", target=str(target.position),
                             new_file=checked)

    def _fund_series(self) -> list[dict[str, str]]:
        project = self.project
        fiscal = project.fiscal_funding / WAN
        own = project.self_funding / WAN
        modes = ((project.funding_rule or {}).get("rule") or {}).get("modes") or []
        post = "后补助" in (project.funding_mode or "") or "后补助" in modes
        pace = {"behind": 0.45, "on_track": 0.95, "ahead": 1.05, "complete": 1.0}[self.plan.template.trajectory]
        start, end = project.start_date, project.end_date
        length = (end - start).days + 1
        rows = []
        last = dict.fromkeys(service.FUND_FIELDS, Decimal(0))
        for period in self.due:
            elapsed = min(1.0, ((period.end - start).days + 1) / length)
            if self.plan.template.trajectory == "complete" and period is self.due[-1]:
                elapsed = 1.0
            if post:
                share = Decimal(0)
            elif project.is_milestone_funded:
                share = Decimal("0.5") if elapsed >= 0.5 else Decimal(0)
            else:
                share = Decimal("0.6") if elapsed < 0.5 else Decimal(1)
            received = (fiscal * share).quantize(CENT, rounding=ROUND_DOWN)
            spent = (fiscal * Decimal(repr(min(1.0, elapsed * pace)))).quantize(CENT, rounding=ROUND_DOWN)
            own_received = (own * Decimal(repr(min(1.0, elapsed * 1.1 * pace)))).quantize(CENT, rounding=ROUND_DOWN)
            if pace >= 0.95:  # a grantee on track raises its share as the fiscal money arrives (the matching ratio)
                own_received = max(own_received, (own * share).quantize(CENT, rounding=ROUND_UP))
            own_spent = (own_received * Decimal("0.9")).quantize(CENT, rounding=ROUND_DOWN)
            row = {"fiscal_received": max(last["fiscal_received"], received)}
            row["fiscal_spent"] = min(max(last["fiscal_spent"], spent), row["fiscal_received"])
            row["self_received"] = max(last["self_received"], own_received)
            row["self_spent"] = min(max(last["self_spent"], own_spent), row["self_received"])
            last = row
            rows.append({name: _txt(value) for name, value in row.items()})
        return rows

    # -- flawed first versions (returned) and understated ones (corrected later)

    def _flawed(self, data: ReportInput, day: date) -> tuple[ReportInput, ReportInput, str]:
        """(what was first submitted, what the fixed version says, the officer's comment)."""
        options = []
        if any(e.kind == "patent_application" for e in data.evidence):
            options.append("patent")
        levels = [t for t in self.targets if t.kind == "level" and data.values[t.position].value]
        if levels:
            options.append("level")
        spent = Decimal(data.funds["fiscal_spent"])
        if spent > 0 and spent * Decimal("1.1") <= Decimal(data.funds["fiscal_received"]):
            options.append("funds")
        options.append("narrative")
        why = self.rng.choice(options)
        fixed = data
        if why == "patent":
            i = next(i for i, e in enumerate(data.evidence) if e.kind == "patent_application")
            filed = int(data.evidence[i].identifier[:4])  # a number of the same year, with a valid check digit
            wrong = replace(data.evidence[i], identifier=self.ids.application(filed))
            first = replace(data, evidence=[*data.evidence[:i], wrong, *data.evidence[i + 1:]])
        elif why == "level":
            target = levels[0]
            if any(e.target == str(target.position) and e.new_file is not None for e in data.evidence):
                first = replace(data, evidence=[e for e in data.evidence if e.target != str(target.position)
                                                or e.new_file is None])
            else:
                fixed = replace(data, evidence=[*data.evidence, self._test_report(target, day)])
                first = data
        elif why == "funds":
            # Overstated (a lower figure could fall below the last accepted one, which the service refuses).
            spent = Decimal(data.funds["fiscal_spent"])
            wrong = (spent * Decimal("1.1")).quantize(CENT, rounding=ROUND_DOWN)
            if wrong == spent or wrong > Decimal(data.funds["fiscal_received"]):
                return self._narrative_flaw(data)
            first = replace(data, funds={**data.funds, "fiscal_spent": _txt(wrong)})
        else:
            return self._narrative_flaw(data)
        return first, fixed, RETURN_COMMENTS[why]

    def _narrative_flaw(self, data: ReportInput) -> tuple[ReportInput, ReportInput, str]:
        photo = check_evidence_file("现场照片.png", _png(self.project.code, len(self.ids.used)))
        fixed = replace(data, narrative=data.narrative + "已附现场工作照片。",
                        evidence=[*data.evidence, EvidenceInput(kind="file", description="现场工作照片",
                                                                new_file=photo)])
        first = replace(data, narrative="本季度项目按计划推进。")
        return first, fixed, RETURN_COMMENTS["narrative"]

    def _understated(self, data: ReportInput, i: int) -> ReportInput:
        """The first accepted report of a period that is corrected later: one output too few (or, without a
        countable output, the self-raised spending understated)."""
        for target in self.targets:
            if target.kind != "cumulative" or is_per_year(target.unit, target.kind) or not _integral(target):
                continue
            planned = self.series[target.position][i]
            previous = self.series[target.position][i - 1] if i else Decimal(0)
            if planned - previous >= 1:
                values = {**data.values, target.position: replace(data.values[target.position],
                                                                  value=_txt(planned - 1))}
                own = [j for j, e in enumerate(data.evidence) if e.target == str(target.position) and e.identifier]
                evidence = [e for j, e in enumerate(data.evidence) if not own or j != own[-1]]
                self.correction_note = f"（更正：原报送的“{target.metric[:20]}”少报1项，现按证明材料更正。）"
                return replace(data, values=values, evidence=evidence)
        floor = Decimal(self.fund_rows[i - 1]["self_spent"]) if i else Decimal(0)
        spent = Decimal(data.funds["self_spent"])
        wrong = max(floor, (spent * Decimal("0.8")).quantize(CENT, rounding=ROUND_DOWN))
        self.correction_note = "（更正：原报送的自筹资金累计支出漏计部分设备采购款，现按财务台账更正。）"
        return replace(data, funds={**data.funds, "self_spent": _txt(wrong)})

    # -- the moments

    def _moment(self, day: date) -> datetime:
        at = datetime.combine(day, time(9, 0), tzinfo=clock.LOCAL_TZ) + timedelta(minutes=self.rng.randint(0, 480))
        at = at.astimezone(UTC)
        if self.clock is not None and at <= self.clock:
            at = self.clock + timedelta(minutes=self.rng.randint(20, 90))
        self.clock = at
        return at

    def _in_past(self, day: date) -> bool:
        return day < self.today

    # -- the steps (through the report service, or recorded for the bulk writer: `backend`)

    def _save(self, period: ReportingPeriod, data: ReportInput, day: date, *, lock: int | None = None) -> Report:
        return self.backend.save(period, replace(data, edit_lock=lock), now=self._moment(day), today=day)

    def _submit(self, period: ReportingPeriod, report: Report, day: date) -> Report:
        return self.backend.submit(period, report, now=self._moment(day), today=day)

    def _review(self, report: Report, decision: str, day: date, comment: str = "") -> None:
        self.backend.review(report, decision, comment, now=self._moment(day))

    def _revise(self, report: Report, day: date) -> ReportVersion:
        return self.backend.revise(report, now=self._moment(day), today=day)

    def _remember(self, report: Report) -> None:
        """Deliverable evidence is carried into later reports by the stored file, not uploaded again."""
        for item in report.latest.evidence:
            target = item.target
            if target is not None and target.kind == "deliverable" and target.position not in self.carried:
                self.carried[target.position] = EvidenceInput(kind=item.kind, identifier=item.identifier,
                                                              description=item.description,
                                                              target=str(target.position), file_id=item.file_id)

    def run(self) -> None:
        rng = self.rng
        for i, period in enumerate(self.due):
            role = self.plan.roles[period.index]
            if role in ("gap", "stopped"):
                continue
            late = role in ("late", "late_submitted")
            submit_day = (period.due + timedelta(days=rng.randint(3, 25)) if late
                          else period.due - timedelta(days=rng.randint(0, 9)))
            if self.clock is not None:
                submit_day = max(submit_day, clock.local(self.clock).date() + timedelta(days=1))
            if not self._in_past(submit_day):
                submit_day = self.today - timedelta(days=1)
            save_day = max(submit_day - timedelta(days=rng.randint(0, 3)), period.end)
            if self.clock is not None:
                save_day = max(save_day, clock.local(self.clock).date())
            if save_day > submit_day:
                save_day = submit_day
            data = self._input(i, period, save_day)
            if role == "draft":
                self._save(period, data, save_day)
                continue
            first, fixed, comment = data, data, ""
            if role in ("returned_fixed", "returned"):
                first, fixed, comment = self._flawed(data, save_day)
            if self.plan.correction == period.index:
                self.correction_data = data
                first = self._understated(data, i)
            report = self._save(period, first, save_day)
            report = self._submit(period, report, submit_day)
            self._remember(report)
            if role in ("submitted", "late_submitted"):
                continue
            review_day = submit_day + timedelta(days=rng.randint(2, 10))
            if not self._in_past(review_day):
                continue  # still waiting for the officer
            if comment:
                self._review(report, "returned", review_day, comment)
                fix_day = review_day + timedelta(days=rng.randint(1, 4))
                if role == "returned" or not self._in_past(fix_day):
                    continue
                version = self._revise(report, fix_day)
                # Files uploaded with the returned version are sent again: the service keeps one row per file.
                report = self._save(period, fixed, fix_day, lock=version.edit_lock)
                report = self._submit(period, report, fix_day)
                self._remember(report)
                review_day = fix_day + timedelta(days=rng.randint(1, 5))
                if not self._in_past(review_day):
                    continue
            self._review(report, "accepted", review_day)
            if self.plan.correction is not None and i > 0 and self.due[i - 1].index == self.plan.correction:
                self._correct(self.due[i - 1], review_day)

    def _correct(self, period: ReportingPeriod, after: date) -> None:
        """The grantee finds that an accepted report understated something and corrects it; the officer accepts
        the correction, and the later periods' increments are recomputed from it."""
        day = after + timedelta(days=self.rng.randint(5, 15))
        accept_day = day + timedelta(days=self.rng.randint(2, 6))
        if self.correction_data is None or not self._in_past(accept_day):
            return
        report = self.backend.report_at(period.index)
        version = self._revise(report, day)
        data = replace(self.correction_data, narrative=self.correction_data.narrative + self.correction_note)
        report = self._save(period, data, day, lock=version.edit_lock)
        report = self._submit(period, report, day)
        self._review(report, "accepted", accept_day)


# --- the entry point --------------------------------------------------------------------------------


def load_demo_reports(db: Session, *, now: datetime, store: EvidenceStore, due_days: int = 15,
                      open_days: int = 15, limit: int | None = None, bulk: bool = False,
                      progress: Progress | None = None) -> dict[str, int]:
    """Give the demo projects (the first `limit`, or all) report histories; returns what was created.

    Through the report service, call by call; or with `bulk`, the same histories recorded in memory as the rows
    the service would write (tracker/demo/bulk.py) and inserted together at the end (DESIGN §3: the demo at
    scale; tests/service/test_demo_bulk.py proves the rows equal)."""
    from tracker.demo.bulk import BulkWriter

    today = clock.local(now).date()
    query = select(Project).order_by(Project.id).options(
        selectinload(Project.target_sets).selectinload(TargetSet.targets), selectinload(Project.officer),
        selectinload(Project.contacts))
    projects = list(db.scalars(query.limit(limit) if limit is not None else query))
    ids = [p.id for p in projects]
    already: set[int] = set()
    for i in range(0, len(ids), 500):
        already.update(db.scalars(select(Report.project_id).where(Report.project_id.in_(ids[i:i + 500])).distinct()))
    grantees: dict[int, User] = {}
    for user in db.scalars(select(User).where(User.role == Role.GRANTEE, User.is_active.is_(True))
                           .order_by(User.id)):
        if user.organisation_id is not None:
            grantees.setdefault(user.organisation_id, user)
    default_officer = db.scalar(select(User).where(User.username == "officer"))
    # A terminated project reported only while it ran.
    stopped = dict(db.execute(select(ProjectChange.project_id, ProjectChange.decided_at)
                              .where(ProjectChange.kind == "termination")).all())
    calendar = load_calendar(db)  # once: every project's periods come from the same stored years
    writer = BulkWriter(db, store) if bulk else None
    stories = _Stories()
    done: list[Project] = []
    skipped = overdue = 0
    for n, project in enumerate(projects, 1):
        if progress is not None:  # every project: the printer decides what to show
            progress("演示进展报告", n, len(projects))
        status = ProjectStatus(project.status)
        if project.id in already or not project.target_sets or not project.target_sets[-1].confirmed:
            continue
        if status not in service.REPORTING_STATUSES and status not in REPORTED_BEFORE:
            continue
        periods = reporting_periods(project.start_date, project.end_date, calendar, due_days)
        # Nothing happens after a termination: no report filed, none reviewed.
        until = clock.local(stopped[project.id]).date() if project.id in stopped else today
        due = [p for p in periods if p.due < until]
        if not due:
            continue
        rng = random.Random(f"demo-reports:{project.code}")
        course = course_for(project.code, today)
        plan = _plan(project, due, stories, rng, course.acceptance if course is not None else "")
        since = project.target_sets[-1].confirmed_at  # nothing is filed before the task book is confirmed
        grantee = grantees.get(project.organisation_id)
        officer = project.officer or default_officer
        grantee_actor = Actor.of(grantee) if grantee else Actor(None, "demo", Role.GRANTEE.value)
        officer_actor = Actor.of(officer) if officer else Actor.system("demo")
        try:
            if writer is not None:
                with writer.project(project, grantee=grantee_actor, officer=officer_actor, open_days=open_days,
                                    periods=periods) \
                        as recorder, _as_reporting(project):
                    _History(project, due, plan, rng, recorder, until, since).run()
                    submitted = recorder.submitted_periods()
            else:
                backend = _ServiceBackend(db, project, grantee_actor, officer_actor, store, open_days)
                with db.begin_nested(), _as_reporting(project):
                    _History(project, due, plan, rng, backend, until, since).run()
                submitted = None
        except service.ReportProblems:
            # A target of a shape the story cannot fill (a per-year rate below zero in a unit the service
            # reads as unsigned…): that project goes without a history rather than with half of one.
            skipped += 1
            continue
        done.append(project)
        if submitted is not None and project.status in service.REPORTING_STATUSES:
            overdue += sum(1 for p in due if p.index not in submitted)
    if writer is not None:
        if progress is not None:
            progress("写入进展报告", 0, 0)
        return {**writer.finish(), "projects": len(done), "overdue": overdue, "skipped": skipped}
    db.flush()
    return {**_counts(db, done, today, due_days, open_days), "skipped": skipped}


@contextmanager
def _as_reporting(project: Project) -> Iterator[None]:
    """The service takes reports only from projects that still report. A project that has passed, concluded
    or been terminated reported while it was running: for its history the service sees it as it was then
    (in memory only: the attribute is not marked changed, so nothing about the project is written)."""
    status = project.status
    if status not in service.REPORTING_STATUSES:
        set_committed_value(project, "status", ProjectStatus.ACTIVE.value)
    try:
        yield
    finally:
        set_committed_value(project, "status", status)


def _counts(db: Session, projects: list[Project], today: date, due_days: int, open_days: int) -> dict[str, int]:
    ids = [p.id for p in projects] or [-1]

    def count(*where) -> int:
        return db.scalar(select(func.count()).select_from(Report).where(Report.project_id.in_(ids), *where)) or 0

    overdue = 0
    for project in projects:
        if project.status in service.REPORTING_STATUSES:
            periods = [p for p in service.project_periods(db, project, due_days) if p.due < today]
            overdue += sum(row.overdue for row in service.schedule(db, project, periods, today=today,
                                                                   open_days=open_days))
    return {
        "projects": len(projects),
        "reports": count(),
        "versions": db.scalar(select(func.count()).select_from(ReportVersion).join(Report)
                              .where(Report.project_id.in_(ids))) or 0,
        "accepted": count(Report.status == ReportStatus.ACCEPTED),
        "returned": count(Report.status == ReportStatus.RETURNED),
        "submitted": count(Report.status == ReportStatus.SUBMITTED),
        "drafts": count(Report.status == ReportStatus.DRAFT),
        "overdue": overdue,
        "evidence_files": db.scalar(select(func.count()).select_from(EvidenceFile)
                                    .where(EvidenceFile.project_id.in_(ids))) or 0,
    }


def summary_line(counts: dict[str, int]) -> str:
    """One line for `tracker demo`."""
    return (f"演示进展报告 {counts['reports']} 份（{counts['versions']} 个版本，{counts['projects']} 个项目）："
            f"审核通过 {counts['accepted']}，待审核 {counts['submitted']}，已退回 {counts['returned']}，"
            f"草稿 {counts['drafts']}，逾期未报 {counts['overdue']} 期，佐证文件 {counts['evidence_files']} 个"
            + (f"；{counts['skipped']} 个项目的考核指标无法自动填写，未生成报告" if counts.get("skipped") else ""))
