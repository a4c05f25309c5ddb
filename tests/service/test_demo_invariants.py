"""The demo tells the truth (monitoring issue): over the whole default demo, as `tracker demo` builds it, a
project's status agrees with its changes, its task book, its reports and its stored assessment, and the story
runs forward in time. Acceptance (验收) too: every acceptance state exists, each as the outcome of the steps that
lead to it, in time order (final report, application inside the window, committee, checks, verdict), with no
expert on a case of their own organisation; the post-subsidy projects that passed carry the certificate figures
their funding rule needs; and each browser journey finds its case (the grantee's project to apply for, the
applications waiting for a committee, the `expert` login's case to check, a case ready for its verdict, a
里程碑式补助 milestone to check)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from indicators.deadlines import add_months
from tracker import clock
from tracker.db import make_engine, make_session_factory
from tracker.demo.accounts import DEMO_ORGANISATION_USCC
from tracker.demo.build import build_demo
from tracker.demo.projects import funding_form
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    AssessmentChange,
    ExpertCheck,
    MilestoneCheck,
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
from tracker.services import acceptance, business_settings, committees, monitoring, verdicts

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


def test_every_status_is_there(projects):
    statuses = Counter(p.status for p in projects)
    assert set(statuses) == {s.value for s in ProjectStatus}, statuses
    assert statuses["active"] > statuses["extended"] >= statuses["terminated"] >= 1
    assert statuses["acceptance_applied"] >= 2 and statuses["under_acceptance"] >= 3  # the officer's journeys
    assert min(statuses["passed"], statuses["failed"], statuses["concluded"]) >= 1


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


# --- acceptance -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def applications(db):
    found = list(db.scalars(select(AcceptanceApplication).order_by(AcceptanceApplication.id)))
    assert len(found) >= 10
    return found


def checks_of(db, application) -> list[ExpertCheck]:
    return list(db.scalars(select(ExpertCheck).where(ExpertCheck.application_id == application.id)))


def test_acceptance_runs_forward(db, applications):
    """Final report in, then the application inside the window, then the committee, the checks on the day it
    meets, the verdict (and its correction), all before now."""
    rules = business_settings.load(db)
    for application in applications:
        project, final = application.project, application.final_report
        assert final.is_final and final.last_submitted_at is not None, project.code
        assert final.last_submitted_at <= application.submitted_at < NOW, project.code
        window = acceptance.window_of(project, rules)
        assert window.state(clock.local(application.submitted_at).date()) == "open", project.code
        meeting = application.meeting
        if meeting is None:
            assert project.status == ProjectStatus.ACCEPTANCE_APPLIED, project.code
            assert not checks_of(db, application)
            continue
        assert application.submitted_at < meeting.created_at < NOW, project.code
        assert clock.local(meeting.created_at).date() <= meeting.held_on <= TODAY, project.code
        moments = [c.submitted_at for c in checks_of(db, application)]
        assert all(meeting.created_at < at < NOW for at in moments), project.code
        decided = [v.decided_at for v in verdicts.verdict_history(db, project)]
        assert decided == sorted(decided) and all(max(moments) < at < NOW for at in decided), project.code
        expected = ProjectStatus.UNDER_ACCEPTANCE if not decided else verdicts.STATUS_OF[
            verdicts.current_verdict(db, project).verdict]
        assert project.status == expected, project.code


def test_every_verdict_rests_on_every_members_check(db):
    found = list(db.scalars(select(AcceptanceVerdict)))
    assert len(found) >= 5
    for verdict in found:
        application = db.get(AcceptanceApplication, verdict.application_id)
        assert committees.missing_checks(db, application) == [], application.project.code
        assert all(c.submitted_at < verdict.decided_at for c in committees.latest_checks(db, application).values())
    corrected = [v for v in found if v.supersedes_id is not None]
    assert corrected and all(v.reason for v in corrected)


def test_no_expert_sits_on_a_case_of_their_own_organisation(db):
    meetings = list(db.scalars(select(AcceptanceMeeting)))
    assert meetings
    seated = set()
    for meeting in meetings:
        assert meeting.leader in meeting.members and len(meeting.members) >= 3
        for member in meeting.members:
            assert member.organisation is not None  # every demo expert works somewhere
            seated.add(member.username)
            for application in meeting.applications:
                assert member.organisation.uscc != application.project.organisation.uscc, application.project.code
    assert len(seated) >= 4  # the committees take turns


def test_every_browser_journey_finds_its_case(db, projects, applications):
    rules = business_settings.load(db)
    grantees = [p for p in projects if p.organisation.uscc == DEMO_ORGANISATION_USCC]
    assert [p for p in grantees if acceptance.refusal(db, p, rules, TODAY) == []]  # the grantee applies today
    assert len([a for a in applications if a.meeting_id is None]) >= 2  # the officer forms a committee
    expert_cases = [(a, {c.expert.username for c in checks_of(db, a)}) for a in applications
                    if a.meeting is not None and "expert" in {m.username for m in a.meeting.members}
                    and verdicts.current_verdict(db, a.project) is None]
    assert [a for a, checked in expert_cases if "expert" not in checked]  # the expert checks a case
    assert [a for a, checked in expert_cases if "expert" in checked and committees.missing_checks(db, a)]
    ready = [a for a in applications if a.meeting is not None and not committees.missing_checks(db, a)
             and not committees.has_verdict(db, a)]
    assert ready  # the officer records a verdict
    running = [p for p in projects if p.status in RUNNING and p.is_milestone_funded]
    checked = {(c.project_id, c.position) for c in db.scalars(select(MilestoneCheck))}
    due = [p for p in running for m in p.target_sets[-1].milestones
           if m.due_date < TODAY and (p.id, m.position) not in checked]
    assert due  # the officer checks a milestone


def test_running_projects_near_their_end_are_ready_and_not_ready(db, projects):
    """Readiness comes from the accepted reports; tonight's assessment stored it."""
    near = [p for p in projects if p.status in RUNNING and abs((p.end_date - TODAY).days) <= 90]
    states = {monitoring.assessment_of(db, p).readiness["status"] for p in near}
    assert {"ready", "not_ready"} <= states


def test_post_subsidy_projects_that_passed_carry_the_figures_their_rule_needs(db, projects):
    passed = [p for p in projects if p.status == ProjectStatus.PASSED and acceptance.is_post_subsidy(p)]
    for project in passed:
        verdict = verdicts.current_verdict(db, project)
        needed = [n.key for n in acceptance.figures_needed(project) if n.required]
        assert needed and all(verdict.figure(key) is not None for key in needed), project.code
    # Every form of post-subsidy the seeds have reached 通过, for the disbursements to compute.
    forms = {funding_form(p.funding_rule) for p in passed}
    assert forms >= {"compute_spend", "certified_self_funding", "total_investment", "partner_payment",
                     "technology_transaction_total", "milestone"}, forms


def test_a_milestone_project_has_a_passed_milestone_check(db):
    checks = list(db.scalars(select(MilestoneCheck)))
    assert any(c.passed for c in checks)
    for check in checks:
        assert check.milestone.due_date <= check.checked_on <= TODAY and check.decided_at < NOW
