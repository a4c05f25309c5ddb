"""The data generation: a number that changes whenever a row a cached page shows changes.

Triggers made by migration 0011 add one to it, in the writing transaction, on any insert or delete of the tables the
kept pages show (projects, organisations, users, programmes and their officers, directions, task books, reports and
their versions, the working calendar, the business settings) and on updates of the columns they show (not, say, a
project's next reminder moment, a user's last login or a draft's content). A page cached under a generation is
therefore current for as long as the generation is. It is a row, not a sequence, on purpose: a reader sees the new
value only once the writer's rows are committed, so it can never pair a new generation with old data. The epoch,
drawn when the row was made, keeps a rebuilt database from reusing an old one's numbers.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import DataGeneration

# Built once: asked on every request that shows a kept page, where keying a fresh statement costs more than the
# look-up itself.
_CURRENT = select(DataGeneration.epoch, DataGeneration.value).where(DataGeneration.id == 1)


def current(db: Session) -> str | None:
    """The generation as text (epoch and value); None when the row is missing, and then nothing may be cached."""
    row = db.execute(_CURRENT).first()
    return f"{row.epoch}.{row.value}" if row else None
