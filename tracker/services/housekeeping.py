"""Housekeeping (the `housekeeping` job): what is left behind once nothing can use it any more.

- Evidence files on disk that no `evidence_files` row names: a save refused after its files were stored (a
  submission found incomplete) leaves them. Removed after a grace period, so that a save still in flight is never
  robbed of its file.
- `evidence_files` rows that nothing references any more (a draft dropped the file, never submitted), with their
  files, after a longer grace. A file a report version, an acceptance application or a milestone check references
  is kept forever (those rows are immutable). A new table that references evidence files joins `_referenced`.
- Pending uploads past their time to live (the two-step imports), and expired login sessions.
- The query planner's statistics, refreshed (`tracker.db.refresh_statistics`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session

from tracker.db import refresh_statistics
from tracker.files.pending import DEFAULT_TTL, PendingStore
from tracker.files.store import EvidenceStore
from tracker.models import ApplicationEvidence, EvidenceFile, MilestoneCheck, ReportEvidence
from tracker.services import audit, sessions
from tracker.services.audit import Actor

DISK_GRACE = timedelta(days=1)
ROW_GRACE = timedelta(days=7)
ACTOR = Actor.system("housekeeping")


def _referenced():
    """The evidence file ids some row still needs."""
    return union(select(ReportEvidence.file_id).where(ReportEvidence.file_id.is_not(None)),
                 select(ApplicationEvidence.file_id),
                 select(MilestoneCheck.file_id).where(MilestoneCheck.file_id.is_not(None)))


def sweep(db: Session, *, now: datetime, evidence: EvidenceStore, uploads: Path) -> dict[str, int]:
    counts = {"sessions_deleted": sessions.purge_expired(db, now=now, policy=sessions.SessionPolicy())}
    # Rows no version needs, past their grace: the row goes; its file follows with the disk sweep below.
    unused = db.execute(select(EvidenceFile.id, EvidenceFile.storage_name)
                        .where(EvidenceFile.id.not_in(_referenced()), EvidenceFile.uploaded_at < now - ROW_GRACE)).all()
    if unused:
        db.execute(delete(EvidenceFile).where(EvidenceFile.id.in_([row_id for row_id, _name in unused])))
        audit.record(db, ACTOR, "evidence_files_removed", now=now, object_type="evidence_file",
                     after={"count": len(unused), "reason": "没有任何报告版本、验收申请或里程碑核查引用"})
    counts["evidence_rows_removed"] = len(unused)
    db.flush()
    known = set(db.scalars(select(EvidenceFile.storage_name)))
    cutoff = (now - DISK_GRACE).timestamp()
    removed = 0
    for name, modified in evidence.stored():
        if name not in known and modified < cutoff:
            evidence.remove(name)
            removed += 1
    counts["evidence_files_removed"] = removed
    counts["uploads_removed"] = _sweep_uploads(uploads, now)
    refresh_statistics(db)
    return counts


def _sweep_uploads(root: Path, now: datetime) -> int:
    if not root.is_dir():
        return 0
    removed = 0
    for folder in [root, *(p for p in root.iterdir() if p.is_dir())]:
        removed += PendingStore(folder, kind=folder.name, ttl=DEFAULT_TTL).sweep(now)
    return removed
