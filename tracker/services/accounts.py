"""Use cases about users: sign-in with lockout, passwords, activation links, API tokens, administration.

Every function that changes state writes its audit row in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker import passwords
from tracker.clock import local
from tracker.models import ActivationToken, ApiToken, LoginAttempt, Organisation, Programme, Role, User
from tracker.password_policy import password_problems
from tracker.services import audit, outbox, sessions
from tracker.services.audit import Actor

LOCKOUT_FAILURES = 5
LOCKOUT_PERIOD = timedelta(minutes=15)
IP_FAILURES = 10
IP_PERIOD = timedelta(minutes=5)
ACTIVATION_VALIDITY = timedelta(hours=72)
API_TOKEN_PREFIX = "trk_"  # noqa: S105 - a visible prefix, not a secret
# Grantees report for their organisation; an expert's organisation is where they work, which keeps them off its
# acceptance cases (conflict of interest). Other roles belong to none.
MAY_BELONG = frozenset({Role.GRANTEE, Role.EXPERT})
USER_FIELDS = ("username", "display_name", "role", "organisation_id", "email", "phone", "is_active")


class AccountError(ValueError):
    """A refused account operation; the message is for the user, in Chinese."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StaleEdit(AccountError):
    """Someone else saved the same object since the form was opened (optimistic locking, G25)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_user_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def has_demo_accounts(db: Session) -> bool:
    return db.scalar(select(func.count()).select_from(User).where(User.is_demo.is_(True))) > 0


# --- signing in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    refusal: str | None = None  # None, "invalid", "locked", "rate_limited"


def _failures_since(db: Session, *conditions, since: datetime) -> int:
    return db.scalar(
        select(func.count()).select_from(LoginAttempt)
        .where(LoginAttempt.succeeded.is_(False), LoginAttempt.at > since, *conditions)
    )


def _is_locked(db: Session, username: str, now: datetime) -> bool:
    key = username.lower()
    last_success = db.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.username == key, LoginAttempt.succeeded.is_(True))
    )
    since = max(now - LOCKOUT_PERIOD, last_success) if last_success else now - LOCKOUT_PERIOD
    return _failures_since(db, LoginAttempt.username == key, since=since) >= LOCKOUT_FAILURES


def login(db: Session, username: str, password: str, *, ip: str, now: datetime) -> LoginOutcome:
    """Check credentials with the per-IP limit and the per-username lockout (G7).

    Every path but the IP limit runs exactly one argon2 verify, and a locked or unknown username answers
    like a wrong password, so that nothing tells whether an account exists.
    """
    username = username.strip()[:64]
    if _failures_since(db, LoginAttempt.ip == ip, since=now - IP_PERIOD) >= IP_FAILURES:
        return LoginOutcome(None, "rate_limited")
    actor = Actor(None, username, "anonymous", ip)
    if _is_locked(db, username, now):
        passwords.burn_verify()
        db.add(LoginAttempt(username=username.lower(), ip=ip, at=now, succeeded=False))
        audit.record(db, actor, "login_failed", now=now, object_type="user", object_id=username, result="locked")
        return LoginOutcome(None, "locked")
    user = authenticate(db, username, password, now=now)
    db.add(LoginAttempt(username=username.lower(), ip=ip, at=now, succeeded=user is not None))
    if user is None:
        audit.record(db, actor, "login_failed", now=now, object_type="user", object_id=username, result="invalid")
        return LoginOutcome(None, "invalid")
    audit.record(db, Actor.of(user, ip), "login", now=now, object_type="user", object_id=user.id)
    return LoginOutcome(user)


def authenticate(db: Session, username: str, password: str, *, now: datetime) -> User | None:
    """The user if the credentials are right and the account usable, else None (one argon2 verify)."""
    user = get_user_by_username(db, username)
    if user is None or not user.password_hash:
        passwords.burn_verify()
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    if not user.is_active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = now
    return user


# --- passwords and activation --------------------------------------------------------------------


def check_password(user: User, password: str) -> None:
    problems = password_problems(password, username=user.username, display_name=user.display_name)
    if problems:
        raise AccountError("；".join(problems), field="password")


def set_password(db: Session, user: User, password: str, *, actor: Actor, now: datetime) -> None:
    """A new password ends every session and API token of the user: a stolen cookie or token dies with the old
    password (DESIGN §4)."""
    check_password(user, password)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    sessions.end_all_sessions(db, user)
    ended = end_api_tokens(db, user, now=now)
    audit.record(db, actor, "password_changed", now=now, object_type="user", object_id=user.id,
                 after={"api_tokens_revoked": ended} if ended else None)


def change_own_password(db: Session, user: User, old: str, new: str, confirm: str, *, actor: Actor,
                        now: datetime) -> None:
    if not user.password_hash or not passwords.verify_password(user.password_hash, old):
        raise AccountError("当前密码不正确", field="old_password")
    if new != confirm:
        raise AccountError("两次输入的新密码不一致", field="confirm")
    if new == old:
        raise AccountError("新密码不能与当前密码相同", field="password")
    set_password(db, user, new, actor=actor, now=now)


def set_language(db: Session, user: User, language: str, *, actor: Actor, now: datetime) -> None:
    """The language of the user's pages and mails."""
    if language not in ("zh_CN", "en"):
        raise AccountError("请选择语言", field="language")
    if language != user.language:
        before = user.language
        user.language = language
        db.flush()
        audit.record(db, actor, "language_changed", now=now, object_type="user", object_id=user.id,
                     before={"language": before}, after={"language": language})


