"""Reminders (DESIGN §2, §3): which periods are remindable, who receives what, the stages around the due date,
the send window, downtime, the officers' digest, returned reports, the extension and acceptance deadlines. Time is
`now`; mail goes to a real SMTP server (aiosmtpd) where a test needs delivery (G22)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from reminders.mail import SmtpConfig, SmtpTransport, send_due_mail
from tests import builders as build
from tests.mail_sink import SmtpServer
from tracker.clock import LOCAL_TZ
from tracker.models import MailStatus, OutboxMail, ProjectStatus
from tracker.services import reminders
from tracker.services import reports as report_service
from tracker.services.business_settings import DEFAULTS

RULES = DEFAULTS


def at(day, hour=10, minute=0) -> datetime:
    """A Beijing wall-clock moment as the aware UTC instant the jobs receive."""
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ).astimezone(UTC)


def sweep(db, moment, rules=RULES, since=None):
    counts = reminders.queue_reminders(db, moment, rules, since=since)
    db.commit()
    return counts


def mails(db, prefix="", status=None) -> list[OutboxMail]:
    query = select(OutboxMail).where(OutboxMail.dedupe_key.like(f"{prefix}%")).order_by(OutboxMail.id)
    if status:
        query = query.where(OutboxMail.status == status)
    return list(db.scalars(query.execution_options(populate_existing=True)))


@pytest.fixture
def officer(db):
    return build.officer(db, username="wang", programmes=())


@pytest.fixture
def project(db, officer):
    made = build.project(db, officer=officer, confirmed=True, pi_email="li@example.com")
    officer.email = "wang@kjt.example.gov.cn"
    db.commit()
    return made


def period(db, project, index):
    return report_service.period_of(db, project, index, RULES.report_due_days)


def keys(rows):
    return [r.dedupe_key for r in rows]


# --- which periods ---------------------------------------------------------------------------------------------


def test_only_unsubmitted_periods_of_running_projects_with_a_confirmed_task_book(db, officer, project):
    build.project(db, code="BLD-2", officer=officer)  # its task book is not confirmed
    terminated = build.project(db, code="BLD-3", officer=officer, confirmed=True)
    terminated.status = ProjectStatus.TERMINATED
    build.report(db, project, period=1, status="submitted")
    today = period(db, project, 4).due
    found = reminders.remindable_periods(db, reminders.remindable_projects(db), today=today, due_days=15,
                                         lead_days=7)
    assert {p.project.code for p in found} == {"BLD-1"}  # never unconfirmed or terminated projects
    assert [p.period.index for p in found] == [2, 3, 4]  # period 1 was submitted; 5 is not due within a week


def test_recipients_are_the_assigned_accounts_and_the_contact_person_once_each(db, project):
    account = project.contacts[0]
    assert [(r.key, r.address) for r in reminders.recipients_of(project)] == [(f"u{account.id}", "li@example.com")]
    account.email = "li.account@example.com"
    assert [r.key for r in reminders.recipients_of(project)] == [f"u{account.id}", "pi"]
    account.is_active = False
    project.pi_email = None
    assert reminders.recipients_of(project) == []


# --- the stages ----------------------------------------------------------------------------------------------------


def test_each_stage_is_queued_once_on_its_day(db, project):
    due = period(db, project, 2).due
    expected = []
    for offset in (-7, -1, 0, 3, 7, 14):
        moment = at(due + timedelta(days=offset))
        sweep(db, moment)
        sweep(db, moment + timedelta(minutes=15))  # the next tick finds nothing new
        expected.append(reminders.period_key(project.id, 2, offset, f"u{project.contacts[0].id}"))
        rows = mails(db, f"period:{project.id}:2:")
        assert keys(rows) == expected
        assert rows[-1].status == MailStatus.PENDING
        for row in rows:  # the sender delivers it before the next stage comes
            row.status = MailStatus.SENT
        db.commit()
    first, overdue = mails(db, f"period:{project.id}:2:")[0], mails(db, f"period:{project.id}:2:")[-1]
    assert first.context["days_left"] == 7 and overdue.context["days_left"] == -14
    assert first.recipient == "li@example.com" and first.project_id == project.id


def test_after_downtime_only_the_latest_stage_goes_and_the_others_are_recorded_skipped(db, project):
    due = period(db, project, 2).due
    sweep(db, at(due - timedelta(days=10)))  # the last sweep before the scheduler stopped
    sweep(db, at(due + timedelta(days=9)), since=at(due - timedelta(days=10)))
    rows = {int(r.dedupe_key.split(":")[4]): r.status for r in mails(db, f"period:{project.id}:2:")}
    assert rows == {-7: MailStatus.SKIPPED, -1: MailStatus.SKIPPED, 0: MailStatus.SKIPPED, 3: MailStatus.SKIPPED,
                    7: MailStatus.PENDING}
    latest = mails(db, f"period:{project.id}:2:", MailStatus.PENDING)[0]
    assert latest.context["days_left"] == -9  # worded for the real date


def test_a_later_stage_replaces_one_still_waiting(db, project):
    due = period(db, project, 2).due
    sweep(db, at(due - timedelta(days=1), hour=22))  # outside the window: held until 08:00
    waiting = mails(db, f"period:{project.id}:2:", MailStatus.PENDING)
    assert [int(k.split(":")[4]) for k in keys(waiting)] == [-1]
    sweep(db, at(due, hour=9))
    statuses = {int(r.dedupe_key.split(":")[4]): r.status for r in mails(db, f"period:{project.id}:2:")}
    assert statuses[-1] == MailStatus.SKIPPED and statuses[0] == MailStatus.PENDING


def test_mail_leaves_only_inside_the_send_window(db, project):
    due = period(db, project, 2).due
    sweep(db, at(due - timedelta(days=7), hour=22, minute=30))
    [row] = mails(db, f"period:{project.id}:2:")
    assert row.next_attempt_at == at(due - timedelta(days=6), hour=8)
    assert row.context["days_left"] == 6  # counted from the day it leaves


def test_a_submission_cancels_the_reminders_still_waiting(db, project):
    due = period(db, project, 2).due
    sweep(db, at(due, hour=6))  # queued at 06:00, held until 08:00
    [waiting] = mails(db, f"period:{project.id}:2:", MailStatus.PENDING)
    build.report(db, project, period=2, status="submitted", today=due, now=at(due, hour=7))
    assert mails(db, f"period:{project.id}:2:", MailStatus.PENDING) == []
    assert "已提交" in mails(db, waiting.dedupe_key)[0].last_error
    before = len(mails(db, f"period:{project.id}:2:"))
    sweep(db, at(due + timedelta(days=10)))  # and no later stage comes
    assert len(mails(db, f"period:{project.id}:2:")) == before


def test_a_project_without_any_address_is_counted_not_mailed(db, officer):
    build.project(db, code="NOBODY", officer=officer, confirmed=True)
    counts = sweep(db, at(build.START + timedelta(days=200)))
    assert counts["no_recipient"] >= 1
    assert mails(db, "period:") == []


# --- other mails ---------------------------------------------------------------------------------------------------


def test_a_returned_report_is_mailed_with_the_comment(db, project):
    report = build.report(db, project, period=1, status="returned", comment="请补充专利申请号")
    [row] = mails(db, "returned:")
    assert row.template == "report_returned" and row.context["comment"] == "请补充专利申请号"
    assert row.context["path"] == f"/projects/{project.id}/reports/1" and report.status == "returned"


def test_the_extension_deadline_and_the_acceptance_window(db, project):
    end = project.end_date  # 2026-12-31
    deadline = reminders.extension_deadline(end, RULES.extension_notice_months)
    sweep(db, at(deadline - timedelta(days=RULES.extension_reminder_days + 1)))
    assert mails(db, "extension-deadline:") == []
    sweep(db, at(deadline - timedelta(days=RULES.extension_reminder_days)))
    sweep(db, at(deadline))
    [extension] = mails(db, "extension-deadline:")
    assert extension.context["deadline"] == deadline.isoformat()
    opening = end - timedelta(days=RULES.acceptance_open_days)
    sweep(db, at(opening))
    [opened] = mails(db, "acceptance-open:")
    assert opened.context["closing"] == "2027-06-30"
    sweep(db, at(datetime(2027, 6, 1).date()))
    [closing] = mails(db, "acceptance-closing:")
    assert closing.context["days_left"] == 29
    # An extended project is past its extension: no deadline mail; an accepted one gets nothing at all.
    project.status = ProjectStatus.PASSED
    db.commit()
    sweep(db, at(datetime(2027, 6, 20).date()))
    assert len(mails(db, "acceptance-closing:")) == 1


def test_each_officer_gets_one_digest_a_day_from_the_digest_time(db, officer, project):
    build.report(db, project, period=1, status="submitted", today=period(db, project, 1).due)
    due = period(db, project, 2).due
    late = due + timedelta(days=8)
    sweep(db, at(late, hour=7))
    assert mails(db, "digest:") == []  # before 08:00
    sweep(db, at(late, hour=8))
    sweep(db, at(late, hour=15))
    [digest] = mails(db, "digest:")
    assert digest.recipient == "wang@kjt.example.gov.cn" and digest.template == "officer_digest"
    assert [p["period"] for p in digest.context["overdue"]] == [period(db, project, 2).label]
    assert digest.context["review_total"] == 1 and digest.context["review"][0]["period"] == period(db, project, 1).label
    sweep(db, at(late + timedelta(days=1), hour=8))
    assert len(mails(db, "digest:")) == 2
    # An officer of other programmes hears nothing about this one.
    other = build.officer(db, username="zhao")
    other.email = "zhao@example.com"
    db.commit()
    sweep(db, at(late + timedelta(days=2), hour=8))
    nothing = [m for m in mails(db, "digest:") if m.recipient == "zhao@example.com"]
    assert [m.status for m in nothing] == [MailStatus.SKIPPED]  # the day's digest is done, nothing to send


# --- G22: three days without a scheduler -------------------------------------------------------------------------


def test_three_days_without_a_scheduler_then_every_latest_stage_is_delivered_once(db, officer, project):
    second = build.project(db, code="BLD-9", officer=officer, confirmed=True, pi_email="zhang@example.com",
                           organisation=build.organisation(db, credit_code=build.uscc("91450300MA5L11XY0"),
                                                           name="桂林测试公司"))
    for made in (project, second):  # the earlier periods are in: only period 3 is missing
        for index in (1, 2):
            build.report(db, made, period=index, status="submitted")
    due = period(db, project, 3).due
    with SmtpServer() as smtp:
        config = SmtpConfig.from_url(smtp.url)

        def tick(moment):
            sweep(db, moment)
            transport = SmtpTransport(config)
            try:
                send_due_mail(db, moment, transport=transport, sender=config.sender)
            finally:
                transport.close()

        tick(at(due - timedelta(days=8)))
        delivered_before = len(smtp.sink.received)
        # Down from due-7 to due+3 (the stages -7, -1, 0 and 3 all passed), then back every 15 minutes for a day.
        restart = at(due + timedelta(days=3), hour=8)
        for step in range(4 * 24):
            tick(restart + timedelta(minutes=15 * step))
        received = smtp.sink.received[delivered_before:]
        period_mails = [m for m in received if m["X-Tracker-Mail"].startswith("period:")]
        by_recipient = {(m["To"], m["X-Tracker-Mail"].split(":")[2]) for m in period_mails}
        # Each recipient of each remindable period: exactly one mail, stage 3, worded as three days late.
        assert len(period_mails) == len(by_recipient)
        assert {m["X-Tracker-Mail"].split(":")[4] for m in period_mails} == {"3"}
        assert {to for to, _p in by_recipient} == {"li@example.com", "zhang@example.com"}
        assert all("已逾期3天" in m["Subject"] for m in period_mails)
        assert len(smtp.sink.by_message_id()) == len(smtp.sink.received)  # nothing delivered twice
    assert second.contacts == []  # the organisation has no account: the award list's contact person is reminded


def test_a_newer_reminder_replaces_any_older_one_still_waiting_and_so_does_a_newer_digest(db, officer, project):
    """The mail server was down for a week: the repeat of day 14 and that day's digest never left. On day 21 only
    the newest go."""
    due = period(db, project, 2).due
    sweep(db, at(due + timedelta(days=14), hour=9))
    sweep(db, at(due + timedelta(days=21), hour=9))
    waiting = mails(db, f"period:{project.id}:2:", MailStatus.PENDING)
    assert [int(r.dedupe_key.split(":")[4]) for r in waiting] == [21]
    digests = mails(db, "digest:")
    assert [d.status for d in digests] == [MailStatus.SKIPPED, MailStatus.PENDING]


def test_a_tick_looks_only_at_the_projects_whose_moment_has_come(db, officer, project):
    officer.email = None  # no digests: their daily pass looks at every project
    db.commit()
    due = period(db, project, 2).due
    first = sweep(db, at(due - timedelta(days=7)))
    assert first["projects_looked_at"] >= 1
    # The next stage of this project is the day before the due date: until then a tick reads nothing.
    assert sweep(db, at(due - timedelta(days=7), hour=11))["projects_looked_at"] == 0
    assert sweep(db, at(due - timedelta(days=2), hour=23))["projects_looked_at"] == 0
    assert project.next_reminder_at == at(due - timedelta(days=1), hour=0)
    assert sweep(db, at(due - timedelta(days=1), hour=0, minute=15))["queued"] == 1
    # A change of the rules makes every project due again.
    from tracker.services import business_settings as bs

    bs.update(db, {**bs.as_text(RULES), "reminder_stages": "-3, 0"}, seen=bs.fingerprint(bs.load(db)),
              actor=build.SYSTEM, now=at(due - timedelta(days=1)))
    db.refresh(project)
    assert project.next_reminder_at is None
