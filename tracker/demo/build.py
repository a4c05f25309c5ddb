"""The whole demo of `tracker demo`, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tracker.db import refresh_statistics
from tracker.demo import mail
from tracker.demo.accounts import create_demo
from tracker.demo.projects import load_demo_guidelines, load_demo_projects
from tracker.demo.reports import load_demo_reports, summary_line
from tracker.files.store import EvidenceStore
from tracker.services.work_calendar import seed_demo_calendar


def build_demo(db: Session, *, now: datetime, data_dir: Path, projects: int = 60) -> list[str]:
    """Accounts, working days, the seed guidelines, `projects` projects, their report histories and the mail they
    caused; returns the lines that tell the operator what was made."""
    create_demo(db, now=now)
    seed_demo_calendar(db, now=now)
    documents = load_demo_guidelines(db, now=now)
    created = load_demo_projects(db, documents, now=now, count=projects)
    reports = load_demo_reports(db, now=now, store=EvidenceStore(data_dir / "evidence"))
    mails = mail.load_demo_mail(db, now=now)
    refresh_statistics(db)
    return [f"演示项目 {created} 个", summary_line(reports), mail.summary_line(mails)]
