"""Quarterly progress reports (季度进展报告) with their versions, values, evidence and review decisions
(DESIGN §2 "Progress report", reliability-security §3.1).

A report is one project's report for one reporting period. Its content lives in numbered versions: the
grantee fills a draft, submits it, and from then on that version never changes — the code refuses it here
(mapper events) and the database refuses it too (triggers of migration 0008). What happens to a submitted
version (accepted, returned with a comment) is a `ReportReview` row of its own, and the report's status is
the only mutable summary. A returned report, or a correction of an accepted one, gets a new version.
Progress counts only the accepted version of each report (`Report.accepted_number`).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, Money, UTCDateTime
from tracker.models.accounts import User
from tracker.models.projects import Project, ProjectTarget, TargetSet


class ReportStatus(enum.StrEnum):
    DRAFT = "draft"  # 草稿 (also a returned report's new version, or a correction being prepared)
    SUBMITTED = "submitted"  # 已提交，待审核
    ACCEPTED = "accepted"  # 审核通过
    RETURNED = "returned"  # 已退回

    @property
    def label(self) -> str:
        return REPORT_STATUS_LABELS[self]


REPORT_STATUS_LABELS = {
    ReportStatus.DRAFT: "草稿",
    ReportStatus.SUBMITTED: "已提交（待审核）",
    ReportStatus.ACCEPTED: "审核通过",
    ReportStatus.RETURNED: "已退回",
}


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("project_id", "period_index"),
                      # By status, and the review queue: submitted reports, the longest waiting first.
                      Index("ix_reports_status_submitted", "status", "last_submitted_at", "id", "project_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # The reporting period as it was when the report was opened (an extension moves only the last period).
    period_index: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)  # 结题报告
    status: Mapped[str] = mapped_column(String(20), default=ReportStatus.DRAFT)
    # The version progress counts (None until a version is accepted); a correction under way leaves it alone.
    accepted_number: Mapped[int | None] = mapped_column(Integer)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # on time or late
    last_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Optimistic lock of the status: two officers reviewing at once, or a review racing a resubmission.
    lock: Mapped[int] = mapped_column(Integer, default=1)

    project: Mapped[Project] = relationship()
    versions: Mapped[list[ReportVersion]] = relationship(back_populates="report", order_by="ReportVersion.number")
    reviews: Mapped[list[ReportReview]] = relationship(back_populates="report", order_by="ReportReview.id")

    __mapper_args__ = {"version_id_col": lock}

    @property
    def status_label(self) -> str:
        if self.accepted_number is not None and self.status in (ReportStatus.DRAFT, ReportStatus.SUBMITTED):
            return "更正中（" + ReportStatus(self.status).label + "）"
        return ReportStatus(self.status).label

    @property
    def latest(self) -> ReportVersion:
        return self.versions[-1]

    @property
    def accepted(self) -> ReportVersion | None:
        return next((v for v in self.versions if v.number == self.accepted_number), None)


class ReportVersion(Base):
    """The content of one version. Editable only while `submitted_at` is empty (a draft)."""

    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("report_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # The task-book version the values answer to.
    target_set_id: Mapped[int] = mapped_column(ForeignKey("target_sets.id"))
    narrative: Mapped[str] = mapped_column(Text, default="")  # 进展情况
    problems: Mapped[str] = mapped_column(Text, default="")  # 存在问题
    next_steps: Mapped[str] = mapped_column(Text, default="")  # 下一步计划
    # Funds to the end of the period, cumulative, in yuan: fiscal (财政) and self-raised (自筹).
    fiscal_received: Mapped[Decimal | None] = mapped_column(Money)
    fiscal_spent: Mapped[Decimal | None] = mapped_column(Money)
    self_received: Mapped[Decimal | None] = mapped_column(Money)
    self_spent: Mapped[Decimal | None] = mapped_column(Money)
    channel: Mapped[str] = mapped_column(String(10), default="form")  # form / excel / api: the last save
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # SHA-256 of the canonical content (values, evidence with their files' hashes), fixed at submission.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    # Optimistic lock of the draft: a second editor saving an older copy gets a conflict, not a lost update.
    edit_lock: Mapped[int] = mapped_column(Integer, default=1)

    report: Mapped[Report] = relationship(back_populates="versions")
    target_set: Mapped[TargetSet] = relationship()
    values: Mapped[list[ReportValue]] = relationship(back_populates="version", order_by="ReportValue.id",
                                                     cascade="all, delete-orphan")
    evidence: Mapped[list[ReportEvidence]] = relationship(back_populates="version",
                                                          order_by="ReportEvidence.position",
                                                          cascade="all, delete-orphan")
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    saved_by: Mapped[User | None] = relationship(foreign_keys=[saved_by_id])

    __mapper_args__ = {"version_id_col": edit_lock}

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None

    def value_for(self, target_id: int) -> ReportValue | None:
        return next((v for v in self.values if v.target_id == target_id), None)


class ReportValue(Base):
    """What a version reports for one target: the cumulative (or best measured) value, the current project
    year's value for per-year targets, done for deliverables, and the explanation a decrease needs."""

    __tablename__ = "report_values"
    __table_args__ = (UniqueConstraint("version_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("report_versions.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("project_targets.id"))
    value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6))
    year_value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6))
    done: Mapped[bool | None] = mapped_column(Boolean)
    explanation: Mapped[str] = mapped_column(Text, default="")  # why a cumulative value went down
    note: Mapped[str] = mapped_column(Text, default="")  # e.g. the state of a qualitative target

    version: Mapped[ReportVersion] = relationship(back_populates="values")
    target: Mapped[ProjectTarget] = relationship()


