"""work calendar

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import tracker.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('work_calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('entered_at', tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("source IN ('chinesecalendar', 'official')", name=op.f('ck_work_calendar_years_source')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_work_calendar_years_entered_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_work_calendar_years'))
    )
    op.create_table('work_calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=50), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.CheckConstraint("source IN ('chinesecalendar', 'official')", name=op.f('ck_work_calendar_days_source')),
    sa.ForeignKeyConstraint(['year'], ['work_calendar_years.year'], name=op.f('fk_work_calendar_days_year_work_calendar_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_work_calendar_days'))
    )
    with op.batch_alter_table('work_calendar_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_calendar_days_year'), ['year'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('work_calendar_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_calendar_days_year'))

    op.drop_table('work_calendar_days')
    op.drop_table('work_calendar_years')
