"""Serving the project list at 10,000 projects, next to a static file and a tiny page of the same app (never run by CI).

usage: python bench/project_list.py [--projects N] [--db PATH] [--requests R] [--runs K] [--concurrency C]
                                    [--seconds S]

The database is the demo database (`tracker demo --projects N`: accounts, the five sample guidelines, N projects
over every status, most with a confirmed task book and a report history). Building it takes minutes (see
bench/demo_build.py), and `tracker demo` prints its progress; `--db PATH` keeps it in PATH, and a later run given
the same PATH reuses it as it is. Without `--db` it is built in a temporary directory and removed at the end.

The server is `python -m tracker serve --no-scheduler` on a free loopback port (a subprocess, stopped at the end
whatever happens). The bench logs in as `officer` over HTTP (the CSRF token of GET /login, then POST /login),
warms every endpoint up, then, K times in turn, sends R requests to each endpoint from C threads (one keep-alive
httpx client per thread):
  /projects            the first page of the list (50 rows; count, page and filter choices over all projects)
  /projects?page=100   the same list deep in the OFFSET (projects 4,951–5,000 of 10,000)
  /static/app.css      a static file served by the same app, outside the database middleware (smaller than the
                       page: compare the MB/s as well as the requests/s)
  /healthz             a tiny page through the whole middleware (session, policy, one `SELECT 1`)
Printed per endpoint: bytes per response, requests/s and MB/s (medians over the K runs), p50/p95 and the slowest
latency (all runs pooled); then the ratios of the page's throughput to the static file's and to /healthz's (DESIGN
§5: ratios against a baseline of the same run; the machine is shared, so absolute figures move from run to run).
The client runs in this process: at high rates (the static file) part of what is measured is the client's own cost.
Responses other than 200 are counted and printed with the exceptions of the server's log.
`--seconds` caps the measuring phase: a run that reaches it stops sending and the figures cover what was sent.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "tracker-demo"  # noqa: S105 - the documented demo password (tracker.demo.accounts.DEMO_PASSWORD)
ENDPOINTS = ("/projects", "/projects?page=100", "/static/app.css", "/healthz")
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


# --- the database ----------------------------------------------------------------------------------------------


def _counts(path: Path) -> tuple[int, int]:
    """(users, projects) in an existing SQLite file, read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"users", "projects"} <= tables:
            return 0, 0
        users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        return users, conn.execute("SELECT count(*) FROM projects").fetchone()[0]
    finally:
        conn.close()


def build_database(path: Path, projects: int) -> float:
    """`tracker demo --projects N` in this process (it prints its own progress, per stage); returns the seconds."""
    from tracker.cli import main as cli_main

    start = time.perf_counter()
    print(f"building the demo database with {projects} projects in {path} (about 3 minutes for 10,000) …",
          flush=True)
    code = cli_main(["demo", "--projects", str(projects)])
    if code:
        raise SystemExit(f"tracker demo failed (exit {code})")
    elapsed = time.perf_counter() - start
    print(f"built in {elapsed:.0f} s", flush=True)
    return elapsed


# --- the server ------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(env: dict[str, str], log: Path, *, timeout: float = 90) -> Iterator[str]:
    """`tracker serve --no-scheduler` on a free loopback port until the block ends (terminated, then killed)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tracker", "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise SystemExit(f"the server exited ({process.returncode}):\n{tail}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        try:
            yield base
        except BaseException:
            print(_errors_in(log), file=sys.stderr)
            raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _errors_in(log: Path) -> str:
    """The server log's exceptions, counted, and the application's frames they went through."""
    errors: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if re.match(r"[\w.]+(Error|Exception): ", line):
            errors[line[:200]] += 1
        elif line.strip().startswith(f'File "{ROOT}/'):
            frames[line.strip().replace(f"{ROOT}/", "")] += 1
    if not errors:
        return "server log: no exceptions"
    lines = [f"  {n:>4}x {text}" for text, n in errors.most_common(5)]
    lines += ["  through:"] + [f"  {n:>4}x {text}" for text, n in frames.most_common(8)]
    return "server log, exceptions:\n" + "\n".join(lines)


def login(base: str) -> httpx.Cookies:
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/login")
        found = CSRF.search(form.text)
        if form.status_code != 200 or not found:
            raise SystemExit(f"GET /login: {form.status_code}, no CSRF token")
        answer = client.post("/login", data={"_csrf_token": found.group(1), "next": "/projects",
                                             "username": "officer", "password": PASSWORD})
        if answer.status_code != 303 or "tracker_session" not in "".join(client.cookies.keys()):
            raise SystemExit(f"POST /login as officer: {answer.status_code} (expected 303 and a session cookie)")
        return client.cookies


# --- the load --------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    sizes: set[int] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)  # requests/s, one per run
    throughputs: list[float] = field(default_factory=list)  # bytes/s, one per run
    sent: int = 0
    failures: Counter[int] = field(default_factory=Counter)  # status codes other than 200


def _run(clients: list[httpx.Client], path: str, requests: int, deadline: float, figures: Figures) -> None:
    """`requests` GETs of `path` shared out over the clients' threads, unless the deadline comes first."""
    lock = threading.Lock()
    taken = [0]

    def worker(client: httpx.Client) -> tuple[list[float], int, set[int]]:
        latencies, size_total, sizes = [], 0, set()
        while True:
            with lock:
                if taken[0] >= requests or time.monotonic() > deadline:
                    return latencies, size_total, sizes
                taken[0] += 1
            start = time.perf_counter()
            response = client.get(path)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:  # counted and reported (latency kept, bytes not)
                with lock:
                    figures.failures[response.status_code] += 1
                continue
            size_total += len(response.content)
            sizes.add(len(response.content))

    start = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(worker, clients))
    wall = time.perf_counter() - start
    done = sum(len(r[0]) for r in results)
    if not done:
        return
    figures.sent += done
    figures.latencies.extend(x for r in results for x in r[0])
    figures.sizes.update(x for r in results for x in r[2])
    figures.rates.append(done / wall)
    figures.throughputs.append(sum(r[1] for r in results) / wall)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _size(sizes: set[int]) -> str:
    low, high = min(sizes), max(sizes)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def measure(base: str, cookies: httpx.Cookies, args: argparse.Namespace) -> dict[str, Figures]:
    figures = {path: Figures() for path in ENDPOINTS}
    clients = [httpx.Client(base_url=base, cookies=cookies, timeout=60) for _ in range(args.concurrency)]
    try:
        for path in ENDPOINTS:  # warm-up: templates compiled, SQLite pages cached, connections open
            for client in clients:
                response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"GET {path}: {response.status_code} (is officer signed in?)")
        deadline = time.monotonic() + args.seconds
        for run in range(1, args.runs + 1):
            for path in ENDPOINTS:
                _run(clients, path, args.requests, deadline, figures[path])
            print(f"  run {run}/{args.runs} done", flush=True)
            if time.monotonic() > deadline:
                print(f"  stopped at the --seconds cap ({args.seconds:.0f} s)")
                break
    finally:
        for client in clients:
            client.close()
    return figures