class EvidenceFile(Base):
    """A checked file kept under `TRACKER_DATA_DIR` by a random name; downloads go through the project's scope."""

    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("project_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportEvidence(Base):
    """One evidence item: an identifier (patent, software copyright, standard, DOI, ISSN…) and/or a file."""

    __tablename__ = "report_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("report_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("project_targets.id"))
    kind: Mapped[str] = mapped_column(String(30))
    identifier: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_files.id"))

    version: Mapped[ReportVersion] = relationship(back_populates="evidence")
    target: Mapped[ProjectTarget | None] = relationship()
    file: Mapped[EvidenceFile | None] = relationship()


class ReviewDecision(enum.StrEnum):
    ACCEPTED = "accepted"
    RETURNED = "returned"


class ReportReview(Base):
    """An officer's decision on one submitted version (append-only: triggers refuse UPDATE and DELETE)."""

    __tablename__ = "report_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("report_versions.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)

    report: Mapped[Report] = relationship(back_populates="reviews")
    version: Mapped[ReportVersion] = relationship()
    decided_by: Mapped[User | None] = relationship()


# --- the code's half of immutability (the triggers are the database's half) ------------------------


class SubmittedVersionIsImmutable(RuntimeError):
    """Raised when anything tries to change the content of a submitted report version."""


def _was_submitted(version: ReportVersion | None) -> bool:
    """Whether the version was already submitted before this flush (submitting it is its last change)."""
    if version is None:
        return False
    state = sa_inspect(version)
    if state.pending or state.transient:
        return False
    history = state.attrs.submitted_at.history
    before = history.deleted or history.unchanged
    return bool(before) and before[0] is not None


@event.listens_for(ReportVersion, "before_update")
def _refuse_version_update(_mapper: object, _conn: object, target: ReportVersion) -> None:
    if _was_submitted(target):
        raise SubmittedVersionIsImmutable("已提交的报告版本不能修改")


@event.listens_for(ReportVersion, "before_delete")
def _refuse_version_delete(_mapper: object, _conn: object, target: ReportVersion) -> None:
    if _was_submitted(target):
        raise SubmittedVersionIsImmutable("已提交的报告版本不能删除")


def _refuse_child_change(_mapper: object, _conn: object, target: ReportValue | ReportEvidence) -> None:
    version = target.version
    if version is None:  # removed from its version's list (an orphan delete): find the version it left
        session = sa_inspect(target).session
        key = session.identity_key(ReportVersion, target.version_id) if session is not None else None
        version = session.identity_map.get(key) if key is not None else None
    if _was_submitted(version):
        raise SubmittedVersionIsImmutable("已提交的报告版本不能修改")


for _model in (ReportValue, ReportEvidence):
    for _verb in ("before_insert", "before_update", "before_delete"):
        event.listen(_model, _verb, _refuse_child_change)


@event.listens_for(ReportReview, "before_update")
@event.listens_for(ReportReview, "before_delete")
def _refuse_review_change(*_args: object) -> None:
    raise SubmittedVersionIsImmutable("审核记录只能追加，不能修改或删除")
