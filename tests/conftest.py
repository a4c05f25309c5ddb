"""Test fixtures: one database per run, a clean state per test.

The suite runs on SQLite by default (a temporary file). Set TRACKER_TEST_DATABASE_URL to a PostgreSQL URL
to run the same suite there (CI does both); under pytest-xdist each worker gets a database of its own beside
it (`test` → `test_gw0`, `test_gw1`), created when missing. The schema is built once per run with the real Alembic
migrations; each test runs inside a transaction that is rolled back, and the code under test commits to
a SAVEPOINT inside it, so every test starts from an empty database.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tracker import passwords
from tracker.db import make_engine
from tracker.demo.accounts import DEMO_ORGANISATION_USCC, DEMO_PASSWORD, DEMO_USERS
from tracker.models import Organisation, Role, User
from tracker.schema import upgrade_database
from tracker.settings import Settings

_STARTED = pytest.StashKey[float]()

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def configured_database_url() -> str:
    """TRACKER_TEST_DATABASE_URL as given, with psycopg 3 as the driver of a plain postgresql:// URL."""
    url = os.environ.get("TRACKER_TEST_DATABASE_URL", "").strip()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@lru_cache(maxsize=1)
def postgresql_url_for_this_process() -> str:
    """The PostgreSQL database this test process may reset, or "" when the suite runs on SQLite.

    Workers of pytest-xdist run at the same time, so each resets a database of its own, named after the configured
    one and created through it when missing."""
    url = configured_database_url()
    if not url.startswith("postgresql"):
        return ""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                try:
                    conn.execute(text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote(name)}"))
                except DBAPIError as exc:  # another run created it meanwhile
                    if not isinstance(exc.orig, psycopg.errors.DuplicateDatabase):
                        raise
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def database_url_for_tests(tmp_path_factory: pytest.TempPathFactory) -> str:
    return (postgresql_url_for_this_process() or configured_database_url()
            or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(database_url_for_tests(tmp_path_factory))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_database(engine)
    yield engine
    engine.dispose()


def _generation_moves_at_each_commit(conn, name, context=None) -> None:
    """A test's commits are savepoints released inside one outer transaction, but on PostgreSQL the data generation
    moves once per transaction (migration 0012): a released savepoint stands for a real commit, so the next write
    moves it again, as the next request's transaction would. Straight on the driver: statement counters in tests
    must not see it."""
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT set_config('tracker.generation_moved', '', true)")


@pytest.fixture
def connection(engine: Engine) -> Iterator:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            event.listen(conn, "release_savepoint", _generation_moves_at_each_commit)
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@lru_cache(maxsize=1)
def demo_password_hash() -> str:
    """Hashing costs ~0.1 s: hash the demo password once per run."""
    return passwords.hash_password(DEMO_PASSWORD)


@pytest.fixture
def demo_users(db: Session, now: datetime) -> dict[str, User]:
    """The demo logins of DESIGN §4, without paying for five argon2 hashes in every test."""
    org = Organisation(uscc=DEMO_ORGANISATION_USCC, name="柳州示范智能装备有限公司",
                       division_code=DEMO_ORGANISATION_USCC[2:8], kind="enterprise", is_active=True, created_at=now)
    db.add(org)
    users = {}
    for username, role, name in DEMO_USERS:
        user = User(username=username, display_name=name, role=role.value, password_hash=demo_password_hash(),
                    organisation=org if role is Role.GRANTEE else None, email=f"{username}@demo.invalid",
                    is_active=True, is_demo=True, created_at=now)
        db.add(user)
        users[username] = user
    db.commit()
    return users


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", secret_key=TEST_SECRET, data_dir=tmp_path / "files")


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]):
    from tracker.web.app import create_app

    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def client(app) -> Iterator:
    from litestar.testing import TestClient

    with TestClient(app=app, raise_server_exceptions=False) as c:
        yield c


CSRF_RE = re.compile(r'name="_csrf_token" value="([0-9a-f]{64})"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1)


def login(client, username: str, password: str = DEMO_PASSWORD):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"_csrf_token": token, "username": username, "password": password,
                                       "next": "/"}, follow_redirects=False)


@pytest.fixture(autouse=True)
def _fresh_page_fragments() -> Iterator[None]:
    """Each test rolls its database back, data generation included: rendered parts kept by an earlier test must
    not be found again under the same generation (tracker.web.fragments)."""
    from tracker.web.fragments import KEPT

    KEPT.clear()
    yield


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.time()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """After a browser run, where its screenshots are (tests/e2e saves one per page it checks)."""
    from tests.e2e.journey import screenshots_folder

    folder, started = screenshots_folder(), config.stash.get(_STARTED, time.time())
    fresh = [p for p in folder.glob("*.png") if p.stat().st_mtime >= started] if folder.is_dir() else []
    if fresh:
        terminalreporter.write_line(f"browser screenshots: {len(fresh)} taken in this run, in {folder}")
