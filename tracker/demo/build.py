"""The whole demo of `tracker demo`, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tracker.db import refresh_statistics
from tracker.demo import acceptance, mail
from tracker.demo.accounts import create_demo
from tracker.demo.projects import load_demo_extensions, load_demo_guidelines, load_demo_projects, story_start
from tracker.demo.reports import Progress, load_demo_reports, summary_line
from tracker.files.store import EvidenceStore
from tracker.services.work_calendar import seed_demo_calendar

DEFAULT_PROJECTS = 60


def build_demo(db: Session, *, now: datetime, data_dir: Path, projects: int = DEFAULT_PROJECTS,
               progress: Progress | None = None) -> list[str]:
    """Accounts, working days, the seed guidelines, `projects` projects, their report histories, their acceptance
    and disbursements and the mail they caused; returns the lines that tell the operator what was made.
    `progress(stage, done, total)` hears how far each step has come (total 0: a step without a count).

    The default demo goes through the services call by call, as a user would; a larger one writes the report
    histories and the acceptance steps in bulk (tracker/demo/bulk.py: the same rows, proved equal by a test),
    which is what makes 10,000 projects with a history each take minutes instead of an hour."""
    step = progress or (lambda stage, done, total: None)
    step("演示账号", 0, 0)
    create_demo(db, now=story_start(now))  # the accounts exist before anyone acts in the story
    step("工作日历", 0, 0)
    seed_demo_calendar(db, now=now)
    step("示例指南", 0, 0)
    documents = load_demo_guidelines(db, now=now)
    created = load_demo_projects(db, documents, now=now, count=projects, progress=progress)
    store = EvidenceStore(data_dir / "evidence")
    bulk = projects > DEFAULT_PROJECTS
    reports = load_demo_reports(db, now=now, store=store, bulk=bulk, progress=progress)
    accepted = acceptance.load_demo_acceptance(db, now=now, store=store, bulk=bulk, progress=progress)
    step("项目延期", 0, 0)
    load_demo_extensions(db, now=now)
    step("演示邮件与任务记录", 0, 0)
    mails = mail.load_demo_mail(db, now=now)
    refresh_statistics(db)
    return [f"演示项目 {created} 个", summary_line(reports), acceptance.summary_line(accepted),
            acceptance.payments_line(db), mail.summary_line(mails)]
