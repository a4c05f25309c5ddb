"""Officers' corrections of what the parser read, and their review marks (issue: indicator review queue).

The parsed original stays in GuidelineClause.targets / GuidelineNode.*_rule; a correction is a new numbered
version beside it, never an edit in place, so the history shows who changed what and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, UTCDateTime
from tracker.models.accounts import User


class ClauseCorrection(Base):
    __tablename__ = "clause_corrections"
    __table_args__ = (UniqueConstraint("clause_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("guideline_clauses.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    combine: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime)

    corrected_by: Mapped[User | None] = relationship()


class RuleCorrection(Base):
    """A corrected selection, funding or period rule of a direction (kind = selection / funding / period)."""

    __tablename__ = "rule_corrections"
    __table_args__ = (UniqueConstraint("node_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("guideline_nodes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime)

    corrected_by: Mapped[User | None] = relationship()


class ReviewMark(Base):
    """An officer has looked at a flagged clause or direction and accepts it as it now reads."""

    __tablename__ = "review_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    clause_id: Mapped[int | None] = mapped_column(ForeignKey("guideline_clauses.id", ondelete="CASCADE"),
                                                  index=True, unique=True)
    node_id: Mapped[int | None] = mapped_column(ForeignKey("guideline_nodes.id", ondelete="CASCADE"), index=True,
                                                unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    reviewed_by: Mapped[User | None] = relationship()
