"""Users, their organisations and their login sessions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, UTCDateTime

if TYPE_CHECKING:
    from tracker.models.programmes import Programme


class Role(enum.StrEnum):
    """One role per user (DESIGN §1)."""

    GRANTEE = "grantee"  # 项目承担单位 / 项目负责人
    OFFICER = "officer"  # 项目管理专员
    EXPERT = "expert"  # 验收专家
    FINANCE = "finance"  # 财务
    ADMIN = "admin"  # 系统管理员

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.GRANTEE: "项目承担单位",
    Role.OFFICER: "项目管理专员",
    Role.EXPERT: "验收专家",
    Role.FINANCE: "财务人员",
    Role.ADMIN: "系统管理员",
}


class OrganisationKind(enum.StrEnum):
    ENTERPRISE = "enterprise"  # 企业
    UNIVERSITY = "university"  # 高校
    INSTITUTE = "institute"  # 科研院所
    HOSPITAL = "hospital"  # 医院
    OTHER = "other"  # 其他


class Organisation(Base):
    """A grantee organisation (项目承担单位), keyed by its 统一社会信用代码."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Characters 3–8 of the USCC: gives the city (DESIGN §2).
    division_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(20), default=OrganisationKind.ENTERPRISE)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    contact_name: Mapped[str | None] = mapped_column(String(100), info={"pii": "name"})
    contact_phone: Mapped[str | None] = mapped_column(String(32), info={"pii": "phone"})
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254), info={"pii": "email"})
    phone: Mapped[str | None] = mapped_column(String(32), info={"pii": "phone"})
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language of the user's pages and mails (the language switch sets it).
    language: Mapped[str] = mapped_column(String(10), default="zh_CN", server_default="zh_CN")
    # Accounts made by `tracker demo`: production refuses to start while any exists (DESIGN §4).
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every optimistic-locking edit by the admin (G25).
    version: Mapped[int] = mapped_column(Integer, default=1)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    programmes: Mapped[list[Programme]] = relationship(secondary="programme_officers", back_populates="officers",
                                                       order_by="Programme.name")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class AuthSession(Base):
    """A server-side login session. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class ActivationToken(Base):
    """A one-time link that lets a new user set a password (shown to the admin until mail exists)."""

    __tablename__ = "activation_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A personal API token (DESIGN §4): shown once, stored hashed, with an expiry."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so that the owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed logins, for the per-username lockout and the per-IP limit (G7). Kept by username, existing
    or not, so that a locked account and an unknown one answer alike."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
