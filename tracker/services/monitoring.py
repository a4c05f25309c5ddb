"""Monitoring (DESIGN §2): each project's assessment, computed from its accepted reports by
indicators.assessment.monitoring, stored, and kept current.

It is recomputed in the transaction that changes what it rests on (a report submitted, accepted or returned, a
task book confirmed, an extension) and every night by the `assess` job. Pages read the stored row. A status change
adds a history row; a project that turns red mails its grantee recipients once per change and appears in its
officer's next daily digest.

The nightly job recomputes only what may have changed (the Healthchecks way: the next due moment is stored on the
row). Each stored row carries
- `recheck_on`, the first day on which the passing of time alone could change it (a report falls due, a deadline
  passes: `recheck_day`), and
- `basis`, a fingerprint of what it rests on (`basis_of`: the project's status, dates and funding, its task book,
  which reports are accepted, submitted and returned, and the settings and working-day calendar that shape the
  rules).
The job takes the projects without a row, those whose day has come, and those whose fingerprint differs from the
one computed now, which catches whatever changed without a recompute. The fingerprints of all running projects come
from two queries, so a night with little to do costs about that.

The inputs are read for many projects at once as plain rows of the columns used (a few queries per chunk of
projects, whatever their reports), and written back with a statement per kind of change; one project is a chunk of
one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, exists, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session, load_only, selectinload
from sqlalchemy.types import NullType

from indicators.assessment import monitoring as model
from indicators.assessment import readiness as readiness_model
from indicators.assessment.progress import AcceptedReport, ReportedValue, TargetProgress, TargetSpec, progress
from indicators.deadlines import add_months
from indicators.workdays import ReportingPeriod, quarter_label
from tracker import clock
from tracker.models import (
    AssessmentChange,
    Project,
    ProjectAssessment,
    ProjectStatus,
    ProjectTarget,
    Report,
    ReportStatus,
    ReportValue,
    ReportVersion,
    TargetSet,
    WorkCalendarYear,
)
from tracker.services import business_settings, outbox, reminders
from tracker.services.business_settings import BusinessSettings
from tracker.services.work_calendar import reporting_calendars

# Projects still running or in acceptance: what they achieve still changes. A finished project keeps its last
# assessment.
ASSESSED_STATUSES = (ProjectStatus.ACTIVE, ProjectStatus.EXTENDED, ProjectStatus.ACCEPTANCE_APPLIED,
                     ProjectStatus.UNDER_ACCEPTANCE)
CHUNK = 500
# `recheck_on` of a result no day can change (NULL is kept for "not known yet": rows from before migration 0014).
NEVER = date(9999, 12, 31)
# Part of every fingerprint: raise it when the model's rules or words change, so that the next night recomputes
# every project (the fingerprint sees data and settings, not code).
RULES_VERSION = 3


@dataclass(frozen=True)
class ProjectTerms:
    """The columns of a project that monitoring reads. Where a `Project` is at hand (a service's transaction, the
    demo's bulk writer) it stands in: it has the same names."""

    id: int
    status: str
    start_date: date
    end_date: date
    fiscal_funding: Decimal | None
    self_funding: Decimal | None


@dataclass(frozen=True)
class Reporting:
    """The reporting rate's parts for one project (DHIS2's definitions): of the periods whose due date has passed
    (once the task book is confirmed: before that nothing can be filed), how many have a submitted report, and how
    many were submitted by the due date."""

    due: int = 0
    submitted: int = 0
    on_time: int = 0


def reporting_of(periods: Iterable[ReportingPeriod], first_submitted: dict[int, datetime], today: date,
                 *, confirmed: bool) -> Reporting:
    """`first_submitted`: period index → when its report was first submitted."""
    if not confirmed:
        return Reporting()
    due = [p for p in periods if p.due < today]
    sent = [p for p in due if p.index in first_submitted]
    on_time = [p for p in sent if clock.local(first_submitted[p.index]).date() <= p.due]
    return Reporting(len(due), len(sent), len(on_time))


@dataclass
class Inputs:
    """What the model needs of one project (read in bulk here; kept in memory by the demo's bulk writer)."""

    project: ProjectTerms | Project
    target_set_id: int | None = None
    targets: list[model.MonitoredTarget] = field(default_factory=list)
    accepted: list[AcceptedReport] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    funds: dict[str, Decimal | None] = field(default_factory=dict)
    concerns: list[model.ReportConcern] = field(default_factory=list)
    reporting: Reporting = Reporting()
    selection: dict[str, Any] | None = None  # the selection rule copied at award (验收 readiness)
    _progress: dict[int, TargetProgress] | None = field(default=None, init=False, repr=False, compare=False)

    def progressed(self) -> dict[int, TargetProgress]:
        """Each target's progress on the accepted reports, worked out once for the assessment and the readiness."""
        if self._progress is None:
            specs = [TargetSpec(t.id, t.kind, t.op, t.value, t.unit) for t in self.targets]
            self._progress = progress(specs, self.accepted, self.project.start_date, steps=False)
        return self._progress


def thresholds(rules: BusinessSettings) -> model.Thresholds:
    return model.Thresholds(
        amber_of_expected=Decimal(rules.monitoring_amber_percent) / 100,
        red_of_expected=Decimal(rules.monitoring_red_percent) / 100,
        red_forecast_of_target=Decimal(rules.monitoring_red_forecast_percent) / 100,
        low_spend_share=Decimal(rules.monitoring_low_spend_percent) / 100)


# --- reading the inputs ------------------------------------------------------------------------------------------


def monitored(t: ProjectTarget) -> model.MonitoredTarget:
    """A task-book target for the model; targets are matched by position across task-book versions, as progress
    does."""
    return model.MonitoredTarget(t.position, t.metric, t.category, t.kind, t.op, t.value, t.unit, t.baseline,
                                 marker=t.label)


def report_concerns(unsubmitted: Iterable[ReportingPeriod], returned: Iterable[tuple[date, date, bool]],
                    today: date) -> list[model.ReportConcern]:
    """Reports that need the grantee: the periods never submitted (by the reminders' rule: a running project with
    a confirmed task book) whose due date has passed, and the returned reports (start, end, final) not yet
    resubmitted."""
    found = [model.ReportConcern(p.label, p.due) for p in unsubmitted if p.due < today]
    found += [model.ReportConcern(quarter_label(start, final=final), end, returned=True)
              for start, end, final in returned]
    return found


class ReportState(NamedTuple):
    """What of one report a result rests on: which version is accepted, whether it was ever submitted, whether it
    waits returned. (A submitted version's content never changes, so its number stands for its figures.)"""

    period_index: int
    accepted_number: int | None
    submitted: bool
    returned: bool


@dataclass
class Reading:
    """One project's inputs as read, before the day is known: the day decides which reports are overdue and which
    periods count for the reporting rate (`inputs_on`)."""

    inputs: Inputs
    confirmed: bool = False  # some version of the task book is confirmed
    periods: list[ReportingPeriod] = field(default_factory=list)
    sent: dict[int, datetime] = field(default_factory=dict)  # period index → first submitted
    returned: list[tuple[date, date, bool]] = field(default_factory=list)  # (start, end, final), by period
    states: list[ReportState] = field(default_factory=list)  # for the fingerprint


def inputs_on(reading: Reading, today: date) -> Inputs:
    """The inputs of one project on `today`: the overdue reports (the reminders' rule: a running project with a
    confirmed task book, a period never submitted) and the reporting rate."""
    found = reading.inputs
    running = found.project.status in reminders.REMINDED_STATUSES and reading.confirmed
    unsubmitted = [p for p in reading.periods if p.index not in reading.sent] if running else []
    return replace(found, concerns=report_concerns(unsubmitted, reading.returned, today),
                   reporting=reporting_of(reading.periods, reading.sent, today, confirmed=reading.confirmed))


class _Raw:
    """On SQLite, columns read as the driver gives them (numbers, text) and converted here once per distinct
    value: SQLAlchemy would convert every row's, most of the reading's time for the hundreds of thousands of
    accepted figures of a full recompute, which repeat a lot. Each conversion is the column type's own, so the
    values are the ones an ORM read gives. PostgreSQL's driver gives Decimals, dates and aware moments itself
    (SQLAlchemy's conversions there need the driver's type codes): its columns are read typed, as usual."""

    def __init__(self, db: Session) -> None:
        self.connection = db.connection()
        self.dialect = self.connection.dialect
        self.raw = self.dialect.name == "sqlite"

    def column(self, column: Any) -> Any:
        return type_coerce(column, NullType()) if self.raw else column

    def converter(self, column: Any) -> dict[Any, Any]:
        """Raw value → the column type's value: look values up in it (`converted[raw]`)."""
        if not self.raw:
            return _Converted(None)
        return _Converted(column.type.dialect_impl(self.dialect).result_processor(self.dialect, None))


class _Converted(dict[Any, Any]):
    """Raw value → converted value, each computed on first sight (a dictionary look-up costs far less than a
    call per row)."""

    def __init__(self, process: Callable[[Any], Any] | None) -> None:
        super().__init__({None: None})
        self.process = process

    def __missing__(self, raw: Any) -> Any:
        value = self[raw] = raw if self.process is None else self.process(raw)
        return value


def read_inputs(db: Session, projects: Sequence[ProjectTerms | Project], rules: BusinessSettings
                ) -> dict[int, Reading]:
    """The inputs of these projects (at most a few thousand: callers chunk), as plain rows of the columns used."""
    readings = {p.id: Reading(Inputs(p)) for p in projects}
    ids = list(readings)
    db.flush()  # read below the session, on its connection
    raw = _Raw(db)
    # The current task book is the newest target set of each project; the reports can be filed once any is
    # confirmed.
    confirmed_of = raw.converter(TargetSet.confirmed)
    for set_id, project_id, confirmed in raw.connection.execute(
            select(TargetSet.id, TargetSet.project_id, raw.column(TargetSet.confirmed))
            .where(TargetSet.project_id.in_(ids)).order_by(TargetSet.version)).all():
        readings[project_id].inputs.target_set_id = set_id
        readings[project_id].confirmed |= bool(confirmed_of[confirmed])
    by_set = {r.inputs.target_set_id: r.inputs for r in readings.values() if r.inputs.target_set_id is not None}
    number = raw.converter(ProjectTarget.value)
    for set_id, position, metric, category, kind, op, value, unit, baseline, marker in raw.connection.execute(
            select(ProjectTarget.target_set_id, ProjectTarget.position, ProjectTarget.metric, ProjectTarget.category,
                   ProjectTarget.kind, ProjectTarget.op, raw.column(ProjectTarget.value), ProjectTarget.unit,
                   raw.column(ProjectTarget.baseline), ProjectTarget.label)
            .where(ProjectTarget.target_set_id.in_(list(by_set))).order_by(ProjectTarget.position)).all():
        by_set[set_id].targets.append(model.MonitoredTarget(position, metric, category, kind, op, number[value],
                                                            unit, number[baseline], marker=marker))
    # The selection rule the acceptance readiness applies (copied at award).
    for project_id, selection in db.execute(select(Project.id, Project.selection_rule).where(Project.id.in_(ids))):
        readings[project_id].inputs.selection = selection
    # Every report that counts for something, with its accepted version (its values by target position, and its
    # funds), when it was first submitted, and whether it waits returned.
    money, day, moment = (raw.converter(ReportVersion.fiscal_received), raw.converter(Report.period_end),
                          raw.converter(Report.first_submitted_at))
    reports = (select(Report.project_id, Report.period_index, raw.column(Report.period_start),
                      raw.column(Report.period_end), Report.is_final, Report.status,
                      raw.column(Report.first_submitted_at), Report.accepted_number,
                      ReportVersion.id, raw.column(ReportVersion.fiscal_received),
                      raw.column(ReportVersion.fiscal_spent), raw.column(ReportVersion.self_received))
               .outerjoin(ReportVersion, (ReportVersion.report_id == Report.id)
                          & (ReportVersion.number == Report.accepted_number))
               .where(Report.project_id.in_(ids),
                      or_(Report.accepted_number.is_not(None), Report.first_submitted_at.is_not(None),
                          Report.status == ReportStatus.RETURNED))
               .order_by(Report.project_id, Report.period_index))
    accepted: dict[int, tuple[Inputs, int, date]] = {}  # version id → (project's inputs, period index, end)
    for (project_id, index, start, end, final, status, first, number_accepted, version_id, fiscal_received,
         fiscal_spent, self_received) in raw.connection.execute(reports).all():
        reading, end = readings[project_id], day[end]
        reading.states.append(ReportState(index, number_accepted, first is not None,
                                          status == ReportStatus.RETURNED))
        if first is not None:
            reading.sent[index] = moment[first]
        if status == ReportStatus.RETURNED:
            reading.returned.append((day[start], end, final))
        if version_id is not None:
            accepted[version_id] = (reading.inputs, index, end)
            reading.inputs.versions.append(version_id)
            reading.inputs.funds = {"fiscal_received": money[fiscal_received], "fiscal_spent": money[fiscal_spent],
                                    "self_received": money[self_received]}  # the latest period's, by the order
    values: dict[int, dict[int, ReportedValue]] = defaultdict(dict)  # version id → position → value
    figure, done_of = raw.converter(ReportValue.value), raw.converter(ReportValue.done)
    # (value, year value, done) as read → the model's value: the same few figures recur across reports.
    reported = _Converted(lambda raw_value: ReportedValue(figure[raw_value[0]], figure[raw_value[1]],
                                                          done_of[raw_value[2]]))
    version_ids = list(accepted)
    for start in range(0, len(version_ids), CHUNK):
        rows = raw.connection.execute(
            select(ReportValue.version_id, ProjectTarget.position, raw.column(ReportValue.value),
                   raw.column(ReportValue.year_value), raw.column(ReportValue.done))
            .join(ProjectTarget, ProjectTarget.id == ReportValue.target_id)
            .where(ReportValue.version_id.in_(version_ids[start:start + CHUNK]))).all()
        for version_id, position, value, year_value, done in rows:
            values[version_id][position] = reported[value, year_value, done]
    for version_id, (found, index, end) in accepted.items():
        found.accepted.append(AcceptedReport(index, end, values.get(version_id, {})))
    valid = [p for p in projects if p.end_date >= p.start_date]  # a bad span is reported by the model itself
    for project_id, periods in reporting_calendars(db, valid, rules.report_due_days).items():
        readings[project_id].periods = periods
    return readings


def _load(db: Session, projects: Sequence[ProjectTerms | Project], rules: BusinessSettings, today: date
          ) -> dict[int, Inputs]:
    return {project_id: inputs_on(reading, today) for project_id, reading in read_inputs(db, projects, rules).items()}


# --- computing -----------------------------------------------------------------------------------------------


def evaluate(found: Inputs, rules: BusinessSettings, today: date) -> model.ProjectAssessment:
    """The model applied to one project's inputs; figures it cannot use give unknown with the reason."""
    try:
        return _evaluate(found, rules, today)
    except (ValueError, ArithmeticError) as exc:
        return model.ProjectAssessment(model.UNKNOWN, (f"无法评估：{exc}",), ())


def _evaluate(found: Inputs, rules: BusinessSettings, today: date) -> model.ProjectAssessment:
    project = found.project
    as_of = max((r.period_end for r in found.accepted), default=None)
    period = model.Period(project.start_date, project.end_date, today, as_of)
    limits, curves = thresholds(rules), dict(rules.monitoring_curves)
    progressed = found.progressed()
    histories: dict[int, list[model.Point]] = defaultdict(list)
    for report in sorted(found.accepted, key=lambda r: r.period_index):
        for position, reported in report.values.items():
            if reported.value is not None:
                histories[position].append(model.Point(report.period_end, reported.value))
    targets = [model.assess_target(t, progressed.get(t.id), histories[t.id], period,
                                   curve=curves.get(t.category, "linear"), limits=limits) for t in found.targets]
    fiscal = project.fiscal_funding
    funds = model.Funds(
        fiscal_received=found.funds.get("fiscal_received"), fiscal_spent=found.funds.get("fiscal_spent"),
        self_received=found.funds.get("self_received"),
        # The commitment of the task book: self-raised money per yuan of fiscal money.
        matching_ratio=(project.self_funding / fiscal) if fiscal and project.self_funding else None)
    running = project.status in reminders.REMINDED_STATUSES
    closes = add_months(project.end_date, rules.acceptance_close_months) if running else None
    return model.assess_project(targets, period, reports=found.concerns, funds=funds, awaiting_acceptance=running,
                                acceptance_closes=closes, limits=limits)


def recheck_day(found: Inputs, periods: Iterable[ReportingPeriod], rules: BusinessSettings, today: date) -> date:
    """The first day after `today` on which the passing of time alone could change the project's result: the
    model's own days (`next_change`), and the day after each report still to fall due (the reporting rate counts
    it then, and, unsubmitted, it becomes overdue). NEVER when no day can."""
    project = found.project
    running = project.status in reminders.REMINDED_STATUSES
    closes = add_months(project.end_date, rules.acceptance_close_months) if running else None
    day = model.next_change(found.targets, model.Period(project.start_date, project.end_date, today, None),
                            overdue=[c.due for c in found.concerns if not c.returned], awaiting_acceptance=running,
                            acceptance_closes=closes, limits=thresholds(rules))
    falls_due = [p.due + model.ONE_DAY for p in periods if p.due >= today]
    return min([d for d in (day, *falls_due) if d is not None], default=NEVER)


def _target_rows(result: model.ProjectAssessment) -> list[dict[str, Any]]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else model.number(value)

    return [{"position": t.target_id, "status": t.status, "reasons": list(t.reasons), "achieved": text(t.achieved),
             "expected": text(t.expected), "forecast": text(t.forecast), "baseline": text(t.baseline)}
            for t in result.targets]


# --- what a result rests on ----------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str:
    return "" if value is None else format(Decimal(value).normalize(), "f")


def settings_basis(db: Session, rules: BusinessSettings) -> str:
    """The part of every fingerprint that is not the project's: the settings the result depends on (the admin
    page keeps no version of them) and the working-day calendar's years (entering one moves due dates)."""
    years = [(year, source, entered.isoformat()) for year, source, entered in db.execute(
        select(WorkCalendarYear.year, WorkCalendarYear.source, WorkCalendarYear.entered_at)
        .order_by(WorkCalendarYear.year))]
    return _digest(repr((RULES_VERSION, rules.report_due_days, rules.acceptance_close_months,
                         rules.monitoring_amber_percent, rules.monitoring_red_percent,
                         rules.monitoring_red_forecast_percent, rules.monitoring_low_spend_percent,
                         rules.monitoring_curves, years)))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def report_sums(reports: Iterable[ReportState]) -> tuple[int, int, int]:
    """The reports' part of a fingerprint: a count and two weighted sums of each report's state, the same
    arithmetic `current_bases` does in SQL (so a night's check brings one row per project into Python, not one per
    report). One report's change moves both sums; changes that cancel in both at once do not happen by chance."""
    count = first = second = 0
    for r in reports:
        if not (r.accepted_number or r.submitted or r.returned):  # a draft never submitted changes nothing
            continue
        weight, code = r.period_index + 1, (r.accepted_number or 0) * 4 + r.submitted * 2 + r.returned + 1
        count, first, second = count + 1, first + weight * code, second + weight * weight * code * code
    return count, first, second


def basis_of(project: ProjectTerms | Project, target_set_id: int | None, confirmed: bool,
             sums: tuple[int, int, int], settings: str) -> str:
    """The fingerprint of what a project's result rests on (16 hex digits), beside `settings_basis`; `sums` are
    its reports' (`report_sums`, or the same computed by the database)."""
    count, first, second = sums
    parts = [settings, str(project.status), project.start_date.isoformat(), project.end_date.isoformat(),
             _money(project.fiscal_funding), _money(project.self_funding), str(target_set_id), str(bool(confirmed)),
             f"{count}:{first}:{second}"]
    return _digest("|".join(parts))


def current_bases(db: Session, rules: BusinessSettings, ids: Sequence[int] | None = None
                  ) -> dict[int, tuple[ProjectTerms, str]]:
    """Project id → (its terms, its fingerprint now), for the running projects (these `ids` of them): two
    queries, whatever the number of projects."""
    settings = settings_basis(db, rules)
    newest = (select(TargetSet.id).where(TargetSet.project_id == Project.id)
              .order_by(TargetSet.version.desc()).limit(1).scalar_subquery())
    confirmed = exists().where(TargetSet.project_id == Project.id, TargetSet.confirmed.is_(True))
    projects = (select(Project.id, Project.status, Project.start_date, Project.end_date, Project.fiscal_funding,
                       Project.self_funding, newest, confirmed)
                .where(Project.status.in_(ASSESSED_STATUSES)).order_by(Project.id))
    # `report_sums` in SQL: one row per project.
    weight = Report.period_index + 1
    code = (func.coalesce(Report.accepted_number, 0) * 4 + case((Report.first_submitted_at.is_not(None), 2), else_=0)
            + case((Report.status == ReportStatus.RETURNED, 1), else_=0) + 1)
    reports = (select(Report.project_id, func.count(), func.sum(weight * code), func.sum(weight * weight * code * code))
               .where(or_(Report.accepted_number.is_not(None), Report.first_submitted_at.is_not(None),
                          Report.status == ReportStatus.RETURNED))
               .group_by(Report.project_id))
    if ids is None:
        reports = reports.join(Project, Project.id == Report.project_id).where(Project.status.in_(ASSESSED_STATUSES))
    else:
        projects = projects.where(Project.id.in_(list(ids)))
        reports = reports.where(Report.project_id.in_(list(ids)))
    db.flush()  # read below the session, on its connection
    connection = db.connection()
    sums = {project_id: (int(count), int(first), int(second))
            for project_id, count, first, second in connection.execute(reports).all()}
    found = {}
    for project_id, status, start, end, fiscal, own, target_set_id, is_confirmed in connection.execute(projects).all():
        terms = ProjectTerms(project_id, status, start, end, fiscal, own)
        found[project_id] = terms, basis_of(terms, target_set_id, is_confirmed, sums.get(project_id, (0, 0, 0)),
                                            settings)
    return found


def readiness_of(found: Inputs) -> readiness_model.Readiness:
    """The project's acceptance readiness (验收条件) on the same accepted values: its targets under the selection
    rule copied at award. Deliverables count by the accepted "done", which the report service accepts only with
    their evidence."""
    progressed = found.progressed()
    required = [readiness_model.RequiredTarget(t.id, t.label, t.marker, t.kind, t.op, t.value, t.unit)
                for t in found.targets]
    try:
        return readiness_model.assess_readiness(required, progressed, found.selection)
    except (ValueError, TypeError, KeyError) as exc:  # a stored rule this code cannot read
        return readiness_model.Readiness(readiness_model.NOT_READY, Decimal(0), "指标选择规则无法读取", (),
                                         (f"无法判断验收条件：{exc}",))


def _readiness_row(result: readiness_model.Readiness) -> dict[str, Any]:
    return {"status": result.status, "score": str(result.score), "requirement": result.requirement,
            "targets": [{"position": c.target_id, "state": c.state, "reason": c.reason} for c in result.targets],
            "lacking": list(result.lacking), "notes": list(result.notes)}


# --- storing -------------------------------------------------------------------------------------------------

_COMPARED = ("status", "reasons", "targets", "versions", "target_set_id", "overdue_reports", "returned_reports",
             "reports_due", "reports_submitted", "reports_on_time", "readiness")
# Written with every computation, compared with nothing (the data generation does not watch them either).
_ALWAYS = ("computed_at", "recheck_on", "basis")


def outcome(stored: dict[str, Any] | None, found: Inputs, result: model.ProjectAssessment, now: datetime, *,
            recheck: date, basis: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What storing `result` writes over the stored row's values (None: no row yet): the columns to set, and the
    history row when the status changed. An unchanged result only moves the computed time, the recheck day and
    the fingerprint, so the pages kept under the data generation stay kept."""
    values = {"project_id": found.project.id, "status": result.status, "severity": model.SEVERITY[result.status],
              "reasons": list(result.reasons), "targets": _target_rows(result), "versions": list(found.versions),
              "target_set_id": found.target_set_id,
              "overdue_reports": sum(not c.returned for c in found.concerns),
              "returned_reports": sum(c.returned for c in found.concerns),
              "reports_due": found.reporting.due, "reports_submitted": found.reporting.submitted,
              "reports_on_time": found.reporting.on_time, "readiness": _readiness_row(readiness_of(found)),
              "computed_at": now, "recheck_on": recheck, "basis": basis}
    previous = stored["status"] if stored is not None else None
    if stored is not None and all(stored[name] == values[name] for name in _COMPARED):
        return {name: values[name] for name in _ALWAYS}, None
    if previous == result.status:
        return values, None
    values["changed_at"] = now
    return values, {"project_id": found.project.id, "status": result.status, "previous": previous,
                    "reasons": list(result.reasons), "changed_at": now}


def red_mails(project: Project, change_id: int, reasons: list[str], now: datetime) -> list[dict[str, Any]]:
    """The outbox rows telling the grantee's recipients that the project turned red: once per turn (the history
    row's id keys them)."""
    return [outbox.row(dedupe_key=f"red:{change_id}:to:{to.key}", template="project_at_risk", recipient=to.address,
                       user=to.user, now=now, project_id=project.id,
                       context={"name": to.name, "project_code": project.code, "project_title": project.title,
                                "reasons": reasons[:10], "path": f"/projects/{project.id}"})
            for to in reminders.recipients_of(project)]


@dataclass
class Counts:
    assessed: int = 0  # computed (the nightly job skips the projects nothing can have changed)
    changed: int = 0
    turned_red: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"assessed": self.assessed, "changed": self.changed, "turned_red": self.turned_red}


def _write(db: Session, stored: dict[int, dict[str, Any]], written: list[dict[str, Any]]) -> None:
    """Insert the new rows and update the others with only the columns whose values moved (one statement per set
    of columns), as the ORM would: a column the data generation watches is set only when it changes."""
    table = ProjectAssessment.__table__
    inserts = [values for values in written if values["project_id"] not in stored]
    if inserts:
        db.execute(table.insert(), inserts)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for values in written:
        before = stored.get(values["project_id"])
        if before is None:
            continue
        moved = tuple(name for name, value in values.items()
                      if name != "project_id" and (name in _ALWAYS or before.get(name) != value))
        by_columns[moved].append({"b_project_id": values["project_id"], **{name: values[name] for name in moved}})
    for names, rows in by_columns.items():
        statement = (update(table).where(table.c.project_id == bindparam("b_project_id"))
                     .values({name: bindparam(name) for name in names}))
        db.connection().execute(statement, rows)
    # ORM copies of these rows in the session (a page's) would otherwise show the old values.
    for values in written:
        kept = db.identity_map.get(db.identity_key(ProjectAssessment, values["project_id"]))
        if kept is not None:
            db.expire(kept)


def refresh(db: Session, projects: Sequence[ProjectTerms | Project], *, now: datetime,
            rules: BusinessSettings | None = None) -> Counts:
    """Assess these projects and store the results: a history row and, on turning red, mail, only where the
    status changed. The caller's transaction; nothing is committed here."""
    rules = rules or business_settings.load(db)
    today = clock.local(now).date()
    settings = settings_basis(db, rules)
    counts = Counts()
    table = ProjectAssessment.__table__
    for start in range(0, len(projects), CHUNK):
        chunk = projects[start:start + CHUNK]
        readings = read_inputs(db, chunk, rules)
        ids = list(readings)
        stored = {row["project_id"]: row for row in db.execute(
            select(table.c.project_id, table.c.severity, *(table.c[name] for name in _COMPARED))
            .where(table.c.project_id.in_(ids))).mappings()}
        written: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for project_id, reading in readings.items():
            found = inputs_on(reading, today)
            result = evaluate(found, rules, today)
            recheck = recheck_day(found, reading.periods, rules, today)
            # The terms as given (the demo shows a finished project's history as if it ran): what the sweep reads
            # from the database once the transaction is over.
            basis = basis_of(found.project, found.target_set_id, reading.confirmed, report_sums(reading.states),
                             settings)
            values, history = outcome(stored.get(project_id), found, result, now, recheck=recheck, basis=basis)
            written.append({"project_id": project_id, **values})
            if history is not None:
                changes.append(history)
        counts.assessed += len(written)
        _write(db, stored, written)
        if changes:
            _record_changes(db, chunk, changes, now, counts)
    return counts


def _record_changes(db: Session, chunk: Sequence[ProjectTerms | Project], changes: list[dict[str, Any]],
                    now: datetime, counts: Counts) -> None:
    """The history rows, and the mails of the projects that turned red (their Project objects, with contacts,
    are loaded for these only)."""
    table = AssessmentChange.__table__
    ids = db.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), changes).scalars().all()
    counts.changed += len(changes)
    red = [(change_id, change) for change_id, change in zip(ids, changes, strict=True) if change["status"] == model.RED]
    if not red:
        return
    counts.turned_red += len(red)
    objects = {p.id: p for p in chunk if isinstance(p, Project)}
    missing = [change["project_id"] for _, change in red if change["project_id"] not in objects]
    if missing:
        objects.update((p.id, p) for p in assessed_projects(db, missing, running=False))
    mails = [mail for change_id, change in red
             for mail in red_mails(objects[change["project_id"]], change_id, change["reasons"], now)]
    outbox.queue_many(db, mails)


