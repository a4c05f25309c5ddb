"""Guideline documents (指南) as imported: versions, their node trees and indicator clauses.

A document belongs to a programme; importing a changed file adds a new version and keeps the old ones, so a
project stays tied to the version it was awarded under. Nodes are identified by document + path, never by
title alone (titles repeat across documents). Parsed structures that the later issues refine (targets,
selection, funding and period rules) are kept as JSON next to the source text they came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, UTCDateTime
from tracker.models.programmes import Programme


class GuidelineDocument(Base):
    __tablename__ = "guideline_documents"
    __table_args__ = (UniqueConstraint("programme_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    # SHA-256 of the uploaded bytes: importing the same file again changes nothing.
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(20))
    # The text as read (lines joined by \n), so every field and clause can be shown with its source line.
    source_text: Mapped[str] = mapped_column(Text, deferred=True)  # whole documents: read only where shown
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    leaf_count: Mapped[int] = mapped_column(Integer, default=0)
    clause_count: Mapped[int] = mapped_column(Integer, default=0)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    programme: Mapped[Programme] = relationship()
    nodes: Mapped[list[GuidelineNode]] = relationship(back_populates="document", order_by="GuidelineNode.position",
                                                      cascade="all, delete-orphan")

    @property
    def lines(self) -> list[str]:
        return self.source_text.split("\n")


class GuidelineNode(Base):
    __tablename__ = "guideline_nodes"
    __table_args__ = (Index("ix_guideline_nodes_document_position", "document_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("guideline_documents.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("guideline_nodes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    path: Mapped[list[str]] = mapped_column(JSON)
    depth: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    marker: Mapped[str | None] = mapped_column(String(40))
    line: Mapped[int] = mapped_column(Integer)
    is_leaf: Mapped[bool] = mapped_column(Boolean, index=True)
    # The title a project's targets are reported under (taxonomy §2; 003's leaves report 支持方向).
    direction: Mapped[str] = mapped_column(String(500))
    # Whether the clauses come from a block shared with other leaves (003's global 考核要求).
    inherits_indicators: Mapped[bool] = mapped_column(Boolean, default=False)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    content_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    selection_texts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Parsed rules of the direction (indicators.rules.selection / funding / period), JSON-friendly dicts.
    selection_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    funding_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    period_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Title and content words, for the catalogue search.
    search_text: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[GuidelineDocument] = relationship(back_populates="nodes")
    clauses: Mapped[list[GuidelineClause]] = relationship(back_populates="node", order_by="GuidelineClause.position",
                                                          cascade="all, delete-orphan")


class GuidelineClause(Base):
    """One indicator clause (or one pure AND/OR run of it, taxonomy S3) of a leaf direction."""

    __tablename__ = "guideline_clauses"
    __table_args__ = (Index("ix_guideline_clauses_node_position", "node_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("guideline_nodes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    group: Mapped[str | None] = mapped_column(String(100))
    combine: Mapped[str] = mapped_column(String(3), default="all")
    quantitative: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{category, metric, op, value, unit, kind, better}] as parsed; corrections come with the review queue.
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    node: Mapped[GuidelineNode] = relationship(back_populates="clauses")
