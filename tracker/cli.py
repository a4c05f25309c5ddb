"""The `tracker` command (DESIGN §4). Every sub-command is listed by `tracker --help`."""

from __future__ import annotations

import argparse
import getpass
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tracker import clock
from tracker.db import DatabaseUnavailable, check_connection, make_engine, make_session_factory, session_scope
from tracker.settings import Settings, SettingsError, get_settings, production_problems


class CommandError(Exception):
    """Printed as one line on stderr; the command exits 1."""


def _engine(settings: Settings, *, create: bool = False, current: bool = True):
    """The engine of TRACKER_DATABASE_URL, connected. Unless `create`, a SQLite file must exist (connecting would
    create an empty database, and the command would end in "no such table"); with `current` (commands that use the
    application's tables) the schema must be the newest."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    raw = settings.database_url
    shown = raw if "@" not in raw else raw.split("://", 1)[0] + "://…@" + raw.rsplit("@", 1)[1]  # no password
    try:
        url = make_url(raw)
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise CommandError(f"不支持的数据库 {url.get_backend_name()}（TRACKER_DATABASE_URL={shown}）："
                               "只支持 SQLite 和 PostgreSQL")
        file = Path(url.database) if url.get_backend_name() == "sqlite" and url.database not in (
            None, "", ":memory:") else None
        if file is not None and any(p.exists() and not p.is_dir() for p in file.parents):
            raise CommandError(f"数据库文件的路径不可用：{file} 所在路径中有一个文件而不是目录"
                               "（请检查 TRACKER_DATABASE_URL）")
        if file is not None and not create and not file.is_file():
            raise CommandError(f"数据库文件不存在：{file}（请检查 TRACKER_DATABASE_URL，"
                               "或先运行 tracker db upgrade / tracker demo 建立数据库）")
        engine = make_engine(raw)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise CommandError(f"无法识别数据库地址 TRACKER_DATABASE_URL={shown}：{_one_line(exc)}；"
                           "应形如 sqlite:///var/tracker.db 或 postgresql://用户@主机:5432/库名") from exc
    except OSError as exc:
        raise CommandError(f"无法建立数据库文件所在的目录：{_one_line(exc)}") from exc
    check_connection(engine)
    if current:
        _require_schema(engine)
    return engine


def _require_schema(engine) -> None:
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    from tracker.schema import alembic_config

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            raise CommandError("数据库尚未初始化（没有任何表）：请先运行 tracker db upgrade，"
                               "或检查 TRACKER_DATABASE_URL")
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        raise CommandError(f"数据库结构不是最新版本（当前 {current}，最新 {head}）：请先运行 tracker db upgrade")


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line; an OSError as "FILE：reason"."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    filename = getattr(exc, "filename", None)
    if filename is not None and getattr(exc, "strerror", None):
        text = f"{filename}：{text}"
    return " ".join(text.split())


def _upgrade(settings: Settings):
    from sqlalchemy import func, select

    from tracker.models.calendar import WorkCalendarYear
    from tracker.schema import upgrade_database
    from tracker.services.audit import Actor
    from tracker.services.work_calendar import seed_from_chinesecalendar

    engine = _engine(settings, create=True, current=False)
    upgrade_database(engine)
    # A new installation starts with the working days chinesecalendar knows (the admin adds later years).
    with session_scope(make_session_factory(engine)) as db:
        if not db.scalar(select(func.count()).select_from(WorkCalendarYear)):
            seed_from_chinesecalendar(db, actor=Actor.system("install"), now=clock.now())
    return engine


# --- db -----------------------------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> None:
    _upgrade(settings)
    print("数据库已升级到最新版本")


# --- demo ---------------------------------------------------------------------------------------


def _print_demo_logins() -> None:
    from tracker.demo.accounts import DEMO_PASSWORD, DEMO_USERS

    print(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for username, role, _name in DEMO_USERS:
        print(f"  {username:<8} {role.label}")


class _Progress:
    """How far `tracker demo` has come, on stderr: a bar redrawn in place on a terminal, otherwise (a log, a pipe)
    a line per stage and per tenth of a long one ("演示项目 2000/10000"). A large demo takes minutes; silence
    for that long looks like a hang."""

    WIDTH = 30

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.stage = ""
        self.drawn = 0.0  # when the bar was last redrawn (at most ten times a second)
        self.tenth = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self._end_line()
            self.stage, self.tenth, self.drawn = stage, -1, 0.0
            if not total:
                self._write(f"{stage}…")
        elapsed = time.monotonic() - self.start
        if not total:
            return
        if self.tty:
            if done == total or time.monotonic() - self.drawn >= 0.1:
                filled = self.WIDTH * done // total
                bar = "#" * filled + "-" * (self.WIDTH - filled)
                self.stream.write(f"\r{stage} [{bar}] {done}/{total}  {elapsed:.0f} 秒")
                self.stream.flush()
                self.drawn = time.monotonic()
            return
        tenth = 10 * done // total
        if tenth > self.tenth:
            self.tenth = tenth
            self._write(f"{stage} {done}/{total}（{elapsed:.0f} 秒）")

    def _write(self, line: str) -> None:
        if self.tty:
            self.stream.write(f"{line}\n")
        else:
            print(line, file=self.stream, flush=True)
        self.stream.flush()

    def _end_line(self) -> None:
        if self.tty and self.stage and self.drawn:
            self.stream.write("\n")
            self.stream.flush()

    def close(self) -> None:
        self._end_line()
        self.stage = ""
        self._write(f"用时 {time.monotonic() - self.start:.0f} 秒")


def _create_demo(engine, data_dir: Path, projects: int = 60) -> None:
    from tracker.demo.build import build_demo

    progress = _Progress()
    with session_scope(make_session_factory(engine)) as db:
        lines = build_demo(db, now=clock.now(), data_dir=data_dir, projects=projects, progress=progress)
        progress("保存", 0, 0)
    progress.close()
    print("\n".join(lines))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    from tracker.backup import table_counts

    if args.projects < 1:
        raise CommandError(f"--projects 应为正整数，而不是 {args.projects}")

    engine = _upgrade(settings)
    counts = table_counts(engine)
    if counts.get("users"):
        if not args.force:
            raise CommandError("数据库中已有数据；要清空并重建演示数据请加 --force")
        _reset(engine)
        engine = _upgrade(settings)
    _create_demo(engine, settings.data_dir, projects=args.projects)
    print(f"演示数据库已建立：{engine.url.render_as_string(hide_password=True)}")
    _print_demo_logins()


def _reset(engine) -> None:
    from tracker.db import Base

    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


# --- serve / scheduler --------------------------------------------------------------------------


def _refuse_insecure_production(settings: Settings, engine) -> None:
    from tracker.services.accounts import has_demo_accounts

    with session_scope(make_session_factory(engine)) as db:
        problems = production_problems(settings, has_demo_accounts=has_demo_accounts(db))
    if problems:
        raise CommandError("生产模式拒绝启动：" + "；".join(problems))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    # Said at once: on a loaded machine the imports and the first demo take a while, and silence looks like a hang.
    print("正在启动：检查数据库…" + ("（首次启动将建立演示数据库，约需半分钟）" if args.demo else ""), flush=True)
    import uvicorn

    from tracker.backup import table_counts

    if args.demo and settings.is_production:
        raise CommandError("生产模式不能使用 --demo")
    _check_address(args.host, args.port)
    engine = _upgrade(settings)
    if args.demo:
        if not table_counts(engine).get("users"):
            print("正在建立演示数据库…", flush=True)
            _create_demo(engine, settings.data_dir)
            print("已创建演示数据库")
        _print_demo_logins()
    _refuse_insecure_production(settings, engine)
    print("正在加载网页应用…", flush=True)
    from tracker.web.app import create_app

    factory = make_session_factory(engine)
    scheduler = None
    if not args.no_scheduler:
        from reminders.scheduler import start_in_process

        scheduler = start_in_process(factory)
    url = f"http://{args.host}:{args.port}/"

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # listening: now the address works (a port in use ends the command instead)
                print(f"已就绪，打开浏览器访问 {url}（按 Ctrl+C 停止；换端口用 --port）", flush=True)

    config = uvicorn.Config(create_app(settings, session_factory=factory), host=args.host, port=args.port,
                            server_header=False, proxy_headers=False, log_level="info")
    server = Server(config)
    try:
        server.run()
    finally:
        if scheduler is not None:
            scheduler.stop()
    if not server.started:
        raise CommandError(f"网页服务未能启动：{args.host}:{args.port} 可能已被占用，可用 --port 换一个端口")


def _check_address(host: str, port: int) -> None:
    """Refuse a port in use or a host that is not this machine's before anything loads (uvicorn would find out only
    after starting the application, in a page of log lines and a traceback)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise CommandError(f"无法识别监听地址 {host}：{_one_line(exc)}") from exc
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a port in TIME_WAIT is free
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(f"无法在 {host}:{port} 上监听（{exc.strerror or exc}）：端口可能已被占用，"
                               "可用 --port 换一个端口") from exc


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> None:
    from reminders.scheduler import run_forever

    engine = _engine(settings)
    _refuse_insecure_production(settings, engine)
    run_forever(make_session_factory(engine))


