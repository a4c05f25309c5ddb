"""the data generation also watches what the project page shows: the rest of a project's columns, contact accounts,
extensions and terminations, guideline versions; on PostgreSQL it moves once per transaction

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:40:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BUMP = "UPDATE data_generation SET value = value + 1 WHERE id = 1"
# PostgreSQL keeps every version a transaction writes of a row until it ends, and each further update of the row
# walks them: a statement trigger fired per row of an executemany (100,000 report rows in the demo) turned an
# insert quadratic. Once per transaction is all a reader needs: the flag is transaction-local and, like the
# update, undone with a rolled-back savepoint.
ONCE_PER_TRANSACTION = ("IF current_setting('tracker.generation_moved', true) IS DISTINCT FROM 'yes' THEN "
                        f"{BUMP}; PERFORM set_config('tracker.generation_moved', 'yes', true); END IF;")
# Tables watched by 0011 whose column lists grow: the project page shows every column of a project but its next
# reminder moment and bookkeeping, and a contact's e-mail, role, organisation and whether the account is active.
WIDER = {
    "projects": ("code", "title", "programme_id", "document_id", "node_id", "content_items", "organisation_id",
                 "pi_name", "pi_phone", "pi_email", "officer_id", "start_date", "end_date", "period_months",
                 "fiscal_funding", "self_funding", "funding_mode", "funding_rule", "selection_rule", "period_rule",
                 "status"),
    "users": ("username", "display_name", "role", "organisation_id", "email", "is_active"),
}
NARROWER = {  # as 0011 left them
    "projects": ("code", "title", "programme_id", "document_id", "node_id", "organisation_id", "officer_id",
                 "start_date", "end_date", "period_months", "fiscal_funding", "self_funding", "funding_mode",
                 "status"),
    "users": ("username", "display_name"),
}
# New tables, any column. Not a task book's targets and milestones: they change only together with their task book's
# row (tracker.services.task_books), which 0011 watches, and a row trigger on them would fire 40,000 times in an
# award import on SQLite.
NEW = ("project_contacts", "project_changes", "guideline_documents")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _watch(table: str, columns: Sequence[str] | None) -> None:
    update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
    if _postgresql():
        op.execute(f"CREATE TRIGGER data_generation_{table} AFTER INSERT OR DELETE OR {update} ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION tracker_bump_data_generation()")
    else:
        for event in ("INSERT", "DELETE", update):
            op.execute(f"CREATE TRIGGER data_generation_{table}_{event.split()[0].lower()} AFTER {event} ON {table} "
                       f"BEGIN {BUMP}; END")


def _unwatch(table: str) -> None:
    if _postgresql():
        op.execute(f"DROP TRIGGER data_generation_{table} ON {table}")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER data_generation_{table}_{event}")


def _bump_function(body: str) -> None:
    op.execute(f"CREATE OR REPLACE FUNCTION tracker_bump_data_generation() RETURNS trigger LANGUAGE plpgsql AS "
               f"$$ BEGIN {body} RETURN NULL; END $$")


def upgrade() -> None:
    if _postgresql():
        _bump_function(ONCE_PER_TRANSACTION)
    for table, columns in WIDER.items():
        _unwatch(table)
        _watch(table, columns)
    for table in NEW:
        _watch(table, None)


def downgrade() -> None:
    for table in NEW:
        _unwatch(table)
    for table, columns in NARROWER.items():
        _unwatch(table)
        _watch(table, columns)
    if _postgresql():
        _bump_function(f"{BUMP};")
