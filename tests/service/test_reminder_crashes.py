"""G20: reminder cycles whose job processes are killed (SIGKILL) at random moments and at the sender's failpoints,
then restarted. Required: every mail due reaches the SMTP server at least once, no outbox row twice, and a second
delivery only for a kill between the server's 250 and the commit, at most one per such kill, with the same
Message-ID.

Each cycle is `tracker jobs run reminders --now T` and `tracker jobs run send-mail --now T` as subprocesses
against their own database, the simulated day T moving forward a day per cycle across the reports' due dates.
CI runs 10 cycles with a kill on SQLite and on PostgreSQL (slow tier); `bench/reminder_kills.py` runs 50.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from tests import builders as build
from tests.conftest import PROJECT_ROOT, configured_database_url
from tests.mail_sink import SmtpServer
from tests.own_database import own_database
from tracker.db import make_engine
from tracker.models import MailStatus, OutboxMail
from tracker.schema import upgrade_database
from tracker.services import reports as report_service

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

KILLS = int(os.environ.get("TRACKER_G20_KILLS", "10"))
CLAIM_EXPIRY = timedelta(minutes=11)  # a restart after a killed sender finds its claimed rows due again


def _database(tmp_path) -> str:
    """A database of the test's own: the subprocesses commit to it (the suite's rolls back)."""
    return own_database(configured_database_url(), tmp_path, "g20", os.environ.get("PYTEST_XDIST_WORKER", "main"))


def _world(url: str) -> list:
    """An officer and six projects of two contacts each (an account and the award list's address), their task
    books confirmed; returns the due date of the first project's second period."""
    engine = make_engine(url)
    upgrade_database(engine)
    with sessionmaker(bind=engine, expire_on_commit=False)() as db:
        officer = build.officer(db, username="wang")
        officer.email = "wang@kjt.example.gov.cn"
        projects = []
        for i in range(6):
            org = build.organisation(db, credit_code=build.uscc(f"914502{i:02d}MA5L00XY0"), name=f"测试单位{i}")
            account = build.grantee(db, org)
            account.email = f"account{i}@example.com"
            # Confirmed before any period is due, as the cycles begin: no project has turned red by then (a red
            # turn would queue a mail dated after every cycle, which no cycle could send).
            project = build.project(db, code=f"G20-{i}", officer=officer, organisation=org, confirmed=True,
                                    start=build.START + timedelta(days=20 * i), pi_email=f"pi{i}@example.com",
                                    now=datetime(2025, 3, 1, 2, 0, tzinfo=UTC))
            project.contacts.append(account)
            projects.append(project)
        db.commit()
        due = report_service.period_of(db, projects[0], 2, 15).due
    engine.dispose()
    return [due]


def _run(url: str, smtp_url: str, job: str, now: datetime, *, failpoint: str = "", kill_after: float | None = None
         ) -> bool:
    """One `tracker jobs run`; True when it was killed."""
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_SMTP_URL": smtp_url,
           "TRACKER_FAILPOINTS": failpoint, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("TRACKER_TEST_DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "tracker", "jobs", "run", job, "--now", now.isoformat()],
                               cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is not None:
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
    _out, err = process.communicate(timeout=120)
    if process.returncode == -signal.SIGKILL:
        return True
    assert process.returncode == 0, err.decode()[-2000:]
    return False


def _sending_rows(url: str) -> list[tuple[str, str]]:
    """(dedupe key, Message-ID) of the rows a killed sender left claimed."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMail.dedupe_key, OutboxMail.message_id)
                            .where(OutboxMail.status == MailStatus.SENDING)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_killed_reminder_cycles_lose_nothing_and_repeat_only_what_the_server_had_accepted(tmp_path):
    url = _database(tmp_path)
    [due] = _world(url)
    rng = random.Random(20)
    allowed_repeats: dict[str, int] = {}  # Message-ID → repeats a kill after the 250 may cause
    kills = 0
    with SmtpServer() as smtp:
        smtp.sink.delay = 0.02  # slow enough for a random kill to land while mail is going out
        day = due - timedelta(days=8)
        for cycle in range(KILLS):
            now = datetime.combine(day + timedelta(days=cycle), datetime.min.time(), UTC) + timedelta(hours=2)
            mode = ("failpoint-after-250", "failpoint-before-send", "random")[cycle % 3]
            victim = rng.choice(["reminders", "send-mail"]) if mode == "random" else "send-mail"
            failpoint = {"failpoint-after-250": "mail.after_send",
                         "failpoint-before-send": "mail.before_send"}.get(mode, "")
            killed = False
            for job in ("reminders", "send-mail"):
                if job == victim:
                    killed = _run(url, smtp.url, job, now, failpoint=failpoint,
                                  kill_after=rng.uniform(0.8, 2.5) if mode == "random" else None) or killed
                else:
                    killed = _run(url, smtp.url, job, now) or killed
            if killed:
                kills += 1
                received = smtp.sink.by_message_id()
                for _key, message_id in _sending_rows(url):
                    if message_id in received:  # accepted by the server, not yet recorded as sent
                        allowed_repeats[message_id] = allowed_repeats.get(message_id, 0) + 1
            # The restart: after the claims expire, the same sweep and sender run again.
            restart = now + CLAIM_EXPIRY
            _run(url, smtp.url, "reminders", restart)
            _run(url, smtp.url, "send-mail", restart)

        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(select(OutboxMail.dedupe_key, OutboxMail.status, OutboxMail.message_id)).all()
        engine.dispose()
        received = smtp.sink.by_message_id()

    assert kills >= max(1, KILLS * 2 // 3), f"only {kills} of {KILLS} cycles were killed"
    keys = [key for key, _status, _mid in rows]
    assert len(keys) == len(set(keys))  # 0 duplicate outbox rows (the unique key)
    due_mail = [(key, mid) for key, status, mid in rows if status not in (MailStatus.SKIPPED, MailStatus.DEAD)]
    assert due_mail, "the cycles queued no mail"
    lost = [key for key, mid in due_mail if received.get(mid, 0) < 1]
    assert lost == []  # 0 lost: every mail due reached the server
    assert {status for _key, status, _mid in rows} <= {MailStatus.SENT, MailStatus.SKIPPED}
    for message_id, count in received.items():
        assert count - 1 <= allowed_repeats.get(message_id, 0), (message_id, count)
    assert sum(received.values()) - len(received) <= kills  # at most one repeat per kill
