"""The admin's jobs, outbox and settings pages, the scheduler banner of admin and officer pages, and the user's
language for mails (DESIGN §1, §3)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from reminders.jobs import JOBS
from reminders.runner import run_job
from tests.conftest import csrf_from, login
from tracker import clock
from tracker.models import MailStatus, OutboxMail, SettingValue, User
from tracker.services import business_settings, outbox, scheduling

NO_SCHEDULER = "定时任务没有在运行"


def queue(db, key="k1", to="li@example.com", **kwargs):
    mail_id = outbox.queue_mail(db, dedupe_key=key, template="activation", recipient=to, now=clock.now(),
                                context={"name": "李工", "username": "li", "path": "/activate/abc", "expires": "明天"},
                                **kwargs)
    db.commit()
    return db.get(OutboxMail, mail_id)


def test_jobs_page_shows_the_lease_each_job_and_the_runs(client, db, demo_users, session_factory):
    login(client, "admin")
    page = client.get("/admin/jobs").text
    assert "没有调度进程在运行" in page and "从未运行" in page and "reminders" in page and "send-mail" in page
    assert NO_SCHEDULER in page  # the banner too
    now = clock.now()
    scheduling.take_lease(db, "host:42:abc", now=now, ttl=timedelta(minutes=5))
    db.commit()
    for name in JOBS:
        run_job(session_factory, name, now=now, runner="host:42:abc")
    page = client.get("/admin/jobs").text
    assert "正在运行：host:42:abc" in page and "从未运行" not in page and NO_SCHEDULER not in page
    assert "超过两个周期未成功" not in page
    assert "清理会话" in client.get("/admin/jobs?job=housekeeping").text


def test_a_stale_job_turns_the_banner_on_for_admin_and_officer_pages(client, db, demo_users, session_factory):
    now = clock.now()
    scheduling.take_lease(db, "host", now=now, ttl=timedelta(minutes=5))
    db.commit()
    run_job(session_factory, "housekeeping", now=now - timedelta(hours=3), runner="host")
    login(client, "officer")
    home = client.get("/").text
    assert "已超过两个运行周期没有成功完成" in home and "housekeeping" in home
    client.cookies.clear()
    login(client, "grantee")
    assert "定时任务" not in client.get("/").text  # grantees are not bothered


def test_outbox_lists_filters_and_shows_the_mail_as_sent(client, db, demo_users):
    pending = queue(db)
    dead = queue(db, key="k2", to="broken-address")
    login(client, "admin")
    listing = client.get("/admin/outbox").text
    assert "li@example.com" in listing and "broken-address" in listing and "有 1 封邮件发送失败" in listing
    only_dead = client.get("/admin/outbox?status=dead").text
    assert "broken-address" in only_dead and "li@example.com" not in only_dead
    assert "li@example.com" in client.get("/admin/outbox?q=li%40").text
    page = client.get(f"/admin/outbox/{pending.id}").text
    assert "请激活您在科技项目绩效监测与验收跟踪系统的账号" in page and "李工，您好" in page
    assert pending.message_id.replace("<", "&lt;").replace(">", "&gt;") in page
    assert "重新发送" in client.get(f"/admin/outbox/{dead.id}").text
    assert client.get("/admin/outbox/987654").status_code == 404


def test_a_dead_mail_is_resent_once_its_address_is_fixed(client, db, demo_users):
    dead = queue(db, key="k3", to="li@example.com")
    dead.status, dead.last_error, dead.attempts = MailStatus.DEAD, "550 mailbox unavailable", 1
    db.commit()
    login(client, "admin")
    page = client.get(f"/admin/outbox/{dead.id}").text
    done = client.post(f"/admin/outbox/{dead.id}/resend", data={"_csrf_token": csrf_from(page)},
                       follow_redirects=False)
    assert done.status_code == 303
    db.refresh(dead)
    assert dead.status == MailStatus.PENDING and dead.attempts == 0
    again = client.post(f"/admin/outbox/{dead.id}/resend", data={"_csrf_token": csrf_from(page)})
    assert again.status_code == 400 and "只有发送失败的邮件可以重新发送" in again.text


def _settings_form(page: str) -> dict[str, str]:
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', page))
    return {**fields, "_csrf_token": csrf_from(page)}


def test_settings_are_edited_validated_and_take_effect(client, db, demo_users):
    login(client, "admin")
    page = client.get("/admin/settings").text
    assert "报告截止（季度结束后）" in page and "默认：15" in page
    form = _settings_form(page)
    bad = client.post("/admin/settings", data={**form, "report_due_days": "100", "send_window_start": "8点"})
    assert bad.status_code == 400 and "应在 0 到 60 之间" in bad.text and "08:00" in bad.text
    assert 'value="100"' in bad.text  # the input comes back
    assert db.scalars(select(SettingValue)).all() == []
    done = client.post("/admin/settings", data={**form, "report_due_days": "20"}, follow_redirects=False)
    assert done.status_code == 303
    assert business_settings.load(db).report_due_days == 20
    assert "设置已保存" in client.get(done.headers["location"]).text
    stale = client.post("/admin/settings", data={**form, "report_due_days": "10"})
    assert stale.status_code == 409 and "已被其他人修改" in stale.text
    assert business_settings.load(db).report_due_days == 20


def test_a_user_chooses_the_language_of_their_mails(client, db, demo_users):
    login(client, "grantee")
    page = client.get("/account").text
    done = client.post("/account/language", data={"_csrf_token": csrf_from(page), "language": "en"},
                       follow_redirects=False)
    assert done.status_code == 303
    user = db.scalar(select(User).where(User.username == "grantee"))
    db.refresh(user)
    assert user.language == "en"
    assert "Language" in client.get("/account").text  # the pages follow too
    refused = client.post("/account/language", data={"_csrf_token": csrf_from(page), "language": "fr"})
    assert refused.status_code == 400
