"""Housekeeping: files nothing references are removed after their grace, files a report needs never are."""

from __future__ import annotations

import io
import os
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from tests import builders as build
from tracker.files.evidence import check_evidence_file
from tracker.files.pending import PendingStore
from tracker.files.store import EvidenceStore
from tracker.models import AuditEntry, EvidenceFile
from tracker.services import housekeeping
from tracker.services.reports import EvidenceInput


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = png()


def written_at(store: EvidenceStore, name: str, moment) -> None:
    stamp = moment.timestamp()
    os.utime(store.path_of(name), (stamp, stamp))


def test_orphans_go_after_their_grace_and_referenced_files_stay(db, tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    project = build.project(db, confirmed=True)
    checked = check_evidence_file("照片.png", PNG)
    # A report that keeps its file, and a file a refused save left on disk with no row.
    build.report(db, project, period=1, status="submitted", store=store,
                 evidence=[EvidenceInput(kind="file", identifier="", description="现场照片", new_file=checked)])
    kept = db.scalar(select(EvidenceFile.storage_name))
    orphan = store.put(check_evidence_file("扫描.pdf", b"%PDF-1.4\n%%EOF\n"))
    now = build.NOW + timedelta(days=30)

    written_at(store, orphan, now - timedelta(hours=2))
    written_at(store, kept, now - timedelta(days=2))
    counts = housekeeping.sweep(db, now=now, evidence=store, uploads=tmp_path / "uploads")
    assert counts["evidence_files_removed"] == 0  # too young: a save may still be under way
    written_at(store, orphan, now - timedelta(days=2))
    counts = housekeeping.sweep(db, now=now, evidence=store, uploads=tmp_path / "uploads")
    assert counts["evidence_files_removed"] == 1 and counts["evidence_rows_removed"] == 0
    assert {name for name, _t in store.stored()} == {kept}


def test_a_row_no_version_references_goes_with_its_file(db, tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    project = build.project(db, confirmed=True)
    draft = build.report(db, project, period=1, store=store, evidence=[
        EvidenceInput(kind="file", identifier="", description="照片", new_file=check_evidence_file("a.png", PNG))])
    name = db.scalar(select(EvidenceFile.storage_name))
    # The grantee removes the file from the draft: the row is no longer referenced.
    build.report(db, project, period=1, data=build.report_input(draft.latest.target_set,
                                                                edit_lock=draft.latest.edit_lock), store=store)
    later = build.NOW + timedelta(days=8)
    written_at(store, name, later - timedelta(days=8))
    counts = housekeeping.sweep(db, now=later, evidence=store, uploads=tmp_path / "u")
    assert counts["evidence_rows_removed"] == 1 and counts["evidence_files_removed"] == 1
    assert db.scalars(select(EvidenceFile)).all() == [] and list(store.stored()) == []
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "evidence_files_removed")) is not None


def test_expired_pending_uploads_are_swept(db, tmp_path):
    uploads = tmp_path / "uploads"
    pending = PendingStore(uploads / "award_list", kind="award_list")
    token = pending.save(user_id=1, file_name="a.xlsx", data=b"x", now=build.NOW)
    assert housekeeping.sweep(db, now=build.NOW, evidence=EvidenceStore(tmp_path / "e"),
                              uploads=uploads)["uploads_removed"] == 0
    for path in (uploads / "award_list").iterdir():
        os.utime(path, (0, 0))
    counts = housekeeping.sweep(db, now=build.NOW, evidence=EvidenceStore(tmp_path / "e"), uploads=uploads)
    assert counts["uploads_removed"] == 2 and not list((uploads / "award_list").glob(f"{token}.*"))


def test_files_of_acceptance_applications_stay(db, tmp_path):
    """An application's audit report is referenced by no report version, only by the application: it stays
    (the sweep counted report versions alone and would have deleted the row under the application)."""
    store = EvidenceStore(tmp_path / "evidence")
    project = build.project(db, confirmed=True)
    build.application(db, project, store=store)
    files = set(db.scalars(select(EvidenceFile.storage_name)))
    assert files
    now = build.ACCEPTANCE_NOW + timedelta(days=60)
    for name in files:
        written_at(store, name, now - timedelta(days=30))
    counts = housekeeping.sweep(db, now=now, evidence=store, uploads=tmp_path / "uploads")
    assert counts["evidence_rows_removed"] == 0 and counts["evidence_files_removed"] == 0
    assert set(db.scalars(select(EvidenceFile.storage_name))) == files
