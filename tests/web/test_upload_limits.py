"""G16: a body far larger than a route accepts is refused with 413, and costs the server little memory.

The sweep (slow tier) runs the real app (`python -m tracker serve`) in a subprocess on a free loopback port, signs in
the roles that may post to each upload route, and streams a 200 MB body to each route in four shapes, without ever
holding it in the client's memory: one file part (chunked), one text field (chunked), an urlencoded body (chunked),
and a file part behind an announced `Content-Length: 209715200`. Each must answer 413 while the server's resident
memory (psutil, sampled every few milliseconds) grows by less than 50 MB, its open files stay as they were, and the
next request is served.

The upload routes are listed here by hand; a fast test checks that every route whose body limit is raised above the
application's default is in the list, so a new upload route cannot be forgotten.

Text fields: Litestar's form parser keeps a text field in memory whole, up to the route's body limit (100 MB for a
report with its files), and decodes it into a second copy: a 100 MB text field grew the server by 100 MB. The request
context now reads forms with `tracker.web.form_reader.read_form`, which holds each text field to 1 MB (413 beyond);
the fast tests below check it directly.
"""

from __future__ import annotations

import os
import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from litestar import Litestar, Request, post
from litestar.testing import TestClient

from tests.conftest import CSRF_RE, PROJECT_ROOT, TEST_SECRET
from tests.service.test_db_faults import build_world
from tracker.settings import Settings
from tracker.web.form_reader import MAX_TEXT_BYTES, MAX_TEXT_FIELD_BYTES, TEXT_TOO_LARGE, read_form
from tracker.web.uploads import is_file

MB = 1024 * 1024
BODY = 200 * MB
RSS_LIMIT = 50 * MB
CHUNK = MB
# glibc keeps what a process frees for its next allocations: after one case held 100 MB, the next would find them
# resident already and seem to cost nothing. With these, every block of 64 KB or more is a mapping of its own,
# returned to the system when freed, so that each case's growth is its own (the server's allocator only, for the
# measurement; the answers are the same).
MEASURABLE_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "131072"}

# route name → (path, the role that may post to it)
UPLOAD_ROUTES = {
    "report_save": ("/projects/{project}/reports/1", "grantee"),
    "report_excel_upload": ("/projects/{project}/reports/1/excel", "grantee"),
    "acceptance_apply": ("/projects/{project}/acceptance/apply", "grantee"),
    "milestone_check": ("/projects/{project}/milestones/0/check", "officer"),
    "guideline_upload": ("/guidelines/upload", "officer"),
    "project_import": ("/projects/import", "officer"),
    # The default limit (1 MB): the working-day calendar's arrangement, which a browser may send as a file.
    "admin_calendar_enter": ("/admin/calendar", "admin"),
}
SHAPES = ("file", "text", "urlencoded", "announced")


def _cases() -> Iterator[Any]:
    for route in UPLOAD_ROUTES:
        for shape in SHAPES:
            yield pytest.param(route, shape, id=f"{route}-{shape}")


# --- the server ----------------------------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    port: int
    process: subprocess.Popen
    project_id: int
    log: Path
    database: Path

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("g16")
    world = build_world(f"sqlite:///{directory / 'g16.db'}", directory)
    port = _free_port()
    spool = directory / "spool"
    spool.mkdir()
    env = {**os.environ, "TRACKER_DATABASE_URL": world.url, "TRACKER_DATA_DIR": str(directory / "files"),
           "TRACKER_SECRET_KEY": TEST_SECRET, "TMPDIR": str(spool), **MEASURABLE_MALLOC}
    log = directory / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--no-scheduler", "--host", "127.0.0.1",
                                    "--port", str(port)], env=env, cwd=PROJECT_ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    try:
        yield Server(base, port, process, world.project_id, log, directory / "g16.db")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Login:
    cookie: str
    csrf: str


_LOGINS: dict[tuple[int, str], Login] = {}


def login_as(server: Server, username: str) -> Login:
    key = (server.port, username)
    if key not in _LOGINS:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            token = CSRF_RE.search(client.get("/login").text).group(1)
            answer = client.post("/login", data={"_csrf_token": token, "username": username,
                                                 "password": "tracker-demo", "next": "/"})
            assert answer.status_code == 303, answer.text[:500]
            csrf = CSRF_RE.search(client.get("/account").text).group(1)
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        _LOGINS[key] = Login(cookie, csrf)
    return _LOGINS[key]


# --- a 200 MB body, streamed -----------------------------------------------------------------------------------------


