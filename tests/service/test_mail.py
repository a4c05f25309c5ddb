"""The outbox and its sender against a real SMTP server (aiosmtpd on loopback): queued once per key, delivered
once with a stable Message-ID, temporary refusals retried with backoff, permanent ones dead and visible, nothing
lost when the server is down or the sender dies mid-way (DESIGN §3; G20 mechanism, G21). Time is `now`, never
slept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from reminders.mail import CLAIM, SmtpConfig, SmtpTransport, render_mail, send_due_mail
from tests.mail_sink import SmtpServer, free_port
from tracker.models import MailStatus, OutboxMail
from tracker.services import outbox
from tracker.services.audit import Actor

SYSTEM = Actor.system("test")


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def transport_for(url: str) -> SmtpTransport:
    config = SmtpConfig.from_url(url)
    assert config is not None
    return SmtpTransport(config)


def send(db, now, url, **kwargs):
    transport = transport_for(url)
    try:
        return send_due_mail(db, now, transport=transport, sender="tracker@kjt.example.gov.cn", **kwargs)
    finally:
        transport.close()


def activation(db, now, key="activation:1", to="li@example.com", **kwargs):
    return outbox.queue_mail(db, dedupe_key=key, template="activation", recipient=to, now=now,
                             context={"name": "李工", "username": "li", "path": "/activate/SECRET-TOKEN",
                                      outbox.SECRET_KEYS: ["path"], "expires": "2026-03-05 09:30"}, **kwargs)


def mail(db, key="activation:1") -> OutboxMail:
    found = db.scalar(select(OutboxMail).where(OutboxMail.dedupe_key == key).execution_options(populate_existing=True))
    assert found is not None
    return found


# --- queuing -----------------------------------------------------------------------------------------------------


def test_queuing_the_same_key_twice_is_a_no_op(db, now):
    first = activation(db, now)
    second = activation(db, now, to="other@example.com")
    assert first is not None and second is None
    assert db.scalars(select(OutboxMail)).all() == [mail(db)]
    assert mail(db).recipient == "li@example.com" and mail(db).status == MailStatus.PENDING


@pytest.mark.parametrize("address", ["", "not-an-address", "a@b", "x y@example.com", "<li@example.com>"])
def test_an_address_that_cannot_be_sent_to_is_recorded_dead_with_the_reason(db, now, address):
    activation(db, now, to=address)
    row = mail(db)
    assert row.status == MailStatus.DEAD and row.last_error == outbox.INVALID_ADDRESS


# --- delivery ----------------------------------------------------------------------------------------------------


def test_due_mail_is_delivered_once_in_chinese_with_its_message_id(db, now, smtp):
    activation(db, now)
    db.commit()
    assert send(db, now, smtp.url) == {"sent": 1, "retry": 0, "dead": 0, "pending": 0}
    [message] = smtp.sink.received
    row = mail(db)
    assert row.status == MailStatus.SENT and row.sent_at == now and row.attempts == 1
    assert message["Message-ID"] == row.message_id
    assert message["Subject"] == "请激活您在科技项目绩效监测与验收跟踪系统的账号"
    assert message["To"] == "li@example.com" and "tracker@kjt.example.gov.cn" in message["From"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "李工，您好" in text and "http://127.0.0.1:8000/activate/SECRET-TOKEN" in text
    assert 'href="http://127.0.0.1:8000/activate/SECRET-TOKEN"' in html
    # The sent mail keeps no usable link in the database.
    assert "SECRET-TOKEN" not in str(row.context)
    # A second run finds nothing due.
    assert send(db, now, smtp.url)["sent"] == 0 and len(smtp.sink.received) == 1


def test_english_for_a_recipient_who_chose_english(db, now, demo_users):
    user = demo_users["grantee"]
    user.language = "en"
    activation(db, now, user=user)
    rendered = render_mail(mail(db), site_url="https://kjxm.example.gov.cn/")
    assert rendered.subject == "Please activate your account in the S&T project tracker"
    assert "https://kjxm.example.gov.cn/activate/SECRET-TOKEN" in rendered.text


def test_a_mail_held_back_is_not_sent_before_its_time(db, now, smtp):
    activation(db, now, send_after=now + timedelta(hours=2))
    db.commit()
    assert send(db, now, smtp.url)["sent"] == 0
    assert send(db, now + timedelta(hours=2), smtp.url)["sent"] == 1


def test_without_a_server_mails_stay_pending_and_visible(db, now):
    activation(db, now)
    db.commit()
    assert send_due_mail(db, now, transport=None) == {"sent": 0, "retry": 0, "dead": 0, "pending": 1}
    assert mail(db).status == MailStatus.PENDING and mail(db).attempts == 0


def test_a_server_that_cannot_be_reached_leaves_every_mail_pending(db, now):
    for i in range(3):
        activation(db, now, key=f"activation:{i}")
    db.commit()
    counts = send(db, now, f"smtp://127.0.0.1:{free_port()}/")
    assert counts["sent"] == 0 and counts["pending"] == 1
    rows = db.scalars(select(OutboxMail).execution_options(populate_existing=True)).all()
    assert {r.status for r in rows} == {MailStatus.PENDING}
    assert all(r.attempts == 0 for r in rows)  # never tried: no attempt spent
    assert any("无法连接发信服务器" in r.last_error for r in rows)


@pytest.mark.parametrize("failures", [["421 busy"], ["451 try later"] * 2, ["drop"] * 3, ["451 a", "drop", "421 b", "451 c"]])
def test_temporary_refusals_are_retried_with_backoff_then_delivered(db, now, smtp, failures):
    activation(db, now)
    db.commit()
    smtp.sink.script = list(failures)
    moment = now
    for attempt in range(1, len(failures) + 1):
        assert send(db, moment, smtp.url)["retry"] == 1
        row = mail(db)
        assert row.status == MailStatus.PENDING and row.attempts == attempt and row.last_error
        wait = row.next_attempt_at - moment
        assert wait == outbox.retry_delay(attempt)
        assert send(db, moment + wait - timedelta(seconds=1), smtp.url)["sent"] == 0  # not before its time
        moment += wait
    assert send(db, moment, smtp.url)["sent"] == 1
    assert len(smtp.sink.received) == 1 and mail(db).status == MailStatus.SENT


def test_a_permanent_refusal_is_dead_after_one_attempt_and_the_others_still_go(db, now, smtp):
    activation(db, now, key="a", to="nobody@example.com")
    activation(db, now, key="b", to="li@example.com")
    db.commit()
    smtp.sink.refuse["nobody@example.com"] = "550 5.1.1 no such user"
    assert send(db, now, smtp.url) == {"sent": 1, "retry": 0, "dead": 1, "pending": 0}
    dead = mail(db, "a")
    assert dead.status == MailStatus.DEAD and dead.attempts == 1 and "550" in dead.last_error


def test_a_message_refused_at_data_is_dead(db, now, smtp):
    activation(db, now)
    db.commit()
    smtp.sink.script = ["554 5.7.1 rejected as spam"]
    assert send(db, now, smtp.url)["dead"] == 1
    assert "554" in mail(db).last_error


def test_too_many_temporary_failures_end_dead(db, now, smtp):
    activation(db, now)
    db.commit()
    smtp.sink.script = ["451 later"] * outbox.MAX_ATTEMPTS
    moment = now
    for _ in range(outbox.MAX_ATTEMPTS):
        send(db, moment, smtp.url)
        moment = max(mail(db).next_attempt_at, moment)
    row = mail(db)
    assert row.status == MailStatus.DEAD and "多次重试仍未发出" in row.last_error
    assert smtp.sink.received == []


def test_a_row_left_sending_by_a_dead_sender_goes_again_after_its_claim_with_the_same_message_id(db, now, smtp):
    activation(db, now)
    row = mail(db)
    # A sender claimed it and died before recording anything.
    row.status, row.claimed_until, row.attempts = MailStatus.SENDING, now + CLAIM, 1
    db.commit()
    assert send(db, now + CLAIM - timedelta(seconds=1), smtp.url)["sent"] == 0  # still someone's
    assert send(db, now + CLAIM + timedelta(seconds=1), smtp.url)["sent"] == 1
    assert smtp.sink.received[0]["Message-ID"] == row.message_id


def test_a_broken_template_makes_that_mail_dead_not_the_run(db, now, smtp):
    outbox.queue_mail(db, dedupe_key="broken", template="no-such-template", recipient="li@example.com",
                      context={}, now=now)
    activation(db, now)
    db.commit()
    assert send(db, now, smtp.url) == {"sent": 1, "retry": 0, "dead": 1, "pending": 0}
    assert "邮件模板无法生成" in mail(db, "broken").last_error


def test_the_admin_resends_a_dead_mail(db, now, smtp):
    activation(db, now)
    db.commit()
    smtp.sink.script = ["550 mailbox full"]
    send(db, now, smtp.url)
    row = mail(db)
    outbox.resend(db, row, actor=SYSTEM, now=now + timedelta(hours=1))
    db.commit()
    assert send(db, now + timedelta(hours=1), smtp.url)["sent"] == 1
    assert mail(db).attempts == 1 and mail(db).status == MailStatus.SENT
    with pytest.raises(ValueError):
        outbox.resend(db, mail(db), actor=SYSTEM, now=now)


def test_smtp_urls():
    plain = SmtpConfig.from_url("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.security, plain.sender) == ("mail.example.com", 25, "plain", "tracker@localhost")
    tls = SmtpConfig.from_url("smtp://u%40x:p%2Fw@mail.example.com:2525/?starttls=1&from=kjt@example.gov.cn")
    assert (tls.port, tls.security, tls.username, tls.password, tls.sender) == (
        2525, "starttls", "u@x", "p/w", "kjt@example.gov.cn")
    assert SmtpConfig.from_url("smtps://mail.example.com").port == 465
    assert SmtpConfig.from_url("") is None
    with pytest.raises(ValueError):
        SmtpConfig.from_url("http://mail.example.com")
