"""The demo tells the truth (monitoring issue): over the whole default demo, as `tracker demo` builds it, a
project's status agrees with its changes, its task book, its reports and its stored assessment, and the story
runs forward in time. Acceptance (验收) too: every acceptance state exists, each as the outcome of the steps that
lead to it, in time order (final report, application inside the window, committee, checks, verdict), with no
expert on a case of their own organisation; the post-subsidy projects that passed carry the certificate figures
their funding rule needs; and each browser journey finds its case (the grantee's project to apply for, the
applications waiting for a committee, the `expert` login's case to check, a case ready for its verdict, a
里程碑式补助 milestone to check). Disbursements (后补助拨付) too: every state of the issue, each rate reproduced from
the certificate to the yuan, never more than the award, one live row per tranche, and the officer's and
finance's steps after the verdict and before now, with unique vouchers."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from indicators.deadlines import add_months
from tracker import clock
from tracker.db import make_engine, make_session_factory
from tracker.demo.accounts import DEMO_ORGANISATION_USCC
from tracker.demo.build import build_demo
from tracker.demo.projects import funding_form
from tracker.exports.disbursements_xlsx import payment_rows
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AcceptanceVerdict,
    AssessmentChange,
    AuditEntry,
    Disbursement,
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
    User,
)
from tracker.models.disbursements import LIVE, PROJECT_TRANCHE, milestone_tranche
from tracker.schema import upgrade_database
from tracker.services import acceptance, business_settings, committees, disbursements, monitoring, verdicts

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
            # Terminated on the grantee's request (a change), or by the acceptance verdict 终止.
            terminated_at_acceptance = verdicts.current_verdict(db, project) is not None
            assert kinds == ([] if terminated_at_acceptance else ["termination"]), project.code
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


# --- disbursements (后补助拨付) ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def payments(db):
    return list(db.scalars(select(Disbursement).order_by(Disbursement.id)))


def test_every_state_of_a_disbursement_is_there(payments):
    """The finance queue's every tab has rows, and the corrections left a voided row and a reversal."""
    labels = Counter(d.status_label for d in payments)
    assert {"待审批", "已审批待支付", "已支付", "受阻", "已退回", "不予拨付"} <= set(labels), labels
    assert labels["已作废"] >= 1 and labels["已冲销"] >= 1 and labels["待冲销"] >= 1, labels
    blocked = [d.message for d in payments if d.status == "blocked"]
    assert any("配套比例" in m for m in blocked), blocked  # a matching ratio not met
    assert any("请录入补助金额" in m for m in blocked), blocked  # bounds without a rate: the officer's amount
    refused = [(d.basis.split(":")[0], d.message) for d in payments if d.status == "refused"]
    assert {"验收不通过", "项目终止"} <= {m.split("，")[0] for _, m in refused}, refused
    assert ("verdict", "项目终止，后补助须通过验收，不予拨付") in refused  # the verdict 终止, not only a change
    # The two tranches of a 里程碑式 project, each from its passed check, and paid.
    milestones = defaultdict(dict)
    for d in payments:
        if d.tranche != PROJECT_TRANCHE:
            milestones[d.project_id][d.tranche] = d.status
    assert {milestone_tranche(0): "paid", milestone_tranche(1): "paid"} in milestones.values(), milestones
    # A bounds row shows the amount the officer entered and the limits it was checked against.
    entered = [d for d in payments if d.officer_amount is not None and d.status == "paid"]
    assert entered and all(d.amount == d.officer_amount and d.computation["floor"] for d in entered)


def _certificate_of(db, row: Disbursement) -> dict[str, Decimal]:
    verdict = db.get(AcceptanceVerdict, int(row.basis.split(":")[1]))
    return {f.key: f.amount for f in verdict.figures}