class RssSampler:
    """The server's resident memory, sampled every few milliseconds while a request runs."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.base = process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.003)

    def stop(self) -> tuple[int, int]:
        """(peak growth, growth now) in bytes."""
        self._stop.set()
        self._thread.join()
        now = self.process.memory_info().rss
        self.peak = max(self.peak, now)
        return self.peak - self.base, now - self.base


def _pieces(shape: str, csrf: str) -> tuple[str, bytes, bytes, bytes]:
    """(content type, what comes before the bulk, one chunk of the bulk, what would close the body)."""
    boundary = "g16-boundary-7c1f"
    csrf_part = f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{csrf}\r\n'
    if shape in ("file", "announced"):
        head = csrf_part + (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
                            f"Content-Type: application/octet-stream\r\n\r\n")
        return f"multipart/form-data; boundary={boundary}", head.encode(), b"\x00PK" * (CHUNK // 3), \
            f"\r\n--{boundary}--\r\n".encode()
    if shape == "text":
        head = csrf_part + f'--{boundary}\r\nContent-Disposition: form-data; name="narrative"\r\n\r\n'
        return f"multipart/form-data; boundary={boundary}", head.encode(), "进展".encode() * (CHUNK // 6), \
            f"\r\n--{boundary}--\r\n".encode()
    return "application/x-www-form-urlencoded", f"_csrf_token={csrf}&narrative=".encode(), b"A" * CHUNK, b""


@dataclass
class Outcome:
    status: int
    sent: int
    seconds: float
    peak_growth: int
    growth_after: int
    fds_before: int
    fds_after: int


def stream_body(server: Server, path: str, login: Login, shape: str, size: int = BODY) -> Outcome:
    """Send `size` bytes of body in `shape` over a raw socket, stopping as soon as the answer comes; the answer's
    status and what the server's memory did meanwhile."""
    content_type, head, chunk, tail = _pieces(shape, login.csrf)
    announced = shape == "announced"
    headers = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nCookie: {login.cookie}\r\n"
               f"x-csrftoken: {login.csrf}\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
               + (f"Content-Length: {size}\r\n" if announced else "Transfer-Encoding: chunked\r\n") + "\r\n")

    def framed(data: bytes) -> bytes:
        return data if announced else f"{len(data):x}\r\n".encode() + data + b"\r\n"

    def body() -> Iterator[bytes]:
        yield framed(head)
        left = size - len(head) - len(tail)
        while left > 0:
            piece = chunk[:left]
            left -= len(piece)
            yield framed(piece)
        if tail:
            yield framed(tail)
        if not announced:
            yield b"0\r\n\r\n"

    fds_before = server.ps.num_fds()
    sampler = RssSampler(server.ps)
    started = time.monotonic()
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(headers.encode())
        sock.setblocking(False)
        pending = b""
        pieces = body()
        deadline = time.monotonic() + 120
        while b"\r\n" not in answer and time.monotonic() < deadline:
            if not pending:
                pending = next(pieces, b"")
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 1.0)
            if readable:
                try:
                    data = sock.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if not data:
                    break
                answer += data
            elif writable:
                try:
                    count = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    pending = b""
                    continue
                pending = pending[count:]
                sent += count
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    seconds = time.monotonic() - started
    time.sleep(0.2)  # what the server frees after answering
    peak, after = sampler.stop()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return Outcome(status, sent, seconds, peak, after, fds_before, server.ps.num_fds())


# --- the sweep (slow tier) -------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("route", "shape"), list(_cases()))
def test_a_200_mb_body_is_refused_with_413_and_little_memory(server: Server, route: str, shape: str):
    path, role = UPLOAD_ROUTES[route]
    path = path.format(project=server.project_id)
    outcome = stream_body(server, path, login_as(server, role), shape)
    print(f"G16 {route} {shape}: {outcome.status}, {outcome.sent / MB:.1f} MB sent in {outcome.seconds:.2f} s, "
          f"RSS +{outcome.peak_growth / MB:.1f} MB at peak, +{outcome.growth_after / MB:.1f} MB after, "
          f"fds {outcome.fds_before}→{outcome.fds_after}")
    assert outcome.status == 413, server.log.read_text()[-2000:]
    assert outcome.peak_growth < RSS_LIMIT, f"RSS grew by {outcome.peak_growth / MB:.1f} MB"
    assert outcome.sent < BODY  # refused before the whole body came
    assert outcome.fds_after <= outcome.fds_before  # the spooled file and the connection were closed
    with httpx.Client(base_url=server.base, timeout=30) as client:  # and the server goes on serving
        assert client.get("/healthz").status_code == 200


