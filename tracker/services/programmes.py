"""Programmes (指南 documents as units of assignment). The guideline import creates them too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Programme, User
from tracker.services import audit
from tracker.services.accounts import AccountError
from tracker.services.audit import Actor


def create_programme(db: Session, *, name: str, description: str = "", actor: Actor, now: datetime) -> Programme:
    name = name.strip()
    if not name:
        raise AccountError("请填写项目计划名称", field="name")
    if len(name) > 300:
        raise AccountError("名称不能超过300个字符", field="name")
    if db.scalar(select(Programme).where(Programme.name == name)) is not None:
        raise AccountError("已有同名的项目计划", field="name")
    programme = Programme(name=name, description=description.strip()[:2000], is_active=True, created_at=now,
                          version=1)
    db.add(programme)
    db.flush()
    audit.record(db, actor, "programme_created", now=now, object_type="programme", object_id=programme.id,
                 after={"name": name})
    return programme


def visible_programmes(db: Session, user: User) -> list[Programme]:
    """Officers see the programmes assigned to them; admins, finance and experts see every programme."""
    if user.role == "officer":
        return list(user.programmes)
    if user.role in ("admin", "finance", "expert"):
        return list(db.scalars(select(Programme).order_by(Programme.name)))
    return []
