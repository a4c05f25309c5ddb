"""acceptance: each stored assessment carries the project's acceptance readiness (验收条件)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BUMP = "UPDATE data_generation SET value = value + 1 WHERE id = 1"
# 0013's watched columns, and now the readiness the project page shows.
BEFORE = ("status, reasons, targets, overdue_reports, returned_reports, reports_due, reports_submitted, "
          "reports_on_time")
AFTER = BEFORE + ", readiness"


def _watch(columns: str) -> None:
    """The data generation moves when a watched column of an assessment changes (pages kept under it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER data_generation_project_assessments ON project_assessments")
        op.execute("CREATE TRIGGER data_generation_project_assessments AFTER INSERT OR DELETE OR UPDATE OF "
                   f"{columns} ON project_assessments "
                   "FOR EACH STATEMENT EXECUTE FUNCTION tracker_bump_data_generation()")
    else:
        op.execute("DROP TRIGGER data_generation_project_assessments_update")
        op.execute(f"CREATE TRIGGER data_generation_project_assessments_update AFTER UPDATE OF {columns} "
                   f"ON project_assessments BEGIN {BUMP}; END")


def upgrade() -> None:
    """Upgrade schema."""
    # Not a batch operation: SQLite would copy the table and lose its data-generation triggers. Existing rows get
    # NULL; their fingerprint (monitoring.RULES_VERSION) makes the next night compute it.
    op.add_column('project_assessments', sa.Column('readiness', sa.JSON(), nullable=True))
    _watch(AFTER)


def downgrade() -> None:
    """Downgrade schema."""
    _watch(BEFORE)
    op.execute("ALTER TABLE project_assessments DROP COLUMN readiness")
