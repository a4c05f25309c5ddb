"""The nightly `assess` job recomputes only what may have changed (tracker.services.monitoring.sweep): a project is
skipped, with nothing written, until its recheck day comes or the fingerprint of what its result rests on moves
(a report submitted or returned without a recompute, a settings change); submitting a report and extending a
project recompute in their own transaction. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, update

from tests import builders as build
from tests.builders import START
from tracker.clock import LOCAL_TZ
from tracker.models import ProjectAssessment, Report
from tracker.services import business_settings, monitoring, project_changes


def at(day, hour=2) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TZ).astimezone(UTC)


EARLY = at(START + timedelta(days=20))  # nothing due yet: the first report falls due on 2025-04-15
FIRST_DUE = date(2025, 4, 15)


@pytest.fixture
def project(db):
    return build.project(db, confirmed=True, now=EARLY)


def stored(db, project) -> ProjectAssessment:
    return db.get(ProjectAssessment, project.id, populate_existing=True)


@pytest.fixture
def writes(connection):
    """The statements that write to the stored assessments, as they are sent."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if "project_assessments" in statement and not statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", listen)
    yield seen
    event.remove(connection, "before_cursor_execute", listen)


def sweep(db, moment) -> dict[str, int]:
    counts = monitoring.sweep(db, moment)
    db.commit()
    return counts


def test_a_stored_row_knows_its_recheck_day_and_what_it_rests_on(db, project):
    row = stored(db, project)
    assert row.recheck_on == FIRST_DUE + timedelta(days=1)  # the first report falls due: the earliest change
    assert row.basis == monitoring.current_bases(db, business_settings.load(db))[project.id][1]


def test_an_unchanged_project_is_skipped_and_nothing_is_written(db, project, writes):
    before = stored(db, project)
    computed, recheck = before.computed_at, before.recheck_on
    assert sweep(db, EARLY + timedelta(days=1)) == {"assessed": 0, "changed": 0, "turned_red": 0}
    assert sweep(db, at(FIRST_DUE)) == {"assessed": 0, "changed": 0, "turned_red": 0}
    assert writes == []
    assert stored(db, project).computed_at == computed  # "last computed", not "last swept"
    # Its day comes: computed, with the next day it must be looked at again.
    assert sweep(db, at(recheck))["assessed"] == 1
    assert writes  # (the listener hears them)
    row = stored(db, project)
    assert row.computed_at == at(recheck) and row.recheck_on > recheck
    assert row.reasons[0].startswith("2025年第1季度报告逾期未报")


def test_a_report_submitted_without_a_recompute_is_caught_by_its_fingerprint(db, project):
    report = build.report(db, project, period=1, status="draft", now=at(date(2025, 3, 20), hour=10))
    assert sweep(db, at(date(2025, 3, 21)))["assessed"] == 0  # a draft changes nothing
    basis = stored(db, project).basis
    # Submitted behind the services' back (an import, a hand-made fix): nothing recomputed it.
    db.execute(update(Report).where(Report.id == report.id)
               .values(status="submitted", first_submitted_at=at(date(2025, 3, 21), hour=9)))
    db.commit()
    assert sweep(db, at(date(2025, 3, 22)))["assessed"] == 1
    assert stored(db, project).basis != basis
    assert sweep(db, at(date(2025, 3, 23)))["assessed"] == 0  # and then left alone again
    # Returned the same way: the result itself moves.
    db.execute(update(Report).where(Report.id == report.id).values(status="returned"))
    db.commit()
    assert sweep(db, at(date(2025, 3, 24)))["assessed"] == 1
    row = stored(db, project)
    assert row.returned_reports == 1 and row.status == "amber"


def test_a_settings_change_recomputes_every_project(db, project):
    other = build.project(db, code="BLD-2", confirmed=True, now=EARLY)
    assert sweep(db, EARLY + timedelta(days=1))["assessed"] == 0
    rules = business_settings.load(db)
    typed = {**business_settings.as_text(rules), "monitoring_amber_percent": "85"}
    business_settings.update(db, typed, seen=business_settings.fingerprint(rules), actor=build.SYSTEM,
                             now=EARLY + timedelta(days=1))
    db.commit()
    assert sweep(db, EARLY + timedelta(days=2))["assessed"] == 2
    assert {stored(db, p).computed_at for p in (project, other)} == {EARLY + timedelta(days=2)}


def test_rows_from_before_the_recheck_day_was_kept_are_recomputed(db, project):
    db.execute(update(ProjectAssessment).values(recheck_on=None, basis=None))
    db.commit()
    assert sweep(db, EARLY + timedelta(days=1))["assessed"] == 1
    assert stored(db, project).recheck_on == FIRST_DUE + timedelta(days=1)


def test_submitting_and_extending_recompute_in_their_transaction(db, project):
    moment = at(date(2025, 3, 25), hour=10)
    build.report(db, project, period=1, status="submitted", now=moment)
    row = stored(db, project)
    assert row.computed_at == moment
    assert sweep(db, moment + timedelta(hours=20))["assessed"] == 0  # nothing left for the night
    later = at(date(2025, 5, 6), hour=10)
    project_changes.extend(db, project, requested_on=later.date(), months=6, reason="设备到货延迟",
                           actor=build.SYSTEM, now=later)
    db.commit()
    row = stored(db, project)
    assert row.computed_at == later and row.basis == monitoring.current_bases(
        db, business_settings.load(db), [project.id])[project.id][1]
