"""Monitoring stored and kept current (tracker.services.monitoring): recomputed in the transaction that accepts a
report or confirms a task book, by the `assess` job, a history row only when the status changes, the red-turn mail
once per change, and the officer's digest. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from reminders.runner import run_job
from tests import builders as build
from tests.builders import PATENTS, QUALITATIVE, START
from tracker.clock import LOCAL_TZ
from tracker.models import AssessmentChange, OutboxMail, ProjectAssessment
from tracker.services import monitoring, reminders
from tracker.services import reports as report_service
from tracker.services.business_settings import DEFAULTS
from tracker.services.reports import ValueInput


def at(day, hour=10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TZ).astimezone(UTC)


@pytest.fixture
def officer(db):
    made = build.officer(db, username="wang")
    made.email = "wang@kjt.example.gov.cn"
    db.commit()
    return made


@pytest.fixture
def project(db, officer):
    return build.project(db, officer=officer, confirmed=True, pi_email="li@example.com")


def stored(db, project) -> ProjectAssessment:
    return db.get(ProjectAssessment, project.id, populate_existing=True)


def history(db, project) -> list[AssessmentChange]:
    return list(db.scalars(select(AssessmentChange).where(AssessmentChange.project_id == project.id)
                           .order_by(AssessmentChange.id)))


def red_mails(db) -> list[OutboxMail]:
    return list(db.scalars(select(OutboxMail).where(OutboxMail.template == "project_at_risk")
                           .order_by(OutboxMail.id)))


def refresh(db, project, moment):
    counts = monitoring.refresh(db, monitoring.assessed_projects(db, [project.id]), now=moment)
    db.commit()
    return counts


def test_confirming_the_task_book_stores_a_first_assessment_with_its_reasons(db, project):
    # The builders' clock (2026-02-10): four quarters overdue, nothing accepted.
    row = stored(db, project)
    assert row.status == "red" and row.severity == 3
    assert row.reasons[0].startswith("2025年第1季度报告逾期未报（截止2025-04-15")
    assert [t["position"] for t in row.targets] == list(range(6))
    assert row.targets[PATENTS]["status"] == "unknown"  # nothing accepted yet
    assert [(h.previous, h.status) for h in history(db, project)] == [(None, "red")]


def test_the_acceptance_readiness_is_stored_with_the_assessment_and_follows_the_accepted_figures(db, project):
    # The builders' direction holds the project to every target; nothing accepted yet: not ready.
    first = stored(db, project).readiness
    assert first["status"] == "not_ready" and first["score"] == "0.00"
    assert len(first["targets"]) == 6 and first["lacking"]
    states = {t["position"]: t["state"] for t in first["targets"]}
    assert states[QUALITATIVE] == "needs_judgement" and states[PATENTS] == "not_met"
    report = build.report(db, project, period=1, status="submitted", values={PATENTS: ValueInput(value="50")})
    report_service.review(db, report, decision="accepted", comment="", lock=report.lock,
                          actor=build.SYSTEM, now=build.NOW)
    db.flush()
    after = stored(db, project).readiness
    assert {t["position"]: t["state"] for t in after["targets"]}[PATENTS] == "met"
    assert after["score"] > first["score"] and after["status"] == "not_ready"
    assert first["lacking"][0].startswith("①发明专利申请") and not any("专利" in line for line in after["lacking"])


def test_accepting_a_report_recomputes_it_in_the_same_transaction(db, project, session_factory):
    report = build.report(db, project, period=1, status="submitted", values={PATENTS: ValueInput(value="1")})
    before = stored(db, project).versions
    report_service.review(db, report, decision="accepted", comment="", lock=report.lock,
                          actor=build.SYSTEM, now=build.NOW)
    db.flush()
    accepted = stored(db, project)
    assert accepted.versions == [report.accepted.id] and before == []
    assert accepted.targets[PATENTS]["achieved"] == "1"
    db.rollback()  # the decision and the assessment go together
    assert stored(db, project).versions == []


def test_a_history_row_only_when_the_status_changes_and_one_red_mail_per_turn(db, project):
    assert len(history(db, project)) == 1 and len(red_mails(db)) == 1  # red since the task book
    [first] = red_mails(db)
    assert first.recipient == "li@example.com" and "逾期未报" in first.context["reasons"][0]
    refresh(db, project, build.NOW + timedelta(days=1))
    refresh(db, project, build.NOW + timedelta(days=2))
    assert len(history(db, project)) == 1 and len(red_mails(db)) == 1  # still red: nothing new
    assert stored(db, project).computed_at == build.NOW + timedelta(days=2)
    early = at(START + timedelta(days=20))  # before anything was due: only the platform's deadline, far off
    refresh(db, project, early)
    assert [h.status for h in history(db, project)] == ["red", "green"]
    refresh(db, project, build.NOW)
    assert [h.status for h in history(db, project)] == ["red", "green", "red"]
    assert len(red_mails(db)) == 2  # a new turn to red, a new mail


def test_the_assess_job_sweeps_running_projects_and_changes_nothing_the_second_time(db, project, session_factory):
    terminated = build.project(db, code="BLD-2", confirmed=True)
    terminated.status = "terminated"
    db.commit()
    # A quarter later another report has fallen due: the running project is recomputed (still red), the
    # terminated one is not; the next night nothing has moved and nothing is recomputed.
    first = run_job(session_factory, "assess", now=build.NOW + timedelta(days=100), runner="cli")
    assert first.counts["assessed"] == 1 and first.counts["changed"] == 0
    again = run_job(session_factory, "assess", now=build.NOW + timedelta(days=101), runner="cli")
    assert again.counts == {"assessed": 0, "changed": 0, "turned_red": 0}
    assert db.scalar(select(func.count()).select_from(AssessmentChange)) == 2  # one per task book, no more


def test_a_red_turn_reaches_the_officers_digest(db, project, officer):
    reminders.queue_reminders(db, at(build.TODAY + timedelta(days=1), hour=9), DEFAULTS)
    digest = db.scalar(select(OutboxMail).where(OutboxMail.dedupe_key.like("digest:%")))
    assert [p["code"] for p in digest.context["red"]] == [project.code]
    assert "逾期未报" in digest.context["red"][0]["reason"]
