"""Browser tests: a real server on a free loopback port and Debian's chromium driven by Playwright.

Outside CI they skip with a visible reason when chromium or playwright is missing; CI installs both and
sets TRACKER_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reminders.jobs import JOBS
from reminders.scheduler import start_in_process
from tests.e2e.journey import screenshots_folder
from tracker import clock
from tracker.db import make_engine, make_session_factory, session_scope
from tracker.demo.accounts import create_demo
from tracker.schema import upgrade_database
from tracker.services.scheduling import recent_runs
from tracker.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The live server's session factory, for tests that set up data of their own (see live_session_factory).
_LIVE: dict[str, object] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test, marked before -m selects, so a new one cannot forget it.
    (This hook sees the whole session's items, hence the folder test.)"""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _require_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright)")
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if os.environ.get("TRACKER_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    import uvicorn

    from tracker.web.app import create_app

    folder = tmp_path_factory.mktemp("e2e")
    settings = Settings(database_url=f"sqlite:///{folder / 'e2e.db'}", data_dir=folder / "files",
                        secret_key="e2e-secret-key-long-enough-for-tests-0123")
    engine = make_engine(settings.database_url)
    upgrade_database(engine)
    factory = make_session_factory(engine)
    _LIVE["factory"] = factory
    with session_scope(factory) as db:
        if os.environ.get("TRACKER_E2E_DEMO") == "full":
            # The README tour's pictures (tests/e2e/tour.py): the demo of `tracker serve --demo`, 60 projects.
            from tracker.demo.build import build_demo

            build_demo(db, now=clock.now(), data_dir=settings.data_dir, projects=60)
        else:
            create_demo(db, now=clock.now())
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, session_factory=factory), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("test server did not start")
        time.sleep(0.05)
    # The scheduler runs in the server's process as `tracker serve` runs it (no "scheduler stopped" alarm on the
    # pages); its first round of jobs is over before a journey starts, so no sweep of the demo data runs under one.
    scheduled = start_in_process(factory)
    _wait_for_first_runs(factory, deadline=time.monotonic() + 90)
    yield f"http://127.0.0.1:{port}"
    scheduled.stop()
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _wait_for_first_runs(factory, *, deadline: float) -> None:
    while True:
        with session_scope(factory) as db:
            finished = {run.job for run in recent_runs(db, limit=200) if run.finished_at is not None}
        if finished >= set(JOBS):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the scheduler's first runs did not finish: {sorted(set(JOBS) - finished)} missing")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def live_session_factory(live_server: str):
    """Sessions on the live server's database."""
    return _LIVE["factory"]


@pytest.fixture(scope="session")
def browser(live_server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir() -> Path:
    target = screenshots_folder()
    target.mkdir(parents=True, exist_ok=True)
    return target
