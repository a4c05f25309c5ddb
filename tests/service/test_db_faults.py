"""G28: faults of the database and of the disk under the real app. Required after each: nothing half written, a
clear Chinese answer (never a 500 traceback page), and the next request served.

1. PostgreSQL: the app's backend terminated (`pg_terminate_backend`, from a second connection that finds it by
   application_name) at a random moment of an award-list import → the batch is all there or not at all, the request
   answers 503 (connection lost) or 200, and the next request is served (the pool drops the dead connection).
2. The database full: SQLite's `PRAGMA max_page_count` pinned to the file's size on every connection the app takes
   (PostgreSQL: a trigger raising SQLSTATE 53100 disk_full on the tables a write needs) → the write answers 503
   "存储空间已满…", nothing of it is stored, and the pages that only read keep answering 200.
3. ENOSPC while an evidence file (or a pending award list) is written, at a random offset → 503 with the same
   sentence, no row, no temporary file left in the store's folders (a file stored before the failing one is an
   orphan that housekeeping removes).
4. `kill -9` of the web process during an award-list import → the batch all there or not at all, and on SQLite
   `PRAGMA integrity_check` = ok; the restarted server serves.

CI runs reduced counts on SQLite and PostgreSQL (slow tier, `both_databases`); `bench/db_faults.py` runs 100
terminations and 50 kills and prints the figures. The web server of (4) is forked from this process once everything
is imported, on a listening socket the parent keeps: a restart costs milliseconds, and no request is refused while
the next child starts.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from PIL import Image
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from tests import builders as build
from tests.conftest import CSRF_RE, TEST_SECRET, configured_database_url, demo_password_hash
from tests.own_database import drop_database, own_database
from tracker import clock
from tracker.db import Base, make_engine, make_session_factory
from tracker.demo.accounts import DEMO_ORGANISATION_NAME, DEMO_ORGANISATION_USCC, DEMO_PASSWORD, DEMO_USERS
from tracker.files import pending as pending_module
from tracker.files import store as store_module
from tracker.files.store import EvidenceStore
from tracker.models import AuditEntry, EvidenceFile, GuidelineDocument, Organisation, Project, Role, User
from tracker.schema import upgrade_database
from tracker.services import housekeeping
from tracker.settings import Settings
from tracker.web.errors import DATABASE_LOST, STORAGE_FULL

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

TERMINATIONS = int(os.environ.get("TRACKER_G28_TERMINATIONS", "20"))
KILLS = int(os.environ.get("TRACKER_G28_KILLS", "4"))
ENOSPC_CASES = int(os.environ.get("TRACKER_G28_ENOSPC", "6"))
SEED = int(os.environ.get("TRACKER_G28_SEED", "28"))
APP_NAME = "tracker-g28"  # the app's connections, as pg_stat_activity names them
BATCH_ROWS = 40  # projects per award list
BATCH_ORGS = 4  # new organisations per award list (each gets a grantee account)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOKEN_IN_FORM = re.compile(r'action="/projects/import/([A-Za-z0-9_-]{32})/confirm"')
# Tables a refused request may still change: its own audit row, the session's last-seen time, the data generation.
HOUSEKEEPING_TABLES = frozenset({"audit_log", "auth_sessions", "data_generation", "login_attempts"})


# --- databases and the world --------------------------------------------------------------------------------------


def fresh_database(base_url: str, directory: Path, suffix: str) -> str:
    """A database of its own that the app commits to (tests.own_database, goal G28)."""
    return own_database(base_url, directory, "g28", suffix)


def _suffix(name: str) -> str:
    return f"{name}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def app_url(url: str) -> str:
    """The app's URL: on PostgreSQL its connections carry APP_NAME, so that a second connection can find them."""
    if not url.startswith("postgresql"):
        return url
    return make_url(url).update_query_dict({"application_name": APP_NAME}).render_as_string(hide_password=False)


