"""Test fixtures: one database per run, a clean state per test.

The suite runs on SQLite by default (a temporary file). Set TRACKER_TEST_DATABASE_URL to a PostgreSQL URL
to run the same suite there (CI does both). The schema is built once per run with the real Alembic
migrations; each test runs inside a transaction that is rolled back, and the code under test commits to
a SAVEPOINT inside it, so every test starts from an empty database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tracker import passwords
from tracker.db import make_engine
from tracker.demo.accounts import DEMO_ORGANISATION_USCC, DEMO_PASSWORD, DEMO_USERS
from tracker.models import Organisation, Role, User
from tracker.schema import upgrade_database
from tracker.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def database_url_for_tests(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TRACKER_TEST_DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


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


@pytest.fixture
def connection(engine: Engine) -> Iterator:
    with engine.connect() as conn:
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