def issue_activation(db: Session, user: User, *, actor: Actor, now: datetime) -> str:
    """A new one-time activation token (older unused ones stop working). Returns the token.

    For an account already in use this is the admin's password reset: whoever may hold the old password (or a
    session or token got with it) is shut out now, not when the user gets round to the link."""
    if user.password_hash:
        user.password_hash = None
        user.password_changed_at = now
        sessions.end_all_sessions(db, user)
        ended = end_api_tokens(db, user, now=now)
        audit.record(db, actor, "password_reset", now=now, object_type="user", object_id=user.id,
                     after={"api_tokens_revoked": ended})
    for old in db.scalars(select(ActivationToken).where(ActivationToken.user_id == user.id,
                                                        ActivationToken.used_at.is_(None))):
        old.used_at = now
    token = secrets.token_urlsafe(32)
    db.add(ActivationToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                           expires_at=now + ACTIVATION_VALIDITY))
    audit.record(db, actor, "activation_issued", now=now, object_type="user", object_id=user.id)
    if user.email:
        # The link goes by mail too; whoever issued it also sees it once, for users without a working address.
        outbox.queue_mail(db, dedupe_key=f"activation:{_digest(token)[:32]}", template="activation",
                          recipient=user.email, user=user, now=now,
                          context={"name": user.display_name or user.username, "username": user.username,
                                   "path": f"/activate/{token}", outbox.SECRET_KEYS: ["path"],
                                   "expires": f"{local(now + ACTIVATION_VALIDITY):%Y-%m-%d %H:%M}"})
    return token


def activation_user(db: Session, token: str, *, now: datetime) -> User | None:
    row = db.scalar(select(ActivationToken).where(ActivationToken.token_hash == _digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now or not row.user.is_active:
        return None
    return row.user


def activate(db: Session, token: str, password: str, confirm: str, *, ip: str, now: datetime) -> User:
    row = db.scalar(select(ActivationToken).where(ActivationToken.token_hash == _digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now or not row.user.is_active:
        raise AccountError("激活链接无效或已过期，请联系管理员重新发放")
    if password != confirm:
        raise AccountError("两次输入的密码不一致", field="confirm")
    user = row.user
    set_password(db, user, password, actor=Actor.of(user, ip), now=now)
    row.used_at = now
    return user


# --- API tokens ----------------------------------------------------------------------------------


def create_api_token(db: Session, user: User, name: str, days: int, *, actor: Actor, now: datetime
                     ) -> tuple[ApiToken, str]:
    name = name.strip()
    if not name:
        raise AccountError("请填写令牌名称", field="name")
    if len(name) > 100:
        raise AccountError("令牌名称不能超过100个字符", field="name")
    if days not in (7, 30, 90, 365):
        raise AccountError("有效期只能选择 7、30、90 或 365 天", field="days")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_digest(token), prefix=token[:10], created_at=now,
                   expires_at=now + timedelta(days=days))
    db.add(row)
    db.flush()
    audit.record(db, actor, "api_token_created", now=now, object_type="api_token", object_id=row.id,
                 after={"name": name, "expires_at": row.expires_at.isoformat()})
    return row, token


def resolve_api_token(db: Session, token: str, *, now: datetime) -> User | None:
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 100:
        return None
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row.user


def end_api_tokens(db: Session, user: User, *, now: datetime) -> int:
    """Revoke every live token of the user; returns how many."""
    live = list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
                                                 ApiToken.expires_at > now)))
    for row in live:
        row.revoked_at = now
    return len(live)


