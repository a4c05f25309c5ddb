"""Post-subsidy disbursements (后补助拨付, DESIGN §2 Disbursement, G23): one row per tranche of a project — the whole
project, or one task-book milestone of a 里程碑式补助 project — computed from the project's own funding rule (copied
at award) and the acceptance certificate, approved once by finance and marked paid once.

Exactly once: at most one live row per (project, tranche) (a partial unique index: voided rows stay as history), and
one row per (project, tranche, basis) where the basis is the verdict or milestone check that created it, so the
trigger inside the verdict's transaction and the `disbursements` sweep can race and only one row lands.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, Money, UTCDateTime
from tracker.models.accounts import User
from tracker.models.projects import Project


class DisbursementStatus(enum.StrEnum):
    BLOCKED = "blocked"  # 受阻: a figure or the officer's amount is missing, or a limit is not met
    PENDING = "pending"  # 待审批
    RETURNED = "returned"  # 已退回 (finance returned it to the officer)
    APPROVED = "approved"  # 已审批（待支付）
    PAID = "paid"  # 已支付
    REFUSED = "refused"  # 不予拨付 (不通过, 结题, 终止…), with the reason
    VOID = "void"  # 已作废: its verdict or milestone check was superseded before payment
    REVERSED = "reversed"  # 已冲销: paid, then its basis was superseded; finance recorded the reversal

    @property
    def label(self) -> str:
        return DISBURSEMENT_STATUS_LABELS[self]


DISBURSEMENT_STATUS_LABELS = {
    DisbursementStatus.BLOCKED: "受阻", DisbursementStatus.PENDING: "待审批", DisbursementStatus.RETURNED: "已退回",
    DisbursementStatus.APPROVED: "已审批待支付", DisbursementStatus.PAID: "已支付",
    DisbursementStatus.REFUSED: "不予拨付", DisbursementStatus.VOID: "已作废", DisbursementStatus.REVERSED: "已冲销",
}
# Rows that count: what is owed or paid (and the one live row per tranche).
LIVE = ("blocked", "pending", "returned", "approved", "paid", "refused")
PROJECT_TRANCHE = "project"


def milestone_tranche(position: int) -> str:
    return f"milestone:{position}"


class Disbursement(Base):
    __tablename__ = "disbursements"
    __table_args__ = (
        UniqueConstraint("project_id", "tranche", "basis"),
        Index("uq_disbursements_live_tranche", "project_id", "tranche", unique=True,
              sqlite_where=text("status NOT IN ('void', 'reversed')"),
              postgresql_where=text("status NOT IN ('void', 'reversed')")),
        Index("ix_disbursements_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    tranche: Mapped[str] = mapped_column(String(40))  # "project" or "milestone:{position}"
    basis: Mapped[str] = mapped_column(String(40))  # "verdict:{id}" or "milestone_check:{id}"
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(Money)  # yuan, rounded half-up to the yuan; None while blocked
    message: Mapped[str] = mapped_column(Text, default="")  # why blocked or refused, or the result in words
    # The computation: steps in words, the base, rate, floor and cap in 万元, the figures used, the rule as copied
    # at award (never the direction's current one).
    computation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    officer_amount: Mapped[Decimal | None] = mapped_column(Money)  # bounds without a rate: what the officer entered
    exception_reason: Mapped[str] = mapped_column(Text, default="")  # an approved exception to a limit
    exception: Mapped[bool] = mapped_column(Boolean, default=False)
    return_comment: Mapped[str] = mapped_column(Text, default="")  # finance's, when returned
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_on: Mapped[date | None] = mapped_column(Date)
    voucher_no: Mapped[str | None] = mapped_column(String(60), unique=True)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A paid tranche whose basis was superseded: the reversal finance must make, then records.
    reversal_due: Mapped[bool] = mapped_column(Boolean, default=False)
    void_reason: Mapped[str] = mapped_column(Text, default="")
    reversed_on: Mapped[date | None] = mapped_column(Date)
    reversal_voucher_no: Mapped[str | None] = mapped_column(String(60), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lock: Mapped[int] = mapped_column(Integer, default=1)  # two finance users at once: one wins

    project: Mapped[Project] = relationship()
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    paid_by: Mapped[User | None] = relationship(foreign_keys=[paid_by_id])

    __mapper_args__ = {"version_id_col": lock}

    @property
    def status_label(self) -> str:
        if self.reversal_due:
            return "待冲销"
        return DisbursementStatus(self.status).label

    @property
    def tranche_label(self) -> str:
        if self.tranche == PROJECT_TRANCHE:
            return "项目补助"
        return f"里程碑{int(self.tranche.split(':')[1]) + 1}"
