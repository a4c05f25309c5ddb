"""The audit log as people read it: each row's object named in words, with a link to its page where it has one.

A row stores `report 392`; the page shows `进展报告 XM2025-001 2025年第2季度` linking to that report. Names are
looked up for the rows of one page, one query per kind of object on it, whatever the page size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indicators.workdays import quarter_label
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    AuditEntry,
    Disbursement,
    GuidelineClause,
    GuidelineDocument,
    GuidelineNode,
    Organisation,
    Programme,
    Project,
    Report,
    User,
)


@dataclass(frozen=True)
class ObjectRef:
    text: str  # data (a code, a name), shown after the object type's label
    href: str = ""


def _ids(entries: Iterable[AuditEntry], kind: str) -> list[int]:
    return sorted({int(e.object_id) for e in entries
                   if e.object_type == kind and e.object_id.isascii() and e.object_id.isdigit()})


def _users(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    return {i: ObjectRef(name, f"/admin/users/{i}")
            for i, name in db.execute(select(User.id, User.username).where(User.id.in_(ids)))}


def _organisations(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    return {i: ObjectRef(name, f"/admin/organisations/{i}")
            for i, name in db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))}


def _programmes(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    return {i: ObjectRef(name, "/admin/programmes")
            for i, name in db.execute(select(Programme.id, Programme.name).where(Programme.id.in_(ids)))}


def _projects(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    return {i: ObjectRef(code, f"/projects/{i}")
            for i, code in db.execute(select(Project.id, Project.code).where(Project.id.in_(ids)))}


def _reports(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    rows = db.execute(select(Report.id, Report.project_id, Report.period_index, Report.period_start, Report.is_final,
                             Project.code).join(Project, Project.id == Report.project_id).where(Report.id.in_(ids)))
    return {i: ObjectRef(f"{code} {quarter_label(start, final=final)}", f"/projects/{project_id}/reports/{period}")
            for i, project_id, period, start, final, code in rows}


def _documents(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    rows = db.execute(select(GuidelineDocument.id, GuidelineDocument.version, Programme.name)
                      .join(Programme, Programme.id == GuidelineDocument.programme_id)
                      .where(GuidelineDocument.id.in_(ids)))
    return {i: ObjectRef(f"{name}（第{version}版）", f"/guidelines/{i}") for i, version, name in rows}


def _nodes(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    rows = db.execute(select(GuidelineNode.id, GuidelineNode.title, GuidelineNode.is_leaf)
                      .where(GuidelineNode.id.in_(ids)))
    return {i: ObjectRef(title, f"/guidelines/directions/{i}" if leaf else "") for i, title, leaf in rows}


def _clauses(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    rows = db.execute(select(GuidelineClause.id, GuidelineClause.label, GuidelineClause.text)
                      .where(GuidelineClause.id.in_(ids)))
    return {i: ObjectRef(f"{label or ''}{text[:24]}{'…' if len(text) > 24 else ''}", f"/review/clauses/{i}")
            for i, label, text in rows}


def _meetings(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    return {i: ObjectRef(code, f"/acceptance/meetings/{i}")
            for i, code in db.execute(select(AcceptanceMeeting.id, AcceptanceMeeting.code)
                                      .where(AcceptanceMeeting.id.in_(ids)))}


def _cases(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    rows = db.execute(select(AcceptanceApplication.id, Project.code)
                      .join(Project, Project.id == AcceptanceApplication.project_id)
                      .where(AcceptanceApplication.id.in_(ids)))
    return {i: ObjectRef(code, f"/acceptance/cases/{i}") for i, code in rows}


def _disbursements(db: Session, ids: list[int]) -> dict[int, ObjectRef]:
    rows = db.execute(select(Disbursement.id, Disbursement.tranche, Project.code)
                      .join(Project, Project.id == Disbursement.project_id).where(Disbursement.id.in_(ids)))
    # The tranche is `project` (the one payment) or `milestone:{n}`.
    return {i: ObjectRef(code + (f" 里程碑{tranche.split(':', 1)[1]}" if tranche.startswith("milestone:") else ""),
                         f"/disbursements/{i}") for i, tranche, code in rows}


_LOOKUPS: dict[str, Callable[[Session, list[int]], dict[int, ObjectRef]]] = {
    "user": _users, "organisation": _organisations, "programme": _programmes, "project": _projects,
    "report": _reports, "guideline_document": _documents, "guideline_node": _nodes, "guideline_clause": _clauses,
    "acceptance_meeting": _meetings, "acceptance_case": _cases, "disbursement": _disbursements,
}
# Objects whose stored id says nothing to a reader (the settings row is `business`).
_SILENT = {"settings"}
_LINKS = {"outbox": "/admin/outbox/{id}", "work_calendar_year": "/admin/calendar?year={id}"}


def object_refs(db: Session, entries: list[AuditEntry]) -> dict[int, ObjectRef]:
    """Audit entry id → its object in words. A failed login names the user as typed (the object id is the name);
    a refused request without an object shows the address it asked for."""
    found: dict[tuple[str, int], ObjectRef] = {}
    for kind, lookup in _LOOKUPS.items():
        ids = _ids(entries, kind)
        if ids:
            found.update({(kind, i): ref for i, ref in lookup(db, ids).items()})
    refs = {}
    for e in entries:
        key: Any = (e.object_type, int(e.object_id)) if e.object_id.isascii() and e.object_id.isdigit() else None
        if key in found:
            refs[e.id] = found[key]
        elif e.object_type in _SILENT:
            refs[e.id] = ObjectRef("")
        elif e.object_type in _LINKS and e.object_id:
            refs[e.id] = ObjectRef(e.object_id, _LINKS[e.object_type].format(id=e.object_id))
        else:
            refs[e.id] = ObjectRef(e.object_id)
    return refs
