"""Server-side login sessions kept in the database.

The cookie carries 32 random bytes; the table keeps their SHA-256, so a database dump holds no usable
session. A session dies after 30 idle minutes or 8 hours in all (G8), at logout, and when its user is
disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from tracker.models import AuthSession, User

# Refresh last_seen_at at most this often, so that reading pages does not write on every request.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=8)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, user: User, *, now: datetime, ip: str | None) -> str:
    """A new session (a new id at every login: no fixation). Returns the cookie token."""
    token = secrets.token_urlsafe(32)
    db.add(AuthSession(id=_digest(token), user_id=user.id, created_at=now, last_seen_at=now, ip=ip))
    db.flush()
    return token


def resolve_session(db: Session, token: str, *, now: datetime, policy: SessionPolicy) -> User | None:
    """The logged-in user for this cookie token, or None when the session is unknown or expired."""
    if not token or len(token) > 100:
        return None
    # The session and its user in one query: this runs before every signed-in request.
    row = db.scalar(select(AuthSession).where(AuthSession.id == _digest(token)).options(joinedload(AuthSession.user)))
    if row is None:
        return None
    expired = now - row.last_seen_at > policy.idle or now - row.created_at > policy.absolute
    user = row.user
    if expired or not user.is_active:
        db.delete(row)
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
    return user


def end_session(db: Session, token: str) -> None:
    db.execute(delete(AuthSession).where(AuthSession.id == _digest(token)))


def end_all_sessions(db: Session, user: User) -> None:
    db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))


def session_count(db: Session, user: User) -> int:
    return len(db.scalars(select(AuthSession.id).where(AuthSession.user_id == user.id)).all())


def purge_expired(db: Session, *, now: datetime, policy: SessionPolicy) -> int:
    """Delete sessions past their idle or absolute limit; returns how many."""
    result = db.execute(
        delete(AuthSession).where(
            (AuthSession.last_seen_at < now - policy.idle) | (AuthSession.created_at < now - policy.absolute)
        )
    )
    return result.rowcount or 0
