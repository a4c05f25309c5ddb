"""The migrations form one line: two heads (two branches that each added a migration) would make `tracker db upgrade`
refuse to run, so a developer sees it here before CI does."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from tracker.schema import alembic_config


def test_the_migrations_have_exactly_one_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, (f"Alembic has {len(heads)} heads {sorted(heads)}: give the newer migration the other as "
                             "down_revision (or `alembic merge heads`)")