def report(figures: dict[str, Figures], args: argparse.Namespace) -> None:
    print(f"{'endpoint':<20}{'bytes':>16}{'sent':>7}{'req/s':>9}{'MB/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    rate, mbps = {}, {}
    for path, f in figures.items():
        if not f.rates:
            print(f"{path:<20} (nothing sent)")
            continue
        rate[path], mbps[path] = statistics.median(f.rates), statistics.median(f.throughputs) / 1e6
        print(f"{path:<20}{_size(f.sizes):>16}{f.sent:>7}{rate[path]:>9.1f}{mbps[path]:>8.2f}"
              f"{_percentile(f.latencies, 0.5) * 1000:>9.1f}{_percentile(f.latencies, 0.95) * 1000:>9.1f}"
              f"{max(f.latencies) * 1000:>9.0f}")
    print(f"(req/s and MB/s: medians of {args.runs} runs of {args.requests} requests from {args.concurrency} threads;"
          " latencies: all runs pooled)")
    for page in ENDPOINTS[:2]:
        if page not in rate:
            continue
        parts = []
        if "/static/app.css" in rate:
            parts.append(f"{rate[page] / rate['/static/app.css']:.3f}x the req/s and "
                         f"{mbps[page] / mbps['/static/app.css']:.2f}x the MB/s of /static/app.css")
        if "/healthz" in rate:
            parts.append(f"{rate[page] / rate['/healthz']:.3f}x the req/s of /healthz")
        print(f"{page}: " + "; ".join(parts))
    for path, f in figures.items():
        if f.failures:
            print(f"FAILED {path}: " + ", ".join(f"{n}x HTTP {code}" for code, n in sorted(f.failures.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000, help="projects in a newly built database")
    parser.add_argument("--db", type=Path, help="SQLite file to reuse (or to build and keep when missing)")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--seconds", type=float, default=300, help="cap on the measuring phase")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # `tracker demo` turns INFO on for the root logger
    with tempfile.TemporaryDirectory(prefix="bench-list-") as tmp:
        path = (args.db or Path(tmp) / "bench.db").resolve()
        env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{path}", "TRACKER_DATA_DIR": str(Path(tmp) / "files"),
               "TRACKER_ENV": "dev", "TRACKER_SECURE_COOKIES": "0", "TRACKER_DEBUG": "0"}
        users, projects = _counts(path) if path.exists() else (0, 0)
        if users:
            print(f"reusing {path}: {projects} projects (--projects ignored)")
        else:
            os.environ.update({k: env[k] for k in ("TRACKER_DATABASE_URL", "TRACKER_DATA_DIR", "TRACKER_ENV")})
            build_database(path, args.projects)
            projects = _counts(path)[1]
        pages = -(-projects // 50)
        print(f"{projects} projects: {pages} list pages of 50" + ("" if pages >= 100 else
              f" (page=100 is past the end: the app shows the last page, {pages})"))
        with server(env, Path(tmp) / "server.log") as base:
            print(f"server {base} (python -m tracker serve --no-scheduler), signed in as officer")
            cookies = login(base)
            started = time.perf_counter()
            figures = measure(base, cookies, args)
            print(f"measured in {time.perf_counter() - started:.0f} s")
        report(figures, args)
        if any(f.failures for f in figures.values()):
            print(_errors_in(Path(tmp) / "server.log"))


if __name__ == "__main__":
    main()