def refresh_project(db: Session, project: Project, *, now: datetime) -> None:
    """After a change to what the project's assessment rests on (a report submitted, accepted or returned, a task
    book confirmed, an extension)."""
    if project.status in ASSESSED_STATUSES:
        refresh(db, [project], now=now)


# --- the nightly sweep ---------------------------------------------------------------------------------------


def assessed_projects(db: Session, ids: Iterable[int] | None = None, *, running: bool = True) -> list[Project]:
    """The projects monitoring looks at, with only the columns it reads (and the contacts, for mail)."""
    query = (select(Project)
             .options(load_only(Project.code, Project.title, Project.status, Project.start_date, Project.end_date,
                                Project.fiscal_funding, Project.self_funding, Project.pi_name, Project.pi_email,
                                Project.programme_id, Project.officer_id),
                      selectinload(Project.contacts)).order_by(Project.id))
    if running:
        query = query.where(Project.status.in_(ASSESSED_STATUSES))
    if ids is not None:
        query = query.where(Project.id.in_(list(ids)))
    return list(db.scalars(query))


def stale(db: Session, rules: BusinessSettings, today: date) -> list[ProjectTerms]:
    """The running projects whose stored result may be out of date on `today`: no row yet, the recheck day come
    (or not known), or a fingerprint that differs from the one computed now."""
    bases = current_bases(db, rules)
    table = ProjectAssessment.__table__
    due_now = or_(table.c.recheck_on.is_(None), table.c.recheck_on <= today)
    stored = {project_id: (basis, bool(due)) for project_id, basis, due
              in db.connection().execute(select(table.c.project_id, table.c.basis, due_now)).all()}
    out = []
    for project_id, (terms, basis) in bases.items():
        kept = stored.get(project_id)
        if kept is None or kept[1] or kept[0] != basis:
            out.append(terms)
    return out


