"""The demo's report histories at scale (`tracker demo --projects N` beyond the default demo, DESIGN §3).

Through the report service a history costs a few dozen calls per period, each re-reading the project's reports:
about 0.4 s a project, over an hour for 10,000. Here the same story (tracker/demo/reports.py `_History`, the same
inputs and the same random draws) talks to a recorder instead: it applies the service's own checks (the pure
ones: text, values against the accepted baseline, funds, completeness, identifiers) and keeps, in memory, the rows
each call would leave behind — the report's and version's final state with their lock counters, values,
evidence, files, reviews, the returned-report mails and the audit rows with their chain — and `finish` inserts
them all at once. tests/service/test_demo_bulk.py builds one demo both ways and compares the tables column by
column. Anything this module does not model (a calendar change, an extension…) must go through the services.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from indicators.assessment import monitoring as monitoring_model
from indicators.assessment import progress as progress_model
from indicators.workdays import ReportingPeriod, quarter_label
from tracker import clock
from tracker.demo.acceptance import Apply, Check, CheckMilestone, Decide, Disburse, Form, Step, disburse_applies
from tracker.files.evidence import CheckedFile
from tracker.files.store import EvidenceStore
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    ApplicationEvidence,
    ApplicationFigure,
    ApplicationTarget,
    AssessmentChange,
    CertificateFigure,
    Disbursement,
    DisbursementStatus,
    EvidenceFile,
    ExpertCheck,
    ExpertCheckItem,
    MilestoneCheck,
    Project,
    ProjectAssessment,
    ProjectChange,
    ProjectStatus,
    ProjectTarget,
    Report,
    ReportEvidence,
    ReportReview,
    ReportStatus,
    ReportValue,
    ReportVersion,
    ReviewDecision,
    Role,
    TargetSet,
    User,
    Verdict,
    meeting_members,
)
from tracker.models.acceptance import EVIDENCE_KINDS
from tracker.models.disbursements import LIVE, PROJECT_TRANCHE, milestone_tranche
from tracker.services import (
    acceptance,
    audit,
    business_settings,
    committees,
    disbursements,
    monitoring,
    outbox,
    reminders,
    verdicts,
)
from tracker.services import reports as service
from tracker.services.audit import Actor, PendingEntry
from tracker.services.business_settings import BusinessSettings
from tracker.services.committees import ItemInput
from tracker.services.projects import current_targets
from tracker.services.reports import ReportInput, ReportProblems

CHUNK = 5000


# --- in-memory rows that look like the ORM objects to the story and to the service's pure helpers -------------


@dataclass
class _File:
    id: int
    project_id: int
    sha256: str
    checked: CheckedFile
    uploaded_by_id: int | None
    uploaded_at: datetime


@dataclass
class _Value:
    target: ProjectTarget
    value: Decimal | None
    year_value: Decimal | None
    done: bool | None
    explanation: str
    note: str

    @property
    def target_id(self) -> int:
        return self.target.id


@dataclass
class _Evidence:
    position: int
    kind: str
    identifier: str
    description: str
    target: ProjectTarget | None
    file: _File | None

    @property
    def target_id(self) -> int | None:
        return self.target.id if self.target is not None else None

    @property
    def file_id(self) -> int | None:
        return self.file.id if self.file is not None else None


@dataclass
class _Version:
    id: int
    report_id: int
    number: int
    target_set: TargetSet
    created_at: datetime
    created_by_id: int | None
    saved_at: datetime
    saved_by_id: int | None
    narrative: str = ""
    problems: str = ""
    next_steps: str = ""
    fiscal_received: Decimal | None = None
    fiscal_spent: Decimal | None = None
    self_received: Decimal | None = None
    self_spent: Decimal | None = None
    channel: str = "form"
    submitted_at: datetime | None = None
    submitted_by_id: int | None = None
    content_sha256: str | None = None
    edit_lock: int = 1  # the ORM's version counter: +1 per UPDATE the service's flushes issue
    values: list[_Value] = field(default_factory=list)
    evidence: list[_Evidence] = field(default_factory=list)

    @property
    def target_set_id(self) -> int:
        return self.target_set.id

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None

    def content(self) -> tuple:
        return (self.narrative, self.problems, self.next_steps, *(getattr(self, n) for n in service.FUND_FIELDS))


@dataclass
class _Review:
    id: int
    report_id: int
    version_id: int
    decision: str
    comment: str
    decided_by_id: int | None
    decided_at: datetime


@dataclass
class _Report:
    id: int
    project_id: int
    period_index: int
    period_start: date
    period_end: date
    is_final: bool
    created_at: datetime
    updated_at: datetime
    status: str = ReportStatus.DRAFT
    accepted_number: int | None = None
    first_submitted_at: datetime | None = None
    last_submitted_at: datetime | None = None
    lock: int = 1
    versions: list[_Version] = field(default_factory=list)
    reviews: list[_Review] = field(default_factory=list)

    @property
    def latest(self) -> _Version:
        return self.versions[-1]

    @property
    def accepted(self) -> _Version | None:
        return next((v for v in self.versions if v.number == self.accepted_number), None)


# --- one project's recorder ---------------------------------------------------------------------------------


class _Ids:
    def __init__(self, start: dict[str, int]) -> None:
        self.next = dict(start)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Recorder:
    """The steps of one project's history, as the report service would take them (the `_Backend` of reports.py)."""

    project: Project
    grantee: Actor
    officer: Actor
    open_days: int
    ids: _Ids
    rules: BusinessSettings
    periods: list[ReportingPeriod]  # all of the project's, for the overdue ones of its assessment
    assessment: dict[str, Any] | None  # its stored monitoring row, as the service would find it
    settings_basis: str  # monitoring.settings_basis, read once
    reports: dict[int, _Report] = field(default_factory=dict)
    files: dict[str, _File] = field(default_factory=dict)  # sha256 → the project's one row for those bytes
    audit: list[PendingEntry] = field(default_factory=list)
    mails: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)  # assessment history rows
    reassessed: bool = False
    # What each reassessment reads that does not change between them: the task book's targets as monitoring sees
    # them, and each accepted (so frozen) version's values, by version id.
    monitored: list[Any] | None = None
    accepted_reports: dict[int, progress_model.AcceptedReport] = field(default_factory=dict)

    @property
    def current(self) -> TargetSet:
        return self.project.target_sets[-1]

    def submitted_periods(self) -> set[int]:
        return {index for index, r in self.reports.items() if r.first_submitted_at is not None}

    def report_at(self, index: int) -> _Report:
        return self.reports[index]

    def _record(self, actor: Actor, action: str, now: datetime, report: _Report, *, before: Any = None,
                after: Any = None) -> None:
        self.audit.append(PendingEntry(actor, action, now, object_type="report", object_id=report.id,
                                       before=before, after=after))

    def _open(self, period: ReportingPeriod, today: date) -> None:
        closed = service.period_is_open(self.project, period, today, self.open_days)
        if closed:
            raise ReportProblems({"form": closed})

    # -- service.save_draft

    def save(self, period: ReportingPeriod, data: ReportInput, *, now: datetime, today: date) -> _Report:
        self._open(period, today)
        report = self.reports.get(period.index)
        if report is None:
            if data.edit_lock is not None:
                raise ReportProblems({"lock": service.CONFLICT})
            target_set = self.current
        else:
            if not report.latest.is_draft:
                raise ReportProblems({"form": "not editable"})
            if data.edit_lock is None or data.edit_lock != report.latest.edit_lock:
                raise ReportProblems({"lock": service.CONFLICT})
            target_set = report.latest.target_set
        clean = self._check(target_set, period.index, data, today)
        before = service._summary(report.latest) if report is not None else None  # noqa: SLF001 - the same summary
        if report is None:
            report = _Report(self.ids.take("reports"), self.project.id, period.index, period.start, period.end,
                             period.is_final, created_at=now, updated_at=now)
            version = _Version(self.ids.take("report_versions"), report.id, 1, target_set, now, self.grantee.user_id,
                               now, self.grantee.user_id)
            report.versions.append(version)
            self.reports[period.index] = report
            # The service's first flush inserts both rows (the version without its text and funds yet).
        else:
            version = report.latest
            version.edit_lock += 1  # the version row is flushed first, its lock checked and bumped
            version.saved_at, version.saved_by_id = now, self.grantee.user_id
            if report.updated_at != now:
                report.lock += 1
            report.updated_at = now
        by_position = {t.position: t for t in target_set.targets}
        version.values = [_Value(by_position[position], value, year_value, done, explanation, note[:service.MAX_TEXT])
                          for position, (value, year_value, done, explanation, note) in clean.values.items()]
        version.evidence = []
        for i, (item, identifier, description, target_position) in enumerate(clean.evidence):
            file = self._file_by_id(item.file_id) if item.file_id is not None else None
            if item.new_file is not None:
                file = self._store(item.new_file, now)
            version.evidence.append(_Evidence(i, item.kind, identifier[:120], description[:500],
                                              by_position.get(target_position) if target_position is not None
                                              else None, file))
        content = version.content()
        for name in service.FUND_FIELDS:
            setattr(version, name, clean.funds.get(name))
        version.narrative = data.narrative.strip()
        version.problems = data.problems.strip()
        version.next_steps = data.next_steps.strip()
        if version.content() != content:
            version.edit_lock += 1  # the second flush: text and funds
        self._record(self.grantee, "report_save", now, report, before=before,
                     after=service._summary(version))  # noqa: SLF001
        return report

    def _store(self, checked: CheckedFile, now: datetime) -> _File:
        existing = self.files.get(checked.sha256)
        if existing is not None:
            return existing
        row = _File(self.ids.take("evidence_files"), self.project.id, checked.sha256, checked, self.grantee.user_id,
                    now)
        self.files[checked.sha256] = row
        return row

    def _file_by_id(self, file_id: int) -> _File | None:
        return next((f for f in self.files.values() if f.id == file_id), None)

    # -- the checks of service._check, on what is in memory

    def _check(self, target_set: TargetSet, period_index: int, data: ReportInput, today: date) -> service._Clean:
        errors: dict[str, str] = {}
        clean = service._Clean()  # noqa: SLF001 - the service's own checks, fed from memory
        baseline = progress_model.progress(service.target_specs(self.current), self._accepted(period_index),
                                           self.project.start_date)
        service._check_text(data, errors)  # noqa: SLF001
        service._check_values(target_set, data, baseline, errors, clean)  # noqa: SLF001
        service._check_evidence({f.id for f in self.files.values()}, target_set, data, errors, clean,  # noqa: SLF001
                                today)
        service._check_funds(self.project, data, self._accepted_funds(period_index), errors, clean)  # noqa: SLF001
        if errors:
            raise ReportProblems(errors)
        return clean

    def _accepted(self, before: int) -> list[progress_model.AcceptedReport]:
        return [self._accepted_report(report) for report in self.reports.values()
                if report.accepted is not None and report.period_index < before]

    def _accepted_funds(self, before: int) -> dict[str, Decimal | None]:
        earlier = [r for r in self.reports.values() if r.accepted is not None and r.period_index < before]
        if not earlier:
            return dict.fromkeys(service.FUND_FIELDS)
        version = max(earlier, key=lambda r: r.period_index).accepted
        return {name: getattr(version, name) for name in service.FUND_FIELDS}

    # -- service.submit

    def submit(self, period: ReportingPeriod, report: _Report, *, now: datetime, today: date) -> _Report:
        self._open(period, today)
        version = report.latest
        if not version.is_draft:
            raise ReportProblems({"form": "already submitted"})
        missing = service._completeness(version)  # noqa: SLF001
        if missing:
            raise ReportProblems(missing)
        version.content_sha256 = service.content_hash(version)
        version.submitted_at, version.submitted_by_id = now, self.grantee.user_id
        version.edit_lock += 1
        report.status = ReportStatus.SUBMITTED
        report.first_submitted_at = report.first_submitted_at or now
        report.last_submitted_at = report.updated_at = now
        report.lock += 1
        self._record(self.grantee, "report_submit", now, report,
                     after={"version": version.number, "sha256": version.content_sha256})
        # (service.submit also skips the period's waiting reminders: the demo queues none before its mail step.)
        self._reassess(now)
        return report

    # -- service.review

    def review(self, report: _Report, decision: str, comment: str, *, now: datetime) -> None:
        comment = comment.strip()
        if report.status != ReportStatus.SUBMITTED or (decision == ReviewDecision.RETURNED and len(comment) < 2):
            raise ReportProblems({"form": "not reviewable"})
        version = report.latest
        report.reviews.append(_Review(self.ids.take("report_reviews"), report.id, version.id, decision, comment,
                                      self.officer.user_id, now))
        report.status = decision
        if decision == ReviewDecision.ACCEPTED:
            report.accepted_number = version.number
        report.updated_at = now
        report.lock += 1
        self._record(self.officer, f"report_{decision}", now, report,
                     after={"version": version.number, "comment": comment[:200]})
        if decision == ReviewDecision.RETURNED:
            self._mail_returned(report, version, comment, now)
        self._reassess(now)

    def _reassess(self, now: datetime) -> None:
        """monitoring.refresh_project, on what the service would read back from the database."""
        project = self.project
        if project.status not in monitoring.ASSESSED_STATUSES:
            return
        today = clock.local(now).date()
        current = self.current
        by_period = sorted(self.reports.values(), key=lambda r: r.period_index)
        accepted = [r for r in by_period if r.accepted is not None]
        if self.monitored is None:
            self.monitored = [monitoring.monitored(t) for t in current.targets]
        found = monitoring.Inputs(project, current.id, list(self.monitored), selection=project.selection_rule)
        found.accepted = [self._accepted_report(r) for r in accepted]
        found.versions = [r.accepted.id for r in accepted]
        if accepted:
            latest = accepted[-1].accepted
            found.funds = {name: getattr(latest, name) for name in ("fiscal_received", "fiscal_spent",
                                                                    "self_received")}
        sent = {r.period_index: r.first_submitted_at for r in by_period if r.first_submitted_at is not None}
        confirmed = any(s.confirmed for s in project.target_sets)
        running = project.status in reminders.REMINDED_STATUSES and confirmed
        found.concerns = monitoring.report_concerns(
            [p for p in self.periods if p.index not in sent] if running else [],
            [(r.period_start, r.period_end, r.is_final) for r in by_period if r.status == ReportStatus.RETURNED],
            today)
        found.reporting = monitoring.reporting_of(self.periods, sent, today, confirmed=confirmed)
        result = monitoring.evaluate(found, self.rules, today)
        recheck = monitoring.recheck_day(found, self.periods, self.rules, today)
        basis = monitoring.basis_of(project, current.id, confirmed, monitoring.report_sums(
            monitoring.ReportState(r.period_index, r.accepted_number, r.first_submitted_at is not None,
                                   r.status == ReportStatus.RETURNED) for r in by_period), self.settings_basis)
        values, history = monitoring.outcome(self.assessment, found, result, now, recheck=recheck, basis=basis)
        self.assessment = {**(self.assessment or {}), **values}
        self.reassessed = True
        if history is not None:
            change = {"id": self.ids.take("assessment_changes"), **history}
            self.changes.append(change)
            if result.status == monitoring_model.RED:
                self.mails.extend(monitoring.red_mails(project, change["id"], change["reasons"], now))

    def _accepted_report(self, report: _Report) -> progress_model.AcceptedReport:
        version = report.accepted
        found = self.accepted_reports.get(version.id)
        if found is None:
            found = self.accepted_reports[version.id] = progress_model.AcceptedReport(
                report.period_index, report.period_end,
                {v.target.position: progress_model.ReportedValue(v.value, v.year_value, v.done)
                 for v in version.values})
        return found

    def _mail_returned(self, report: _Report, version: _Version, comment: str, now: datetime) -> None:
        """service._mail_returned's rows."""
        project = self.project
        for to in reminders.recipients_of(project):
            self.mails.append(outbox.row(
                dedupe_key=f"returned:{version.id}:to:{to.key}", template="report_returned", recipient=to.address,
                user=to.user, now=now, project_id=project.id,
                context={"name": to.name, "project_code": project.code, "project_title": project.title,
                         "period": quarter_label(report.period_start, final=report.is_final),
                         "version": version.number, "comment": comment,
                         "path": f"/projects/{project.id}/reports/{report.period_index}"}))

    # -- service.start_revision

    def revise(self, report: _Report, *, now: datetime, today: date) -> _Version:
        if report.status not in (ReportStatus.RETURNED, ReportStatus.ACCEPTED):
            raise ReportProblems({"form": "not revisable"})
        if self.project.status not in service.REPORTING_STATUSES:
            raise ReportProblems({"form": "not reporting"})
        latest = report.latest
        target_set = self.current
        by_position = {t.position: t for t in target_set.targets}
        version = _Version(self.ids.take("report_versions"), report.id, latest.number + 1, target_set, now,
                           self.grantee.user_id, now, self.grantee.user_id)
        for old in latest.values:
            target = by_position.get(old.target.position)
            if target is not None:
                version.values.append(_Value(target, old.value, old.year_value, old.done, old.explanation, old.note))
        for old in latest.evidence:
            target = by_position.get(old.target.position) if old.target is not None else None
            version.evidence.append(_Evidence(old.position, old.kind, old.identifier, old.description, target,
                                              old.file))
        for name in (*service.FUND_FIELDS, *service.TEXT_FIELDS):
            setattr(version, name, getattr(latest, name))
        report.versions.append(version)
        report.status = ReportStatus.DRAFT
        report.updated_at = now
        report.lock += 1
        self._record(self.grantee, "report_revise", now, report,
                     after={"version": version.number, "from": latest.number})
        return version


