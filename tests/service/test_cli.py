"""The `tracker` command: help, demo, database errors, backup and restore (on a SQLite file of its own)."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys

import pytest

from tracker import cli
from tracker.demo.accounts import DEMO_EXPERTS
from tracker.settings import get_settings


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    # The demo writes evidence files: into the test's folder, not the checkout's var/files.
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "files"))
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "cli.db"
    get_settings.cache_clear()


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "tracker", "--help"], capture_output=True, text=True, check=True)
    for command in ("serve", "scheduler", "demo", "db", "backup", "restore", "users"):
        assert command in result.stdout


def test_unreachable_database_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        assert cli.main(["db", "upgrade"]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "无法连接数据库" in err and "Traceback" not in err


def test_demo_creates_every_login_and_refuses_to_run_twice(cli_db, capsys):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    for username in ("admin", "officer", "grantee", "expert", "finance"):
        assert username in out
    with sqlite3.connect(cli_db) as conn:
        users = dict(conn.execute("SELECT username, role FROM users"))
        # The five logins, and the other experts that acceptance committees need (tracker/demo/accounts.py).
        assert users == {"admin": "admin", "officer": "officer", "grantee": "grantee", "expert": "expert",
                         "finance": "finance", **{username: "expert" for username, *_ in DEMO_EXPERTS}}
        assert conn.execute("SELECT count(*) FROM organisations").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM projects").fetchone()[0] == 60
        # Every status, 在研 to 终止 (the acceptance states included: test_demo_invariants.py)
        assert conn.execute("SELECT count(DISTINCT status) FROM projects").fetchone()[0] == 8
        hashes = [h for (h,) in conn.execute("SELECT password_hash FROM users")]
        assert all(h.startswith("$argon2id$v=19$m=65536,t=3,p=4$") for h in hashes)
    assert cli.main(["demo"]) == 1
    assert "--force" in capsys.readouterr().err


def test_production_refuses_a_database_with_demo_accounts(cli_db, monkeypatch, capsys):
    assert cli.main(["demo"]) == 0
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("TRACKER_SECRET_KEY", "p" * 48)
    monkeypatch.setenv("TRACKER_ALLOWED_HOSTS", "tracker.example.org")
    get_settings.cache_clear()
    assert cli.main(["serve", "--no-scheduler"]) == 1
    assert "演示账号" in capsys.readouterr().err


def test_backup_and_restore_round_trip(cli_db, tmp_path, capsys):
    assert cli.main(["demo"]) == 0
    backup = tmp_path / "backups" / "tracker.bak"
    assert cli.main(["backup", str(backup)]) == 0
    assert backup.exists() and (tmp_path / "backups" / "tracker.bak.manifest.json").exists()

    with sqlite3.connect(cli_db) as conn:
        conn.execute("DELETE FROM users WHERE username = 'finance'")
    assert cli.main(["restore", str(backup)]) == 1
    assert "--force" in capsys.readouterr().err
    assert cli.main(["restore", str(backup), "--force"]) == 0
    assert "已校验" in capsys.readouterr().out
    with sqlite3.connect(cli_db) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 5 + len(DEMO_EXPERTS)


def test_restore_refuses_a_damaged_backup(cli_db, tmp_path, capsys):
    assert cli.main(["demo"]) == 0
    backup = tmp_path / "tracker.bak"
    assert cli.main(["backup", str(backup)]) == 0
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.write_bytes(bytes(data))
    assert cli.main(["restore", str(backup), "--force"]) == 1
    assert "校验和" in capsys.readouterr().err


def test_restore_into_an_empty_database_needs_no_force(cli_db, tmp_path, monkeypatch, capsys):
    assert cli.main(["demo"]) == 0
    backup = tmp_path / "tracker.bak"
    assert cli.main(["backup", str(backup)]) == 0
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    get_settings.cache_clear()
    assert cli.main(["restore", str(backup)]) == 0
    with sqlite3.connect(tmp_path / "fresh.db") as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 5 + len(DEMO_EXPERTS)


def test_users_create_reads_the_password_from_stdin(cli_db, monkeypatch, capsys):
    import io

    assert cli.main(["db", "upgrade"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-enough-password\n"))
    assert cli.main(["users", "create", "wang", "--role", "officer", "--password-stdin"]) == 0
    assert cli.main(["users", "create", "li", "--role", "boss", "--password-stdin"]) == 1
    assert "未知角色" in capsys.readouterr().err


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_demo_progress_is_a_line_per_stage_and_tenth_in_a_log_and_a_bar_on_a_terminal():
    log = _Stream(tty=False)
    progress = cli._Progress(log)
    progress("示例指南", 0, 0)
    for done in range(1, 10_001):
        progress("演示项目", done, 10_000)
    progress.close()
    lines = log.getvalue().splitlines()
    assert lines[0] == "示例指南…"
    assert [line.split("（")[0] for line in lines[1:-1]] == [f"演示项目 {n}/10000" for n in (1, *range(1000, 10_001, 1000))]
    assert lines[-1].startswith("用时")

    terminal = _Stream(tty=True)
    progress = cli._Progress(terminal)
    for done in range(1, 101):
        progress("演示进展报告", done, 100)
    progress.close()
    text = terminal.getvalue()
    assert "\r演示进展报告 [" in text and "100/100" in text and text.count("\n") == 2  # the bar, then the time


def test_export_checklist_of_a_meeting_or_a_project(cli_db, tmp_path, capsys):
    """`tracker export checklist CODE PATH`: a meeting's code gives all its projects in one file, a project's code
    that project's checklist; the suffix picks Excel, PDF or the printable page; a wrong code is one clear line."""
    from openpyxl import load_workbook
    from sqlalchemy.orm import sessionmaker

    from tests import builders as build
    from tests.service.test_checklist import examined_meeting
    from tracker.db import make_engine

    assert cli.main(["db", "upgrade"]) == 0
    engine = make_engine(f"sqlite:///{cli_db}")
    try:
        with sessionmaker(bind=engine, expire_on_commit=False)() as db:
            made = examined_meeting(db, tmp_path / "files", second=True)
            build.project(db, code="CK-LATER", officer=made["officer"], confirmed=True)  # has not applied
            code = made["meeting"].code
    finally:
        engine.dispose()
    capsys.readouterr()

    xlsx, pdf, html = tmp_path / "meeting.xlsx", tmp_path / "meeting.pdf", tmp_path / "CK-2.html"
    assert cli.main(["export", "checklist", code, str(xlsx)]) == 0
    assert f"已导出：{xlsx}" in capsys.readouterr().out
    assert load_workbook(xlsx).sheetnames == ["汇总", "CK-1", "CK-2"]
    assert cli.main(["export", "checklist", code, str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert cli.main(["export", "checklist", "CK-2", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "智能控制系统开发" in page and "高精度光纤传感器研制与产业化" not in page
    assert cli.main(["export", "projects", str(tmp_path / "projects.xlsx")]) == 0  # the other kinds still work
    capsys.readouterr()

    wrong = tmp_path / "x"
    for args, words in ((["NO-SUCH", f"{wrong}.xlsx"], "找不到验收会或项目“NO-SUCH”"),
                        (["CK-LATER", f"{wrong}.pdf"], "项目CK-LATER尚未申请验收"),
                        ([code, f"{wrong}.docx"], "应以 .xlsx（Excel）、.pdf 或 .html（打印页）结尾"),
                        ([f"{wrong}.xlsx"], "用法：tracker export checklist CODE PATH")):
        assert cli.main(["export", "checklist", *args]) == 1, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
    assert not list(tmp_path.glob("x.*"))  # nothing written


def test_export_disbursements_writes_the_payment_list_of_every_disbursement(cli_db, tmp_path, capsys):
    """`tracker export disbursements PATH.xlsx`: the payment list the finance pages export, of every row but the
    voided ones, with its scope noted; the kind takes a path only."""
    from openpyxl import load_workbook
    from sqlalchemy.orm import sessionmaker

    from tests.service.test_payment_list import TITLES, ledger
    from tracker.db import make_engine

    assert cli.main(["db", "upgrade"]) == 0
    engine = make_engine(f"sqlite:///{cli_db}")
    try:
        with sessionmaker(bind=engine, expire_on_commit=False)() as db:
            ledger(db)
    finally:
        engine.dispose()
    capsys.readouterr()

    path = tmp_path / "payments.xlsx"
    assert cli.main(["export", "disbursements", str(path)]) == 0
    assert f"已导出：{path}" in capsys.readouterr().out
    book = load_workbook(path)
    sheet = book["支付清单"]
    assert [c.value for c in sheet[1]] == TITLES
    codes = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]]
    assert {"PL-1", "PL-2", "PL-3", "PL-4", "PL-5", "PL-6", "PL-7"} == set(codes)
    assert "已作废" not in [row[11] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sheet.cell(row=sheet.max_row, column=2).value.startswith("合计")
    assert ("范围", "全部拨付（命令行导出）") in [(a, b) for a, b in book["说明"].iter_rows(values_only=True)]
    assert cli.main(["export", "disbursements", "CODE", str(path)]) == 1
    assert "用法：tracker export disbursements PATH" in capsys.readouterr().err