def sweep(db: Session, now: datetime) -> dict[str, int]:
    """The `assess` job: every running project whose result may have changed since it was stored (DESIGN §3: an
    idempotent sweep; run twice at the same moment, the second run computes nothing). A skipped row is not
    written at all: its `computed_at` stays the moment it was last computed."""
    rules = business_settings.load(db)
    return refresh(db, stale(db, rules, clock.local(now).date()), now=now, rules=rules).as_dict()


# --- reading -------------------------------------------------------------------------------------------------


def assessment_of(db: Session, project: Project) -> ProjectAssessment | None:
    return db.get(ProjectAssessment, project.id)


def history_of(db: Session, project: Project, *, limit: int = 50) -> list[AssessmentChange]:
    return list(db.scalars(select(AssessmentChange).where(AssessmentChange.project_id == project.id)
                           .order_by(AssessmentChange.id.desc()).limit(limit)))


@dataclass(frozen=True)
class TargetLine:
    """A task-book target with its stored assessment, for pages: the figures as the model wrote them and how far
    the achieved and the expected values are on the way from the baseline to the target (0 to 1, for a bar)."""

    target: ProjectTarget
    status: str
    reasons: list[str]
    achieved: str | None = None
    expected: str | None = None
    forecast: str | None = None
    baseline: str | None = None
    share: float | None = None
    expected_share: float | None = None

    @property
    def label(self) -> str:
        return model.STATUS_LABELS.get(self.status, self.status)


