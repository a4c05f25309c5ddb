"""The working-day calendar (DESIGN §2 "Reporting calendar").

`work_calendar_years` says explicitly which years are known and where their arrangement came from: the
`chinesecalendar` library (seeded) or the State Council's official arrangement entered by the admin. Only the
days that differ from an ordinary Monday–Friday week, or that carry a holiday name, are stored in
`work_calendar_days`: public holidays (is_workday false, also on weekends inside a holiday, with the name) and
the weekend days worked in exchange (调休, is_workday true). A day of a known year that is not listed is
ordinary; a year that is not listed at all is unknown, and due dates in it are provisional (暂定).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, UTCDateTime
from tracker.models.accounts import User


class CalendarSource(enum.StrEnum):
    CHINESECALENDAR = "chinesecalendar"  # seeded from the chinesecalendar library
    OFFICIAL = "official"  # the State Council arrangement, entered by the admin

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    CalendarSource.CHINESECALENDAR: "chinesecalendar 程序库",
    CalendarSource.OFFICIAL: "管理员录入的官方安排",
}


class WorkCalendarYear(Base):
    __tablename__ = "work_calendar_years"
    __table_args__ = (CheckConstraint("source IN ('chinesecalendar', 'official')", name="source"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    entered_by: Mapped[User | None] = relationship()
    days: Mapped[list[WorkCalendarDay]] = relationship(back_populates="calendar_year", order_by="WorkCalendarDay.day",
                                                       cascade="all, delete-orphan", passive_deletes=True)


class WorkCalendarDay(Base):
    __tablename__ = "work_calendar_days"
    __table_args__ = (CheckConstraint("source IN ('chinesecalendar', 'official')", name="source"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("work_calendar_years.year", ondelete="CASCADE"), index=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    # The holiday's name (春节, 国庆节) or, for a weekend day worked, e.g. 春节调休.
    note: Mapped[str] = mapped_column(String(50), default="")
    source: Mapped[str] = mapped_column(String(20))

    calendar_year: Mapped[WorkCalendarYear] = relationship(back_populates="days")
