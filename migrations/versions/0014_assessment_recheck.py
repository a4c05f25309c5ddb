"""monitoring: each stored assessment's recheck day and the fingerprint of what it rests on, so that the nightly
job recomputes only what may have changed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Not batch operations: SQLite would copy the table and lose its data-generation triggers. Existing rows get
    # NULLs, which the next night recomputes. The data generation does not watch these columns: pages do not show
    # them.
    op.add_column('project_assessments', sa.Column('recheck_on', sa.Date(), nullable=True))
    op.add_column('project_assessments', sa.Column('basis', sa.String(length=16), nullable=True))
    op.create_index(op.f('ix_project_assessments_recheck_on'), 'project_assessments', ['recheck_on'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_project_assessments_recheck_on'), table_name='project_assessments')
    op.execute("ALTER TABLE project_assessments DROP COLUMN basis")
    op.execute("ALTER TABLE project_assessments DROP COLUMN recheck_on")
