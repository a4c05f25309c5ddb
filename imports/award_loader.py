"""Award lists (立项清单) into projects, in the two steps that the import page and `tracker projects import` share.

1. `preview_award_list` reads the file once and checks every row: the sheet's own problems and the problems found
   against the database alike, each with its cell, so that one upload names them all. It lists the projects to
   create, the rows already imported unchanged and the organisations the import will create. Nothing is written.
2. `import_award_list` writes the preview's projects in the caller's transaction, all or nothing, after checking
   them again against the database as it is then (another import may have landed since the preview), and records
   the import in the audit log (`award_list_imported`) whoever runs it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from imports.awards import AwardRow, AwardSheet, header_field, read_award_list
from indicators.regions import city_name
from tracker.models import GuidelineDocument, Programme
from tracker.services import audit
from tracker.services.audit import Actor
from tracker.services.projects import (
    ImportProblem,
    ImportResult,
    PlannedProject,
    ProjectInput,
    account_name,
    import_projects,
)


def find_guideline(db: Session, name: str) -> GuidelineDocument | None:
    """The current version of the guideline named by its programme, title or imported file name."""
    name = name.strip()
    return db.scalar(
        select(GuidelineDocument).join(Programme)
        .where(GuidelineDocument.is_current.is_(True),
               or_(Programme.name == name, GuidelineDocument.title == name, GuidelineDocument.file_name == name))
        .order_by(GuidelineDocument.id.desc()).limit(1)
    )


def to_input(row: AwardRow) -> ProjectInput:
    return ProjectInput(
        row=row.row, project_code=row.project_code, title=row.title, direction=row.direction,
        content_items=tuple(row.content_items), organisation_name=row.organisation_name, uscc=row.uscc,
        pi_name=row.pi_name, pi_phone=row.pi_phone, pi_email=row.pi_email, officer=row.officer,
        start_date=row.start_date, end_date=row.end_date, period_months=row.period_months,
        fiscal_funding=row.fiscal_funding, self_funding=row.self_funding, funding_mode=row.funding_mode,
    )


@dataclass(frozen=True)
class NewOrganisation:
    """An organisation the import will create, with the grantee account named after its code."""

    name: str
    uscc: str
    city: str
    username: str


@dataclass(frozen=True)
class AwardListPreview:
    file_name: str
    document_id: int
    batch: str  # the file's SHA-256: the projects remember which list created them
    sheet: AwardSheet
    problems: tuple[ImportProblem, ...]  # every problem of the file, in row order, each with its cell if known
    creating: tuple[PlannedProject, ...]
    unchanged: tuple[AwardRow, ...]  # already imported with the same content: importing again changes nothing
    new_organisations: tuple[NewOrganisation, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def preview_award_list(db: Session, file_name: str, data: bytes, document: GuidelineDocument, *, actor: Actor,
                       now: datetime) -> AwardListPreview:
    """Read the file once and check every row against the database as it is now; writes nothing."""
    sheet = read_award_list(file_name, data)
    bad_rows = {e.row for e in sheet.errors}
    # The rows that did read are checked against the database too, even when others did not.
    readable = [to_input(r) for r in sheet.checked_rows if r.row not in bad_rows]
    checked = import_projects(db, readable, document, actor=actor, now=now, dry_run=True)
    problems = [ImportProblem(e.row, e.column, e.message, e.cell or "") for e in sheet.errors]
    problems += _located(checked.problems, sheet)
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    unchanged = set(checked.unchanged)
    creating = tuple(checked.planned) if not problems else ()
    organisations: dict[str, NewOrganisation] = {}
    for plan in creating:
        row = plan.row
        if plan.new_organisation and row.uscc not in organisations:
            # The name the import will give the account (the same rule, in the same order of rows).
            username = account_name(db, row, taken={o.username.lower() for o in organisations.values()})
            organisations[row.uscc] = NewOrganisation(row.organisation_name, row.uscc, city_name(row.uscc[2:8]),
                                                      username)
    return AwardListPreview(
        file_name=file_name, document_id=document.id, batch=hashlib.sha256(data).hexdigest(), sheet=sheet,
        problems=tuple(problems), creating=creating,
        unchanged=tuple(r for r in sheet.rows if r.project_code in unchanged),
        new_organisations=tuple(organisations.values()),
    )


def import_award_list(db: Session, preview: AwardListPreview, document: GuidelineDocument, *, actor: Actor,
                      now: datetime) -> ImportResult:
    """Create the previewed projects, or nothing when a row no longer fits the database (the result's problems)."""
    if not preview.ok or preview.document_id != document.id:
        raise ValueError("only a clean preview of this guideline can be imported")
    result = import_projects(db, [to_input(r) for r in preview.sheet.rows], document, actor=actor, now=now,
                             batch=preview.batch)
    if result.problems:
        result.problems = _located(result.problems, preview.sheet)
        return result
    if result.created:
        audit.record(db, actor, "award_list_imported", now=now, object_type="guideline_document",
                     object_id=document.id, after={
                         "file": preview.file_name, "created": len(result.created),
                         "unchanged": len(result.unchanged), "organisations": len(result.new_organisations)})
    return result


def _located(problems: list[ImportProblem], sheet: AwardSheet) -> list[ImportProblem]:
    """Problems found against the database name a row and a field: give them the cell the reader found it in."""
    located = []
    for problem in problems:
        key = header_field(problem.column) if problem.column else None
        letter = sheet.column_letters.get(key or "")
        cell = f"{letter}{problem.row}" if letter and problem.row is not None and not problem.cell else problem.cell
        located.append(replace(problem, cell=cell))
    return located