# --- jobs ---------------------------------------------------------------------------------------


def _moment(text: str | None):
    """--now: ISO 8601 with an offset or Z (2027-01-08T10:00:00+08:00); without it, the clock."""
    from datetime import datetime

    if not text:
        return clock.now()
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise CommandError(f"--now 无法识别：{text}（格式如 2027-01-08T10:00:00+08:00）") from exc
    if moment.tzinfo is None:
        raise CommandError(f"--now 必须带时区，如 {text}+08:00 或 {text}Z")
    return moment


def cmd_jobs_list(args: argparse.Namespace, settings: Settings) -> None:
    from reminders.jobs import JOBS

    for job in JOBS.values():
        every = f"每{job.every_minutes}分钟" if job.every_minutes < 60 else f"每{job.every_minutes // 60}小时"
        print(f"{job.name:<14} {every:<8} {job.description}")


def cmd_jobs_run(args: argparse.Namespace, settings: Settings) -> None:
    from reminders.jobs import COUNT_LABELS, JOBS
    from reminders.runner import run_job

    if args.name not in JOBS:
        raise CommandError(f"没有名为“{args.name}”的任务；可用：{'、'.join(JOBS)}")
    now = _moment(args.now)
    outcome = run_job(make_session_factory(_upgrade(settings)), args.name, now=now, runner="cli")
    counts = "，".join(f"{COUNT_LABELS.get(key, key)} {value}" for key, value in outcome.counts.items()) or "无"
    if not outcome.ok:
        raise CommandError(f"任务 {args.name} 失败：{outcome.error}")
    print(f"任务 {args.name} 完成（{clock.local(now):%Y-%m-%d %H:%M}）：{counts}")


