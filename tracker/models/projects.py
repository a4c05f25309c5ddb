"""Projects (awards) and their task-book targets (DESIGN §2).

A project is awarded under one direction of one guideline *version* and stays tied to it: importing a
changed guideline never changes a project's targets. Targets are inherited from the direction when the
project is created, then confirmed (or raised, or extended with custom targets) in the task book (任务书).
The target set is versioned: a confirmed set is never edited in place, a change makes a new version.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, Money, UTCDateTime
from tracker.models.accounts import Organisation, User
from tracker.models.guidelines import GuidelineDocument, GuidelineNode
from tracker.models.programmes import Programme

# The grantee accounts that report for a project and receive its reminders: the account created when the award
# list brought the organisation in, and any the organisation assigns. Never every account of a large organisation.
project_contacts = Table(
    "project_contacts",
    Base.metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ProjectStatus(enum.StrEnum):
    ACTIVE = "active"  # 在研
    EXTENDED = "extended"  # 延期
    ACCEPTANCE_APPLIED = "acceptance_applied"  # 验收申请
    UNDER_ACCEPTANCE = "under_acceptance"  # 验收中
    PASSED = "passed"  # 通过
    FAILED = "failed"  # 不通过
    CONCLUDED = "concluded"  # 结题
    TERMINATED = "terminated"  # 终止

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    ProjectStatus.ACTIVE: "在研",
    ProjectStatus.EXTENDED: "延期",
    ProjectStatus.ACCEPTANCE_APPLIED: "验收申请",
    ProjectStatus.UNDER_ACCEPTANCE: "验收中",
    ProjectStatus.PASSED: "通过",
    ProjectStatus.FAILED: "不通过",
    ProjectStatus.CONCLUDED: "结题",
    ProjectStatus.TERMINATED: "终止",
}


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_programme_status", "programme_id", "status"),
        # The project list in its default order with the columns its scopes and filters test, so that a page
        # is read from the index in order, without sorting or reading rows (an officer's programmes, admin).
        # (id after code: the index then gives the list's ORDER BY code, id exactly.)
        Index("ix_projects_list_by_code", "code", "id", "programme_id", "organisation_id", "officer_id", "status",
              "node_id"),
        # A filter's choices: does this organisation (officer) have a project in these programmes?
        Index("ix_projects_organisation_programme", "organisation_id", "programme_id", "code"),
        Index("ix_projects_officer_programme", "officer_id", "programme_id"),
        Index("ix_projects_officer_organisation", "officer_id", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 项目编号. Also the insert sentinel (no schema change): SQLite cannot promise RETURNING's order, so without one
    # the ORM inserts new projects one statement each; with it, an award list's projects go in batched INSERTs.
    code: Mapped[str] = mapped_column(String(64), unique=True, insert_sentinel=True)
    title: Mapped[str] = mapped_column(String(500))
    # (programme, organisation and officer are indexed as the first columns of the composite indexes above)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    # The guideline version and direction the project was awarded under (never re-pointed by a re-import).
    document_id: Mapped[int] = mapped_column(ForeignKey("guideline_documents.id"))
    node_id: Mapped[int] = mapped_column(ForeignKey("guideline_nodes.id"), index=True)
    content_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    pi_name: Mapped[str] = mapped_column(String(100), info={"pii": "name"})
    pi_phone: Mapped[str | None] = mapped_column(String(32), info={"pii": "phone"})
    pi_email: Mapped[str | None] = mapped_column(String(254), info={"pii": "email"})
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    start_date: Mapped[date] = mapped_column(Date)  # the task-book signing date
    end_date: Mapped[date] = mapped_column(Date)
    period_months: Mapped[int] = mapped_column(Integer)
    fiscal_funding: Mapped[Decimal] = mapped_column(Money)  # yuan
    self_funding: Mapped[Decimal] = mapped_column(Money)  # committed self-raised funds, yuan
    funding_mode: Mapped[str | None] = mapped_column(String(40))
    # Copied from the direction at award time (corrections included), so later guideline edits do not move them.
    funding_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    selection_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    period_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(30), default=ProjectStatus.ACTIVE, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_batch: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the award list it came from
    # When the reminders sweep must look at this project again (its next reminder stage or deadline); empty:
    # now (a new project, a changed task book, end date or setting). The sweep is then one indexed query.
    next_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    programme: Mapped[Programme] = relationship()
    document: Mapped[GuidelineDocument] = relationship()
    node: Mapped[GuidelineNode] = relationship()
    organisation: Mapped[Organisation] = relationship()
    officer: Mapped[User | None] = relationship()
    contacts: Mapped[list[User]] = relationship(secondary=project_contacts, order_by=User.username)
    target_sets: Mapped[list[TargetSet]] = relationship(back_populates="project", order_by="TargetSet.version",
                                                        cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return ProjectStatus(self.status).label

    @property
    def is_milestone_funded(self) -> bool:
        """里程碑式补助: paid per accepted milestone, so the task book must set the milestones."""
        modes = (((self.funding_rule or {}).get("rule") or {}).get("modes") or [])
        return "里程碑" in (self.funding_mode or "") or any("里程碑" in str(m) for m in modes)


class TargetSet(Base):
    """One version of a project's targets: the inherited draft, then each confirmed task-book version."""

    __tablename__ = "target_sets"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship(back_populates="target_sets")
    targets: Mapped[list[ProjectTarget]] = relationship(back_populates="target_set",
                                                        order_by="ProjectTarget.position",
                                                        cascade="all, delete-orphan")
    milestones: Mapped[list[Milestone]] = relationship(back_populates="target_set", order_by="Milestone.position",
                                                       cascade="all, delete-orphan")


