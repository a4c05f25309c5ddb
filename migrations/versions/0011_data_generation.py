"""the data generation: a counter that triggers bump when a row a kept page shows changes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 06:50:00

"""
import secrets
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# What the kept pages show (tracker.web.fragments: the project list, the review queue, the API's project list):
# each table, and the columns whose update matters (None: any column). Inserts and deletes always count. Left out
# on purpose: what changes all day without changing those pages (a project's next reminder moment, a user's last
# login, a draft's content and lock, a report version's content).
WATCHED = {
    "projects": ("code", "title", "programme_id", "document_id", "node_id", "organisation_id", "officer_id",
                 "start_date", "end_date", "period_months", "fiscal_funding", "self_funding", "funding_mode",
                 "status"),
    "organisations": None,
    "users": ("username", "display_name"),
    "programmes": None,
    "programme_officers": None,  # an officer's scope
    "guideline_nodes": None,
    "target_sets": None,
    "reports": ("project_id", "period_index", "is_final", "status", "accepted_number", "first_submitted_at",
                "last_submitted_at"),
    "report_versions": ("report_id",),  # the queue counts versions
    "work_calendar_years": None,  # due dates, and so "late"
    "work_calendar_days": None,
    "settings": None,  # the admin's business settings (due days, …)
}
BUMP = "UPDATE data_generation SET value = value + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table('data_generation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('epoch', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_generation'))
    )
    op.execute(sa.text("INSERT INTO data_generation (id, value, epoch) VALUES (1, 0, :epoch)").bindparams(
        epoch=secrets.token_hex(8)))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION tracker_bump_data_generation() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {BUMP}; RETURN NULL; END $$")
        for table, columns in WATCHED.items():
            # Once per statement: a bulk insert of 5,000 projects bumps it once.
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            op.execute(f"CREATE TRIGGER data_generation_{table} AFTER INSERT OR DELETE OR {update} ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION tracker_bump_data_generation()")
    else:
        for table, columns in WATCHED.items():
            for event in ("INSERT", "DELETE", f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"):
                name = f"data_generation_{table}_{event.split()[0].lower()}"
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER data_generation_{table} ON {table}")
        op.execute("DROP FUNCTION tracker_bump_data_generation()")
    else:
        for table in WATCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER data_generation_{table}_{event}")
    op.drop_table('data_generation')
