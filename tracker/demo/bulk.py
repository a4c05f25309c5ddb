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
from tracker.files.evidence import CheckedFile
from tracker.files.store import EvidenceStore
from tracker.models import (
    AssessmentChange,
    EvidenceFile,
    Project,
    ProjectAssessment,
    ProjectTarget,
    Report,
    ReportEvidence,
    ReportReview,
    ReportStatus,
    ReportValue,
    ReportVersion,
    ReviewDecision,
    TargetSet,
)
from tracker.services import audit, business_settings, monitoring, outbox, reminders
from tracker.services import reports as service
from tracker.services.audit import Actor, PendingEntry
from tracker.services.business_settings import BusinessSettings
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
        out = []
        for report in self.reports.values():
            version = report.accepted
            if version is None or report.period_index >= before:
                continue
            values = {v.target.position: progress_model.ReportedValue(v.value, v.year_value, v.done)
                      for v in version.values}
            out.append(progress_model.AcceptedReport(report.period_index, report.period_end, values))
        return out

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
        found = monitoring.Inputs(project, current.id, [monitoring.monitored(t) for t in current.targets],
                                  selection=project.selection_rule)
        found.accepted = [progress_model.AcceptedReport(r.period_index, r.period_end, {
            v.target.position: progress_model.ReportedValue(v.value, v.year_value, v.done)
            for v in r.accepted.values}) for r in accepted]
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