def test_every_rate_on_the_payment_list_is_reproduced_from_the_certificate_to_the_yuan(db, projects):
    """base × rate, clamped by the rule's floor and cap, from the certificate figure the rule names; at least two
    passed projects for each rate form of the seeds."""
    rows = [r for r in payment_rows(db, disbursements.disbursements_for(None)) if r.rate is not None]
    by_form: dict[str, set[str]] = defaultdict(set)
    for line in rows:
        row = db.get(Disbursement, line.disbursement_id)
        rule = acceptance.funding_rule_of(row.project)
        base_key = rule.formula.base
        by_form[base_key].add(line.code)
        figure = _certificate_of(db, row)[base_key]
        assert line.base * 10000 == figure and line.rate == rule.formula.rate, line.code
        if line.amount_yuan is None:  # blocked by a limit besides the amount (the matching ratio)
            assert row.status == "blocked", line.code
            continue
        amount = figure / 10000 * rule.formula.rate
        if rule.bounds.cap is not None:
            amount = min(amount, rule.bounds.cap)
        if rule.bounds.floor is not None:
            amount = max(amount, rule.bounds.floor)
        expected = (amount * 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert line.amount_yuan == expected == row.amount, line.code
        assert line.amount_wan * 10000 == expected and line.cap == rule.bounds.cap, line.code
    passed = {p.code for p in projects if p.status == ProjectStatus.PASSED}
    for form in ("compute_spend", "certified_self_funding", "technology_transaction_total"):
        assert len(by_form[form] & passed) >= 2, (form, by_form[form])


def test_no_project_is_paid_more_than_its_award_and_each_tranche_has_one_live_row(db, payments):
    live = [d for d in payments if d.status in LIVE]
    tranches = Counter((d.project_id, d.tranche) for d in live)
    assert max(tranches.values()) == 1
    owed: dict[int, Decimal] = defaultdict(Decimal)
    for d in live:
        if d.amount is not None and d.status != "refused":
            owed[d.project_id] += d.amount
            assert d.amount > 0, d.project.code
    for project_id, total in owed.items():
        assert total <= db.get(Project, project_id).fiscal_funding
    # Every post-subsidy project with a verdict or terminated, and every passed milestone check, has its row.
    for project in db.scalars(select(Project)):
        verdict = verdicts.current_verdict(db, project)
        if not acceptance.is_post_subsidy(project) or (verdict is None and project.status != "terminated"):
            continue
        if not (project.is_milestone_funded and verdict is not None and verdict.verdict == "passed"):
            assert tranches[(project.id, PROJECT_TRANCHE)] == 1, project.code
    for check in db.scalars(select(MilestoneCheck).where(MilestoneCheck.passed.is_(True))):
        assert tranches[(check.project_id, milestone_tranche(check.position))] == 1


def test_payments_follow_approvals_which_follow_verdicts_all_before_now(db, payments):
    finance = db.scalar(select(User).where(User.username == "finance"))
    vouchers = [v for d in payments for v in (d.voucher_no, d.reversal_voucher_no) if v]
    assert len(vouchers) == len(set(vouchers)) >= 4
    kinds = {"verdict": AcceptanceVerdict, "milestone_check": MilestoneCheck, "termination": ProjectChange}
    for d in payments:
        kind, basis_id = d.basis.split(":")
        basis = db.get(kinds[kind], int(basis_id))
        assert basis.decided_at <= d.created_at <= d.updated_at < NOW, d.project.code
        if d.approved_at is not None:
            assert d.created_at < d.approved_at < NOW and d.approved_by_id == finance.id, d.project.code
        if d.paid_on is not None:
            assert clock.local(d.approved_at).date() < d.paid_on <= TODAY and d.paid_by_id == finance.id
            assert d.voucher_no
        if d.reversed_on is not None:
            assert d.paid_on < d.reversed_on <= TODAY and d.status == "reversed" and d.void_reason
        if d.reversal_due or d.status == "void":
            assert d.void_reason, d.project.code
    # The trail: who did what, in time order, ending before now.
    for d in payments:
        trail = list(db.scalars(select(AuditEntry).where(AuditEntry.object_type == "disbursement",
                                                         AuditEntry.object_id == str(d.id)).order_by(AuditEntry.id)))
        assert trail[0].action == "disbursement_created" and trail[-1].at < NOW
        assert [e.at for e in trail] == sorted(e.at for e in trail)
        assert all(e.username == "finance" for e in trail
                   if e.action in ("disbursement_approved", "disbursement_returned", "disbursement_paid",
                                   "disbursement_reversed"))
