"""Every `tracker` command fails the same way on bad input: exactly one line on stderr, in Chinese, a non-zero exit
status, no traceback (issue #25: `tracker users create NAME --role officer` without a terminal ended in getpass's
EOFError).

The commands are enumerated from the argument parser, so a new command fails `test_every_command_has_bad_inputs`
until it gets its own bad inputs below. Most cases run in this process (`tracker.cli.main` with capsys); a few run as
the operator does, in a process with no terminal (stdin from /dev/null), where log lines would show up on stderr too.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tracker import cli
from tracker.db import make_engine
from tracker.schema import upgrade_database
from tracker.settings import PROJECT_ROOT, get_settings

SAMPLE = PROJECT_ROOT / "tracker" / "demo" / "samples" / "000_01a6d56b3cde02ef.txt"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def leaf_commands(parser: argparse.ArgumentParser | None = None, prefix: tuple[str, ...] = ()):
    """Every runnable command of the parser, as its words: ("serve",), ("db", "upgrade"), …"""
    parser = parser or cli.build_parser()
    found = []
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its sub-commands here only
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                found.extend(leaf_commands(sub, (*prefix, name)))
    return found or [prefix]


@dataclass(frozen=True)
class Case:
    command: tuple[str, ...]
    args: tuple[str, ...]
    database: str = "ready"  # a key of `environments`
    stdin: str = ""
    subprocess: bool = False

    def __str__(self) -> str:
        return " ".join((*self.command, *self.args, f"[{self.database}]"))


def case(command: str, *args: str, database: str = "ready", stdin: str = "", subprocess: bool = False) -> Case:
    return Case(tuple(command.split()), args, database, stdin, subprocess)


PASSWORD = "a-long-enough-password-42\n"

# {name} in an argument is a path or value from the `paths` fixture.
CASES = [
    case("serve", "--port", "http"),
    case("serve", "--port", "70000"),
    case("serve", "--no-scheduler", "--host", "no-such-host.invalid"),
    case("serve", "--no-scheduler", "--port", "{busy_port}"),
    case("serve", "--no-scheduler", database="unreachable"),
    case("serve", "--no-scheduler", database="unparsable"),
    case("serve", "--demo", database="production"),
    case("scheduler", database="missing"),
    case("scheduler", database="uninitialised"),
    case("scheduler", database="unreachable"),
    case("scheduler", database="unsupported"),
    case("scheduler", database="production"),
    case("demo", "--projects", "0"),
    case("demo", "--projects", "many"),
    case("demo", database="unreachable"),
    case("demo", database="unparsable"),
    case("db upgrade", database="unreachable", subprocess=True),
    case("db upgrade", database="unparsable"),
    case("db upgrade", database="unsupported"),
    case("db upgrade", database="not_a_database"),
    case("db upgrade", database="under_a_file"),
    case("backup", "{missing_dir}/tracker.bak", database="missing"),
    case("backup", "{tmp}/tracker.bak", database="uninitialised"),
    case("backup", "{tmp}/tracker.bak", database="unreachable"),
    case("backup", "{tmp}"),
    case("backup", "{a_file}/tracker.bak"),
    case("backup"),
    case("restore", "{missing_dir}/tracker.bak", subprocess=True),
    case("restore", "{tmp}"),
    case("restore", "{no_manifest}"),
    case("restore", "{bad_manifest}"),
    case("restore", "{altered_backup}"),
    case("restore", "{postgresql_backup}"),
    case("restore", "{altered_backup}", database="unreachable"),
    case("users create", "wang", "--role", "officer", subprocess=True),
    case("users create", "wang", "--role", "officer"),
    case("users create", "wang", "--role", "officer", "--password-stdin"),
    case("users create", "wang", "--role", "boss", "--password-stdin", stdin=PASSWORD),
    case("users create", "wang", "--role", "grantee", "--organisation", "91450000MA5XXXXXX0", "--password-stdin",
         stdin=PASSWORD),
    case("users create", "wang", "--role", "officer", "--password-stdin", stdin="short\n"),
    case("users create", "wang", "--role", "officer", "--password-stdin", stdin=PASSWORD, database="missing"),
    case("users create", "wang", "--role", "officer", "--password-stdin", stdin=PASSWORD, database="uninitialised"),
    case("users create", "wang"),
    *[case(f"guidelines {verb}", *args) for verb in ("tree", "parse") for args in (
        ("{missing_dir}/guide.txt",), ("{tmp}",), ("{a_file}/guide.txt",), ("{bad_docx}",), ("{empty_txt}",),
        ("{no_headings_txt}",), (str(SAMPLE), "--format", "xml"), ())],
    case("guidelines import", "{missing_dir}/guide.txt"),
    case("guidelines import", "{bad_docx}"),
    case("guidelines import", str(SAMPLE), "{empty_txt}"),
    case("guidelines import", str(SAMPLE), str(SAMPLE), "--programme", "联动"),
    case("guidelines import", str(SAMPLE), database="unreachable"),
    case("projects import", "{missing_dir}/list.xlsx", "--guideline", "联动"),
    case("projects import", "{tmp}", "--guideline", "联动"),
    case("projects import", "{bad_xlsx}", "--guideline", "联动"),
    case("projects import", "{empty_txt}", "--guideline", "联动"),
    case("projects import", "{bad_xlsx}", "--guideline", "没有这份指南"),
    case("projects import", "{bad_xlsx}", "--guideline", "联动", database="unreachable"),
    case("projects import", "{bad_xlsx}"),
    case("export", "projects", "{missing_dir}/projects.xlsx"),
    case("export", "at-risk", "{tmp}"),
    case("export", "disbursements", "{a_file}/pay.xlsx"),
    case("export", "checklist", "YS2099-999", "{tmp}/checklist.xlsx", subprocess=True),
    case("export", "checklist", "YS2099-999", "{tmp}/checklist.doc"),
    case("export", "checklist", "{tmp}/checklist.xlsx"),
    case("export", "projects", "a.xlsx", "b.xlsx"),
    case("export", "everything", "{tmp}/all.xlsx"),
    case("export", "projects", "{tmp}/projects.xlsx", database="missing"),
    case("export", "projects", "{tmp}/projects.xlsx", database="uninitialised"),
    case("export", "projects", "{tmp}/projects.xlsx", database="unreachable"),
    case("jobs list", "extra"),
    case("jobs run", "no-such-job"),
    case("jobs run", "assess", "--now", "2027-13-45"),
    case("jobs run", "assess", "--now", "2027-01-08T10:00:00"),
    case("jobs run", "assess", "--now"),
    case("jobs run", "assess", database="unreachable"),
    case("audit verify", database="missing"),
    case("audit verify", database="uninitialised"),
    case("audit verify", database="unreachable"),
    case("audit verify", database="tampered"),
]
# And every command, present and future, with an option it does not have.
CASES += [Case(command, ("--no-such-option",)) for command in leaf_commands()]


def test_every_command_has_bad_inputs():
    commands = set(leaf_commands())
    assert len(commands) >= 15
    covered = {c.command for c in CASES if c.args != ("--no-such-option",)}
    assert commands - covered == set(), "give the new command its bad inputs in CASES"
    assert covered - commands == set()


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, str]:
    """The files the cases name, and the databases (URLs) they run against."""
    root = tmp_path_factory.mktemp("cli-failures")
    ready = root / "ready.db"
    engine = make_engine(f"sqlite:///{ready}")
    upgrade_database(engine)
    engine.dispose()
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{ready}", "TRACKER_DATA_DIR": str(root / "files")}
    subprocess.run([sys.executable, "-m", "tracker", "guidelines", "import", str(SAMPLE), "--programme", "联动"],
                   env={**os.environ, **env}, capture_output=True, check=True, timeout=120)
    tampered = root / "tampered.db"
    with sqlite3.connect(ready) as source, sqlite3.connect(tampered) as copy:
        source.backup(copy)
    with sqlite3.connect(tampered) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET username = 'mallory' WHERE id = 1")
    (root / "uninitialised.db").write_bytes(b"")
    (root / "not-a-database.db").write_bytes(b"this is no SQLite database\n" * 10)
    (root / "a-file").write_text("a file, not a folder")
    (root / "bad.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (root / "bad.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (root / "empty.txt").write_bytes(b"")
    (root / "no-headings.txt").write_text("只有一段文字，没有任何标题。\n", "utf-8")
    (root / "no-manifest.bak").write_bytes(b"a backup without its manifest")
    (root / "bad-manifest.bak").write_bytes(b"a backup with a broken manifest")
    (root / "bad-manifest.bak.manifest.json").write_text('{"sha256": [', "utf-8")
    assert cli_in_process(["backup", str(root / "good.bak")], env) == 0
    altered = root / "altered.bak"
    data = bytearray((root / "good.bak").read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    (root / "altered.bak.manifest.json").write_bytes((root / "good.bak.manifest.json").read_bytes())
    postgresql = root / "postgresql.bak"
    postgresql.write_bytes((root / "good.bak").read_bytes())
    (root / "postgresql.bak.manifest.json").write_text(
        (root / "good.bak.manifest.json").read_text("utf-8").replace('"dialect": "sqlite"', '"dialect": "postgresql"'),
        "utf-8")
    return {
        "tmp": str(root), "missing_dir": str(root / "nowhere"), "a_file": str(root / "a-file"),
        "bad_docx": str(root / "bad.docx"), "bad_xlsx": str(root / "bad.xlsx"), "empty_txt": str(root / "empty.txt"),
        "no_headings_txt": str(root / "no-headings.txt"), "no_manifest": str(root / "no-manifest.bak"),
        "bad_manifest": str(root / "bad-manifest.bak"), "altered_backup": str(altered),
        "postgresql_backup": str(postgresql), "data_dir": str(root / "files"),
        # databases
        "ready": f"sqlite:///{ready}", "production": f"sqlite:///{ready}", "tampered": f"sqlite:///{tampered}",
        "missing": f"sqlite:///{root / 'nowhere' / 'tracker.db'}",
        "uninitialised": f"sqlite:///{root / 'uninitialised.db'}",
        "not_a_database": f"sqlite:///{root / 'not-a-database.db'}",
        "under_a_file": f"sqlite:///{root / 'a-file' / 'tracker.db'}",
        "unreachable": "postgresql://nobody@127.0.0.1:1/none",
        "unparsable": "this is not a database address",
        "unsupported": "mysql://tracker@db.internal/tracker",
    }


def cli_in_process(argv: list[str], env: dict[str, str]) -> int:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        return cli.main(argv)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_a_bad_input_is_one_chinese_line_and_a_failure(bad: Case, paths, busy_port, monkeypatch, capsys):
    values = {**paths, "busy_port": str(busy_port)}
    argv = [*bad.command, *(arg.format(**values) for arg in bad.args)]
    env = {"TRACKER_DATABASE_URL": paths[bad.database], "TRACKER_DATA_DIR": paths["data_dir"],
           "TRACKER_ENV": "production" if bad.database == "production" else "dev"}
    if bad.subprocess:
        done = subprocess.run([sys.executable, "-m", "tracker", *argv], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env={**os.environ, **env}, timeout=120, check=False)
        status, err = done.returncode, done.stderr
    else:
        monkeypatch.setattr(sys, "stdin", io.StringIO(bad.stdin))  # not a terminal
        status = cli_in_process(argv, env)
        err = capsys.readouterr().err
    assert status != 0, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("错误：") and CHINESE.search(lines[0]), err
    assert "意外错误" not in err, f"a failure no command foresaw: give it its own message ({err})"


def test_a_setting_the_environment_gets_wrong_is_one_line(paths, capsys):
    env = {"TRACKER_DATABASE_URL": paths["ready"], "TRACKER_DATA_DIR": paths["data_dir"],
           "TRACKER_TRUSTED_PROXIES": "10.0.0.1, proxy.internal"}
    assert cli_in_process(["jobs", "list"], env) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["错误：TRACKER_TRUSTED_PROXIES 中的“proxy.internal”不是 IP 地址或网段"]
