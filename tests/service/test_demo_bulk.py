"""The demo at scale writes the report histories and the acceptance steps in bulk (tracker/demo/bulk.py); DESIGN §3
allows it only where a test proves the rows equal to what the services write. This is that test: the same demo
(accounts, calendar, guidelines, projects through the services) built twice into two fresh databases, the
histories and then the acceptance steps once through the services and once through the bulk writers, then every
table compared row by row and column by column: reports (statuses, moments, lock counters), versions (content,
funds, hashes, edit locks), values, evidence, evidence files (and their bytes), reviews, the returned-report mails;
acceptance applications with their self-assessment, figures and evidence, committees and their members, the
experts' checks, verdicts (a corrected one among them) with their certificate figures, milestone checks, the
mails they send and the monitoring refresh an application makes; the disbursements (后补助拨付) the verdicts and
milestone checks create, with what the officer and finance then do (an amount entered, approvals, a return,
payments, a voided row, a reversal due and one recorded, the sweep's row) and their mails; the projects' statuses,
and the audit log with its hash chain — and the rest of the database (targets, task books) left alike."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tracker.db import Base, make_engine, make_session_factory
from tracker.demo.acceptance import load_demo_acceptance
from tracker.demo.accounts import create_demo
from tracker.demo.projects import load_demo_guidelines, load_demo_projects
from tracker.demo.reports import load_demo_reports
from tracker.files.store import EvidenceStore
from tracker.schema import upgrade_database
from tracker.services import audit
from tracker.services.work_calendar import seed_demo_calendar

# Every story of the round (returned, corrected, draft, late, behind…) and every acceptance course (one cycle of
# tracker/demo/projects.py `_ACCEPTANCE_COURSES`): the default demo's projects.
COUNT = 60

# Columns that legitimately differ between two builds: random names and salts, and the ids of value and
# evidence rows (the service deletes and re-inserts them when a draft is saved again; they are compared by
# their version and target or position instead).
IGNORED = {
    "evidence_files": {"storage_name"},
    "outbox": {"message_id"},
    "users": {"password_hash"},
    "report_values": {"id"},
    "report_evidence": {"id"},
}
ORDER = {"report_values": ("version_id", "target_id"), "report_evidence": ("version_id", "position")}
# The data generation counts statements (PostgreSQL) or rows (SQLite) written and carries a random epoch: how the
# rows were written, not what they are.
SKIPPED_TABLES = {"alembic_version", "sessions", "data_generation"}


def build(path: Path, now, *, bulk: bool) -> tuple[dict[str, int], EvidenceStore, object]:
    engine = make_engine(f"sqlite:///{path / 'demo.db'}")
    upgrade_database(engine)
    store = EvidenceStore(path / "evidence")
    with make_session_factory(engine)() as db:
        create_demo(db, now=now)
        seed_demo_calendar(db, now=now)
        documents = load_demo_guidelines(db, now=now)
        load_demo_projects(db, documents, now=now, count=COUNT)
        counts = load_demo_reports(db, now=now, store=store, bulk=bulk)
        counts |= {f"acceptance_{k}": v for k, v in load_demo_acceptance(db, now=now, store=store, bulk=bulk).items()}
        db.commit()
    return counts, store, engine


def table_rows(engine, table) -> list[dict]:
    ignored = IGNORED.get(table.name, set())
    keys = [table.c[name] for name in ORDER.get(table.name, ())] or list(table.primary_key.columns)
    with engine.connect() as conn:
        rows = conn.execute(select(table).order_by(*keys)).mappings().all()
    return [{k: v for k, v in row.items() if k not in ignored} for row in rows]


def test_bulk_histories_equal_the_services(tmp_path, now):
    (tmp_path / "service").mkdir()
    (tmp_path / "bulk").mkdir()
    by_service, service_store, service_engine = build(tmp_path / "service", now, bulk=False)
    by_bulk, bulk_store, bulk_engine = build(tmp_path / "bulk", now, bulk=True)
    try:
        assert by_bulk == by_service
        assert by_service["projects"] >= 15 and by_service["returned"] and by_service["drafts"]
        assert min(by_service[f"acceptance_{k}"] for k in ("applications", "meetings", "checks", "passed", "failed",
                                                            "concluded", "corrected", "milestones")) >= 1
        compared = 0
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED_TABLES:
                continue
            expected, actual = table_rows(service_engine, table), table_rows(bulk_engine, table)
            assert len(actual) == len(expected), table.name
            for want, got in zip(expected, actual, strict=True):
                assert got == want, table.name
            compared += len(expected)
        assert compared > 1000
        for name in ("report_versions", "report_evidence", "report_reviews", "audit_log", "acceptance_applications",
                     "application_evidence", "acceptance_meeting_members", "expert_check_items", "certificate_figures",
                     "milestone_checks", "disbursements"):
            assert table_rows(bulk_engine, Base.metadata.tables[name]), name  # the histories exist
        # Every state of a disbursement is among the rows compared, and every step that leads to one.
        payments = Base.metadata.tables["disbursements"]
        audit_log = Base.metadata.tables["audit_log"]
        with bulk_engine.connect() as conn:
            states = set(conn.execute(select(payments.c.status).distinct()).scalars())
            due = conn.execute(select(func.count()).where(payments.c.reversal_due.is_(True))).scalar()
            actions = set(conn.execute(select(audit_log.c.action).distinct()
                                       .where(audit_log.c.object_type == "disbursement")).scalars())
        assert states == {"blocked", "pending", "returned", "approved", "paid", "refused", "void", "reversed"}
        assert due == 1
        assert actions == {"disbursement_created", "disbursement_updated", "disbursement_approved",
                           "disbursement_returned", "disbursement_paid", "disbursement_voided",
                           "disbursement_reversal_due", "disbursement_reversed"}
        # The bytes behind the file rows are the same, under names of their own.
        files = Base.metadata.tables["evidence_files"]
        with service_engine.connect() as a, bulk_engine.connect() as b:
            names = zip(a.execute(select(files.c.storage_name).order_by(files.c.id)).scalars(),
                        b.execute(select(files.c.storage_name).order_by(files.c.id)).scalars(), strict=True)
            for mine, theirs in names:
                assert bulk_store.read(theirs) == service_store.read(mine)
        with make_session_factory(bulk_engine)() as db:
            assert audit.verify_chain(db) == []
    finally:
        service_engine.dispose()
        bulk_engine.dispose()
