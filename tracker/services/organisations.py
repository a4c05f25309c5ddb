"""Organisations (项目承担单位): created and edited by the admin, matched by 统一社会信用代码 on import."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from indicators.identifiers import uscc_division_code, uscc_problem
from tracker.models import Organisation, OrganisationKind
from tracker.services import audit
from tracker.services.accounts import AccountError, StaleEdit
from tracker.services.audit import Actor

FIELDS = ("uscc", "name", "division_code", "kind", "contact_name", "contact_phone", "is_active")
KIND_LABELS = {
    OrganisationKind.ENTERPRISE: "企业",
    OrganisationKind.UNIVERSITY: "高校",
    OrganisationKind.INSTITUTE: "科研院所",
    OrganisationKind.HOSPITAL: "医院",
    OrganisationKind.OTHER: "其他",
}


def _clean(uscc: str, name: str, kind: str) -> tuple[str, str, OrganisationKind]:
    uscc = uscc.strip().upper()
    problem = uscc_problem(uscc)
    if problem:
        raise AccountError(problem, field="uscc")
    name = name.strip()
    if not name:
        raise AccountError("请填写单位名称", field="name")
    if len(name) > 200:
        raise AccountError("单位名称不能超过200个字符", field="name")
    try:
        kind_enum = OrganisationKind(kind)
    except ValueError:
        raise AccountError("请选择单位类型", field="kind") from None
    return uscc, name, kind_enum


def by_uscc(db: Session, uscc: str) -> Organisation | None:
    return db.scalar(select(Organisation).where(Organisation.uscc == uscc.strip().upper()))


def create_organisation(db: Session, *, uscc: str, name: str, kind: str, contact_name: str = "",
                        contact_phone: str = "", actor: Actor, now: datetime) -> Organisation:
    uscc, name, kind_enum = _clean(uscc, name, kind)
    if by_uscc(db, uscc) is not None:
        raise AccountError(f"统一社会信用代码 {uscc} 已登记", field="uscc")
    org = Organisation(uscc=uscc, name=name, division_code=uscc_division_code(uscc), kind=kind_enum.value,
                       contact_name=contact_name.strip() or None, contact_phone=contact_phone.strip() or None,
                       is_active=True, created_at=now, version=1)
    db.add(org)
    db.flush()
    audit.record(db, actor, "organisation_created", now=now, object_type="organisation", object_id=org.id,
                 after=audit.snapshot(org, FIELDS))
    return org


def update_organisation(db: Session, org: Organisation, *, version: int, uscc: str, name: str, kind: str,
                        contact_name: str, contact_phone: str, actor: Actor, now: datetime) -> None:
    if org.version != version:
        raise StaleEdit("该单位已被其他人修改，请查看最新内容后再保存")
    uscc, name, kind_enum = _clean(uscc, name, kind)
    other = by_uscc(db, uscc)
    if other is not None and other.id != org.id:
        raise AccountError(f"统一社会信用代码 {uscc} 已属于 {other.name}", field="uscc")
    before = audit.snapshot(org, FIELDS)
    org.uscc, org.name, org.kind = uscc, name, kind_enum.value
    org.division_code = uscc_division_code(uscc)
    org.contact_name = contact_name.strip() or None
    org.contact_phone = contact_phone.strip() or None
    org.version += 1
    db.flush()
    audit.record(db, actor, "organisation_updated", now=now, object_type="organisation", object_id=org.id,
                 before=before, after=audit.snapshot(org, FIELDS))


def set_organisation_active(db: Session, org: Organisation, active: bool, *, actor: Actor, now: datetime) -> None:
    if org.is_active == active:
        return
    org.is_active = active
    org.version += 1
    audit.record(db, actor, "organisation_enabled" if active else "organisation_disabled", now=now,
                 object_type="organisation", object_id=org.id)
