"""Monitoring (DESIGN §2): each project's assessment, computed from its accepted reports by
indicators.assessment.monitoring, stored, and kept current.

It is recomputed in the transaction that changes what it rests on (a report accepted, a task book confirmed) and
every night by the `assess` job, which also catches the passing of time (a deadline gone by, a report now
overdue). Pages read the stored row. A status change adds a history row; a project that turns red mails its
grantee recipients once per change and appears in its officer's next daily digest.

The inputs are read for many projects at once (a few queries per chunk of projects, whatever their reports), so
that the nightly sweep over 10,000 projects stays a matter of seconds; one project is a chunk of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only, selectinload

from indicators.assessment import monitoring as model
from indicators.assessment.progress import AcceptedReport, ReportedValue, TargetSpec, progress
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
)
from tracker.services import business_settings, outbox, reminders
from tracker.services.business_settings import BusinessSettings
from tracker.services.work_calendar import reporting_calendars

# Projects still running or in acceptance: what they achieve still changes. A finished project keeps its last
# assessment.
ASSESSED_STATUSES = (ProjectStatus.ACTIVE, ProjectStatus.EXTENDED, ProjectStatus.ACCEPTANCE_APPLIED,
                     ProjectStatus.UNDER_ACCEPTANCE)
CHUNK = 500


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

    project: Project
    target_set_id: int | None = None
    targets: list[model.MonitoredTarget] = field(default_factory=list)
    accepted: list[AcceptedReport] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    funds: dict[str, Decimal | None] = field(default_factory=dict)
    concerns: list[model.ReportConcern] = field(default_factory=list)
    reporting: Reporting = Reporting()


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
    return model.MonitoredTarget(t.position, t.metric, t.category, t.kind, t.op, t.value, t.unit, t.baseline)


def report_concerns(unsubmitted: Iterable[ReportingPeriod], returned: Iterable[tuple[date, date, bool]],
                    today: date) -> list[model.ReportConcern]:
    """Reports that need the grantee: the periods never submitted (by the reminders' rule: a running project with
    a confirmed task book) whose due date has passed, and the returned reports (start, end, final) not yet
    resubmitted."""
    found = [model.ReportConcern(p.label, p.due) for p in unsubmitted if p.due < today]
    found += [model.ReportConcern(quarter_label(start, final=final), end, returned=True)
              for start, end, final in returned]
    return found


def _load(db: Session, projects: Sequence[Project], rules: BusinessSettings, today: date) -> dict[int, Inputs]:
    inputs = {p.id: Inputs(p) for p in projects}
    ids = list(inputs)
    # The current task book: the newest target set of each project.
    for set_id, project_id in db.execute(select(TargetSet.id, TargetSet.project_id)
                                         .where(TargetSet.project_id.in_(ids)).order_by(TargetSet.version)):
        inputs[project_id].target_set_id = set_id
    by_set = {i.target_set_id: i for i in inputs.values() if i.target_set_id is not None}
    for t in db.scalars(select(ProjectTarget).where(ProjectTarget.target_set_id.in_(list(by_set)))
                        .order_by(ProjectTarget.position)):
        by_set[t.target_set_id].targets.append(monitored(t))
    # The accepted version of each report, its values by target position, and its funds.
    accepted = (select(Report.project_id, Report.period_index, Report.period_end, ReportVersion.id,
                       ReportVersion.fiscal_received, ReportVersion.fiscal_spent, ReportVersion.self_received)
                .join(ReportVersion, (ReportVersion.report_id == Report.id)
                      & (ReportVersion.number == Report.accepted_number))
                .where(Report.project_id.in_(ids)).order_by(Report.project_id, Report.period_index))
    reports: dict[int, dict[int, tuple[int, date]]] = defaultdict(dict)  # project → version id → (index, end)
    for project_id, index, end, version_id, fiscal_received, fiscal_spent, self_received in db.execute(accepted):
        reports[project_id][version_id] = (index, end)
        inputs[project_id].versions.append(version_id)
        inputs[project_id].funds = {"fiscal_received": fiscal_received, "fiscal_spent": fiscal_spent,
                                    "self_received": self_received}  # the latest period's, by the order
    values: dict[int, dict[int, ReportedValue]] = defaultdict(dict)  # version id → position → value
    version_ids = [v for found in reports.values() for v in found]
    for start in range(0, len(version_ids), CHUNK):
        rows = db.execute(select(ReportValue.version_id, ProjectTarget.position, ReportValue.value,
                                 ReportValue.year_value, ReportValue.done)
                          .join(ProjectTarget, ProjectTarget.id == ReportValue.target_id)
                          .where(ReportValue.version_id.in_(version_ids[start:start + CHUNK])))
        for version_id, position, value, year_value, done in rows:
            values[version_id][position] = ReportedValue(value, year_value, done)
    for project_id, found in reports.items():
        inputs[project_id].accepted = [AcceptedReport(index, end, values.get(version_id, {}))
                                       for version_id, (index, end) in found.items()]
    # The reporting calendar of each project, and when each period's report was first submitted: the overdue
    # reports (the reminders' rule: a running project with a confirmed task book, a period never submitted) and
    # the reporting rate come from them.
    confirmed = set(db.scalars(select(TargetSet.project_id).where(TargetSet.project_id.in_(ids),
                                                                  TargetSet.confirmed.is_(True))))
    first: dict[int, dict[int, datetime]] = defaultdict(dict)
    for project_id, index, moment in db.execute(
            select(Report.project_id, Report.period_index, Report.first_submitted_at)
            .where(Report.project_id.in_(ids), Report.first_submitted_at.is_not(None))):
        first[project_id][index] = moment
    returned: dict[int, list[tuple[date, date, bool]]] = defaultdict(list)
    for project_id, start, end, final in db.execute(
            select(Report.project_id, Report.period_start, Report.period_end, Report.is_final)
            .where(Report.project_id.in_(ids), Report.status == ReportStatus.RETURNED)
            .order_by(Report.project_id, Report.period_index)):
        returned[project_id].append((start, end, final))
    valid = [p for p in projects if p.end_date >= p.start_date]  # a bad span is reported by the model itself
    calendars = reporting_calendars(db, valid, rules.report_due_days)
    for project_id, found in inputs.items():
        project, sent = found.project, first[project_id]
        periods = calendars.get(project_id, [])
        running = project.status in reminders.REMINDED_STATUSES and project_id in confirmed
        unsubmitted = [p for p in periods if p.index not in sent] if running else []
        found.concerns = report_concerns(unsubmitted, returned[project_id], today)
        found.reporting = reporting_of(periods, sent, today, confirmed=project_id in confirmed)
    return inputs


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
    specs = [TargetSpec(t.id, t.kind, t.op, t.value, t.unit) for t in found.targets]
    progressed = progress(specs, found.accepted, project.start_date)
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


def _target_rows(result: model.ProjectAssessment) -> list[dict[str, Any]]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else model.number(value)

    return [{"position": t.target_id, "status": t.status, "reasons": list(t.reasons), "achieved": text(t.achieved),
             "expected": text(t.expected), "forecast": text(t.forecast), "baseline": text(t.baseline)}
            for t in result.targets]


# --- storing -------------------------------------------------------------------------------------------------

_COMPARED = ("status", "reasons", "targets", "versions", "target_set_id", "overdue_reports", "returned_reports",
             "reports_due", "reports_submitted", "reports_on_time")


def outcome(stored: dict[str, Any] | None, found: Inputs, result: model.ProjectAssessment, now: datetime
            ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What storing `result` writes over the stored row's values (None: no row yet): the columns to set, and the
    history row when the status changed. An unchanged result only moves the computed time, so the pages kept
    under the data generation stay kept."""
    values = {"project_id": found.project.id, "status": result.status, "severity": model.SEVERITY[result.status],
              "reasons": list(result.reasons), "targets": _target_rows(result), "versions": list(found.versions),
              "target_set_id": found.target_set_id,
              "overdue_reports": sum(not c.returned for c in found.concerns),
              "returned_reports": sum(c.returned for c in found.concerns),
              "reports_due": found.reporting.due, "reports_submitted": found.reporting.submitted,
              "reports_on_time": found.reporting.on_time, "computed_at": now}
    previous = stored["status"] if stored is not None else None
    if stored is not None and all(stored[name] == values[name] for name in _COMPARED):
        return {"computed_at": now}, None
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
    assessed: int = 0
    changed: int = 0
    turned_red: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"assessed": self.assessed, "changed": self.changed, "turned_red": self.turned_red}