@dataclass
class World:
    url: str
    directory: Path
    project_id: int  # the demo grantee's project (period 1 open), in the demo officer's programme
    document_id: int  # the programme's current guideline: award lists are imported into it

    @property
    def settings(self) -> Settings:
        return Settings(database_url=self.url, secret_key=TEST_SECRET, data_dir=self.directory / "files")

    @property
    def is_postgresql(self) -> bool:
        return self.url.startswith("postgresql")


def build_world(url: str, directory: Path) -> World:
    """The demo logins (password `tracker-demo`), and the demo grantee's project under the demo officer's
    programme, its task book confirmed; committed, the engine disposed of."""
    engine = make_engine(url)
    upgrade_database(engine)
    with sessionmaker(bind=engine, expire_on_commit=False)() as db:
        now = build.NOW
        org = Organisation(uscc=DEMO_ORGANISATION_USCC, name=DEMO_ORGANISATION_NAME,
                           division_code=DEMO_ORGANISATION_USCC[2:8], kind="enterprise", is_active=True,
                           created_at=now)
        db.add(org)
        for username, role, name in DEMO_USERS:
            db.add(User(username=username, display_name=name, role=role.value, password_hash=demo_password_hash(),
                        organisation=org if role is Role.GRANTEE else None, email=f"{username}@demo.invalid",
                        is_active=True, is_demo=True, created_at=now))
        db.commit()
        project = build.demo_project(db)
        document_id = db.scalar(select(GuidelineDocument.id).where(
            GuidelineDocument.programme_id == project.programme_id, GuidelineDocument.is_current.is_(True)))
        world = World(url, directory, project.id, document_id)
    engine.dispose()
    return world


# --- award lists ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One award list: its project codes and the credit codes of the organisations it brings (all new)."""

    number: int
    codes: tuple[str, ...]
    usccs: tuple[str, ...]
    data: bytes


def award_list(number: int, rows: int = BATCH_ROWS, orgs: int = BATCH_ORGS) -> Batch:
    codes = tuple(f"G28-{number:04d}-{i:03d}" for i in range(rows))
    usccs = tuple(build.uscc(f"91450200MA{number:04d}{j:02d}X") for j in range(orgs))
    wb = Workbook()
    ws = wb.active
    ws.append(["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人", "任务书签订日期", "财政资助"])
    for i, code in enumerate(codes):
        j = i % orgs
        ws.append([code, f"故障测试项目{number}-{i}", build.EVERY_KIND, f"故障测试单位{number}-{j}", usccs[j], "张工",
                   "2025-03-01", 100])
    buffer = io.BytesIO()
    wb.save(buffer)
    return Batch(number, codes, usccs, buffer.getvalue())


def batch_counts(db: Session, batch: Batch) -> tuple[int, int, int]:
    """(projects, organisations, grantee accounts) of the batch in the database."""
    projects = db.scalar(select(func.count()).select_from(Project).where(Project.code.in_(batch.codes)))
    org_ids = db.scalars(select(Organisation.id).where(Organisation.uscc.in_(batch.usccs))).all()
    users = db.scalar(select(func.count()).select_from(User).where(User.organisation_id.in_(org_ids))) if org_ids \
        else 0
    return projects, len(org_ids), users


def all_or_nothing(counts: tuple[int, int, int], batch: Batch) -> str:
    """"all", "nothing", or a description of the half-written batch."""
    if counts == (len(batch.codes), len(batch.usccs), len(batch.usccs)):
        return "all"
    if counts == (0, 0, 0):
        return "nothing"
    return f"PARTIAL {counts} of {(len(batch.codes), len(batch.usccs), len(batch.usccs))}"


# --- the whole database, to compare before and after ---------------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows in key order."""
    found = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            found[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
    return found


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name] and name not in HOUSEKEEPING_TABLES)


def audit_results_since(engine: Engine, last_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(AuditEntry.action, AuditEntry.result)
                                                   .where(AuditEntry.id > last_id).order_by(AuditEntry.id))]


def last_audit_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))


# --- the app in this process ---------------------------------------------------------------------------------------


