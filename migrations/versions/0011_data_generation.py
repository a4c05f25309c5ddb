"""the data generation: a counter that triggers bump when a row a cached page shows changes

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

# What the cached project list shows (tracker.services.data_generation.WATCHED): a table, and the columns whose
# update matters (None: any insert, update or delete of the table). Inserts and deletes always count.
WATCHED = {
    "projects": ("code", "title", "programme_id", "node_id", "organisation_id", "officer_id", "start_date",
                 "end_date", "fiscal_funding", "status"),
    "organisations": ("name", "division_code"),
    "users": ("display_name",),
    "programmes": ("name",),
    "guideline_nodes": ("title",),
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
            op.execute(f"CREATE TRIGGER data_generation_{table} AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION tracker_bump_data_generation()")
    else:
        for table, columns in WATCHED.items():
            for event in ("INSERT", "DELETE", f"UPDATE OF {', '.join(columns)}"):
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
