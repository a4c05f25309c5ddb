"""Monitoring (DESIGN §2): each project's current assessment, and a row each time its status changes.

Pages read the stored assessment instead of computing it per row; the `assess` job and the services that change
what it depends on (accepting a report, confirming a task book) keep it current (tracker.services.monitoring)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, UTCDateTime

MONITORING_STATUSES = ("green", "amber", "red", "unknown")
_STATUS_CHECK = "status IN ('green', 'amber', 'red', 'unknown')"


class ProjectAssessment(Base):
    __tablename__ = "project_assessments"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        # The at-risk list: worst first.
        Index("ix_project_assessments_severity_project_id", "severity", "project_id"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    severity: Mapped[int] = mapped_column(SmallInteger)  # 3 red, 2 amber, 1 green, 0 unknown: sorts worst first
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Per target position: status, reasons, achieved, expected, forecast and baseline (numbers as text).
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Which accepted report versions it was computed from (ids), and the task-book version.
    versions: Mapped[list[int]] = mapped_column(JSON, default=list)
    target_set_id: Mapped[int | None] = mapped_column(Integer)
    # Reports that need the grantee, counted for the officer's worklist: overdue, and returned not resubmitted.
    overdue_reports: Mapped[int] = mapped_column(SmallInteger, default=0)
    returned_reports: Mapped[int] = mapped_column(SmallInteger, default=0)
    # The reporting rate's parts (DHIS2's definitions), over the periods whose due date has passed since the task
    # book was confirmed: reports due, submitted, and submitted by the due date.
    reports_due: Mapped[int] = mapped_column(SmallInteger, default=0)
    reports_submitted: Mapped[int] = mapped_column(SmallInteger, default=0)
    reports_on_time: Mapped[int] = mapped_column(SmallInteger, default=0)
    # When it was last computed: the nightly job writes nothing for a project it skips (nothing it rests on
    # changed and no day that could change it came), so this is not the time of the last sweep.
    # The acceptance readiness (验收条件) on the same figures: status, score, the requirement in words, per target
    # position its state and reason, what the closest alternative lacks (indicators.assessment.readiness).
    readiness: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the status last changed
    # The first local day on which the passing of time alone could change it (a report falls due, a deadline
    # passes; 9999-12-31: none can). NULL: not known (rows from before it was kept), recomputed at the next night.
    recheck_on: Mapped[date | None] = mapped_column(Date, index=True)
    # A fingerprint of what it rests on (tracker.services.monitoring.basis_of); the nightly job recomputes a
    # project whose fingerprint now differs, whatever changed it.
    basis: Mapped[str | None] = mapped_column(String(16))


class AssessmentChange(Base):
    """The project's status history: a row only when the status changes."""

    __tablename__ = "assessment_changes"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_assessment_changes_project_id_id", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))
    previous: Mapped[str | None] = mapped_column(String(10))  # None for the first assessment
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