# --- backup / restore ---------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    from tracker.backup import BackupError, backup

    path = Path(args.path)
    try:
        manifest = backup(_engine(settings, current=False), path, evidence_root=settings.data_dir / "evidence")
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    print(manifest.summary(path))


def cmd_restore(args: argparse.Namespace, settings: Settings) -> None:
    from tracker.backup import BackupError, restore

    path = Path(args.path)
    if not path.is_file():  # before connecting: a wrong path must not create an empty SQLite file
        raise CommandError(f"备份文件不存在：{path}")
    try:
        restored = restore(_engine(settings, create=True, current=False), path, force=args.force,
                           evidence_root=settings.data_dir / "evidence")
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    print(restored.summary())


# --- users --------------------------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    """The new user's password: the first line of standard input with --password-stdin, otherwise typed at the
    terminal (never echoed). Without a terminal there is no one to type it: refused, rather than getpass failing."""
    if from_stdin:
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line.strip("\r\n"):
            raise CommandError("--password-stdin：标准输入的第一行为空，没有读到密码")
        return line.rstrip("\r\n")
    if sys.stdin is None or not sys.stdin.isatty():
        raise CommandError("没有终端可以输入密码：请用 --password-stdin 从标准输入传入密码"
                           "（如 printf '%s\\n' \"$PASSWORD\" | tracker users create … --password-stdin）")
    try:
        return getpass.getpass("密码：")
    except (EOFError, KeyboardInterrupt):
        raise CommandError("没有输入密码，未创建用户") from None


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> None:
    from sqlalchemy import select

    from tracker.models import Organisation, Role
    from tracker.services.accounts import AccountError, create_user
    from tracker.services.audit import Actor

    try:
        role = Role(args.role)
    except ValueError:
        raise CommandError(f"未知角色 {args.role}（可选：{', '.join(r.value for r in Role)}）") from None
    engine = _engine(settings)
    password = _read_password(args.password_stdin)
    with session_scope(make_session_factory(engine)) as db:
        org = None
        if args.organisation:
            org = db.scalar(select(Organisation).where(Organisation.uscc == args.organisation.upper()))
            if org is None:
                raise CommandError(f"找不到统一社会信用代码为 {args.organisation} 的单位")
        try:
            create_user(db, username=args.username, password=password, role=role, now=clock.now(),
                        display_name=args.name, organisation=org, email=args.email,
                        actor=Actor.system("cli"))
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
    print(f"已创建用户 {args.username}（{role.label}）")


# --- guidelines ---------------------------------------------------------------------------------


def _parse_files(paths: list[str]):
    from imports.guidelines import GuidelineReadError, parse_guideline, read_source

    parsed = []
    for path in paths:
        try:
            parsed.append(parse_guideline(read_source(path)))
        except GuidelineReadError as exc:
            raise CommandError(f"{path}：{exc}") from exc
        except OSError as exc:
            raise CommandError(f"无法读取 {path}：{exc.strerror or exc}") from exc
    return parsed


def _print_records(records, fmt: str) -> None:
    import json

    for record in records:
        if fmt == "jsonl":
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(record)


def cmd_guidelines_tree(args: argparse.Namespace, settings: Settings) -> None:
    from imports.guidelines import tree_records

    for parsed in _parse_files(args.files):
        records = tree_records(parsed)
        if args.format == "jsonl":
            _print_records(records, "jsonl")
            continue
        for r in records:
            mark = "◆" if r["leaf"] else "▸"
            flags = f"  ⚠ {'; '.join(f['message'] for f in r['flags'])}" if r["flags"] else ""
            print(f"{'  ' * (len(r['path']) - 1)}{mark} {r['title']}  (L{r['line']}){flags}")


class Progress:
    """A one-line progress bar on stderr for long imports (silent when stderr is not a terminal)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = max(total, 1), label, 0
        self.live = sys.stderr.isatty()

    def step(self, what: str) -> None:
        self.done += 1
        width = 30
        filled = int(width * self.done / self.total)
        line = f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {what[:40]}"
        if self.live:
            print(line, end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.live:
            print(file=sys.stderr)


def cmd_guidelines_import(args: argparse.Namespace, settings: Settings) -> None:
    from imports.guideline_loader import preview_upload, store_upload
    from imports.guidelines import GuidelineReadError
    from tracker.services.audit import Actor

    if args.programme and len(args.files) > 1:
        raise CommandError("--programme 只能与一个文件一起使用")
    files = []
    for path in args.files:
        try:
            files.append((path, Path(path).read_bytes()))
        except OSError as exc:
            raise CommandError(f"无法读取 {path}：{exc.strerror or exc}（未写入任何数据）") from exc
    engine = _upgrade(settings)
    progress = Progress(len(files) * 2, "导入指南")
    lines = []
    # The upload page's use case, as the system; one transaction for all files: every file is stored or none.
    with session_scope(make_session_factory(engine)) as db:
        for path, data in files:
            try:
                upload = preview_upload(db, Path(path).name, data, user=None, programme_name=args.programme or "")
            except GuidelineReadError as exc:
                progress.close()
                raise CommandError(f"{path}：{exc}（未写入任何数据）") from exc
            progress.step(Path(path).name)
            result = store_upload(db, upload, user=None, actor=Actor.system("cli"), now=clock.now())
            doc = result.document
            if result.created:
                state = f"v{doc.version}"
                if result.replaced:
                    state = f"新版本 v{doc.version}（替换 v{result.replaced.version}）"
            else:
                state = "内容未变，已跳过"
            lines.append(f"{Path(path).name}：{doc.programme.name} {state}；{doc.leaf_count} 个方向，"
                         f"{doc.clause_count} 条考核指标，{len(doc.flags)} 个待核对标记")
            progress.step(Path(path).name)
    progress.close()
    print("\n".join(lines))


def interpret_for_records(text: str) -> list[dict]:
    from imports.guideline_loader import interpret

    return interpret(text)


def cmd_guidelines_parse(args: argparse.Namespace, settings: Settings) -> None:
    from imports.guidelines import clause_records

    for parsed in _parse_files(args.files):
        records = clause_records(parsed, interpret_for_records)
        if args.format == "jsonl":
            _print_records(records, "jsonl")
            continue
        for r in records:
            targets = "；".join(
                f"{t['metric']} {t['op'] or ''} {t['value'] if t['value'] is not None else ''}{t['unit'] or ''}".strip()
                for t in r["targets"]
            )
            print(f"L{r['line']} {r['direction']} {r['label'] or ''} {r['text']}\n    → [{r['combine']}] {targets}")


# --- projects -----------------------------------------------------------------------------------


def cmd_projects_import(args: argparse.Namespace, settings: Settings) -> None:
    from imports.award_loader import find_guideline, import_award_list, preview_award_list
    from tracker.services.audit import Actor

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"无法读取 {path}：{exc.strerror or exc}") from exc
    engine = _upgrade(settings)
    with session_scope(make_session_factory(engine)) as db:
        document = find_guideline(db, args.guideline)
        if document is None:
            raise CommandError(f"找不到指南“{args.guideline}”（请使用指南标题、项目计划名称或导入时的文件名）")
        actor = Actor.system("cli")
        preview = preview_award_list(db, path.name, data, document, actor=actor, now=clock.now())
        problems = preview.problems
        if not problems and not args.dry_run:
            result = import_award_list(db, preview, document, actor=actor, now=clock.now())
            problems = tuple(result.problems)
        if problems:
            # CommandError leaves session_scope by rolling back: nothing is written. One line per error (DESIGN
            # §4); a problem with the file as a whole is the one line.
            lines = "\n".join(str(p) for p in problems)
            start = "\n" if len(problems) > 1 else ""
            raise CommandError(f"立项清单有 {len(problems)} 处错误，未写入任何数据：{start}{lines}")
        if args.dry_run:
            print(f"检查通过（未写入）：将新建 {len(preview.creating)} 个项目，{len(preview.unchanged)} 个已存在且一致")
            return
        print(f"导入完成：新建 {len(result.created)} 个项目，{len(result.unchanged)} 个已存在且一致，"
              f"新建单位 {len(result.new_organisations)} 个")
        for username, token in result.activations:
            print(f"  承担单位账号 {username} 的激活链接：/activate/{token}")


