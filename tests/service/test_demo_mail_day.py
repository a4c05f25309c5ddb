"""The demo database's mail on a given day, as an operator would run it by hand (the scheduled jobs' acceptance
check): `tracker jobs run reminders --now …` then `tracker jobs run send-mail --now …` against a real SMTP server
deliver that day's mails in Chinese to the projects' contacts and the officer's digest; both again deliver
nothing more."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT
from tests.mail_sink import SmtpServer

pytestmark = pytest.mark.slow
DAY = "2027-01-08T10:00:00+08:00"


def _tracker(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "tracker", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_day_of_demo_mail(tmp_path):
    with SmtpServer() as smtp:
        env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
               "TRACKER_DATA_DIR": str(tmp_path / "files"), "TRACKER_SMTP_URL": smtp.url,
               "PYTHONPATH": str(PROJECT_ROOT)}
        env.pop("TRACKER_TEST_DATABASE_URL", None)
        _tracker(env, "demo")
        queued = _tracker(env, "jobs", "run", "reminders", "--now", DAY)
        sent = _tracker(env, "jobs", "run", "send-mail", "--now", DAY)
        assert "生成邮件" in queued
        received = list(smtp.sink.received)
        assert received and f"已发送 {len(received)}" in sent
        subjects = [m["Subject"] for m in received]
        assert any(s.startswith("【每日汇总】2027-01-08") for s in subjects)
        assert sum(s.startswith("【进展报告") for s in subjects) >= 10
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s) for s in subjects)
        digest = next(m for m in received if m["Subject"].startswith("【每日汇总】"))
        assert digest["To"] == "officer@demo.invalid"
        assert {m["To"] for m in received} >= {"officer@demo.invalid", "grantee@demo.invalid"}
        assert len({m["Message-ID"] for m in received}) == len(received)
        # Again: nothing new is queued, nothing more is delivered.
        _tracker(env, "jobs", "run", "reminders", "--now", DAY)
        again = _tracker(env, "jobs", "run", "send-mail", "--now", DAY)
        assert len(smtp.sink.received) == len(received) and "已发送 0" in again
