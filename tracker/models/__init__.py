"""ORM models, one module per aggregate. Importing this package registers every table on Base.metadata."""

from tracker.models.accounts import (
    ActivationToken,
    ApiToken,
    AuthSession,
    LoginAttempt,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from tracker.models.audit import AuditEntry
from tracker.models.calendar import CalendarSource, WorkCalendarDay, WorkCalendarYear
from tracker.models.guidelines import GuidelineClause, GuidelineDocument, GuidelineNode
from tracker.models.programmes import Programme, programme_officers
from tracker.models.projects import Milestone, Project, ProjectChange, ProjectStatus, ProjectTarget, TargetSet
from tracker.models.reports import (
    EvidenceFile,
    Report,
    ReportEvidence,
    ReportReview,
    ReportStatus,
    ReportValue,
    ReportVersion,
    ReviewDecision,
    SubmittedVersionIsImmutable,
)
from tracker.models.reviews import ClauseCorrection, ReviewMark, RuleCorrection

__all__ = [
    "ActivationToken",
    "ApiToken",
    "AuditEntry",
    "AuthSession",
    "CalendarSource",
    "ClauseCorrection",
    "EvidenceFile",
    "GuidelineClause",
    "GuidelineDocument",
    "GuidelineNode",
    "LoginAttempt",
    "Milestone",
    "Organisation",
    "OrganisationKind",
    "Programme",
    "Project",
    "ProjectChange",
    "ProjectStatus",
    "ProjectTarget",
    "Report",
    "ReportEvidence",
    "ReportReview",
    "ReportStatus",
    "ReportValue",
    "ReportVersion",
    "ReviewDecision",
    "ReviewMark",
    "Role",
    "RuleCorrection",
    "SubmittedVersionIsImmutable",
    "TargetSet",
    "User",
    "WorkCalendarDay",
    "WorkCalendarYear",
    "programme_officers",
]
