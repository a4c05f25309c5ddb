"""Award lists (立项清单) into projects: read the Excel file, then import all rows or none."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from imports.awards import AwardRow, read_award_list
from tracker.models import GuidelineDocument, Programme
from tracker.services.audit import Actor
from tracker.services.projects import ImportProblem, ImportResult, ProjectInput, import_projects


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


def load_award_list(db: Session, name: str, data: bytes, document: GuidelineDocument, *, actor: Actor,
                    now: datetime, dry_run: bool = False) -> ImportResult:
    """Read and import; any problem in the file or against the database means nothing is written."""
    sheet = read_award_list(name, data)
    if sheet.errors:
        problems = [ImportProblem(e.row, e.column, e.message) for e in sheet.errors]
        # The rows that did read are checked against the database too, so one upload shows every problem.
        bad_rows = {e.row for e in sheet.errors}
        readable = [to_input(r) for r in sheet.checked_rows if r.row not in bad_rows]
        if readable:
            checked = import_projects(db, readable, document, actor=actor, now=now, dry_run=True)
            problems += checked.problems
        problems.sort(key=lambda p: (p.row is not None, p.row or 0))
        return ImportResult(problems=problems)
    batch = hashlib.sha256(data).hexdigest()
    return import_projects(db, [to_input(r) for r in sheet.rows], document, actor=actor, now=now, batch=batch,
                           dry_run=dry_run)
