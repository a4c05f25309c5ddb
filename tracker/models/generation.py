"""The data generation: one row whose `value` database triggers add one to whenever a row that a cached page shows
changes (tracker.services.data_generation). `epoch` is drawn when the row is made, so that a rebuilt database never
repeats an old database's generations."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base


class DataGeneration(Base):
    __tablename__ = "data_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    epoch: Mapped[str] = mapped_column(String(32))
