"""The demo tells the truth (monitoring issue): over the whole default demo, as `tracker demo` builds it, a
project's status agrees with its changes, its task book, its reports and its stored assessment, and the story
runs forward in time. Until the acceptance workflow exists no project claims an acceptance state."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from indicators.deadlines import add_months
from tracker import clock
from tracker.db import make_engine, make_session_factory
from tracker.demo.build import build_demo
from tracker.models import (
    AssessmentChange,
    Project,
    ProjectAssessment,
    ProjectChange,
    ProjectStatus,
    Report,
    ReportReview,
    ReportVersion,
    TargetSet,
)
from tracker.schema import upgrade_database
from tracker.services import business_settings, monitoring

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
TODAY = clock.local(NOW).date()
RUNNING = {ProjectStatus.ACTIVE.value, ProjectStatus.EXTENDED.value}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo")
    engine = make_engine(f"sqlite:///{path / 'demo.db'}")
    upgrade_database(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        build_demo(session, now=NOW, data_dir=path)
        session.commit()
    with sessions() as session:
        yield session
        session.rollback()
    engine.dispose()


@pytest.fixture(scope="module")
def projects(db):
    return list(db.scalars(select(Project).order_by(Project.id)))


def changes_by_project(db) -> dict[int, list[ProjectChange]]:
    found: dict[int, list[ProjectChange]] = defaultdict(list)
    for change in db.scalars(select(ProjectChange).order_by(ProjectChange.id)):
        found[change.project_id].append(change)
    return found


def test_statuses_are_only_those_the_demo_can_show_happening(projects):
    statuses = Counter(p.status for p in projects)
    assert set(statuses) == {"active", "extended", "terminated"}, statuses
    assert statuses["active"] > statuses["extended"] >= statuses["terminated"] >= 1


def test_every_extension_and_termination_is_on_record(db, projects):
    changes = changes_by_project(db)
    for project in projects:
        kinds = [c.kind for c in changes[project.id]]
        if project.status == ProjectStatus.EXTENDED:
            assert kinds == ["extension"], project.code
            change = changes[project.id][0]
            assert change.new_end_date == project.end_date > change.old_end_date
            assert change.requested_on <= add_months(change.old_end_date, -3)  # the notice DESIGN §2 asks for
        elif project.status == ProjectStatus.TERMINATED:
            assert kinds == ["termination"], project.code
        else:
            assert kinds == [], project.code
        for change in changes[project.id]:
            assert change.decided_at < NOW and change.decided_by_id is not None


def test_no_running_project_ended_beyond_its_acceptance_window(db, projects):
    rules = business_settings.load(db)
    running = [p for p in projects if p.status in RUNNING]
    for project in running:
        assert add_months(project.end_date, rules.acceptance_close_months) >= TODAY, project.code
    ended = [p for p in running if p.end_date < TODAY]
    assert 1 <= len(ended) < len(running) / 5  # a few await their application; most still run


def test_the_story_runs_forward(db, projects):
    """Imported, then the task book confirmed, then reports filed and reviewed, then the assessment's history,
    all before now."""
    confirmed = {s.project_id: s for s in db.scalars(select(TargetSet).where(TargetSet.confirmed.is_(True)))}
    versions: dict[int, list[ReportVersion]] = defaultdict(list)
    for version, project_id in db.execute(select(ReportVersion, Report.project_id).join(Report)):
        versions[project_id].append(version)
    changes = changes_by_project(db)
    for project in projects:
        assert project.created_at < NOW
        task_book = confirmed.get(project.id)
        if task_book is None:
            assert not versions[project.id], project.code  # nothing is filed before the officer confirms
            assert project.status == ProjectStatus.ACTIVE
            continue
        assert project.created_at <= task_book.confirmed_at < NOW
        for version in versions[project.id]:
            assert task_book.confirmed_at < version.created_at <= version.saved_at < NOW, project.code
            if version.submitted_at is not None:
                assert version.saved_at <= version.submitted_at < NOW
        for change in changes[project.id]:
            assert task_book.confirmed_at < change.decided_at
    for review, submitted in db.execute(select(ReportReview, ReportVersion.submitted_at)
                                        .join(ReportVersion, ReportVersion.id == ReportReview.version_id)):
        assert submitted is not None and submitted < review.decided_at < NOW
    history: dict[int, list[AssessmentChange]] = defaultdict(list)
    for row in db.scalars(select(AssessmentChange).order_by(AssessmentChange.id)):
        history[row.project_id].append(row)
    for rows in history.values():
        moments = [r.changed_at for r in rows]
        assert moments == sorted(moments) and moments[-1] <= NOW
        assert all(a.status != b.status for a, b in zip(rows, rows[1:], strict=False))


def test_reports_only_while_the_project_ran(db, projects):
    stopped = {c.project_id: clock.local(c.decided_at).date() for c in db.scalars(
        select(ProjectChange).where(ProjectChange.kind == "termination"))}
    by_id = {p.id: p for p in projects}
    reports = list(db.scalars(select(Report)))
    assert reports
    for report in reports:
        project = by_id[report.project_id]
        assert project.start_date <= report.period_start <= report.period_end <= project.end_date
        assert report.period_start <= TODAY
        if project.id in stopped:
            assert clock.local(report.updated_at).date() <= stopped[project.id], project.code


def test_stored_assessments_are_current_with_a_spread_of_statuses(db, projects):
    """What the pages read is what monitoring computes now (the demo ran tonight's assessment), and the officer
    sees every colour."""
    def stored() -> dict[int, tuple]:
        db.expire_all()
        return {a.project_id: (a.status, a.reasons, a.targets, a.overdue_reports, a.returned_reports,
                               a.reports_due, a.reports_submitted, a.reports_on_time)
                for a in db.scalars(select(ProjectAssessment))}

    before = stored()
    running = [p for p in projects if p.status in RUNNING]
    assert {p.id for p in running} <= set(before)
    monitoring.refresh(db, monitoring.assessed_projects(db), now=NOW)
    db.flush()
    assert stored() == before
    db.rollback()
    colours = Counter(before[p.id][0] for p in running)
    assert min(colours["green"], colours["amber"], colours["red"]) >= 3, colours
    assert colours["unknown"] >= 1  # the just-awarded projects: nothing to judge yet