@pytest.mark.slow
def test_a_slow_upload_holds_neither_the_write_lock_nor_the_other_writers(server: Server):
    """A grantee on a slow line sends a report with its files: while the body comes, other writers (another
    process on the same SQLite file: the scheduler, a second web process; another user's login in this one) go on.
    (The request context once took SQLite's write lock and the process's writer slot before reading the body: a
    100 MB report at 5 MB/s held them 20 s, more than the 15 s busy timeout of the others.)"""
    login = login_as(server, "grantee")
    seconds, size = 3.0, 6 * MB

    def slow_body() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="e0_file"; filename="a.pdf"\r\n\r\n'
        for _ in range(30):
            yield b"x" * (size // 30)
            time.sleep(seconds / 30)
        yield b"\r\n--b--\r\n"

    def upload() -> None:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            client.post(f"/projects/{server.project_id}/reports/1", content=slow_body(),
                        headers={"content-type": "multipart/form-data; boundary=b", "x-csrftoken": login.csrf,
                                 "cookie": login.cookie})

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        time.sleep(0.5)
        other = sqlite3.connect(server.database, timeout=1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" after 1 s while the upload holds it
            other.execute("ROLLBACK")
        finally:
            other.close()
        with httpx.Client(base_url=server.base, timeout=30) as client:
            token = CSRF_RE.search(client.get("/login").text).group(1)
            begun = time.monotonic()
            client.post("/login", data={"_csrf_token": token, "username": "officer", "password": "tracker-demo"})
            assert time.monotonic() - begun < 1.0, "a login waited for the upload"
    finally:
        thread.join(30)


# --- the route list and read_form (default tier) ---------------------------------------------------------------------


def test_every_route_with_a_raised_body_limit_is_in_the_sweep():
    from tracker.web.app import create_app

    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET)
    app = create_app(settings)
    raised = {handler.name for route in app.routes for handler in getattr(route, "route_handlers", [])
              if handler.resolve_request_max_body_size() != settings.max_body_bytes}
    assert raised, "no upload route found"
    assert raised <= set(UPLOAD_ROUTES), raised - set(UPLOAD_ROUTES)


@post("/form", request_max_body_size=200 * MB)
async def _echo(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await read_form(request)
    shown: dict[str, Any] = {}
    for key, value in form.multi_items():
        shown.setdefault(key, []).append(f"{value.filename}:{len(value.file.read())}" if is_file(value) else value)
    return shown


@pytest.fixture(scope="module")
def echo() -> Iterator[TestClient]:
    with TestClient(Litestar([_echo], debug=False), raise_server_exceptions=False) as client:
        yield client


def test_read_form_reads_what_request_form_reads(echo):
    answer = echo.post("/form", data={"a": ["1", "2"], "名称": "中文值", "empty": ""},
                       files={"file": ("证明.pdf", b"%PDF-1.4 x" * 300_000, "application/pdf")})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"a": ["1", "2"], "名称": ["中文值"], "empty": [""], "file": ["证明.pdf:3000000"]}
    answer = echo.post("/form", data={"a": ["1", "2"], "b": "中 文&=?"})
    assert answer.json() == {"a": ["1", "2"], "b": ["中 文&=?"]}
    assert echo.post("/form", content=b"{}", headers={"content-type": "application/json"}).json() == {}


def test_read_form_keeps_files_of_any_size_but_refuses_text_beyond_its_limits(echo):
    big_file = echo.post("/form", files={"file": ("a.bin", b"x" * (3 * MAX_TEXT_FIELD_BYTES), "application/pdf")})
    assert big_file.status_code == 201 and big_file.json() == {"file": [f"a.bin:{3 * MAX_TEXT_FIELD_BYTES}"]}
    at_limit = echo.post("/form", files={"t": (None, b"y" * MAX_TEXT_FIELD_BYTES)})
    assert at_limit.status_code == 201
    for refused in (
        echo.post("/form", files={"t": (None, b"y" * (MAX_TEXT_FIELD_BYTES + 1))}),  # one field too long
        echo.post("/form", files={f"t{i}": (None, b"y" * (MAX_TEXT_FIELD_BYTES // 2)) for i in
                                  range(2 * MAX_TEXT_BYTES // MAX_TEXT_FIELD_BYTES + 1)}),  # too much text in all
        echo.post("/form", content=b"t=" + b"y" * MAX_TEXT_BYTES,
                  headers={"content-type": "application/x-www-form-urlencoded"}),
    ):
        assert refused.status_code == 413, refused.text[:300]
        assert TEXT_TOO_LARGE in refused.text


def test_read_form_answers_400_for_a_malformed_body(echo):
    bad_utf8 = echo.post("/form", files={"t": (None, b"\xff\xfe\xfa")})
    assert bad_utf8.status_code == 400 and "UTF-8" in bad_utf8.text
    no_boundary = echo.post("/form", content=b"x", headers={"content-type": "multipart/form-data"})
    assert no_boundary.status_code == 400
    for broken in (b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nabc',  # cut short
                   b"--b\r\nNoColonHeader\r\n\r\nx\r\n--b--\r\n"):  # a malformed part header
        answer = echo.post("/form", content=broken, headers={"content-type": "multipart/form-data; boundary=b"})
        assert answer.status_code == 400, answer.text
