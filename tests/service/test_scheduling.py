"""Scheduled jobs' bookkeeping: one active scheduler through the lease, every run recorded, `tracker jobs`
(DESIGN §3, §4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from reminders import jobs
from reminders.runner import run_job
from reminders.scheduler import LeasedScheduler
from tracker.db import make_engine
from tracker.models import JobRun
from tracker.schema import upgrade_database
from tracker.services import scheduling

TTL = timedelta(seconds=90)


def test_one_scheduler_holds_the_lease_until_it_expires_or_is_given_up(db, now):
    assert scheduling.take_lease(db, "a", now=now, ttl=TTL)
    assert not scheduling.take_lease(db, "b", now=now + timedelta(seconds=30), ttl=TTL)
    assert scheduling.take_lease(db, "a", now=now + timedelta(seconds=60), ttl=TTL)  # renewed by its heartbeat
    assert not scheduling.take_lease(db, "b", now=now + timedelta(seconds=149), ttl=TTL)
    assert scheduling.current_lease(db, now=now + timedelta(seconds=149)).holder == "a"
    # "a" went quiet: its lease runs out and "b" takes over.
    assert scheduling.take_lease(db, "b", now=now + timedelta(seconds=151), ttl=TTL)
    assert not scheduling.take_lease(db, "a", now=now + timedelta(seconds=152), ttl=TTL)
    scheduling.give_up_lease(db, "b", now=now + timedelta(seconds=160))
    assert scheduling.current_lease(db, now=now + timedelta(seconds=160)) is None
    assert scheduling.take_lease(db, "a", now=now + timedelta(seconds=161), ttl=TTL)


def test_every_run_is_recorded_with_its_counts_or_its_error(session_factory, now, monkeypatch):
    outcome = run_job(session_factory, "housekeeping", now=now, runner="test")
    assert outcome.ok and "sessions_deleted" in outcome.counts

    def broken(db, moment):
        raise RuntimeError("数据库暂时不可用")

    monkeypatch.setitem(jobs.JOBS, "housekeeping", jobs.Job("housekeeping", broken, 60, "x"))
    failed = run_job(session_factory, "housekeeping", now=now + timedelta(hours=1), runner="test")
    assert not failed.ok and "数据库暂时不可用" in failed.error
    with session_factory() as db:
        runs = db.scalars(select(JobRun).order_by(JobRun.id)).all()
        assert [(r.job, r.result, r.runner) for r in runs] == [("housekeeping", "ok", "test"),
                                                              ("housekeeping", "failed", "test")]
        assert all(r.finished_at is not None and r.finished_at >= r.started_at for r in runs)


def test_a_job_without_a_recent_success_is_stale(session_factory, now):
    schedule = {"send-mail": 1, "housekeeping": 60}
    with session_factory() as db:
        assert all(h.stale for h in scheduling.job_health(db, schedule, now=now))
    run_job(session_factory, "housekeeping", now=now, runner="test")
    with session_factory() as db:
        health = {h.job: h for h in scheduling.job_health(db, schedule, now=now + timedelta(minutes=90))}
        assert not health["housekeeping"].stale and health["send-mail"].stale
        later = {h.job: h for h in scheduling.job_health(db, schedule, now=now + timedelta(minutes=121))}
        assert later["housekeeping"].stale  # two intervals without a success


def test_jobs_command_lists_and_runs_a_job_at_a_given_moment(tmp_path, monkeypatch, capsys):
    from tracker import cli
    from tracker.settings import get_settings

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    monkeypatch.delenv("TRACKER_SMTP_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert cli.main(["jobs", "list"]) == 0
        listed = capsys.readouterr().out
        assert "send-mail" in listed and "housekeeping" in listed
        assert cli.main(["jobs", "run", "send-mail", "--now", "2027-01-08T10:00:00+08:00"]) == 0
        assert "任务 send-mail 完成（2027-01-08 10:00）" in capsys.readouterr().out
        assert cli.main(["jobs", "run", "no-such-job"]) == 1
        assert "没有名为“no-such-job”的任务" in capsys.readouterr().err
        assert cli.main(["jobs", "run", "housekeeping", "--now", "2027-01-08T10:00:00"]) == 1
        assert "必须带时区" in capsys.readouterr().err
        assert cli.main(["jobs", "run", "housekeeping", "--now", "昨天"]) == 1
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("name", sorted(jobs.JOBS))
def test_every_job_is_safe_to_run_twice(session_factory, now, name):
    first = run_job(session_factory, name, now=now, runner="test")
    second = run_job(session_factory, name, now=now, runner="test")
    assert first.ok and second.ok


def test_of_two_schedulers_only_the_lease_holder_runs_the_jobs(tmp_path):
    """Two scheduler processes at once (here two schedulers on a database of their own, which they commit to):
    one is active, the other stands by and takes over when the first stops."""
    own = make_engine(f"sqlite:///{tmp_path / 'two.db'}")
    upgrade_database(own)
    factory = sessionmaker(bind=own)
    first = LeasedScheduler(factory, BackgroundScheduler(timezone="Asia/Shanghai"))
    second = LeasedScheduler(factory, BackgroundScheduler(timezone="Asia/Shanghai"))
    assert first.heartbeat() and not second.heartbeat()
    first._runner("housekeeping")()
    second._runner("housekeeping")()  # stands by: runs nothing
    with factory() as db:
        assert [r.runner for r in db.scalars(select(JobRun))] == [first.holder]
    first.stop()  # gives the lease up: the other takes over at its next heartbeat
    assert second.heartbeat()
    second._runner("housekeeping")()
    with factory() as db:
        assert [r.runner for r in db.scalars(select(JobRun).order_by(JobRun.id))] == [first.holder, second.holder]
    second.stop()
    own.dispose()
