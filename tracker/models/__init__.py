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
from tracker.models.generation import DataGeneration
from tracker.models.guidelines import GuidelineClause, GuidelineDocument, GuidelineNode
from tracker.models.jobs import JobRun, SchedulerLease
from tracker.models.mail import MAIL_STATUS_LABELS, MailStatus, OutboxMail
from tracker.models.monitoring import AssessmentChange, ProjectAssessment
from tracker.models.programmes import Programme, programme_officers
from tracker.models.projects import (
    Milestone,
    Project,
    ProjectChange,
    ProjectStatus,
    ProjectTarget,
    TargetSet,
    project_contacts,
)
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
from tracker.models.settings import SettingValue

__all__ = [
    "ActivationToken",
    "ApiToken",
    "AssessmentChange",
    "AuditEntry",
    "AuthSession",
    "CalendarSource",
    "ClauseCorrection",
    "DataGeneration",
    "EvidenceFile",
    "GuidelineClause",
    "GuidelineDocument",
    "GuidelineNode",
    "JobRun",
    "LoginAttempt",
    "MAIL_STATUS_LABELS",
    "MailStatus",
    "Milestone",
    "Organisation",
    "OrganisationKind",
    "OutboxMail",
    "Programme",
    "Project",
    "ProjectAssessment",
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
    "SchedulerLease",
    "SettingValue",
    "SubmittedVersionIsImmutable",
    "TargetSet",
    "User",
    "WorkCalendarDay",
    "WorkCalendarYear",
    "programme_officers",
    "project_contacts",
]