@contextmanager
def app_client(world: World, engine: Engine) -> Iterator[Any]:
    from litestar.testing import TestClient

    from tracker.web.app import create_app

    app = create_app(world.settings, session_factory=make_session_factory(engine))
    with TestClient(app=app, raise_server_exceptions=False) as client:
        yield client


def sign_in(client: Any, username: str) -> None:
    token = CSRF_RE.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"_csrf_token": token, "username": username, "password": DEMO_PASSWORD,
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]


def csrf_of(client: Any, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:300])
    return CSRF_RE.search(page.text).group(1)


def preview(client: Any, world: World, batch: Batch) -> str:
    """Upload the list; the token of the preview's confirm button."""
    response = client.post("/projects/import", data={"_csrf_token": csrf_of(client, "/projects/import"),
                                                     "document": str(world.document_id)},
                           files={"file": (f"立项清单{batch.number}.xlsx", batch.data, XLSX)})
    assert response.status_code == 200, response.text[:1500]
    return TOKEN_IN_FORM.search(response.text).group(1)


def confirm(client: Any, token: str, csrf: str) -> Any:
    return client.post(f"/projects/import/{token}/confirm", data={"_csrf_token": csrf})


def png_bytes(seed: int, size: int = 160) -> bytes:
    """A PNG of noise (it does not compress: some tens of KB, so a failure can land at many offsets)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def report_form(client: Any, world: World, *, narrative: str, files: int) -> tuple[dict, dict]:
    """A draft of period 1 with `files` evidence files (PNG) as the report page posts it."""
    html = client.get(f"/projects/{world.project_id}/reports/1").text
    lock = re.search(r'name="edit_lock" value="(\d*)"', html)
    data = {"_csrf_token": CSRF_RE.search(html).group(1), "edit_lock": lock.group(1) if lock else "",
            f"v{build.PATENTS}_value": "1", f"v{build.PLATFORM}_done": "0", "fiscal_received": "10",
            "fiscal_spent": "5", "narrative": narrative, "evidence_rows": str(max(files, 1)), "action": "save"}
    uploads = {}
    for i in range(files):
        data[f"e{i}_kind"] = "file"
        data[f"e{i}_description"] = f"佐证{i}"
        uploads[f"e{i}_file"] = (f"佐证{i}.png", png_bytes(random.randrange(1 << 30) + i), "image/png")
    return data, uploads


def assert_chinese_503(response: Any, message: str) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:800])
    assert message in response.text, response.text[:800]
    assert "Traceback" not in response.text and "INSERT" not in response.text and "sqlite3" not in response.text


READ_PAGES = ("/", "/projects", "/projects/{project}", "/projects/{project}/reports/1", "/account")


def assert_reads_work(client: Any, world: World) -> None:
    for path in READ_PAGES:
        response = client.get(path.format(project=world.project_id))
        assert response.status_code == 200, (path, response.status_code, response.text[:500])


# === 1. PostgreSQL: the app's backend terminated mid-transaction ====================================================

needs_postgresql = pytest.mark.skipif(not configured_database_url().startswith("postgresql"),
                                      reason="pg_terminate_backend needs PostgreSQL (TRACKER_TEST_DATABASE_URL)")


@dataclass
class TerminationFigures:
    runs: int = 0
    outcomes: Counter = field(default_factory=Counter)  # (status, all|nothing) per run
    states: Counter = field(default_factory=Counter)  # what the terminated backends were doing
    mid_transaction: int = 0  # runs whose kill hit a backend inside a transaction
    partial: list = field(default_factory=list)
    next_request_failed: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)  # answers other than 200 and the 503 of a lost connection
    confirm_seconds: float = 0.0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [f"pg_terminate_backend: {self.runs} runs, {self.mid_transaction} hit a backend inside a transaction "
                f"(backend states {dict(sorted(self.states.items()))}); one import takes {self.confirm_seconds:.2f} s",
                f"  outcomes (answer, batch): {dict(sorted(self.outcomes.items()))}",
                f"  partial batches: {len(self.partial)} {self.partial[:5]}; next request failed: "
                f"{len(self.next_request_failed)} {self.next_request_failed[:5]}; unexpected answers: "
                f"{len(self.unexpected)} {self.unexpected[:5]}",
                f"  seconds: {self.seconds:.1f}"]


def terminate_app_backends(killer: Engine) -> list[str]:
    """pg_terminate_backend every connection of the app; their states just before."""
    with killer.connect() as conn:
        rows = conn.execute(text("SELECT pid, state FROM pg_stat_activity WHERE application_name = :name "
                                 "AND pid <> pg_backend_pid()"), {"name": APP_NAME}).all()
        for pid, _state in rows:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return [state or "?" for _pid, state in rows]


def run_terminations(world: World, *, runs: int, seed: int) -> TerminationFigures:
    rng = random.Random(seed)
    figures = TerminationFigures()
    started = time.monotonic()
    engine = make_engine(app_url(world.url))
    killer = create_engine(world.url, isolation_level="AUTOCOMMIT")
    checker = make_session_factory(make_engine(world.url))
    try:
        with app_client(world, engine) as client:
            sign_in(client, "officer")
            csrf = csrf_of(client, "/projects/import")
            # One import without a fault: how long the request takes, to spread the kills over it.
            token = preview(client, world, award_list(0))
            begun = time.monotonic()
            assert confirm(client, token, csrf).status_code == 200
            figures.confirm_seconds = time.monotonic() - begun
            for number in range(1, runs + 1):
                batch = award_list(number)
                token = preview(client, world, batch)
                answer: dict[str, Any] = {}

                def send(token: str = token, answer: dict = answer) -> None:
                    answer["response"] = confirm(client, token, csrf)

                thread = threading.Thread(target=send)
                thread.start()
                time.sleep(rng.uniform(0, figures.confirm_seconds * 1.1))
                states = terminate_app_backends(killer)
                figures.states.update(states)
                figures.mid_transaction += any(s in ("active", "idle in transaction") for s in states)
                thread.join(60)
                assert not thread.is_alive(), "the request never ended"
                response = answer["response"]
                with checker() as db:
                    outcome = all_or_nothing(batch_counts(db, batch), batch)
                figures.runs += 1
                figures.outcomes[(response.status_code, outcome)] += 1
                if outcome.startswith("PARTIAL"):
                    figures.partial.append((number, outcome))
                if response.status_code not in (200, 503) or (
                        response.status_code == 503 and DATABASE_LOST not in response.text):
                    figures.unexpected.append((number, response.status_code, response.text[:200]))
                # The very next request is served: the pool drops the dead connection (pool_pre_ping).
                following = client.get("/projects")
                if following.status_code != 200:
                    figures.next_request_failed.append((number, following.status_code))
            # And the app still writes: one more import, untouched.
            token = preview(client, world, award_list(runs + 1))
            assert confirm(client, token, csrf).status_code == 200
    finally:
        engine.dispose()
        killer.dispose()
        checker.kw["bind"].dispose()
    figures.seconds = time.monotonic() - started
    return figures


@needs_postgresql
def test_terminated_backends_leave_no_partial_import_and_the_next_request_works(tmp_path):
    world = build_world(fresh_database(configured_database_url(), tmp_path, _suffix("term")), tmp_path)
    figures = run_terminations(world, runs=TERMINATIONS, seed=SEED)
    report = "\n".join(figures.lines())
    print(report)
    assert figures.runs == TERMINATIONS
    assert figures.partial == [], report
    assert figures.next_request_failed == [], report
    assert figures.unexpected == [], report
    assert figures.mid_transaction >= TERMINATIONS // 2, report  # the kills did land inside the import
    drop_database(world.url)


# === 2. The database full ============================================================================================


class FullDatabase:
    """Makes the app's database refuse to grow. SQLite: every connection the app takes out of its pool gets
    `PRAGMA max_page_count` = the file's page count (SQLite raises SQLITE_FULL, "database or disk is full", when a
    write needs one more page). PostgreSQL: a trigger on the tables that writes need raises SQLSTATE 53100
    (disk_full), as PostgreSQL does when it cannot extend a file."""

    PG_TABLES = ("projects", "organisations", "report_versions", "evidence_files", "auth_sessions")
    UNLIMITED = 1_073_741_823

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.limit: int | None = None
        self.limit_used = 0
        if engine.dialect.name == "sqlite":
            event.listen(engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {self.limit or self.UNLIMITED}")
        cursor.close()

    def fill(self) -> None:
        if self.engine.dialect.name == "sqlite":
            raw = self.engine.raw_connection()  # outside any transaction (the engine's own begin one)
            try:
                raw.driver_connection.execute("VACUUM")  # no free page left for a write to reuse
                self.limit = self.limit_used = raw.driver_connection.execute("PRAGMA page_count").fetchone()[0]
            finally:
                raw.close()
            self.engine.pool.dispose()
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION g28_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file \"base/g28\": No space left on device' "
                "USING ERRCODE = 'disk_full'; END $$")
            for table in self.PG_TABLES:
                conn.exec_driver_sql(f"CREATE TRIGGER g28_full BEFORE INSERT ON {table} FOR EACH ROW "
                                     f"EXECUTE FUNCTION g28_disk_full()")

    def free(self) -> None:
        if self.engine.dialect.name == "sqlite":
            self.limit = None
            self.engine.pool.dispose()
            return
        with self.engine.begin() as conn:
            for table in self.PG_TABLES:
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS g28_full ON {table}")


def test_a_full_database_answers_503_in_chinese_writes_nothing_and_reads_keep_working(tmp_path):
    world = build_world(fresh_database(configured_database_url(), tmp_path, _suffix("full")), tmp_path)
    print(check_full_database(world))
    drop_database(world.url)


def check_full_database(world: World) -> str:
    """The scenario of the test above (its assertions fail it); a line of figures."""
    started = time.monotonic()
    engine = make_engine(world.url)
    full = FullDatabase(engine)
    factory = make_session_factory(engine)
    big = award_list(1)
    long_text = "本季度完成样机设计与中试验证，" * 330  # about 15 KB: more than a page of SQLite's, whatever is free
    try:
        with app_client(world, engine) as officer, app_client(world, engine) as grantee:
            sign_in(officer, "officer")
            sign_in(grantee, "grantee")
            token = preview(officer, world, big)
            csrf = csrf_of(officer, "/projects/import")
            form, files = report_form(grantee, world, narrative=long_text, files=1)
            full.fill()
            before, audit_mark = snapshot(engine), last_audit_id(engine)

            # The officer's import and the grantee's report: 503, the Chinese sentence, nothing stored.
            response = confirm(officer, token, csrf)
            assert_chinese_503(response, STORAGE_FULL)
            saved = grantee.post(f"/projects/{world.project_id}/reports/1", data=form, files=files,
                                 follow_redirects=False)
            assert_chinese_503(saved, STORAGE_FULL)
            assert changed_tables(before, snapshot(engine)) == []
            with factory() as db:
                assert all_or_nothing(batch_counts(db, big), big) == "nothing"
            # Only refusals were audited (when even they did not fit, nothing was).
            assert all(result.startswith("refused") for _action, result in audit_results_since(engine, audit_mark))

            # Reading goes on, for both, on the full database.
            assert_reads_work(officer, world)
            assert_reads_work(grantee, world)
            assert changed_tables(before, snapshot(engine)) == []

            # Space again: the same writes go through, whole.
            full.free()
            token = preview(officer, world, big)
            assert confirm(officer, token, csrf).status_code == 200
            with factory() as db:
                assert all_or_nothing(batch_counts(db, big), big) == "all"
            form, files = report_form(grantee, world, narrative=long_text, files=1)
            saved = grantee.post(f"/projects/{world.project_id}/reports/1", data=form, files=files,
                                 follow_redirects=False)
            assert saved.status_code == 303, saved.text[:800]
    finally:
        full.free()
        engine.dispose()
    how = f"max_page_count = {full.limit_used}" if world.url.startswith("sqlite") else "SQLSTATE 53100 triggers"
    return (f"{make_url(world.url).get_backend_name()}: database full ({how}): import and report save answered 503 "
            f"in Chinese, 0 tables changed, {len(READ_PAGES)} read pages × 2 users answered 200, both writes "
            f"succeeded once there was room ({time.monotonic() - started:.1f} s)")


# === 3. ENOSPC while a file is written ==============================================================================


class FullDisk:
    """`os` as a module of tracker.files sees it, on a disk that fills up: the `fail_at`-th file the module writes
    gets `offset` bytes written, then ENOSPC."""

    def __init__(self, *, fail_at: int, offset: int) -> None:
        self.fail_at, self.offset = fail_at, offset
        self.files = 0
        self.written: dict[int, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def open(self, path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        fd = os.open(path, flags, mode, **kwargs)
        if flags & (os.O_WRONLY | os.O_RDWR):
            self.files += 1
            self.written[fd] = 0 if self.files == self.fail_at else -1
        return fd

    def write(self, fd: int, data: Any) -> int:
        done = self.written.get(fd, -1)
        if done < 0:
            return os.write(fd, data)
        room = self.offset - done
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        count = os.write(fd, bytes(data[:room]))
        self.written[fd] = done + count
        return count

    def close(self, fd: int) -> None:
        self.written.pop(fd, None)
        os.close(fd)


def leftovers(root: Path) -> list[str]:
    """Temporary or half-written files under `root`: `.part` files of the evidence store, pending uploads without
    their metadata."""
    found = [str(p.relative_to(root)) for p in root.rglob("*.part")] + \
            [str(p.relative_to(root)) for p in root.rglob(".*") if p.is_file()]
    for data in root.rglob("*.bin"):
        if not data.with_suffix(".json").exists():
            found.append(str(data.relative_to(root)))
    for meta in root.rglob("*.json"):
        if not meta.with_suffix(".bin").exists():
            found.append(str(meta.relative_to(root)))
    return sorted(set(found))


@dataclass
class EnospcFigures:
    cases: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"ENOSPC: {sum(self.cases.values())} cases {dict(sorted(self.cases.items()))}; findings: "
                f"{len(self.findings)} {self.findings[:5]}"]


def run_enospc(world: World, *, cases: int, seed: int) -> EnospcFigures:
    """`cases` saves of the grantee's report whose evidence write fails (the only file, or the second of two, at a
    random offset), and award-list uploads whose pending copy fails; each must answer 503 with the sentence, leave
    no row and no temporary file. Then housekeeping removes what a failed save stored before its failure."""
    rng = random.Random(seed)
    random.seed(seed)  # the PNGs' noise
    figures = EnospcFigures()
    engine = make_engine(world.url)
    files_root = world.settings.data_dir
    try:
        with app_client(world, engine) as grantee, app_client(world, engine) as officer:
            sign_in(grantee, "grantee")
            sign_in(officer, "officer")
            for case in range(cases):
                kind = ("one file", "second of two files", "award list")[case % 3]
                before = snapshot(engine)
                if kind == "award list":
                    batch = award_list(500 + case)
                    fail_at = rng.choice((1, 2))  # the file, or its metadata written after it
                    disk = FullDisk(fail_at=fail_at, offset=rng.randrange(len(batch.data) if fail_at == 1 else 100))
                    module = pending_module
                    request = {"data": {"_csrf_token": csrf_of(officer, "/projects/import"),
                                        "document": str(world.document_id)},
                               "files": {"file": ("立项清单.xlsx", batch.data, XLSX)}}
                    client, path = officer, "/projects/import"
                else:
                    form, uploads = report_form(grantee, world, narrative="本季度进展正常。",
                                                files=1 if kind == "one file" else 2)
                    size = len(uploads["e0_file" if kind == "one file" else "e1_file"][1])
                    # (stored re-encoded: about as large as the noise uploaded, rarely exactly)
                    disk = FullDisk(fail_at=1 if kind == "one file" else 2, offset=rng.randrange(size * 9 // 10))
                    module = store_module
                    request = {"data": form, "files": uploads}
                    client, path = grantee, f"/projects/{world.project_id}/reports/1"
                original = module.os
                module.os = disk
                try:
                    response = client.post(path, follow_redirects=False, **request)
                finally:
                    module.os = original
                figures.cases[kind] += 1
                problems = []
                if response.status_code != 503 or STORAGE_FULL not in response.text:
                    problems.append(f"answered {response.status_code}: {response.text[:200]!r}")
                if disk.files < disk.fail_at:
                    problems.append("the failing write never happened")
                if changed := changed_tables(before, snapshot(engine)):
                    problems.append(f"tables changed: {changed}")
                if left := leftovers(files_root):
                    problems.append(f"left on disk: {left}")
                if problems:
                    figures.findings.append((case, kind, disk.offset, problems))
            # What a failed save stored before its failure (the first of two files) has no row: housekeeping
            # removes it once it is old enough.
            with make_session_factory(engine)() as db:
                housekeeping.sweep(db, now=clock.now() + timedelta(days=2),
                                   evidence=EvidenceStore(files_root / "evidence"), uploads=files_root / "uploads")
                db.commit()
                orphans = [name for name, _ in EvidenceStore(files_root / "evidence").stored()]
                rows = db.scalars(select(EvidenceFile.storage_name)).all()
            if sorted(orphans) != sorted(rows):
                figures.findings.append(("after housekeeping", "orphans", orphans, rows))
            # The disk has room again: the same save goes through.
            form, uploads = report_form(grantee, world, narrative="本季度进展正常。", files=2)
            saved = grantee.post(f"/projects/{world.project_id}/reports/1", data=form, files=uploads,
                                 follow_redirects=False)
            if saved.status_code != 303:
                figures.findings.append(("after", "save", saved.status_code, saved.text[:300]))
    finally:
        engine.dispose()
    return figures


def test_enospc_while_a_file_is_written_answers_503_and_leaves_no_row_and_no_temporary_file(tmp_path):
    world = build_world(fresh_database(configured_database_url(), tmp_path, _suffix("enospc")), tmp_path)
    figures = run_enospc(world, cases=ENOSPC_CASES, seed=SEED)
    report = "\n".join(figures.lines())
    print(report)
    assert figures.findings == [], report
    drop_database(world.url)


# === 4. kill -9 of the web process during an award import ==========================================================


class ForkedServer:
    """The app under uvicorn in a child process forked from this one, on a listening socket this process keeps
    (connections wait in its backlog while a new child starts)."""

    def __init__(self, world: World, directory: Path) -> None:
        self.world, self.directory = world, directory
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.pid = 0
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.directory / f"server-{self.starts}.log"
        self.starts += 1
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the server: never returns into the caller
            code = 1
            try:
                out = open(log, "w", buffering=1)  # noqa: SIM115 - lives until os._exit
                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
                sys.stdout = sys.stderr = out
                self._serve()
                code = 0
            except BaseException:  # noqa: BLE001 - to the log
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        self.pid = pid
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.02)

    def _serve(self) -> None:
        import uvicorn

        from tracker.web.app import create_app

        engine = make_engine(self.world.url)
        app = create_app(self.world.settings, session_factory=make_session_factory(engine))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        server.run(sockets=[self.listener])

    def kill(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            _pid, status = os.waitpid(self.pid, 0)
            assert os.waitstatus_to_exitcode(status) == -signal.SIGKILL
            self.pid = 0

    def close(self) -> None:
        self.kill()
        self.listener.close()


@dataclass
class KillFigures:
    database: str
    kills: int = 0
    outcomes: Counter = field(default_factory=Counter)  # all | nothing, per kill
    partial: list = field(default_factory=list)
    integrity: list = field(default_factory=list)  # integrity_check answers other than ok
    after_restart: list = field(default_factory=list)  # failures of the first requests after a restart
    import_seconds: float = 0.0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [f"{self.database}: kill -9 during an award import ({BATCH_ROWS} projects, {BATCH_ORGS} new "
                f"organisations): {self.kills} kills; one import takes {self.import_seconds:.2f} s",
                f"  batches: {dict(sorted(self.outcomes.items()))}; partial: {len(self.partial)} {self.partial[:5]}",
                f"  integrity_check not ok: {len(self.integrity)} {self.integrity[:3]}; failures after restart: "
                f"{len(self.after_restart)} {self.after_restart[:3]}",
                f"  seconds: {self.seconds:.1f}"]


def _http_sign_in(client: httpx.Client, username: str) -> None:
    token = CSRF_RE.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"_csrf_token": token, "username": username, "password": DEMO_PASSWORD,
                                           "next": "/"})
    assert response.status_code == 303, response.text[:500]


def run_kills(world: World, directory: Path, *, kills: int, seed: int) -> KillFigures:
    rng = random.Random(seed)
    figures = KillFigures(make_url(world.url).get_backend_name())
    started = time.monotonic()
    server = ForkedServer(world, directory)
    checker_engine = make_engine(world.url)
    checker = make_session_factory(checker_engine)
    try:
        server.start()
        with httpx.Client(base_url=server.base, timeout=60) as client:
            _http_sign_in(client, "officer")

            def upload(batch: Batch) -> str:
                response = client.post("/projects/import", data={"_csrf_token": csrf_of(client, "/projects/import"),
                                                                 "document": str(world.document_id)},
                                       files={"file": ("立项清单.xlsx", batch.data, XLSX)})
                assert response.status_code == 200, response.text[:1000]
                return TOKEN_IN_FORM.search(response.text).group(1)

            token = upload(award_list(0))
            begun = time.monotonic()
            assert confirm(client, token, csrf_of(client, "/projects/import")).status_code == 200
            figures.import_seconds = time.monotonic() - begun
            for number in range(1, kills + 1):
                batch = award_list(number)
                token = upload(batch)
                csrf = csrf_of(client, "/projects/import")

                def send(token: str = token, csrf: str = csrf) -> None:
                    with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                        confirm(client, token, csrf)

                thread = threading.Thread(target=send)
                thread.start()
                time.sleep(rng.uniform(0, figures.import_seconds * 1.1))
                server.kill()
                thread.join(60)
                figures.kills += 1
                checker_engine.dispose()
                with checker() as db:
                    outcome = all_or_nothing(batch_counts(db, batch), batch)
                    if world.url.startswith("sqlite"):
                        answer = db.execute(text("PRAGMA integrity_check")).scalars().all()
                        if answer != ["ok"]:
                            figures.integrity.append((number, answer[:3]))
                figures.outcomes[outcome] += 1
                if outcome.startswith("PARTIAL"):
                    figures.partial.append((number, outcome))
                server.start()
                for path in ("/projects", f"/projects/{world.project_id}"):
                    response = client.get(path)
                    if response.status_code != 200:
                        figures.after_restart.append((number, path, response.status_code))
            # The restarted server imports a list whole.
            batch = award_list(kills + 1)
            assert confirm(client, upload(batch), csrf_of(client, "/projects/import")).status_code == 200
            with checker() as db:
                assert all_or_nothing(batch_counts(db, batch), batch) == "all"
    finally:
        server.close()
        checker_engine.dispose()
    figures.seconds = time.monotonic() - started
    return figures


def test_kill_9_during_an_award_import_leaves_the_whole_batch_or_nothing(tmp_path):
    world = build_world(fresh_database(configured_database_url(), tmp_path, _suffix("kill")), tmp_path)
    figures = run_kills(world, tmp_path, kills=KILLS, seed=SEED)
    report = "\n".join(figures.lines())
    print(report)
    assert figures.kills == KILLS
    assert figures.partial == [] and figures.integrity == [] and figures.after_restart == [], report
    drop_database(world.url)
