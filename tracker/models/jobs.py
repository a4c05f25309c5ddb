"""Scheduled jobs: a row per run (so that a silent scheduler shows), and the lease that lets exactly one
scheduler process be active however many app processes run (DESIGN §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, UTCDateTime


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("result IN ('running', 'ok', 'failed')", name="result"),
        Index("ix_job_runs_job_started_at", "job", "started_at"),
        Index("ix_job_runs_job_result_finished_at", "job", "result", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(10), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    # Who ran it: the scheduler process holding the lease, or `cli` for `tracker jobs run`.
    runner: Mapped[str] = mapped_column(String(120), default="")


class SchedulerLease(Base):
    """One row: the scheduler process that may run the jobs until `expires_at`; it renews it by heartbeat."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