# --- export -------------------------------------------------------------------------------------


CHECKLIST_FORMATS = {".xlsx": "Excel", ".pdf": "PDF", ".html": "HTML", ".htm": "HTML"}


def _export_arguments(args: argparse.Namespace) -> tuple[str | None, Path]:
    """(CODE, PATH) of `export KIND [CODE] PATH`: only the checklist takes a code."""
    values = list(args.values)
    if args.kind == "checklist":
        if len(values) != 2:
            raise CommandError("用法：tracker export checklist CODE PATH（CODE 为验收会编号或项目编号）")
        return values[0].strip(), Path(values[1])
    if len(values) != 1:
        raise CommandError(f"用法：tracker export {args.kind} PATH")
    return None, Path(values[0])


def _checklist(db, code: str, path: Path, now) -> bytes:
    """The checklist of a meeting (all its projects) or of one project, in the format PATH's suffix names."""
    from sqlalchemy import select

    from tracker.exports.checklist import (
        cases_for_meeting,
        cases_for_project,
        checklist_html,
        checklist_pdf,
        checklist_workbook,
    )
    from tracker.exports.pdf import PdfError
    from tracker.models import Project
    from tracker.services.committees import meeting_by_code

    meeting = meeting_by_code(db, code)
    if meeting is not None:
        cases = cases_for_meeting(db, meeting)
        if not cases:
            raise CommandError(f"验收会{code}没有验收项目")
    else:
        project = db.scalar(select(Project).where(Project.code == code))
        if project is None:
            raise CommandError(f"找不到验收会或项目“{code}”（请使用验收会编号，如 YS2026-001，或项目编号）")
        cases = cases_for_project(db, project)
        if not cases:
            raise CommandError(f"项目{code}尚未申请验收，没有验收清单")
    kind = CHECKLIST_FORMATS[path.suffix.lower()]
    if kind == "Excel":
        return checklist_workbook(cases, generated_at=now)
    if kind == "HTML":
        return checklist_html(cases, generated_at=now).encode("utf-8")
    try:
        return checklist_pdf(cases, generated_at=now)
    except PdfError as exc:
        raise CommandError(str(exc)) from exc