def _way(value: str | None, baseline: Decimal, goal: Decimal) -> float | None:
    if value is None or goal == baseline:
        return None
    share = (Decimal(value) - baseline) / (goal - baseline)
    return float(min(max(share, Decimal(0)), Decimal(1)))


def target_lines(assessment: ProjectAssessment | None, targets: Sequence[ProjectTarget]) -> list[TargetLine]:
    """The current task book's targets with their stored assessment (matched by position; a target added since
    the last assessment shows as not yet assessed)."""
    stored = {row["position"]: row for row in (assessment.targets if assessment is not None else [])}
    lines = []
    for t in targets:
        row = stored.get(t.position)
        if row is None:
            lines.append(TargetLine(t, model.UNKNOWN, ["尚未评估"]))
            continue
        share = expected_share = None
        if t.kind == "deliverable":
            share = 1.0 if row.get("achieved") == "1" else 0.0
        elif t.value is not None and t.op in (">=", ">", "<=", "<"):
            base = Decimal(row["baseline"]) if row.get("baseline") is not None else Decimal(0)
            if t.kind == "level" and row.get("baseline") is None and t.op in ("<=", "<"):
                base = None  # a ceiling with no starting value: no way to draw the way down
            if base is not None:
                share, expected_share = _way(row.get("achieved"), base, t.value), _way(row.get("expected"), base,
                                                                                       t.value)
        lines.append(TargetLine(t, row["status"], row["reasons"], row.get("achieved"), row.get("expected"),
                                row.get("forecast"), row.get("baseline"), share, expected_share))
    return lines