# --- the writer ---------------------------------------------------------------------------------------------

_TABLES = {"reports": Report, "report_versions": ReportVersion, "report_values": ReportValue,
           "report_evidence": ReportEvidence, "evidence_files": EvidenceFile, "report_reviews": ReportReview,
           "assessment_changes": AssessmentChange}


class BulkWriter:
    """Collects the recorders of many projects and inserts their rows at the end, in the caller's transaction."""

    def __init__(self, db: Session, store: EvidenceStore) -> None:
        self.db = db
        self.store = store
        db.flush()
        # The next ids, as the database would hand them out to the service's inserts in the same order.
        self.ids = _Ids({name: (db.scalar(select(func.max(model.id))) or 0) + 1 for name, model in _TABLES.items()})
        self.recorders: list[Recorder] = []
        self.rules = business_settings.load(db)
        self.settings_basis = monitoring.settings_basis(db, self.rules)
        columns = ProjectAssessment.__table__.columns
        self.assessments = {row["project_id"]: dict(row)
                            for row in db.execute(select(*columns)).mappings()}  # as task books left them

    @contextmanager
    def project(self, project: Project, *, grantee: Actor, officer: Actor, open_days: int,
                periods: list[ReportingPeriod]) -> Iterator[Recorder]:
        """A recorder for one project's history; kept only if the history ends without a refusal (the service
        path's savepoint), and then its ids stay taken."""
        saved = dict(self.ids.next)
        recorder = Recorder(project, grantee, officer, open_days, self.ids, self.rules, periods,
                            self.assessments.get(project.id), self.settings_basis)
        try:
            yield recorder
        except BaseException:
            self.ids.next = saved
            raise
        self.recorders.append(recorder)

    def finish(self) -> dict[str, int]:
        """Insert every kept row; returns the counts of `load_demo_reports`."""
        db = self.db
        files, reports, versions, values, evidence, reviews = [], [], [], [], [], []
        submitted, mails, entries, changes, assessments = [], [], [], [], []
        kept = [f for recorder in self.recorders for f in recorder.files.values()]
        names = iter(self.store.put_many([f.checked for f in kept]))
        for recorder in self.recorders:
            for f in recorder.files.values():
                files.append({"id": f.id, "project_id": f.project_id, "sha256": f.sha256,
                              "storage_name": next(names), "display_name": f.checked.display_name,
                              "media_type": f.checked.media_type, "size": f.checked.size,
                              "uploaded_by_id": f.uploaded_by_id, "uploaded_at": f.uploaded_at})
            for r in recorder.reports.values():
                reports.append({"id": r.id, "project_id": r.project_id, "period_index": r.period_index,
                                "period_start": r.period_start, "period_end": r.period_end, "is_final": r.is_final,
                                "status": str(r.status), "accepted_number": r.accepted_number,
                                "first_submitted_at": r.first_submitted_at, "last_submitted_at": r.last_submitted_at,
                                "created_at": r.created_at, "updated_at": r.updated_at, "lock": r.lock})
                for v in r.versions:
                    # Inserted as drafts, their values and evidence added, then submitted (the database refuses
                    # children of a submitted version, as it does for the service).
                    versions.append({
                        "id": v.id, "report_id": v.report_id, "number": v.number, "target_set_id": v.target_set_id,
                        "narrative": v.narrative, "problems": v.problems, "next_steps": v.next_steps,
                        "fiscal_received": v.fiscal_received, "fiscal_spent": v.fiscal_spent,
                        "self_received": v.self_received, "self_spent": v.self_spent, "channel": v.channel,
                        "created_at": v.created_at, "created_by_id": v.created_by_id, "saved_at": v.saved_at,
                        "saved_by_id": v.saved_by_id, "submitted_at": None, "submitted_by_id": None,
                        "content_sha256": None, "edit_lock": v.edit_lock})
                    if v.submitted_at is not None:
                        submitted.append({"b_id": v.id, "b_at": v.submitted_at, "b_by": v.submitted_by_id,
                                          "b_sha": v.content_sha256})
                    for x in v.values:
                        values.append({"id": self.ids.take("report_values"), "version_id": v.id,
                                       "target_id": x.target_id, "value": x.value, "year_value": x.year_value,
                                       "done": x.done, "explanation": x.explanation, "note": x.note})
                    for e in v.evidence:
                        evidence.append({"id": self.ids.take("report_evidence"), "version_id": v.id,
                                         "position": e.position, "target_id": e.target_id, "kind": e.kind,
                                         "identifier": e.identifier, "description": e.description,
                                         "file_id": e.file_id})
                reviews.extend({"id": x.id, "report_id": x.report_id, "version_id": x.version_id,
                                "decision": str(x.decision), "comment": x.comment, "decided_by_id": x.decided_by_id,
                                "decided_at": x.decided_at} for x in r.reviews)
            mails.extend(recorder.mails)
            entries.extend(recorder.audit)
            changes.extend(recorder.changes)
            if recorder.reassessed:
                assessments.append(recorder.assessment)
        reports.sort(key=lambda row: row["id"])
        versions.sort(key=lambda row: row["id"])
        reviews.sort(key=lambda row: row["id"])
        for model, rows in ((EvidenceFile, files), (Report, reports), (ReportVersion, versions),
                            (ReportValue, values), (ReportEvidence, evidence)):
            self._insert(model, rows)
        table = ReportVersion.__table__
        statement = (update(table).where(table.c.id == bindparam("b_id"))
                     .values(submitted_at=bindparam("b_at"), submitted_by_id=bindparam("b_by"),
                             content_sha256=bindparam("b_sha")))
        for i in range(0, len(submitted), CHUNK):
            db.connection().execute(statement, submitted[i:i + CHUNK])
        self._insert(ReportReview, reviews)
        # The monitoring rows as the last review left them (replacing what the task book's confirmation wrote).
        table = ProjectAssessment.__table__
        for i in range(0, len(assessments), CHUNK):
            chunk = assessments[i:i + CHUNK]
            db.execute(table.delete().where(table.c.project_id.in_([row["project_id"] for row in chunk])))
            db.connection().execute(table.insert(), chunk)
        self._insert(AssessmentChange, sorted(changes, key=lambda row: row["id"]))
        outbox.queue_many(db, mails)
        audit.append_many(db, entries)
        if db.get_bind().dialect.name == "postgresql":
            for name in _TABLES:  # explicit ids leave the sequences behind
                db.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - our names
                                f"(SELECT coalesce(max(id), 1) FROM {name}))"))
        status = [row["status"] for row in reports]
        return {"reports": len(reports), "versions": len(versions), "accepted": status.count(ReportStatus.ACCEPTED),
                "returned": status.count(ReportStatus.RETURNED), "submitted": status.count(ReportStatus.SUBMITTED),
                "drafts": status.count(ReportStatus.DRAFT), "evidence_files": len(files)}

    def _insert(self, model: Any, rows: list[dict[str, Any]]) -> None:
        connection = self.db.connection()
        for i in range(0, len(rows), CHUNK):
            connection.execute(model.__table__.insert(), rows[i:i + CHUNK])


