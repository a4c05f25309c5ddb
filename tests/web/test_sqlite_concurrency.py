"""Read requests do not take SQLite's write lock (the bench saw 500s when they did), and ids no column can
hold are a 404."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from tests.conftest import TEST_SECRET
from tracker.db import make_engine, make_session_factory
from tracker.schema import upgrade_database
from tracker.settings import Settings


def test_pages_load_while_another_process_holds_the_write_lock(tmp_path):
    from tracker.web.app import create_app

    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    writer = engine.connect()
    writer.execute(text("SELECT 1"))  # a plain read transaction…
    writer.exec_driver_sql("COMMIT")
    writer.exec_driver_sql("BEGIN IMMEDIATE")  # …then a writer holding the lock, as another process would
    try:
        app = create_app(Settings(database_url=url, secret_key=TEST_SECRET), session_factory=make_session_factory(engine))
        with TestClient(app=app) as client:
            assert client.get("/login").status_code == 200
            assert client.get("/healthz").status_code == 200
    finally:
        writer.exec_driver_sql("ROLLBACK")
        writer.close()
        engine.dispose()


@pytest.mark.parametrize("path", ["/projects/99999999999999999999999", "/admin/users/99999999999999999999",
                                  "/guidelines/directions/99999999999999999999"])
def test_ids_too_large_for_the_database_are_not_found(client, demo_users, path):
    from tests.conftest import login

    login(client, "admin")
    assert client.get(path).status_code == 404
