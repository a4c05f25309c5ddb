"""Acceptance (验收, DESIGN §2): the grantee's application, the committee (a meeting of experts), the experts'
checks, the officer's verdict with the acceptance certificate (验收证书) figures, and milestone checks of
里程碑式补助 projects.

What was decided is never edited. An application is submitted in one step; an expert's check is a numbered
version (a correction is the next one); a verdict, and a milestone check, is superseded by a new row that names
the one it replaces and why. The code refuses changes (mapper events below) and so do triggers of migration 0016.
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
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, Money, UTCDateTime
from tracker.models.accounts import User
from tracker.models.projects import Milestone, Project, ProjectTarget, TargetSet
from tracker.models.reports import EvidenceFile, Report


class Verdict(enum.StrEnum):
    PASSED = "passed"  # 通过
    FAILED = "failed"  # 不通过
    CONCLUDED = "concluded"  # 结题
    TERMINATED = "terminated"  # 终止

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self]


VERDICT_LABELS = {Verdict.PASSED: "通过", Verdict.FAILED: "不通过", Verdict.CONCLUDED: "结题",
                  Verdict.TERMINATED: "终止"}

# The figures an application and a certificate may carry, keyed as the funding rules name their bases
# (indicators.rules.funding.BASES), in yuan.
FIGURE_LABELS = {
    "certified_self_funding": "自筹经费（实际到位并支出）",
    "compute_spend": "实际支付的人工智能算力费用",
    "total_investment": "项目总投入",
    "partner_payment": "企业已支付的合作款项",
    "technology_transaction_total": "年度促成技术合同的技术交易总额",
    "self_funding": "自筹经费",
}

EVIDENCE_KINDS = {"audit_report": "专项审计报告", "invoice": "发票", "contract": "合同", "other": "其他材料"}


class AcceptanceApplication(Base):
    """A project's application for acceptance (验收申请): one per project, submitted once."""

    __tablename__ = "acceptance_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    # 结题报告: the last period's report, submitted when the application was made.
    final_report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    target_set_id: Mapped[int] = mapped_column(ForeignKey("target_sets.id"))  # the task book applied against
    summary: Mapped[str] = mapped_column(Text, default="")  # 自评总结
    readiness: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # as the system saw it when applying
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("acceptance_meetings.id"), index=True)

    project: Mapped[Project] = relationship()
    final_report: Mapped[Report] = relationship()
    target_set: Mapped[TargetSet] = relationship()
    submitted_by: Mapped[User | None] = relationship()
    meeting: Mapped[AcceptanceMeeting | None] = relationship(back_populates="applications")
    targets: Mapped[list[ApplicationTarget]] = relationship(back_populates="application",
                                                            order_by="ApplicationTarget.id",
                                                            cascade="all, delete-orphan")
    figures: Mapped[list[ApplicationFigure]] = relationship(order_by="ApplicationFigure.id",
                                                            cascade="all, delete-orphan")
    evidence: Mapped[list[ApplicationEvidence]] = relationship(order_by="ApplicationEvidence.position",
                                                               cascade="all, delete-orphan")

    def target_for(self, target_id: int) -> ApplicationTarget | None:
        return next((t for t in self.targets if t.target_id == target_id), None)

    def figure(self, key: str) -> Decimal | None:
        return next((f.amount for f in self.figures if f.key == key), None)


class ApplicationTarget(Base):
    """The grantee's self-assessment of one target (prefilled from the accepted reports)."""

    __tablename__ = "application_targets"
    __table_args__ = (UniqueConstraint("application_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("acceptance_applications.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("project_targets.id"))
    value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6))  # achieved (cumulative, or the best measured)
    done: Mapped[bool | None] = mapped_column(Boolean)  # deliverables
    claimed_met: Mapped[bool | None] = mapped_column(Boolean)  # 自评：达到 / 未达到 (None: for the experts)
    note: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[AcceptanceApplication] = relationship(back_populates="targets")
    target: Mapped[ProjectTarget] = relationship()


