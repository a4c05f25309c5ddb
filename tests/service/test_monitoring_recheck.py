"""The recheck day of a stored assessment (tracker.services.monitoring.recheck_day, on the model's
indicators.assessment.monitoring.next_change): the nightly job skips a project until that day unless what it rests
on changed, so no result may change by the passing of time alone before it. Checked on the default demo's projects
(every kind of target, report story and status): day by day from the demo's today, and from days drawn across
their whole periods."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import clock
from tracker.demo.build import DEFAULT_PROJECTS
from tracker.demo.projects import load_demo_guidelines, load_demo_projects
from tracker.demo.reports import load_demo_reports
from tracker.files.store import EvidenceStore
from tracker.services import business_settings, monitoring
from tracker.services.work_calendar import seed_demo_calendar

HORIZON = 400  # days looked at after a day, at most
# What a day could move in the stored row (not the versions and task book it was computed from).
SHOWN = ("status", "reasons", "targets", "overdue_reports", "returned_reports", "reports_due", "reports_submitted",
         "reports_on_time")


@pytest.fixture
def demo(db, now, demo_users, tmp_path):
    """The default demo (`tracker demo`): its projects through the services, their report histories."""
    seed_demo_calendar(db, now=now)
    documents = load_demo_guidelines(db, now=now)
    load_demo_projects(db, documents, now=now, count=DEFAULT_PROJECTS)
    load_demo_reports(db, now=now, store=EvidenceStore(tmp_path / "evidence"))
    db.commit()
    rules = business_settings.load(db)
    readings = monitoring.read_inputs(db, monitoring.assessed_projects(db), rules)
    assert len(readings) >= 30
    return readings, rules


def shown(reading, rules, day, now) -> dict:
    found = monitoring.inputs_on(reading, day)
    values, _ = monitoring.outcome(None, found, monitoring.evaluate(found, rules, day), now,
                                   recheck=monitoring.NEVER, basis="")
    return {name: values[name] for name in SHOWN}


def recheck(reading, rules, day):
    return monitoring.recheck_day(monitoring.inputs_on(reading, day), reading.periods, rules, day)


def unchanged_until_recheck(reading, rules, day, now, *, every: int = 1) -> int:
    """Checks the days after `day` up to its recheck day (at most HORIZON), every `every`-th and the last one;
    returns the number of days looked at."""
    first, until = shown(reading, rules, day, now), recheck(reading, rules, day)
    assert until > day
    last = min(until, day + timedelta(days=HORIZON)) - timedelta(days=1)
    offsets = sorted({*range(1, (last - day).days + 1, every), (last - day).days} - {0})
    for offset in offsets:
        later = day + timedelta(days=offset)
        assert shown(reading, rules, later, now) == first, (reading.inputs.project.id, day, later, until)
    return len(offsets)


def test_no_result_changes_before_its_recheck_day(demo, now):
    readings, rules = demo
    today = clock.local(now).date()
    looked = sum(unchanged_until_recheck(reading, rules, today, now) for reading in readings.values())
    assert looked > 100  # not only projects rechecked tomorrow (an overdue report moves every day)

    # From any day of any project's life, a week before its start to a year after its end.
    projects = sorted(readings)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(projects), st.floats(-0.05, 1.3), st.integers(1, 7))
    def from_any_day(project_id, share, every):
        reading = readings[project_id]
        start, end = reading.inputs.project.start_date, reading.inputs.project.end_date
        day = start + timedelta(days=round(share * max((end - start).days, 1)))
        unchanged_until_recheck(reading, rules, day, now, every=every)

    from_any_day()
