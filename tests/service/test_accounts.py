"""Account rules at the service level: lockout, per-IP limit, passwords, activation, API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tracker.models import AuditEntry, AuthSession, Role
from tracker.password_policy import common_passwords, password_problems
from tracker.services import accounts, sessions
from tracker.services.accounts import AccountError
from tracker.services.audit import Actor

SYSTEM = Actor.system()


def failures(db, username, n, *, ip="10.0.0.1", now, password="wrong-password-xyz"):
    return [accounts.login(db, username, password, ip=ip, now=now + timedelta(seconds=i)) for i in range(n)]


def test_five_failures_lock_the_username_for_fifteen_minutes(db, demo_users, now):
    assert {o.refusal for o in failures(db, "officer", 5, now=now)} == {"invalid"}
    sixth = accounts.login(db, "officer", "tracker-demo", ip="10.0.0.1", now=now + timedelta(minutes=1))
    assert sixth.user is None and sixth.refusal == "locked"
    later = accounts.login(db, "officer", "tracker-demo", ip="10.0.0.1", now=now + timedelta(minutes=16))
    assert later.user is not None


def test_unknown_usernames_lock_exactly_like_real_ones(db, demo_users, now):
    real = [o.refusal for o in failures(db, "officer", 6, now=now, ip="10.0.0.2")]
    ghost = [o.refusal for o in failures(db, "ghost-user", 6, now=now, ip="10.0.0.3")]
    assert real == ghost == ["invalid"] * 5 + ["locked"]


def test_a_success_resets_the_failure_count(db, demo_users, now):
    failures(db, "officer", 4, now=now)
    assert accounts.login(db, "officer", "tracker-demo", ip="10.0.0.1", now=now + timedelta(seconds=10)).user
    outcomes = failures(db, "officer", 4, now=now + timedelta(seconds=20))
    assert all(o.refusal == "invalid" for o in outcomes)


def test_per_ip_limit_answers_429_after_ten_failures_in_five_minutes(db, demo_users, now):
    for i in range(10):
        accounts.login(db, f"user{i}", "x" * 12, ip="10.9.9.9", now=now + timedelta(seconds=i))
    assert accounts.login(db, "officer", "tracker-demo", ip="10.9.9.9", now=now + timedelta(minutes=1)).refusal \
        == "rate_limited"
    assert accounts.login(db, "officer", "tracker-demo", ip="10.9.9.8", now=now + timedelta(minutes=1)).user
    assert accounts.login(db, "finance", "tracker-demo", ip="10.9.9.9", now=now + timedelta(minutes=6)).user


def test_every_login_attempt_is_audited(db, demo_users, now):
    accounts.login(db, "officer", "nope-nope-nope", ip="10.0.0.1", now=now)
    accounts.login(db, "officer", "tracker-demo", ip="10.0.0.1", now=now)
    actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["login_failed", "login"]


@pytest.mark.parametrize("password", ["short", "12345678901", "password1234", "qwertyuiop123", "aaaaaaaaaaaaa"])
def test_weak_passwords_are_refused(password):
    assert password_problems(password, username="wang")


def test_every_bundled_common_password_is_refused():
    common = common_passwords()
    assert len(common) >= 3000
    assert all(password_problems(p) for p in common)


@pytest.mark.parametrize("password", [
    "科技项目绩效跟踪系统很好用吧", "柳州螺蛳粉配桂林米粉真好吃", "correct horse battery staple"])
def test_long_and_cjk_passphrases_are_accepted(password):
    assert password_problems(password, username="wang") == []


def test_password_may_not_contain_the_username():
    assert password_problems("wangxiaoming-2026!", username="wangxiaoming")


def test_changing_the_password_ends_every_session(db, demo_users, now):
    user = demo_users["officer"]
    sessions.start_session(db, user, now=now, ip="a")
    sessions.start_session(db, user, now=now, ip="b")
    accounts.change_own_password(db, user, "tracker-demo", "我的新密码足够长也不常见", "我的新密码足够长也不常见",
                                 actor=Actor.of(user), now=now)
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 0
    assert accounts.authenticate(db, "officer", "我的新密码足够长也不常见", now=now) is not None
    assert accounts.authenticate(db, "officer", "tracker-demo", now=now) is None


@pytest.mark.parametrize(("old", "new", "confirm", "field"), [
    ("wrong-old-password", "a-brand-new-passphrase", "a-brand-new-passphrase", "old_password"),
    ("tracker-demo", "a-brand-new-passphrase", "a-different-passphrase", "confirm"),
    ("tracker-demo", "short", "short", "password"),
])
def test_password_change_refusals_name_the_field(db, demo_users, now, old, new, confirm, field):
    with pytest.raises(AccountError) as err:
        accounts.change_own_password(db, demo_users["officer"], old, new, confirm, actor=SYSTEM, now=now)
    assert err.value.field == field


def test_activation_link_is_one_time_and_expires(db, demo_users, now):
    user = accounts.create_user(db, username="newbie", password=None, role=Role.EXPERT, now=now, actor=SYSTEM)
    token = accounts.issue_activation(db, user, actor=SYSTEM, now=now)
    assert accounts.activation_user(db, token, now=now + timedelta(hours=71)) == user
    assert accounts.activation_user(db, token, now=now + timedelta(hours=73)) is None
    accounts.activate(db, token, "一个足够长的中文密码短语", "一个足够长的中文密码短语", ip="1.1.1.1", now=now)
    assert accounts.authenticate(db, "newbie", "一个足够长的中文密码短语", now=now) == user
    with pytest.raises(AccountError, match="无效或已过期"):
        accounts.activate(db, token, "another-long-passphrase", "another-long-passphrase", ip="", now=now)


def test_a_new_activation_link_retires_the_old_one(db, demo_users, now):
    user = accounts.create_user(db, username="newbie", password=None, role=Role.EXPERT, now=now, actor=SYSTEM)
    first = accounts.issue_activation(db, user, actor=SYSTEM, now=now)
    second = accounts.issue_activation(db, user, actor=SYSTEM, now=now)
    assert accounts.activation_user(db, first, now=now) is None
    assert accounts.activation_user(db, second, now=now) == user


def test_api_tokens_are_stored_hashed_and_expire(db, demo_users, now):
    user = demo_users["grantee"]
    row, token = accounts.create_api_token(db, user, "财务系统", 30, actor=SYSTEM, now=now)
    assert token.startswith("trk_") and token not in (row.token_hash, row.prefix)
    assert accounts.resolve_api_token(db, token, now=now + timedelta(days=29)) == user
    assert accounts.resolve_api_token(db, token, now=now + timedelta(days=31)) is None
    accounts.revoke_api_token(db, user, row.id, actor=SYSTEM, now=now)
    assert accounts.resolve_api_token(db, token, now=now) is None


def test_only_the_owner_revokes_a_token(db, demo_users, now):
    row, _token = accounts.create_api_token(db, demo_users["grantee"], "x", 7, actor=SYSTEM, now=now)
    with pytest.raises(AccountError):
        accounts.revoke_api_token(db, demo_users["officer"], row.id, actor=SYSTEM, now=now)


@pytest.mark.parametrize(("name", "days"), [("", 30), ("x" * 101, 30), ("ok", 5)])
def test_bad_token_requests_are_refused(db, demo_users, now, name, days):
    with pytest.raises(AccountError):
        accounts.create_api_token(db, demo_users["grantee"], name, days, actor=SYSTEM, now=now)


def test_role_change_ends_the_users_sessions(db, demo_users, now):
    user = demo_users["expert"]
    sessions.start_session(db, user, now=now, ip="x")
    accounts.update_user(db, user, version=user.version, display_name="赵专家", role=Role.FINANCE, organisation=None,
                         email=None, phone=None, actor=Actor.of(demo_users["admin"]), now=now)
    assert sessions.session_count(db, user) == 0


def test_stale_edit_is_refused(db, demo_users, now):
    user = demo_users["expert"]
    with pytest.raises(accounts.StaleEdit):
        accounts.update_user(db, user, version=user.version - 1, display_name="x", role=Role.EXPERT,
                             organisation=None, email=None, phone=None, actor=SYSTEM, now=now)


def test_admin_cannot_disable_or_demote_themselves(db, demo_users, now):
    admin = demo_users["admin"]
    with pytest.raises(AccountError):
        accounts.set_user_active(db, admin, False, actor=Actor.of(admin), now=now)
    with pytest.raises(AccountError):
        accounts.update_user(db, admin, version=admin.version, display_name="x", role=Role.OFFICER,
                             organisation=None, email=None, phone=None, actor=Actor.of(admin), now=now)


def test_grantees_need_an_organisation(db, demo_users, now):
    with pytest.raises(AccountError) as err:
        accounts.create_user(db, username="orphan", password=None, role=Role.GRANTEE, now=now, actor=SYSTEM)
    assert err.value.field == "organisation"