def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    from tracker import clock

    code, path = _export_arguments(args)
    if args.kind == "checklist" and path.suffix.lower() not in CHECKLIST_FORMATS:
        raise CommandError("验收清单的文件名应以 .xlsx（Excel）、.pdf 或 .html（打印页）结尾")
    if path.is_dir():
        raise CommandError(f"{path} 是一个目录，请给出要写入的文件名")
    if not path.parent.is_dir():
        raise CommandError(f"无法写入 {path}：{path.parent} 不是已有的目录")
    with session_scope(make_session_factory(_engine(settings))) as db:
        if args.kind == "checklist":
            data = _checklist(db, code, path, clock.now())
        elif args.kind == "at-risk":  # red and amber projects, worst first, with their reasons
            from tracker.exports.at_risk_xlsx import at_risk_rows, at_risk_workbook
            from tracker.services.projects import ProjectFilters, filtered_projects

            rows = at_risk_rows(db, filtered_projects(None, ProjectFilters(risk="at_risk", sort="risk")))
            data = at_risk_workbook(rows, generated_at=clock.now(), scope_note="全部风险项目（命令行导出）")
        elif args.kind == "disbursements":  # the payment list: every disbursement but the voided ones
            from tracker.exports.disbursements_xlsx import payment_list_workbook, payment_rows
            from tracker.services.disbursements import disbursements_for

            data = payment_list_workbook(payment_rows(db, disbursements_for(None)), generated_at=clock.now(),
                                         scope_note="全部拨付（命令行导出）")
        else:
            from tracker.exports.projects_xlsx import load_projects, projects_workbook

            data = projects_workbook(load_projects(db), scope_note="全部项目（命令行导出）")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CommandError(f"无法写入 {path}：{exc.strerror or exc}") from exc
    print(f"已导出：{path}")


