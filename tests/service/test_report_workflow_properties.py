"""Properties of the report workflow under random sequences (G24) and of two editors interleaving at random
(G25), driven through the real service on the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import builders as build
from tests.builders import NOW, PATENTS, TODAY
from tracker.files.store import EvidenceStore
from tracker.models import ReportStatus
from tracker.services import reports as service
from tracker.services.audit import Actor
from tracker.services.reports import ReportInput, ReportProblems, ValueInput

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ACTIONS = st.lists(st.sampled_from(["save", "submit", "accept", "return", "revise", "resave_stale"]), max_size=14)


def _input(value: int, lock: int | None) -> ReportInput:
    return ReportInput(values={PATENTS: ValueInput(value=str(value))},
                       funds={"fiscal_received": "10", "fiscal_spent": "1"},
                       narrative="随机序列中的季度进展情况说明。", edit_lock=lock)


@pytest.fixture
def project(db, demo_users):
    """The demo grantee's project, its task book confirmed."""
    return build.demo_project(db)


@PROPERTY
@given(actions=ACTIONS)
def test_random_workflows_keep_submitted_versions_frozen(db, demo_users, project, tmp_path, actions):
    grantee = Actor.of(demo_users["grantee"])
    officer = Actor.of(demo_users["officer"])
    store = EvidenceStore(tmp_path / "e")
    period = service.period_of(db, project, 1, 15)
    hashes: dict[int, str] = {}
    savepoint = db.begin_nested()
    try:
        for step, action in enumerate(actions):
            report = service.reports_of(db, project).get(1)
            lock = report.latest.edit_lock if report and report.latest.is_draft else None
            try:
                if action in ("save", "resave_stale"):
                    stale = action == "resave_stale" and lock is not None
                    service.save_draft(db, project, period, _input(step, (lock - 1) if stale else lock),
                                       actor=grantee, now=NOW, today=TODAY, open_days=15, store=store)
                    assert not stale, "a stale lock was accepted"
                elif action == "submit":
                    service.submit(db, project, period, edit_lock=lock, actor=grantee, now=NOW, today=TODAY,
                                   open_days=15)
                elif action in ("accept", "return") and report is not None:
                    service.review(db, report, decision="accepted" if action == "accept" else "returned",
                                   comment="请补充", lock=report.lock, actor=officer, now=NOW)
                elif action == "revise" and report is not None:
                    service.start_revision(db, project, report, lock=report.lock, actor=grantee, now=NOW,
                                           today=TODAY, open_days=15)
            except ReportProblems:
                pass
            report = service.reports_of(db, project).get(1)
            if report is None:
                continue
            numbers = [v.number for v in report.versions]
            assert numbers == list(range(1, len(numbers) + 1))  # versions are monotonic, none lost
            assert all(not v.is_draft for v in report.versions[:-1])  # only the newest can be a draft
            for version in report.versions:
                if not version.is_draft:
                    hashes.setdefault(version.id, version.content_sha256)
                    assert version.content_sha256 == hashes[version.id] == service.content_hash(version)
            if report.accepted_number is not None:
                accepted = report.accepted
                assert accepted is not None and not accepted.is_draft
                assert any(r.decision == "accepted" and r.version_id == accepted.id for r in report.reviews)
            if report.status == ReportStatus.SUBMITTED:
                assert not report.latest.is_draft
            if report.status == ReportStatus.DRAFT:
                assert report.latest.is_draft
    finally:
        savepoint.rollback()
        db.expire_all()


@PROPERTY
@given(schedule=st.lists(st.tuples(st.sampled_from("AB"), st.sampled_from(["load", "save"])), max_size=16))
def test_two_editors_interleaving_never_lose_an_update(db, demo_users, project, tmp_path, schedule):
    """Each editor loads the draft (its lock) and saves its own value; a save from a stale copy must be refused
    with a conflict, so the stored value is always that of the last save that succeeded."""
    grantee = Actor.of(demo_users["grantee"])
    store = EvidenceStore(tmp_path / "e")
    period = service.period_of(db, project, 1, 15)
    savepoint = db.begin_nested()
    try:
        service.save_draft(db, project, period, _input(0, None), actor=grantee, now=NOW, today=TODAY, open_days=15,
                           store=store)
        held: dict[str, int] = {}
        last_written = 0
        for step, (editor, action) in enumerate(schedule, start=1):
            current = service.reports_of(db, project)[1].latest.edit_lock
            if action == "load":
                held[editor] = current
                continue
            lock = held.get(editor)
            try:
                service.save_draft(db, project, period, _input(step, lock), actor=grantee, now=NOW, today=TODAY,
                                   open_days=15, store=store)
            except ReportProblems as problems:
                assert "lock" in problems.errors and lock != current
                continue
            assert lock == current, "a save from a stale copy went through"
            last_written = step
            held[editor] = service.reports_of(db, project)[1].latest.edit_lock  # the winner keeps editing
        target = project.target_sets[-1].targets[PATENTS]
        stored = service.reports_of(db, project)[1].latest.value_for(target.id).value
        assert stored == Decimal(last_written)
    finally:
        savepoint.rollback()
        db.expire_all()