# --- acceptance at scale ------------------------------------------------------------------------------------------

_ACCEPTANCE_TABLES = {"acceptance_applications": AcceptanceApplication, "application_targets": ApplicationTarget,
                      "application_figures": ApplicationFigure, "application_evidence": ApplicationEvidence,
                      "acceptance_meetings": AcceptanceMeeting, "expert_checks": ExpertCheck,
                      "expert_check_items": ExpertCheckItem, "acceptance_verdicts": AcceptanceVerdict,
                      "certificate_figures": CertificateFigure, "milestone_checks": MilestoneCheck,
                      "evidence_files": EvidenceFile, "assessment_changes": AssessmentChange,
                      "disbursements": Disbursement}


@dataclass
class _Application:
    row: dict[str, Any]
    project: Project
    target_set: TargetSet
    members: list[User] = field(default_factory=list)
    checks: dict[int, int] = field(default_factory=dict)  # expert id → their latest version
    verdict: dict[str, Any] | None = None  # the verdict in force


class AcceptanceWriter:
    """The acceptance steps of tracker/demo/acceptance.py (`plan`) at scale, as the rows the acceptance services
    would write: applications with their self-assessment, figures, evidence files and the monitoring refresh each
    makes, committees with their members and mails, the experts' checks, the verdicts with their certificate
    figures and mails, milestone checks, the disbursements they create and what the officer and finance do with
    them (with their mails), the projects' statuses and the audit rows, in the services' order, with the services'
    own checks and computations where they are pure. Through the services they cost some 50 ms a project (over two
    minutes for a 10,000-project demo), mostly the refresh of one project's assessment at a time; here what they
    read is read once and the rows are inserted together."""

    def __init__(self, db: Session, store: EvidenceStore) -> None:
        self.db = db
        self.store = store
        db.flush()
        self.ids = _Ids({name: (db.scalar(select(func.max(model.id))) or 0) + 1
                         for name, model in _ACCEPTANCE_TABLES.items()})
        self.rules = business_settings.load(db)
        self.settings_basis = monitoring.settings_basis(db, self.rules)
        self.experts = committees.experts(db)  # in the order form_meeting lists them
        officer = db.scalar(select(User).where(User.username == "officer"))
        self.officer = Actor.of(officer) if officer is not None else Actor.system("demo")  # as acceptance.take
        self.meeting_counts: dict[int, int] = {}
        for code in db.scalars(select(AcceptanceMeeting.code)):
            year = int(code[2:6]) if code[2:6].isdigit() else 0
            self.meeting_counts[year] = self.meeting_counts.get(year, 0) + 1
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in _ACCEPTANCE_TABLES}
        self.members: list[dict[str, Any]] = []
        self.files: list[CheckedFile] = []
        self.mails: list[dict[str, Any]] = []
        self.audit: list[PendingEntry] = []
        self.assessments: list[dict[str, Any]] = []
        self.applications: dict[int, _Application] = {}  # project id → its application
        self.milestone_checks: dict[tuple[int, int], dict[str, Any]] = {}
        self.payments = _Payments(self, db)

    def write(self, steps: list[Step], readings: dict[int, monitoring.Reading], *, progress: Any = None) -> None:
        """Record the steps and insert their rows; `readings`: the applying projects' monitoring inputs, read
        before the first step (acceptance.plan's)."""
        self.readings = readings
        self._read([s.project for s in steps if isinstance(s, Apply)])
        for n, step in enumerate(steps, 1):
            if progress is not None:
                progress("演示验收", n, len(steps))
            if isinstance(step, Apply):
                self._apply(step)
            elif isinstance(step, Form):
                self._form(step)
            elif isinstance(step, Check):
                self._check(step)
            elif isinstance(step, Decide):
                self._decide(step)
            elif isinstance(step, CheckMilestone):
                self._milestone(step)
            else:
                self.payments.step(step)
        self._insert()

    def _read(self, projects: list[Project]) -> None:
        """What else the services read of the applying projects, read once: the stored monitoring rows, the final
        reports, the evidence files already on record."""
        db = self.db
        ids = [p.id for p in projects]
        table = ProjectAssessment.__table__
        self.before: dict[int, dict[str, Any]] = {}  # the stored monitoring rows, as the applications find them
        self.finals: dict[int, int] = {}
        self.known_files: dict[tuple[int, str], int] = {}
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            self.before.update((row["project_id"], dict(row)) for row in db.execute(
                select(table.c.project_id, table.c.severity, *(table.c[name] for name in monitoring._COMPARED))  # noqa: SLF001
                .where(table.c.project_id.in_(chunk))).mappings())
            for project_id, report_id in db.execute(
                    select(Report.project_id, Report.id).where(Report.project_id.in_(chunk), Report.is_final.is_(True))
                    .order_by(Report.project_id, Report.period_index)):
                self.finals[project_id] = report_id  # the last period's (acceptance.final_report)
            self.known_files.update(((project_id, sha), file_id) for project_id, sha, file_id in db.execute(
                select(EvidenceFile.project_id, EvidenceFile.sha256, EvidenceFile.id)
                .where(EvidenceFile.project_id.in_(chunk))))

    def _add(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        row = {"id": self.ids.take(table), **row}
        self.rows[table].append(row)
        return row

    # -- acceptance.apply

    def _apply(self, step: Apply) -> None:
        project, data, now, actor = step.project, step.data, step.at, step.actor
        today = clock.local(now).date()
        target_set = current_targets(project)
        window = acceptance.window_of(project, self.rules)
        if (project.id in self.applications or project.status not in acceptance.MAY_APPLY
                or not target_set.confirmed or not target_set.targets or window.state(today) != "open"
                or project.id not in self.finals):
            raise acceptance.AcceptanceProblems({"application": f"{project.code} 不能申请验收"})
        errors: dict[str, str] = {}
        summary = data.summary.strip()
        if not summary or len(summary) > acceptance.MAX_TEXT:
            errors["summary"] = "请填写项目完成情况自评总结"
        claims = acceptance._claims(target_set.targets, data.targets, errors)  # noqa: SLF001 - the service's own
        needs = acceptance.figures_needed(project)
        figures = acceptance.parse_figures(needs, data.figures, errors, "figure_")
        keys = {n.key for n in needs}
        if len(data.evidence) > acceptance.MAX_EVIDENCE or any(
                e.kind not in EVIDENCE_KINDS or (e.figure_key and e.figure_key not in keys) for e in data.evidence):
            errors["evidence"] = "佐证材料有误"
        if any(n.required for n in needs) and not data.evidence:
            errors["evidence"] = "请上传专项审计报告或发票等经费佐证材料"
        if errors:
            raise acceptance.AcceptanceProblems(errors)
        before = project.status
        project.status = ProjectStatus.ACCEPTANCE_APPLIED.value
        project.version += 1
        assessment = self._refresh(project, now)  # as the service: after the status moved
        files = [self._store(project, item.new_file, actor, now) for item in data.evidence]
        row = self._add("acceptance_applications", {
            "project_id": project.id, "final_report_id": self.finals[project.id], "target_set_id": target_set.id,
            "summary": summary, "readiness": assessment["readiness"], "submitted_at": now,
            "submitted_by_id": actor.user_id, "meeting_id": None})
        for t in target_set.targets:
            value, done, claimed, note = claims[t.id]
            self._add("application_targets", {"application_id": row["id"], "target_id": t.id, "value": value,
                                              "done": done, "claimed_met": claimed, "note": note})
        for key, amount in figures.items():
            self._add("application_figures", {"application_id": row["id"], "key": key, "amount": amount})
        for i, (item, file_id) in enumerate(zip(data.evidence, files, strict=True)):
            self._add("application_evidence", {"application_id": row["id"], "position": i, "kind": item.kind,
                                               "figure_key": item.figure_key or None,
                                               "description": item.description.strip()[:500], "file_id": file_id})
        self.applications[project.id] = _Application(row, project, target_set)
        # (apply also skips the project's acceptance-window reminders: the demo queues none before its mail step.)
        self.audit.append(PendingEntry(actor, "acceptance_applied", now, object_type="project", object_id=project.id,
                                       before={"status": before},
                                       after={"status": project.status, "application": row["id"],
                                              "figures": {k: str(v) for k, v in figures.items()},
                                              "evidence": files}))

    def _refresh(self, project: Project, now: datetime) -> dict[str, Any]:
        """monitoring.refresh_project at the moment of the application, on what it reads; returns the row."""
        today = clock.local(now).date()
        reading = self.readings[project.id]
        found = monitoring.inputs_on(reading, today)
        result = monitoring.evaluate(found, self.rules, today)
        recheck = monitoring.recheck_day(found, reading.periods, self.rules, today)
        basis = monitoring.basis_of(found.project, found.target_set_id, reading.confirmed,
                                    monitoring.report_sums(reading.states), self.settings_basis)
        stored = self.before.get(project.id)
        values, history = monitoring.outcome(stored, found, result, now, recheck=recheck, basis=basis)
        self.assessments.append({"project_id": project.id, **values})
        if history is not None:
            change = self._add("assessment_changes", history)
            if result.status == monitoring_model.RED:
                self.mails.extend(monitoring.red_mails(project, change["id"], change["reasons"], now))
        return {**(stored or {}), **values}

    def _store(self, project: Project, checked: CheckedFile, actor: Actor, now: datetime) -> int:
        """reports.store_file: one row per distinct file of a project."""
        known = self.known_files.get((project.id, checked.sha256))
        if known is not None:
            return known
        row = self._add("evidence_files", {"project_id": project.id, "sha256": checked.sha256,
                                           "display_name": checked.display_name, "media_type": checked.media_type,
                                           "size": checked.size, "uploaded_by_id": actor.user_id,
                                           "uploaded_at": now})
        self.files.append(checked)
        self.known_files[(project.id, checked.sha256)] = row["id"]
        return row["id"]

    # -- committees.form_meeting

    def _form(self, step: Form) -> None:
        now, today = step.at, clock.local(step.at).date()
        cases = sorted((self.applications[p.id] for p in step.projects), key=lambda a: a.row["id"])
        chosen = {m.id for m in step.members}
        members = [u for u in self.experts if u.id in chosen]
        problems = [c for a in cases for c in committees.conflicts(a.project, members)]
        if (step.held_on < today or len(members) != len(chosen) or step.leader.id not in chosen or problems
                or any(a.row["meeting_id"] is not None for a in cases)):
            raise acceptance.AcceptanceProblems({"members": "；".join(problems) or "验收会信息有误"})
        year = step.held_on.year
        self.meeting_counts[year] = count = self.meeting_counts.get(year, 0) + 1
        officer = self.officer
        meeting = self._add("acceptance_meetings", {
            "code": f"YS{year}-{count:03d}", "title": step.title.strip(), "held_on": step.held_on,
            "place": step.place.strip(), "leader_id": step.leader.id, "created_by_id": officer.user_id,
            "created_at": now})
        self.members.extend({"meeting_id": meeting["id"], "user_id": m.id} for m in members)
        for case in cases:
            case.row["meeting_id"] = meeting["id"]
            case.members = members
            case.project.status = ProjectStatus.UNDER_ACCEPTANCE.value
            case.project.version += 1
        self.audit.append(PendingEntry(officer, "acceptance_meeting_formed", now, object_type="acceptance_meeting",
                                       object_id=meeting["id"],
                                       after={"code": meeting["code"], "held_on": step.held_on.isoformat(),
                                              "place": meeting["place"], "members": [m.username for m in members],
                                              "leader": step.leader.id,
                                              "projects": [a.project.code for a in cases]}))
        for member in members:
            if member.email:
                self.mails.append(outbox.row(
                    dedupe_key=f"expert-assigned:{meeting['id']}:{member.id}", template="expert_assigned",
                    recipient=member.email, user=member, now=now, context={
                        "name": member.display_name or member.username, "meeting_code": meeting["code"],
                        "meeting_title": meeting["title"], "held_on": step.held_on.isoformat(),
                        "place": meeting["place"], "leader": member.id == step.leader.id,
                        "projects": [{"code": a.project.code, "title": a.project.title,
                                      "path": f"/acceptance/cases/{a.row['id']}"} for a in cases],
                        "path": f"/acceptance/meetings/{meeting['id']}"}))

    # -- committees.submit_check

    def _check(self, step: Check) -> None:
        case = self.applications[step.project.id]
        expert = step.expert
        if expert.id not in {m.id for m in case.members} or case.verdict is not None:
            raise acceptance.AcceptanceProblems({"check": "您不是该项目验收专家组成员"})
        items = []
        for target in case.target_set.targets:
            item = step.items.get(target.id, ItemInput(""))
            comment = item.comment.strip()
            if item.agrees not in ("1", "0") or (item.agrees == "0" and not comment):
                raise acceptance.AcceptanceProblems({f"t{target.id}": f"请对“{target.metric}”选择“认可”或“不认可”"})
            items.append((target.id, item.agrees == "1", comment))
        opinion = step.opinion.strip()
        if not opinion or step.recommendation not in {v.value for v in Verdict}:
            raise acceptance.AcceptanceProblems({"opinion": "请填写专家意见"})
        version = case.checks.get(expert.id, 0) + 1
        case.checks[expert.id] = version
        check = self._add("expert_checks", {"application_id": case.row["id"], "expert_id": expert.id,
                                            "version": version, "opinion": opinion,
                                            "recommendation": step.recommendation, "submitted_at": step.at})
        for target_id, agrees, comment in items:
            self._add("expert_check_items", {"check_id": check["id"], "target_id": target_id, "agrees": agrees,
                                             "comment": comment})
        self.audit.append(PendingEntry(Actor.of(expert), "expert_check_submitted", step.at,
                                       object_type="acceptance_case", object_id=case.row["id"],
                                       after={"version": version, "recommendation": step.recommendation,
                                              "disagree": [t for t, agrees, _ in items if not agrees]}))

    # -- verdicts.record_verdict

    def _decide(self, step: Decide) -> None:
        case = self.applications[step.project.id]
        project, data, now = case.project, step.data, step.at
        if case.row["meeting_id"] is None or any(m.id not in case.checks for m in case.members):
            raise acceptance.AcceptanceProblems({"verdict": "以下专家尚未提交核查意见"})
        previous = case.verdict
        errors: dict[str, str] = {}
        opinion, reason, certificate_no = data.opinion.strip(), data.reason.strip(), data.certificate_no.strip()
        if (data.verdict not in {v.value for v in Verdict} or not opinion or len(opinion) > verdicts.MAX_TEXT
                or (previous is not None and not reason) or len(certificate_no) > 40):
            errors["verdict"] = "验收结论有误"
        needs = acceptance.figures_needed(project)
        if data.verdict != Verdict.PASSED:
            needs = [type(n)(n.key, n.label, False, n.why) for n in needs]
        figures = acceptance.parse_figures(needs, data.figures, errors, "figure_")
        if errors:
            raise acceptance.AcceptanceProblems(errors)
        verdict = self._add("acceptance_verdicts", {
            "project_id": project.id, "application_id": case.row["id"], "verdict": data.verdict, "opinion": opinion,
            "certificate_no": certificate_no, "decided_by_id": self.officer.user_id, "decided_at": now,
            "supersedes_id": previous["id"] if previous is not None else None, "reason": reason[:2000]})
        for key, amount in figures.items():
            self._add("certificate_figures", {"verdict_id": verdict["id"], "key": key, "amount": amount})
        case.verdict = verdict
        before = project.status
        project.status = verdicts.STATUS_OF[Verdict(data.verdict)].value
        project.version += 1
        corrected = previous is not None
        self.audit.append(PendingEntry(
            self.officer, "acceptance_verdict_superseded" if corrected else "acceptance_verdict", now,
            object_type="project", object_id=project.id,
            before={"status": before, "verdict": previous["verdict"] if corrected else None},
            after={"status": project.status, "verdict": data.verdict, "verdict_id": verdict["id"],
                   "figures": {k: str(v) for k, v in figures.items()}, "reason": reason[:200]}))
        self.payments.on_verdict(project, verdict, figures, superseded=corrected, actor=self.officer, now=now)
        for to in reminders.recipients_of(project):
            self.mails.append(outbox.row(
                dedupe_key=f"verdict:{verdict['id']}:to:{to.key}", template="acceptance_verdict",
                recipient=to.address, user=to.user, project_id=project.id, now=now, context={
                    "name": to.name, "project_code": project.code, "project_title": project.title,
                    "verdict": Verdict(data.verdict).label, "corrected": corrected, "reason": reason[:500],
                    "opinion": opinion[:2000], "path": f"/projects/{project.id}/acceptance"}))

    # -- verdicts.record_milestone_check

    def _milestone(self, step: CheckMilestone) -> None:
        project, data, now = step.project, step.data, step.at
        target_set = current_targets(project)
        milestone = next((m for m in target_set.milestones if m.position == step.position), None)
        checked_on = date.fromisoformat(data.checked_on.strip())
        previous = self.milestone_checks.get((project.id, step.position))
        evidence, comment, reason = data.evidence.strip(), data.comment.strip(), data.reason.strip()
        if (not project.is_milestone_funded or not target_set.confirmed or milestone is None
                or project.status == ProjectStatus.TERMINATED or data.passed not in ("1", "0")
                or checked_on > clock.local(now).date() or not evidence or (data.passed == "0" and not comment)
                or (previous is not None and not reason)):
            raise acceptance.AcceptanceProblems({"milestone": f"{project.code} 的里程碑核查有误"})
        check = self._add("milestone_checks", {
            "project_id": project.id, "milestone_id": milestone.id, "position": step.position,
            "passed": data.passed == "1", "checked_on": checked_on, "evidence": evidence, "file_id": None,
            "comment": comment, "decided_by_id": self.officer.user_id, "decided_at": now,
            "supersedes_id": previous["id"] if previous is not None else None, "reason": reason})
        self.milestone_checks[(project.id, step.position)] = check
        milestone_amount = milestone.amount
        self.audit.append(PendingEntry(self.officer, "milestone_checked", now, object_type="project",
                                       object_id=project.id,
                                       before={"passed": previous["passed"]} if previous is not None else None,
                                       after={"milestone": step.position, "title": milestone.title,
                                              "passed": check["passed"], "checked_on": checked_on.isoformat(),
                                              "check": check["id"], "reason": reason[:200]}))
        self.payments.on_milestone_check(project, check, milestone_amount, superseded=previous is not None,
                                         actor=self.officer, now=now)

    # -- the rows

    def _insert(self) -> None:
        db = self.db
        names = iter(self.store.put_many(self.files))
        for row in self.rows["evidence_files"]:
            row["storage_name"] = next(names)
        connection = db.connection()
        for name in ("evidence_files", "acceptance_meetings"):
            self._rows(_ACCEPTANCE_TABLES[name], self.rows[name])
        for i in range(0, len(self.members), CHUNK):
            connection.execute(meeting_members.insert(), self.members[i:i + CHUNK])
        for name in ("acceptance_applications", "application_targets", "application_figures",
                     "application_evidence", "expert_checks", "expert_check_items", "acceptance_verdicts",
                     "certificate_figures", "milestone_checks", "assessment_changes", "disbursements"):
            self._rows(_ACCEPTANCE_TABLES[name], self.rows[name])
        # The monitoring rows as the applications' refreshes left them (one each).
        monitoring._write(db, self.before, self.assessments)  # noqa: SLF001 - the service's own writing
        outbox.queue_many(db, self.mails)
        audit.append_many(db, self.audit)
        if db.get_bind().dialect.name == "postgresql":
            for name in _ACCEPTANCE_TABLES:  # explicit ids leave the sequences behind
                db.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - our names
                                f"(SELECT coalesce(max(id), 1) FROM {name}))"))
        db.flush()

    def _rows(self, model: Any, rows: list[dict[str, Any]]) -> None:
        connection = self.db.connection()
        for i in range(0, len(rows), CHUNK):
            connection.execute(model.__table__.insert(), rows[i:i + CHUNK])