class ApplicationFigure(Base):
    """A figure the funding rule needs (自筹经费, 算力费用, 总投入…), in yuan, as the grantee declares it."""

    __tablename__ = "application_figures"
    __table_args__ = (UniqueConstraint("application_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("acceptance_applications.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money)


class ApplicationEvidence(Base):
    """A file behind the application (audit report, invoices), optionally for one figure."""

    __tablename__ = "application_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("acceptance_applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    figure_key: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[int] = mapped_column(ForeignKey("evidence_files.id"))

    file: Mapped[EvidenceFile] = relationship()

    @property
    def kind_label(self) -> str:
        return EVIDENCE_KINDS.get(self.kind, self.kind)


meeting_members = Table(
    "acceptance_meeting_members",
    Base.metadata,
    Column("meeting_id", ForeignKey("acceptance_meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class AcceptanceMeeting(Base):
    """An acceptance committee's meeting (验收会): its experts and leader, and the applications it examines."""

    __tablename__ = "acceptance_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 会议编号, e.g. YS2026-003
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # 专家组组长, one of the members
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    leader: Mapped[User] = relationship(foreign_keys=[leader_id])
    members: Mapped[list[User]] = relationship(secondary=meeting_members, order_by=User.username)
    applications: Mapped[list[AcceptanceApplication]] = relationship(back_populates="meeting",
                                                                     order_by="AcceptanceApplication.id")


class ExpertCheck(Base):
    """One version of an expert's check of one application: per target agree or not, an overall opinion and a
    recommended verdict. Append-only: a correction is the next version."""

    __tablename__ = "expert_checks"
    __table_args__ = (UniqueConstraint("application_id", "expert_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("acceptance_applications.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer)
    opinion: Mapped[str] = mapped_column(Text)
    recommendation: Mapped[str] = mapped_column(String(20))  # a Verdict
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    expert: Mapped[User] = relationship()
    items: Mapped[list[ExpertCheckItem]] = relationship(back_populates="check", order_by="ExpertCheckItem.id",
                                                        cascade="all")

    @property
    def recommendation_label(self) -> str:
        return Verdict(self.recommendation).label

    def item_for(self, target_id: int) -> ExpertCheckItem | None:
        return next((i for i in self.items if i.target_id == target_id), None)


class ExpertCheckItem(Base):
    __tablename__ = "expert_check_items"
    __table_args__ = (UniqueConstraint("check_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("expert_checks.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("project_targets.id"))
    agrees: Mapped[bool] = mapped_column(Boolean)  # with the grantee's figure and its evidence
    comment: Mapped[str] = mapped_column(Text, default="")

    check: Mapped[ExpertCheck] = relationship(back_populates="items")


class AcceptanceVerdict(Base):
    """The officer's verdict (验收结论) with the committee's opinion and the certificate figures. Never edited: a
    correction is a new verdict that supersedes this one, with its reason."""

    __tablename__ = "acceptance_verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("acceptance_applications.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    opinion: Mapped[str] = mapped_column(Text)  # 专家组意见
    certificate_no: Mapped[str] = mapped_column(String(40), default="")  # 验收证书编号
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Unique: a verdict is superseded at most once, so the corrections form one line.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("acceptance_verdicts.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it supersedes the previous one

    decided_by: Mapped[User | None] = relationship()
    figures: Mapped[list[CertificateFigure]] = relationship(order_by="CertificateFigure.id", cascade="all")

    @property
    def label(self) -> str:
        return Verdict(self.verdict).label

    def figure(self, key: str) -> Decimal | None:
        return next((f.amount for f in self.figures if f.key == key), None)


class CertificateFigure(Base):
    """A figure of the acceptance certificate (验收证书) as the committee certified it, in yuan."""

    __tablename__ = "certificate_figures"
    __table_args__ = (UniqueConstraint("verdict_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("acceptance_verdicts.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money)


class MilestoneCheck(Base):
    """The officer's check of one task-book milestone of a 里程碑式补助 project: passed or not, on a date, with the
    evidence and a comment. Superseded, never edited."""

    __tablename__ = "milestone_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"))
    position: Mapped[int] = mapped_column(Integer)  # the milestone's place in the task book (versions keep it)
    passed: Mapped[bool] = mapped_column(Boolean)
    checked_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(Text, default="")  # what was shown (documents, identifiers)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_files.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("milestone_checks.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")

    milestone: Mapped[Milestone] = relationship()
    file: Mapped[EvidenceFile | None] = relationship()
    decided_by: Mapped[User | None] = relationship()


class DecisionIsFinal(RuntimeError):
    """Raised when anything tries to change or delete a recorded acceptance decision."""


APPEND_ONLY = (AcceptanceApplication, ApplicationTarget, ApplicationFigure, ApplicationEvidence, ExpertCheck,
               ExpertCheckItem, AcceptanceVerdict, CertificateFigure, MilestoneCheck)


def _refuse(_mapper: object, _conn: object, target: Any) -> None:
    if isinstance(target, AcceptanceApplication) and _only_meeting_changed(target):
        return  # placing an application in a meeting is the one update an application takes
    raise DecisionIsFinal("已提交的验收材料和结论不能修改或删除，请提交更正")


def _only_meeting_changed(application: AcceptanceApplication) -> bool:
    from sqlalchemy import inspect as sa_inspect

    state = sa_inspect(application)
    changed = {a.key for a in state.attrs if a.history.has_changes() and a.key not in _RELATIONS}
    return changed <= {"meeting_id"}


_RELATIONS = {"project", "final_report", "target_set", "submitted_by", "meeting", "targets", "figures", "evidence"}

for _model in APPEND_ONLY:
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)