def refresh(db: Session, projects: Sequence[Project], *, now: datetime, rules: BusinessSettings | None = None
            ) -> Counts:
    """Assess these projects and store the results: a history row and, on turning red, mail, only where the
    status changed. The caller's transaction; nothing is committed here."""
    rules = rules or business_settings.load(db)
    today = clock.local(now).date()
    counts = Counts()
    for start in range(0, len(projects), CHUNK):
        chunk = projects[start:start + CHUNK]
        inputs = _load(db, chunk, rules, today)
        stored = {a.project_id: a for a in db.scalars(select(ProjectAssessment).where(
            ProjectAssessment.project_id.in_(list(inputs))))}
        for project_id, found in inputs.items():
            result = evaluate(found, rules, today)
            counts.assessed += 1
            row = stored.get(project_id)
            values, history = outcome({name: getattr(row, name) for name in _COMPARED} if row else None,
                                      found, result, now)
            if row is None:
                db.add(ProjectAssessment(**values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)
            if history is not None:
                counts.changed += 1
                change = AssessmentChange(**history)
                db.add(change)
                if result.status == model.RED:
                    counts.turned_red += 1
                    db.flush()
                    outbox.queue_many(db, red_mails(found.project, change.id, change.reasons, now))
        db.flush()
    return counts


def refresh_project(db: Session, project: Project, *, now: datetime) -> None:
    """After a change to what the project's assessment rests on (a report accepted, a task book confirmed)."""
    if project.status in ASSESSED_STATUSES:
        refresh(db, [project], now=now)


# --- the nightly sweep ---------------------------------------------------------------------------------------


def assessed_projects(db: Session, ids: Iterable[int] | None = None) -> list[Project]:
    """The projects monitoring looks at, with only the columns it reads (and the contacts, for mail)."""
    query = (select(Project).where(Project.status.in_(ASSESSED_STATUSES))
             .options(load_only(Project.code, Project.title, Project.status, Project.start_date, Project.end_date,
                                Project.fiscal_funding, Project.self_funding, Project.pi_name, Project.pi_email,
                                Project.programme_id, Project.officer_id),
                      selectinload(Project.contacts)).order_by(Project.id))
    if ids is not None:
        query = query.where(Project.id.in_(list(ids)))
    return list(db.scalars(query))


def sweep(db: Session, now: datetime) -> dict[str, int]:
    """The `assess` job: every running project, in chunks (DESIGN §3: an idempotent sweep; run twice, the second
    run changes nothing but the computed time)."""
    return refresh(db, assessed_projects(db), now=now).as_dict()


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