class ProjectTarget(Base):
    __tablename__ = "project_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_set_id: Mapped[int] = mapped_column(ForeignKey("target_sets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # guideline: inherited from a clause; custom: added in the task book; applicant: replaces 由申报单位设置.
    source: Mapped[str] = mapped_column(String(20))
    clause_id: Mapped[int | None] = mapped_column(ForeignKey("guideline_clauses.id", ondelete="SET NULL"))
    label: Mapped[str | None] = mapped_column(String(20))  # the clause marker (①, （3）) for selection rules
    clause_text: Mapped[str] = mapped_column(Text, default="")
    # Targets of one clause with combine "any" are alternatives of each other.
    clause_combine: Mapped[str] = mapped_column(String(3), default="all")
    category: Mapped[str] = mapped_column(String(40))
    metric: Mapped[str] = mapped_column(String(200))
    op: Mapped[str | None] = mapped_column(String(2))
    value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6))
    unit: Mapped[str | None] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))  # cumulative / level / deliverable / qualitative
    better: Mapped[str | None] = mapped_column(String(10))
    guideline_value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6))  # the inherited value
    baseline: Mapped[Decimal | None] = mapped_column(Numeric(24, 6))  # the value at the start (monitoring)
    change_reason: Mapped[str] = mapped_column(Text, default="")  # required when lowered below the guideline

    target_set: Mapped[TargetSet] = relationship(back_populates="targets")


class ProjectChange(Base):
    """A change of a project's course: an extension (延期) or a termination (终止), with its reason."""

    __tablename__ = "project_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # extension / termination
    requested_on: Mapped[date] = mapped_column(Date)
    months: Mapped[int | None] = mapped_column(Integer)
    old_end_date: Mapped[date] = mapped_column(Date)
    new_end_date: Mapped[date | None] = mapped_column(Date)
    old_status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Milestone(Base):
    """A milestone of a 里程碑式补助 project, part of a task-book version (its payment comes on acceptance)."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_set_id: Mapped[int] = mapped_column(ForeignKey("target_sets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)  # yuan
    condition: Mapped[str] = mapped_column(Text, default="")  # what must be shown to pass it

    target_set: Mapped[TargetSet] = relationship(back_populates="milestones")
