"""Use cases about users: create, authenticate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker import passwords
from tracker.models import Organisation, Role, User


class AccountError(ValueError):
    """A refused account operation; the message is for the user, in Chinese."""


def get_user_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


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
    is_demo: bool = False,
) -> User:
    username = username.strip()
    if not username:
        raise AccountError("用户名不能为空")
    if get_user_by_username(db, username) is not None:
        raise AccountError(f"用户名 {username} 已存在")
    if role is Role.GRANTEE and organisation is None:
        raise AccountError("项目承担单位用户必须属于一个单位")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        organisation=organisation,
        email=email,
        password_hash=passwords.hash_password(password) if password else None,
        is_active=True,
        is_demo=is_demo,
        created_at=now,
    )
    db.add(user)
    db.flush()
    return user


def authenticate(db: Session, username: str, password: str, *, now: datetime) -> User | None:
    """The user if the credentials are right and the account usable, else None.

    Every path runs exactly one argon2 verify, so that response time does not tell whether the user
    exists (G7).
    """
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


def has_demo_accounts(db: Session) -> bool:
    return db.scalar(select(func.count()).select_from(User).where(User.is_demo.is_(True))) > 0
