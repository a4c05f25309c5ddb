"""Objects named in a URL, within the user's scope: each lookup answers the same 404 for a missing object and
for one the user may not see (DESIGN §5), built on the services' `x_for(db, user, id)`.

`what` names the object in the 404's message (the JSON API says which object was not found); pages leave it
empty and show the generic error page.
"""

from __future__ import annotations

from typing import TypeVar

from litestar.exceptions import NotFoundException
from sqlalchemy.orm import Session

from indicators.workdays import ReportingPeriod
from tracker.models import EvidenceFile, GuidelineClause, GuidelineDocument, GuidelineNode, Project, User
from tracker.services import guidelines as catalogue
from tracker.services import projects as project_service
from tracker.services import reports as report_service

T = TypeVar("T")


def or_404(found: T | None, what: str = "") -> T:
    if found is None:
        raise NotFoundException(detail=f"{what}不存在，或您无权查看") if what else NotFoundException()
    return found


def project_or_404(db: Session, user: User, project_id: int, what: str = "") -> Project:
    return or_404(project_service.project_for(db, user, project_id), what)


def period_or_404(db: Session, project: Project, index: int, due_days: int, what: str = "") -> ReportingPeriod:
    """A reporting period of the project (quarters from start to end)."""
    return or_404(report_service.period_of(db, project, index, due_days), what)


def document_or_404(db: Session, user: User, document_id: int, what: str = "") -> GuidelineDocument:
    return or_404(catalogue.document_for(db, user, document_id), what)


def direction_or_404(db: Session, user: User, node_id: int, what: str = "") -> GuidelineNode:
    """A direction: a leaf of the guideline tree (an inner node is not found here)."""
    node = catalogue.node_for(db, user, node_id)
    return or_404(node if node is not None and node.is_leaf else None, what)


def clause_or_404(db: Session, user: User, clause_id: int, what: str = "") -> GuidelineClause:
    return or_404(catalogue.clause_for(db, user, clause_id), what)


def evidence_file_or_404(db: Session, user: User, file_id: int) -> EvidenceFile:
    """A file the user may download: not merely of a project they see (a draft's file is the grantee's alone)."""
    return or_404(report_service.evidence_file_for(db, user, file_id))


def row_or_404(db: Session, model: type[T], object_id: int) -> T:
    """Any row by id, for the admin's pages (the admin's scope is everything)."""
    return or_404(db.get(model, object_id))
