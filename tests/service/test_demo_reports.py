"""The demo's report histories (tracker/demo/reports.py): every story exists, everything went through the report
service (hashes, audit rows, evidence checks), progress counts accepted versions only, and two fresh databases
get the same histories."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from indicators.assessment.progress import TargetSpec
from indicators.evidence_ids import check_identifier
from tracker import clock
from tracker.db import make_engine, make_session_factory
from tracker.demo.accounts import create_demo
from tracker.demo.projects import load_demo_guidelines, load_demo_projects
from tracker.demo.reports import load_demo_reports, patent_application_number, summary_line
from tracker.files.store import EvidenceStore
from tracker.models import (
    AuditEntry,
    EvidenceFile,
    Project,
    Report,
    ReportEvidence,
    ReportStatus,
    ReportVersion,
    ReviewDecision,
)
from tracker.schema import upgrade_database
from tracker.services import audit
from tracker.services import reports as service
from tracker.services.work_calendar import seed_demo_calendar

# Enough projects for every story (the round of stories needs about ten reporting projects), few enough for a
# unit test: the whole demo (60 projects) takes three times as long.
COUNT = 20


def build(db, now, store, count=COUNT):
    """What `tracker demo` does after the accounts: calendar, the five guidelines, projects, histories."""
    seed_demo_calendar(db, now=now)
    documents = load_demo_guidelines(db, now=now)
    load_demo_projects(db, documents, now=now, count=count)
    return load_demo_reports(db, now=now, store=store)


@pytest.fixture
def store(tmp_path):
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def demo(db, now, demo_users, store):
    counts = build(db, now, store)
    db.commit()
    db.expire_all()
    return counts


def all_reports(db):
    return list(db.scalars(select(Report).order_by(Report.project_id, Report.period_index)))


def due_of(db, report):
    return service.period_of(db, report.project, report.period_index, 15).due


def numeric_specs(project):
    return [(t, TargetSpec(t.position, t.kind, t.op, t.value, t.unit)) for t in project.target_sets[-1].targets
            if t.kind != "qualitative" and t.op and t.value is not None]


def check_counts_and_summary(db, demo):
    assert demo["projects"] >= 12
    assert demo["skipped"] == 0
    assert demo["reports"] == db.scalar(select(func.count()).select_from(Report))
    assert demo["versions"] == db.scalar(select(func.count()).select_from(ReportVersion))
    assert demo["reports"] == demo["accepted"] + demo["returned"] + demo["submitted"] + demo["drafts"]
    assert min(demo["returned"], demo["submitted"], demo["drafts"], demo["overdue"], demo["evidence_files"]) >= 1
    assert demo["accepted"] > demo["reports"] * 0.8  # most reports are accepted
    assert summary_line(demo).startswith(f"演示进展报告 {demo['reports']} 份")


def check_every_story_exists(db, now, demo, demo_users):
    today = clock.local(now).date()
    reports = all_reports(db)
    decisions = {r.id: [(v.decision, v.comment) for v in r.reviews] for r in reports}

    # returned with a comment, resubmitted, then accepted
    fixed = [r for r in reports if r.status == ReportStatus.ACCEPTED and len(r.versions) >= 2
             and decisions[r.id][0][0] == ReviewDecision.RETURNED]
    assert fixed and all(decisions[r.id][0][1] for r in fixed)
    assert any(c == "专利申请号与受理通知书不一致，请核对后重新提交" for r in reports for _, c in decisions[r.id]) \
        or len({c for r in fixed for _, c in decisions[r.id] if c}) >= 2
    # returned and not resubmitted yet
    still = [r for r in reports if r.status == ReportStatus.RETURNED]
    assert still and all(decisions[r.id][-1][0] == ReviewDecision.RETURNED and decisions[r.id][-1][1] for r in still)
    # late: first submitted after the due date, then accepted
    late = [r for r in reports if r.status == ReportStatus.ACCEPTED
            and clock.local(r.first_submitted_at).date() > due_of(db, r)]
    assert late
    assert all(r.first_submitted_at < now for r in reports if r.first_submitted_at)
    # waiting in the demo officer's queue; a draft
    assert service.review_queue(db, demo_users["officer"])
    assert any(r.status == ReportStatus.DRAFT and r.accepted_number is None for r in reports)
    # a correction of an accepted report, accepted later: two accepted versions of one report
    corrected = [r for r in reports if [d for d, _ in decisions[r.id]].count(ReviewDecision.ACCEPTED) == 2]
    assert corrected and all(r.accepted_number == r.latest.number for r in corrected)
    later = {(r.project_id, r.period_index) for r in reports}
    assert any((r.project_id, r.period_index + 1) in later for r in corrected)

    projects = list(db.scalars(select(Project).order_by(Project.id)))
    # overdue periods of projects that still report
    overdue = 0
    for project in projects:
        if project.status in service.REPORTING_STATUSES and project.target_sets[-1].confirmed:
            periods = [p for p in service.project_periods(db, project, 15) if p.due < today]
            overdue += sum(row.overdue for row in service.schedule(db, project, periods, today=today, open_days=15))
    assert overdue == demo["overdue"] >= 1

    behind = 0
    for project in projects:
        if not project.target_sets[-1].confirmed:
            assert not service.reports_of(db, project)
            continue
        progress = service.project_progress(db, project)
        accepted = [r for r in service.reports_of(db, project).values() if r.accepted is not None]
        if not accepted:
            continue
        last_end = max(r.period_end for r in accepted)
        elapsed = (last_end - project.start_date).days / (project.end_date - project.start_date).days
        cumulative = [(t, s) for t, s in numeric_specs(project) if t.kind == "cumulative" and not s.per_year]
        if project.status in service.REPORTING_STATUSES and any(
                (progress[t.position].current or 0) < Decimal("0.5") * t.value * Decimal(repr(min(1, elapsed)))
                for t, _ in cumulative if t.value >= 2):
            behind += 1
    assert behind >= 1


def check_everything_went_through_the_service(db, demo, store):
    versions = list(db.scalars(select(ReportVersion)))
    submitted = [v for v in versions if v.submitted_at is not None]
    assert submitted and all(v.content_sha256 == service.content_hash(v) for v in submitted)
    # one audit row per save, submit, revision and decision, on an intact chain
    actions = dict(db.execute(select(AuditEntry.action, func.count()).where(AuditEntry.object_type == "report")
                              .group_by(AuditEntry.action)).all())
    assert actions["report_submit"] == len(submitted)
    assert actions["report_save"] >= len(versions)
    assert actions["report_accepted"] >= demo["accepted"]
    assert actions["report_returned"] >= demo["returned"] + 1
    assert actions["report_revise"] >= 2
    assert audit.verify_chain(db) == []
    # grantees submit, the project's officer decides
    for report in all_reports(db):
        for version in report.versions:
            if version.submitted_by is not None:
                assert version.submitted_by.role == "grantee"
                assert version.submitted_by.organisation_id == report.project.organisation_id
        for review in report.reviews:
            assert review.decided_by is not None and review.decided_by.id == report.project.officer_id
    # evidence: well-formed identifiers tied to their targets, files stored and readable
    evidence = list(db.scalars(select(ReportEvidence)))
    for item in evidence:
        if item.identifier:
            checked = check_identifier(item.kind, item.identifier)
            assert checked.error is None and checked.value == item.identifier, item.identifier
    kinds = {e.kind for e in evidence}
    assert {"patent_application", "certificate", "file"} <= kinds
    for item in evidence:
        if item.kind == "patent_application" and item.target is not None:
            assert item.target.category in ("patent_application", "ip_any")
    for row in db.scalars(select(EvidenceFile)):
        assert len(store.read(row.storage_name)) == row.size
    assert {row.media_type for row in db.scalars(select(EvidenceFile))} == {"application/pdf", "image/png"}


def check_values_and_funds_are_plausible(db, demo):
    for project in db.scalars(select(Project)):
        accepted = sorted((r for r in service.reports_of(db, project).values() if r.accepted is not None),
                          key=lambda r: r.period_index)
        service.load_versions(db, [r.accepted for r in accepted])
        previous: dict[int, Decimal] = {}
        funds = dict.fromkeys(service.FUND_FIELDS, Decimal(0))
        for report in accepted:
            version = report.accepted
            assert version.fiscal_received <= project.fiscal_funding
            assert version.fiscal_spent <= version.fiscal_received
            assert version.self_spent <= version.self_received
            for name in service.FUND_FIELDS:
                assert getattr(version, name) >= funds[name]
                funds[name] = getattr(version, name)
            for value in version.values:
                target = value.target
                if target.kind == "cumulative" and value.value is not None:
                    before = previous.get(target.position)
                    assert before is None or value.value >= before or value.explanation
                    previous[target.position] = value.value
                if target.kind == "deliverable" and value.done:
                    assert any(e.target_id == target.id for e in version.evidence)
                if target.kind == "qualitative":
                    assert value.note
                if target.unit and target.unit.endswith("/年"):
                    assert value.year_value is not None
            assert len(version.narrative) >= 10 and version.problems and version.next_steps


def check_progress_counts_accepted_versions_only(db, demo):
    checked = 0
    for project in db.scalars(select(Project)):
        reports = service.reports_of(db, project)
        if not reports:
            continue
        progress = service.project_progress(db, project)
        accepted = sorted((r for r in reports.values() if r.accepted is not None), key=lambda r: r.period_index)
        service.load_versions(db, [r.accepted for r in accepted])
        for entry in progress.values():
            if entry.last_period is not None:
                assert reports[entry.last_period].accepted is not None
        for target in project.target_sets[-1].targets:
            if target.kind != "cumulative" or not accepted:
                continue
            latest = accepted[-1].accepted.value_for(target.id)
            assert progress[target.position].current == latest.value
            checked += 1
        # a submitted or draft version of a report with an accepted one does not count
        for report in reports.values():
            if report.accepted is not None and report.latest.number != report.accepted_number:
                assert report.latest.is_draft or report.status == ReportStatus.SUBMITTED
    assert checked


def test_demo_histories(db, now, demo, demo_users, store):
    """One build of the demo, every check on it (a build costs seconds: the checks share it)."""
    check_counts_and_summary(db, demo)
    check_every_story_exists(db, now, demo, demo_users)
    check_everything_went_through_the_service(db, demo, store)
    check_values_and_funds_are_plausible(db, demo)
    check_progress_counts_accepted_versions_only(db, demo)


def test_patent_numbers_carry_their_check_digit():
    number = patent_application_number(2023, 1, 123456)
    assert number == "202310123456.6"
    assert check_identifier("patent_application", number, today=date(2026, 1, 1)).error is None


@pytest.mark.slow  # builds the whole demo history twice
@pytest.mark.both_databases  # the test database against a fresh SQLite one
def test_two_fresh_databases_get_the_same_histories(db, now, demo_users, store, tmp_path):
    first = build(db, now, store)
    db.commit()
    engine = make_engine(f"sqlite:///{tmp_path / 'second.db'}")
    upgrade_database(engine)
    other = make_session_factory(engine)()
    try:
        create_demo(other, now=now)  # the CLI's accounts (the fixture's are the same, without five argon2 hashes)
        second = build(other, now, EvidenceStore(tmp_path / "second-evidence"))
        other.commit()
        assert second == first

        def fingerprint(session):
            rows = session.execute(
                select(Project.code, Report.period_index, Report.status, Report.accepted_number,
                       Report.first_submitted_at, ReportVersion.number, ReportVersion.narrative,
                       ReportVersion.fiscal_spent)
                .join(Report, Report.project_id == Project.id).join(ReportVersion)
                .order_by(Project.code, Report.period_index, ReportVersion.number)).all()
            return [tuple(row) for row in rows]

        assert fingerprint(other) == fingerprint(db)
        # And running it again on the same database adds nothing.
        again = load_demo_reports(other, now=now, store=EvidenceStore(tmp_path / "second-evidence"))
        assert again["reports"] == 0
    finally:
        other.close()
        engine.dispose()