# --- audit --------------------------------------------------------------------------------------


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> None:
    from sqlalchemy import func, select

    from tracker.models import AuditEntry
    from tracker.services.audit import verify_chain

    with session_scope(make_session_factory(_engine(settings))) as db:
        problems = verify_chain(db)
        total = db.scalar(select(func.count()).select_from(AuditEntry))
    if problems:
        shown = "；".join(f"第 {p.entry_id} 条{p.reason}" for p in problems[:10])
        more = f"；另有 {len(problems) - 10} 处" if len(problems) > 10 else ""
        raise CommandError(f"审计日志校验失败（共 {total} 条，{len(problems)} 处问题）：{shown}{more}")
    print(f"审计日志完整：{total} 条记录，哈希链校验通过")


# --- parser -------------------------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"端口应为 1–65535 的整数，而不是 {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"端口应在 1–65535 之间，而不是 {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tracker", description="科技项目绩效监测与验收跟踪系统")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Callable, help_text: str, parent=sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = add("serve", cmd_serve, "启动网页服务（默认同进程运行定时任务）")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8000)
    p.add_argument("--demo", action="store_true", help="没有数据时先建立演示数据库，并列出演示账号")
    p.add_argument("--no-scheduler", action="store_true", help="不在本进程运行定时任务（生产环境用 tracker scheduler）")

    add("scheduler", cmd_scheduler, "只运行定时任务（生产环境中唯一的调度进程）")

    p = add("demo", cmd_demo, "建立演示数据库：每个角色的演示账号、演示单位、五份示例指南和演示项目")
    p.add_argument("--force", action="store_true", help="清空已有数据后重建")
    p.add_argument("--projects", type=int, default=60, metavar="N", help="演示项目数量（默认60；基准测试可用10000）")

    db = sub.add_parser("db", help="数据库维护", description="数据库维护")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    add("upgrade", cmd_db_upgrade, "把数据库结构升级到最新版本", db_sub)

    p = add("backup", cmd_backup, "在线备份数据库（SQLite 在线备份 / pg_dump），附校验清单")
    p.add_argument("path")
    p = add("restore", cmd_restore, "从备份恢复并校验；目标库非空时需 --force")
    p.add_argument("path")
    p.add_argument("--force", action="store_true")

    users = sub.add_parser("users", help="用户管理", description="用户管理")
    users_sub = users.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    p = add("create", cmd_users_create, "创建用户", users_sub)
    p.add_argument("username")
    p.add_argument("--role", required=True, help="grantee / officer / expert / finance / admin")
    p.add_argument("--organisation", help="项目承担单位的统一社会信用代码（grantee 必填）")
    p.add_argument("--name", help="显示名")
    p.add_argument("--email")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码")

    guidelines = sub.add_parser("guidelines", help="指南文档：解析、查看、导入",
                                description="指南文档：解析、查看、导入")
    g_sub = guidelines.add_subparsers(dest="guidelines_command", metavar="COMMAND", required=True)
    p = add("tree", cmd_guidelines_tree, "打印指南的节点树（不连接数据库）", g_sub)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["text", "jsonl"], default="text")
    p = add("parse", cmd_guidelines_parse, "逐条打印考核指标条款及其解析出的目标（不连接数据库）", g_sub)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["text", "jsonl"], default="text")
    p = add("import", cmd_guidelines_import, "导入指南到数据库（同一文件重复导入不变；内容变化则成为新版本）", g_sub)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--programme", help="项目计划名称（默认取指南标题或文件名）")

    projects = sub.add_parser("projects", help="项目：导入立项清单", description="项目：导入立项清单")
    pr_sub = projects.add_subparsers(dest="projects_command", metavar="COMMAND", required=True)
    p = add("import", cmd_projects_import, "导入立项清单（Excel）：全部成功或全部不写；错误按行列列出", pr_sub)
    p.add_argument("file", metavar="FILE.xlsx")
    p.add_argument("--guideline", required=True, metavar="NAME", help="指南标题、项目计划名称或导入时的文件名")
    p.add_argument("--dry-run", action="store_true", help="只检查，不写入")

    p = add("export", cmd_export, "导出与页面相同的文件：projects PATH（项目及其考核指标，Excel）、"
                                  "at-risk PATH（预警和关注的项目及原因，Excel）、"
                                  "checklist CODE PATH（验收清单：CODE 为验收会编号，如 YS2026-001，导出该会全部项目；"
                                  "或为项目编号；PATH 以 .xlsx、.pdf 或 .html 结尾）、"
                                  "disbursements PATH（后补助拨付支付清单，Excel）")
    p.add_argument("kind", choices=["projects", "at-risk", "checklist", "disbursements"], metavar="KIND",
                   help="projects、at-risk、checklist 或 disbursements")
    # Positional as DESIGN §4 writes them: `export projects PATH`, `export checklist CODE PATH`.
    p.add_argument("values", nargs="+", metavar="[CODE] PATH", help="checklist 先写 CODE，再写 PATH")
    p.usage = "tracker export {projects,at-risk,disbursements} PATH\n       tracker export checklist CODE PATH"

    jobs = sub.add_parser("jobs", help="定时任务：列出、手动运行", description="定时任务：列出、手动运行")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="COMMAND", required=True)
    add("list", cmd_jobs_list, "列出定时任务及其运行间隔", jobs_sub)
    p = add("run", cmd_jobs_run, "立即运行一次定时任务（与定时运行相同，可重复运行）", jobs_sub)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--now", metavar="ISO-DATETIME", help="按这个时刻运行，如 2027-01-08T10:00:00+08:00（默认当前时间）")

    audit_parser = sub.add_parser("audit", help="审计日志", description="审计日志")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    add("verify", cmd_audit_verify, "校验审计日志的哈希链（发现被改动、删除或调换顺序的记录）", audit_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Every failure ends as one line on stderr (in Chinese, starting 错误：) and a non-zero exit:
    1 for a refused or failed command, 2 for a command line argparse could not read, 130 for Ctrl+C. An error no
    command foresaw is reported the same way (TRACKER_DEBUG=1 shows its traceback)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a command line error already printed (2)
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help()
        print("错误：缺少命令（上面列出了全部命令）", file=sys.stderr)
        return 2
    settings = None
    try:
        settings = get_settings()
        args.handler(args, settings)
    except (CommandError, DatabaseUnavailable, SettingsError) as exc:
        _fail(str(exc))
        return 1
    except KeyboardInterrupt:
        _fail("已中断（Ctrl+C）")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: a line rather than a traceback
        from sqlalchemy.exc import SQLAlchemyError

        if settings is not None and settings.debug:
            raise
        if isinstance(exc, SQLAlchemyError):
            _fail(f"数据库操作失败：{_database_error(exc)}")
        elif isinstance(exc, OSError):
            _fail(f"文件操作失败：{_one_line(exc)}")
        else:
            _fail(f"意外错误 {type(exc).__name__}：{_one_line(exc)}（设置 TRACKER_DEBUG=1 可显示详细信息）")
        return 1
    return 0


def _fail(message: str) -> None:
    print(f"错误：{message}", file=sys.stderr, flush=True)


def _database_error(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}"


class _Parser(argparse.ArgumentParser):
    """argparse with its command line errors as one Chinese line (its own are English, after a usage block)."""

    MESSAGES = (
        (re.compile(r"the following arguments are required: (.+)"), "缺少参数 {0}"),
        (re.compile(r"unrecognized arguments: (.+)"), "无法识别的参数 {0}"),
        (re.compile(r"argument (\S+): invalid int value: (.+)"), "参数 {0} 应为整数，而不是 {1}"),
        (re.compile(r"argument (\S+): invalid choice: (\S+) \(choose from (.+)\)"), "参数 {0} 不能是 {1}（可选：{2}）"),
        (re.compile(r"argument (\S+): expected one argument"), "参数 {0} 后面缺少取值"),
        (re.compile(r"argument (\S+): (.+)"), "参数 {0} 有误：{1}"),
    )

    def error(self, message: str):  # type: ignore[override]
        text = " ".join(message.split())
        for pattern, chinese in self.MESSAGES:
            match = pattern.fullmatch(text)
            if match:
                text = chinese.format(*match.groups())
                break
        else:
            text = f"命令行有误：{text}"
        self.exit(2, f"错误：{text}（用法见 {self.prog} --help）\n")


if __name__ == "__main__":
    sys.exit(main())
