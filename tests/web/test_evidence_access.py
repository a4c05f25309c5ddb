"""Who may download an evidence file (DESIGN §4, issue #25 finding 4): the project's grantee every file of the
project, drafts included; anyone else, within the projects they see, only a file that something they may read
refers to — a submitted report version, an acceptance application, a milestone check. Anything else answers
exactly like a missing file, whatever id is guessed."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from tests import builders as build
from tests.conftest import csrf_from, login
from tracker.demo.accounts import DEMO_ORGANISATION_USCC
from tracker.files.evidence import check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.models import EvidenceFile, MilestoneCheck, Organisation, User
from tracker.services import reports as report_service
from tracker.services.reports import EvidenceInput

MISSING = 987654
READERS = ("officer", "finance", "admin")


@pytest.fixture
def store(settings) -> EvidenceStore:
    """Where the app reads evidence files from (tracker.web.controllers.reports.evidence_store)."""
    return EvidenceStore(settings.data_dir / "evidence")


@pytest.fixture
def project(db, demo_users):
    """The demo grantee's project under the demo officer's programme, its task book confirmed."""
    with time_machine.travel(build.NOW, tick=True):
        return build.demo_project(db)


def a_file(name: str = "检测报告.pdf", body: bytes = b"") -> EvidenceInput:
    # A file of its own bytes each time: files are kept once per project and content.
    data = build.TINY_PDF.replace(b"%%EOF", b"% " + (body or name.encode()) + b"\n%%EOF")
    return EvidenceInput(kind="file", new_file=check_evidence_file(name, data))


def download(client, username: str, file_id: int):
    client.cookies.clear()
    assert login(client, username).status_code == 303
    return client.get(f"/evidence/{file_id}")


def looks_missing(client, username: str, file_id: int) -> bool:
    """The file answers as a missing id does: 404, and the same page but for the id in its links."""
    refused, missing = download(client, username, file_id), client.get(f"/evidence/{MISSING}")
    return (refused.status_code == missing.status_code == 404
            and refused.text.replace(f"/{file_id}", "/ID") == missing.text.replace(f"/{MISSING}", "/ID"))


def files_of(db, report) -> list[EvidenceFile]:
    db.refresh(report)
    return [e.file for e in report.latest.evidence if e.file is not None]


def test_a_drafts_file_is_the_grantees_until_the_report_is_submitted(client, db, project, store):
    with time_machine.travel(build.NOW, tick=True):
        draft = build.report(db, project, evidence=[a_file()], store=store)
        (row,) = files_of(db, draft)
        response = download(client, "grantee", row.id)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        for username in (*READERS, "expert"):
            assert looks_missing(client, username, row.id), username
        # Submitted, the same file is the readers' too.
        build.report(db, project, status="submitted", evidence=[EvidenceInput(kind="file", file_id=row.id)])
        for username in (*READERS, "grantee"):
            assert download(client, username, row.id).status_code == 200, username
        # The expert sits on no meeting of this project: still not theirs.
        assert looks_missing(client, "expert", row.id)


def test_a_correction_draft_hides_only_the_files_it_adds(client, db, project, store, demo_users):
    with time_machine.travel(build.NOW, tick=True):
        returned = build.report(db, project, status="returned", evidence=[a_file("第一版.pdf")], store=store)
        (first,) = files_of(db, returned)
        report_service.start_revision(db, project, returned, lock=returned.lock, actor=build.SYSTEM,
                                      now=build.NOW, today=build.TODAY, open_days=build.OPEN_DAYS)
        db.commit()
        build.report(db, project, evidence=[EvidenceInput(kind="file", file_id=first.id), a_file("第二版.pdf")],
                     store=store)
        second = next(f for f in files_of(db, returned) if f.id != first.id)
        # The returned version was submitted: its file stays readable; the new draft's file is not yet.
        assert download(client, "officer", first.id).status_code == 200
        assert looks_missing(client, "officer", second.id)
        assert download(client, "grantee", second.id).status_code == 200


def test_an_applications_files_are_read_by_the_officer_and_the_meetings_experts(client, db, project, store):
    with time_machine.travel(build.ACCEPTANCE_NOW, tick=True):
        application = build.application(db, project, store=store)
        (audit_report,) = [e.file_id for e in application.evidence]
        for username in (*READERS, "grantee"):
            assert download(client, username, audit_report).status_code == 200, username
        assert looks_missing(client, "expert", audit_report)
        officer = db.scalar(select(User).where(User.username == "officer"))
        build.meeting(db, [application], [db.scalar(select(User).where(User.username == "expert"))], by=officer)
        assert download(client, "expert", audit_report).status_code == 200


def test_a_milestone_checks_file_is_read_by_those_who_see_the_project(client, db, demo_users):
    with time_machine.travel(build.ACCEPTANCE_NOW, tick=True):
        officer = db.scalar(select(User).where(User.username == "officer"))
        org = db.scalar(select(Organisation).where(Organisation.uscc == DEMO_ORGANISATION_USCC))
        document = build.guideline(db, programme="报告测试计划", officer=officer)
        project = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code="MS-1",
                                organisation=org, officer=officer, months=24,
                                targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                          "value": "500", "unit": "km", "kind": "level"}])
        client.cookies.clear()
        assert login(client, "officer").status_code == 303
        page = f"/projects/{project.id}/acceptance"
        done = client.post(f"/projects/{project.id}/milestones/0/check",
                           data={"_csrf_token": csrf_from(client.get(page).text), "passed": "1",
                                 "checked_on": "2026-12-01", "evidence": "第三方检测报告"},
                           files={"file": ("检测报告.pdf", build.TINY_PDF, "application/pdf")},
                           follow_redirects=False)
        assert done.status_code == 303
        file_id = db.scalar(select(MilestoneCheck.file_id))
        for username in (*READERS, "grantee"):
            assert download(client, username, file_id).status_code == 200, username


def test_a_foreign_projects_file_looks_missing(client, db, project, store):
    with time_machine.travel(build.NOW, tick=True):
        other = build.officer(db, username="officer-x")
        foreign = build.project(db, guideline=build.guideline(db, programme="他人计划", officer=other),
                                code="FX-1", officer=other, confirmed=True)
        submitted = build.report(db, foreign, status="submitted", evidence=[a_file("他人材料.pdf")], store=store)
        (row,) = files_of(db, submitted)
        for username in ("grantee", "officer", "expert"):
            assert looks_missing(client, username, row.id), username
        # Finance and the admin see every project, and this file is in a submitted report.
        assert download(client, "finance", row.id).status_code == 200