def revoke_api_token(db: Session, user: User, token_id: int, *, actor: Actor, now: datetime) -> None:
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise AccountError("令牌不存在")
    row.revoked_at = now
    audit.record(db, actor, "api_token_revoked", now=now, object_type="api_token", object_id=row.id)


# --- administration ------------------------------------------------------------------------------


def create_user(
    db: Session,
    *,
    username: str,
    password: str | None,
    role: Role,
    now: datetime,
    display_name: str | None = None,
    organisation: Organisation | None = None,
    email: str | None = None,
    phone: str | None = None,
    is_demo: bool = False,
    actor: Actor | None = None,
    enforce_policy: bool = True,
) -> User:
    """A new user. Without a password the account waits for its activation link."""
    username = username.strip()
    if not username:
        raise AccountError("用户名不能为空", field="username")
    if len(username) > 64 or any(ch.isspace() for ch in username):
        raise AccountError("用户名不能超过64个字符，也不能含空格", field="username")
    if get_user_by_username(db, username) is not None:
        raise AccountError(f"用户名 {username} 已存在", field="username")
    if role is Role.GRANTEE and organisation is None:
        raise AccountError("项目承担单位用户必须属于一个单位", field="organisation")
    if role not in MAY_BELONG and organisation is not None:
        raise AccountError("只有项目承担单位用户和验收专家属于单位", field="organisation")
    user = User(username=username, display_name=(display_name or username).strip()[:100], role=role.value,
                organisation=organisation, email=(email or None), phone=(phone or None), is_active=True,
                is_demo=is_demo, created_at=now, version=1)
    if password:
        if enforce_policy:
            check_password(user, password)
        user.password_hash = passwords.hash_password(password)
        user.password_changed_at = now
    db.add(user)
    db.flush()
    audit.record(db, actor or Actor.system(), "user_created", now=now, object_type="user", object_id=user.id,
                 after=audit.snapshot(user, USER_FIELDS))
    return user


def update_user(db: Session, user: User, *, version: int, display_name: str, role: Role,
                organisation: Organisation | None, email: str | None, phone: str | None, actor: Actor,
                now: datetime) -> None:
    """Edit a user. A change of role or organisation is a change of privilege: the user's sessions end."""
    if user.version != version:
        raise StaleEdit("该用户已被其他人修改，请查看最新内容后再保存")
    if role is Role.GRANTEE and organisation is None:
        raise AccountError("项目承担单位用户必须属于一个单位", field="organisation")
    if role not in MAY_BELONG:
        organisation = None
    if user.id == actor.user_id and role.value != user.role:
        raise AccountError("不能修改自己的角色", field="role")
    before = audit.snapshot(user, USER_FIELDS)
    privilege_changed = role.value != user.role or (organisation.id if organisation else None) != user.organisation_id
    user.display_name = display_name.strip()[:100] or user.username
    user.role = role.value
    user.organisation = organisation
    user.email = email or None
    user.phone = phone or None
    if role is not Role.OFFICER:
        user.programmes = []
    user.version += 1
    db.flush()
    if privilege_changed:
        sessions.end_all_sessions(db, user)
    audit.record(db, actor, "user_updated", now=now, object_type="user", object_id=user.id, before=before,
                 after=audit.snapshot(user, USER_FIELDS))


def set_user_active(db: Session, user: User, active: bool, *, actor: Actor, now: datetime) -> None:
    if user.id == actor.user_id and not active:
        raise AccountError("不能停用自己的账号")
    if user.is_active == active:
        return
    before = audit.snapshot(user, USER_FIELDS)
    user.is_active = active
    user.version += 1
    if not active:
        sessions.end_all_sessions(db, user)
    audit.record(db, actor, "user_enabled" if active else "user_disabled", now=now, object_type="user",
                 object_id=user.id, before=before, after=audit.snapshot(user, USER_FIELDS))


def assign_programmes(db: Session, officer: User, programmes: list[Programme], *, actor: Actor,
                      now: datetime) -> None:
    """Which programmes an officer manages. It changes what they may see: their sessions end."""
    if officer.role != Role.OFFICER:
        raise AccountError("只能给项目管理专员分配项目计划")
    before = sorted(p.id for p in officer.programmes)
    officer.programmes = sorted(programmes, key=lambda p: p.name)
    after = sorted(p.id for p in officer.programmes)
    if before != after:
        sessions.end_all_sessions(db, officer)
        audit.record(db, actor, "programmes_assigned", now=now, object_type="user", object_id=officer.id,
                     before={"programmes": before}, after={"programmes": after})