# --- disbursements at scale ---------------------------------------------------------------------------------------

S = DisbursementStatus
OWED = (S.PENDING, S.RETURNED, S.APPROVED, S.PAID)  # what disbursements._already_committed adds up


class _Committed:
    """The one thing `disbursements.compute` reads from the database, what the project's other live tranches owe
    or paid (`_already_committed`), answered from the rows in memory as the database returns the sum (Decimal
    with two places). If compute ever reads more, the equality test says so."""

    def __init__(self, amount: Decimal) -> None:
        self.amount = amount

    def scalar(self, _query: Any) -> Decimal:
        return self.amount


def _as_stored(value: Decimal | None) -> Decimal | None:
    """Money as it reads back from the database: two places (what a step finds when it loads the row)."""
    return None if value is None else value.quantize(Decimal("0.01"))


def _label(tranche: str) -> str:
    return Disbursement(tranche=tranche).tranche_label


class _Payments:
    """tracker.services.disbursements for the AcceptanceWriter: the rows its trigger (a verdict, a milestone check),
    the officer's amount, finance's approval, return, payment and reversal, and the sweep would write, with their
    audit rows and mails, in memory; the writer inserts them with the rest. The amounts come from the service's own
    `compute`."""

    def __init__(self, writer: AcceptanceWriter, db: Session) -> None:
        self.writer = writer
        self.rows = writer.rows["disbursements"]
        self.live: dict[tuple[int, str], dict[str, Any]] = {}  # (project, tranche) → its live row
        self.of_project: dict[int, list[dict[str, Any]]] = {}
        self.certificates: dict[int, dict[str, Decimal]] = {}  # verdict id → its figures (yuan)
        self.milestone_projects: dict[int, Project] = {}
        # Rows written before the story (a termination's refusal, through the services): read, never changed here.
        self.stored: set[tuple[int, str]] = set()
        self.stored_owed: dict[int, Decimal] = {}
        self.vouchers: set[str] = set()
        for project_id, tranche, status, amount, paid, reversed_ in db.execute(select(
                Disbursement.project_id, Disbursement.tranche, Disbursement.status, Disbursement.amount,
                Disbursement.voucher_no, Disbursement.reversal_voucher_no)):
            if status in LIVE:
                self.stored.add((project_id, tranche))
            if status in OWED:
                self.stored_owed[project_id] = self.stored_owed.get(project_id, Decimal(0)) + amount
            self.vouchers.update(v for v in (paid, reversed_) if v)
        # The terminations on record, for the sweep's look at terminated projects (disbursements.on_termination).
        self.terminations = [(change_id, db.get(Project, project_id)) for change_id, project_id in db.execute(
            select(ProjectChange.id, ProjectChange.project_id).where(ProjectChange.kind == "termination")
            .order_by(ProjectChange.id))]
        self.finance_users = list(db.scalars(select(User).where(User.role == Role.FINANCE.value,
                                                                User.is_active.is_(True)).order_by(User.id)))
        finance = db.scalar(select(User).where(User.username == "finance"))
        self.finance = Actor.of(finance) if finance is not None else Actor.system("demo")  # as acceptance.take

    # -- computing and inserting

    def _committed(self, project_id: int, besides: int | None) -> Decimal:
        total = sum((r["amount"] for r in self.of_project.get(project_id, ())
                     if r["status"] in OWED and r["id"] != besides), self.stored_owed.get(project_id, Decimal(0)))
        return total.quantize(Decimal("0.01"))

    def _has_live(self, project: Project, tranche: str) -> bool:
        return (project.id, tranche) in self.live or (project.id, tranche) in self.stored

    def _compute(self, project: Project, tranche: str, figures: dict[str, Decimal], *, row_id: int | None = None,
                 **options: Any) -> disbursements.Outcome:
        return disbursements.compute(_Committed(self._committed(project.id, row_id)), project, tranche, figures,
                                     row_id=row_id, **options)

    def _insert(self, project: Project, tranche: str, basis: str, outcome: disbursements.Outcome, *, actor: Actor,
                now: datetime) -> None:
        """disbursements._insert: none when the tranche has its live row (the partial unique index refuses it)."""
        if self._has_live(project, tranche):
            return
        row = self.writer._add("disbursements", {  # noqa: SLF001 - the writer's ids
            "project_id": project.id, "tranche": tranche, "basis": basis, "status": str(outcome.status),
            "amount": outcome.amount, "message": outcome.message, "computation": outcome.computation,
            "officer_amount": None, "exception_reason": "", "exception": False, "return_comment": "",
            "approved_by_id": None, "approved_at": None, "paid_on": None, "voucher_no": None, "paid_by_id": None,
            "reversal_due": False, "void_reason": "", "reversed_on": None, "reversal_voucher_no": None,
            "created_at": now, "updated_at": now, "lock": 1})
        self.live[(project.id, tranche)] = row
        self.of_project.setdefault(project.id, []).append(row)
        self._audit(actor, "disbursement_created", now, row,
                    after={"project": project.code, "tranche": tranche, "basis": basis, "status": row["status"],
                           "amount": str(row["amount"]) if row["amount"] is not None else None,
                           "message": row["message"]})
        if row["status"] == S.PENDING:
            self._mail_finance(row, project, now)

    def _audit(self, actor: Actor, action: str, now: datetime, row: dict[str, Any], *, before: Any = None,
               after: Any = None) -> None:
        self.writer.audit.append(PendingEntry(actor, action, now, object_type="disbursement", object_id=row["id"],
                                              before=before, after=after))

    def _mail_finance(self, row: dict[str, Any], project: Project, now: datetime) -> None:
        for user in self.finance_users:
            if user.email:
                self.writer.mails.append(outbox.row(
                    dedupe_key=f"disbursement-pending:{row['id']}:{row['lock']}:to:u{user.id}",
                    template="disbursement_pending", recipient=user.email, user=user, project_id=project.id,
                    now=now, context={"name": user.display_name or user.username, "project_code": project.code,
                                      "project_title": project.title, "amount_wan": _wan_text(row["amount"]),
                                      "tranche": _label(row["tranche"]), "path": f"/disbursements/{row['id']}"}))

    def _retire(self, project: Project, tranche: str, reason: str, *, actor: Actor, now: datetime) -> None:
        row = self.live.get((project.id, tranche))
        if row is None:
            return
        before = row["status"]
        if before == S.PAID:
            row["reversal_due"] = True  # the paid row stays live with the reversal finance must make
        else:
            row["status"] = str(S.VOID)
            del self.live[(project.id, tranche)]
        row["void_reason"], row["updated_at"] = reason, now
        row["lock"] += 1
        self._audit(actor, "disbursement_voided" if row["status"] == S.VOID else "disbursement_reversal_due", now,
                    row, before={"status": before},
                    after={"status": row["status"], "reversal_due": row["reversal_due"], "reason": reason[:200]})

    # -- the triggers

    def on_verdict(self, project: Project, verdict: dict[str, Any], figures: dict[str, Decimal], *,
                   superseded: bool, actor: Actor, now: datetime) -> None:
        if not acceptance.is_post_subsidy(project):
            return
        self.certificates[verdict["id"]] = figures
        if superseded:
            self._retire(project, PROJECT_TRANCHE, f"验收结论已更正：{verdict['reason']}", actor=actor, now=now)
        self._for_verdict(project, verdict, actor=actor, now=now)

    def _for_verdict(self, project: Project, verdict: dict[str, Any], *, actor: Actor, now: datetime) -> None:
        basis = f"verdict:{verdict['id']}"
        if verdict["verdict"] != Verdict.PASSED:
            rule = acceptance.funding_rule_of(project)
            words = disbursements.REFUSED_BY_VERDICT.get(Verdict(verdict["verdict"]), "未通过验收")
            forfeit = rule is not None and rule.forfeit
            rule_words = "按资助规则“验收不通过或终止结题，不拨付”" if forfeit else "后补助须通过验收"
            outcome = disbursements.Outcome(S.REFUSED, None, f"{words}，{rule_words}，不予拨付",
                                            {"steps": [], "figures": {}})
            self._insert(project, PROJECT_TRANCHE, basis, outcome, actor=actor, now=now)
        elif not project.is_milestone_funded:  # a 里程碑式 project is paid per passed milestone
            outcome = self._compute(project, PROJECT_TRANCHE, self.certificates[verdict["id"]])
            self._insert(project, PROJECT_TRANCHE, basis, outcome, actor=actor, now=now)

    def on_milestone_check(self, project: Project, check: dict[str, Any], amount: Decimal | None, *,
                           superseded: bool, actor: Actor, now: datetime) -> None:
        tranche = milestone_tranche(check["position"])
        self.milestone_projects[project.id] = project
        if superseded:
            self._retire(project, tranche, f"里程碑核查结论已更正：{check['reason']}", actor=actor, now=now)
        if check["passed"]:
            self._for_milestone(project, check, amount, actor=actor, now=now)

    def _for_milestone(self, project: Project, check: dict[str, Any], amount: Decimal | None, *, actor: Actor,
                       now: datetime) -> None:
        tranche = milestone_tranche(check["position"])
        outcome = self._compute(project, tranche, {}, milestone_amount=amount)
        self._insert(project, tranche, f"milestone_check:{check['id']}", outcome, actor=actor, now=now)

    def _sweep(self, now: datetime) -> None:
        """disbursements.sweep: the missing row of every current verdict, terminated project and passed milestone
        check."""
        actor = Actor.system("disbursements")
        decided = sorted((a for a in self.writer.applications.values() if a.verdict is not None),
                         key=lambda a: a.verdict["id"])
        for case in decided:
            project, verdict = case.project, case.verdict
            if not acceptance.is_post_subsidy(project) or (verdict["verdict"] == Verdict.PASSED
                                                           and project.is_milestone_funded):
                continue
            if not self._has_live(project, PROJECT_TRANCHE):
                self._for_verdict(project, verdict, actor=actor, now=now)
        for change_id, project in self.terminations:  # on_termination, for a terminated project without its row
            if (project.status == ProjectStatus.TERMINATED and acceptance.is_post_subsidy(project)
                    and not self._has_live(project, PROJECT_TRANCHE)):
                outcome = disbursements.Outcome(S.REFUSED, None, "项目终止，后补助须通过验收，不予拨付",
                                                {"steps": [], "figures": {}})
                self._insert(project, PROJECT_TRANCHE, f"termination:{change_id}", outcome, actor=actor, now=now)
        checks = sorted((c for c in self.writer.milestone_checks.values() if c["passed"]), key=lambda c: c["id"])
        for check in checks:
            project = self.milestone_projects[check["project_id"]]
            if not self._has_live(project, milestone_tranche(check["position"])):
                milestone = next(m for m in current_targets(project).milestones if m.position == check["position"])
                self._for_milestone(project, check, milestone.amount, actor=actor, now=now)

    # -- the people's steps

    def step(self, step: Disburse) -> None:
        """One step of the story (acceptance.take's `_disburse`), on the row as the service would read it."""
        if step.action == "sweep":
            self._sweep(step.at)
            return
        row = self.live.get((step.project.id, step.tranche))
        if row is None:
            return
        row["amount"], row["officer_amount"] = _as_stored(row["amount"]), _as_stored(row["officer_amount"])
        if not disburse_applies(step, row["status"], row["reversal_due"], row["computation"] or {}):
            return
        try:
            getattr(self, f"_{step.action}")(step, row)
        except acceptance.AcceptanceProblems:
            return  # the service refuses it and writes nothing

    def _amount(self, step: Disburse, row: dict[str, Any]) -> None:
        """disbursements.officer_update with the officer's amount (a blocked row of bounds without a rate)."""
        project, now = step.project, step.at
        entered = disbursements.parse_wan(step.text, "amount") if step.text.strip() else None
        before = {"status": row["status"], "amount": str(row["amount"]) if row["amount"] is not None else None}
        certificate = self.certificates.get(int(row["basis"].split(":")[1]), {}) if row["basis"].startswith(
            "verdict:") else {}
        outcome = self._compute(project, row["tranche"], certificate, row_id=row["id"],
                                officer_amount=row["officer_amount"] if entered is None else entered,
                                exception=row["exception"])
        if outcome.status == S.BLOCKED and entered is not None:
            raise acceptance.AcceptanceProblems({"amount": outcome.message})
        if entered is not None:
            row["officer_amount"] = entered
        row.update(status=str(outcome.status), amount=outcome.amount, message=outcome.message,
                   computation=outcome.computation, updated_at=now)
        row["lock"] += 1
        self._audit(self.writer.officer, "disbursement_updated", now, row, before=before, after={
            "status": row["status"], "amount": str(row["amount"]) if row["amount"] else None,
            "officer_amount": str(row["officer_amount"]) if row["officer_amount"] else None, "exception": ""})
        if row["status"] == S.PENDING:
            self._mail_finance(row, project, now)

    def _approve(self, step: Disburse, row: dict[str, Any]) -> None:
        row.update(status=str(S.APPROVED), approved_by_id=self.finance.user_id, approved_at=step.at,
                   updated_at=step.at)
        row["lock"] += 1
        self._audit(self.finance, "disbursement_approved", step.at, row, before={"status": str(S.PENDING)},
                    after={"status": row["status"], "amount": str(row["amount"])})

    def _return(self, step: Disburse, row: dict[str, Any]) -> None:
        comment = step.text.strip()
        if not comment:
            raise acceptance.AcceptanceProblems({"comment": "退回须写明原因"})
        row.update(status=str(S.RETURNED), return_comment=comment[:2000], updated_at=step.at)
        row["lock"] += 1
        self._audit(self.finance, "disbursement_returned", step.at, row, before={"status": str(S.PENDING)},
                    after={"status": row["status"], "comment": comment[:200]})

    def _voucher(self, voucher_no: str) -> str:
        """disbursements._payment's voucher checks (the day is the step's own: never after today)."""
        voucher = voucher_no.strip()
        if not voucher or len(voucher) > 60 or voucher in self.vouchers:
            raise acceptance.AcceptanceProblems({"voucher_no": "凭证号有误"})
        self.vouchers.add(voucher)
        return voucher

    def _pay(self, step: Disburse, row: dict[str, Any]) -> None:
        project, now = step.project, step.at
        day = clock.local(now).date()
        voucher = self._voucher(step.voucher)
        row.update(status=str(S.PAID), paid_on=day, voucher_no=voucher, paid_by_id=self.finance.user_id,
                   updated_at=now)
        row["lock"] += 1
        self._audit(self.finance, "disbursement_paid", now, row, before={"status": str(S.APPROVED)},
                    after={"status": row["status"], "paid_on": day.isoformat(), "voucher_no": voucher,
                           "amount": str(row["amount"])})
        for to in reminders.recipients_of(project):
            self.writer.mails.append(outbox.row(
                dedupe_key=f"disbursement-paid:{row['id']}:to:{to.key}", template="disbursement_paid",
                recipient=to.address, user=to.user, project_id=project.id, now=now, context={
                    "name": to.name, "project_code": project.code, "project_title": project.title,
                    "amount_wan": _wan_text(row["amount"]), "paid_on": day.isoformat(),
                    "tranche": _label(row["tranche"]), "path": f"/projects/{project.id}/acceptance"}))

    def _reverse(self, step: Disburse, row: dict[str, Any]) -> None:
        now = step.at
        day = clock.local(now).date()
        voucher = self._voucher(step.voucher)
        row.update(status=str(S.REVERSED), reversed_on=day, reversal_voucher_no=voucher, reversal_due=False,
                   updated_at=now)
        row["lock"] += 1
        del self.live[(row["project_id"], row["tranche"])]
        self._audit(self.finance, "disbursement_reversed", now, row, before={"status": str(S.PAID)},
                    after={"status": row["status"], "reversed_on": day.isoformat(), "voucher_no": voucher,
                           "amount": str(row["amount"])})


def _wan_text(yuan: Decimal | None) -> str:
    return disbursements._fmt(disbursements._wan(yuan))  # noqa: SLF001 - the service's own words for an amount
