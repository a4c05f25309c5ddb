"""Every route × every role (plus anonymous and a disabled user) × own/foreign object, checked against
an expected table WRITTEN BY HAND here — not read from tracker/access.py — so that a wrong policy entry
fails (DESIGN §5, G1, G2). A route missing from this table, or from the policy, fails too.

Every later issue adds its routes to both tables.
"""

from __future__ import annotations

import functools
import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from litestar.testing import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indicators.identifiers import uscc_check_char
from tracker import access, clock
from tracker.files.evidence import check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.models import (
    AcceptanceApplication,
    AcceptanceMeeting,
    ApplicationEvidence,
    AuditEntry,
    Disbursement,
    EvidenceFile,
    Organisation,
    Report,
    Role,
    User,
)
from tracker.services import accounts, outbox, sessions
from tracker.services.audit import Actor
from tracker.services.guidelines import ClauseInput, DocumentInput, NodeInput, store_guideline
from tracker.services.projects import ProjectInput, import_projects
from tracker.settings import Settings
from tracker.web.controllers.catalogue import GUIDELINE_UPLOAD
from tracker.web.controllers.project_import import save_award_upload

OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", "forbidden", "not_found"
ROLES = ("anonymous", "grantee", "officer", "expert", "finance", "admin", "disabled")

_ = None  # no object parameter: no foreign case


def row(anonymous, grantee, officer, expert, finance, admin, disabled):
    return dict(zip(ROLES, (anonymous, grantee, officer, expert, finance, admin, disabled), strict=True))


PUBLIC = row(OK, OK, OK, OK, OK, OK, OK)
SIGNED_IN = row(LOGIN, OK, OK, OK, OK, OK, LOGIN)
ADMIN_ONLY = row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, LOGIN)
ADMIN_ONLY_FOREIGN = row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, LOGIN)
# The guideline catalogue: grantees do not browse it; officers see their assigned programmes only (another
# programme's document is a 404), admin, finance and experts read every programme.
CATALOGUE = row(LOGIN, FORBIDDEN, OK, OK, OK, OK, LOGIN)
CATALOGUE_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, OK, OK, OK, LOGIN)
# Uploading guidelines: officers and admins; finance and experts only read.
UPLOAD = row(LOGIN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, OK, LOGIN)
# A confirm token belongs to the user who uploaded the file: anyone else's (or an unknown one) is a 404.
UPLOAD_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, FORBIDDEN, FORBIDDEN, NOT_FOUND, LOGIN)

# Indicator review: officers (their programmes) correct; the admin reads everything and corrects nothing.
REVIEW = row(LOGIN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, OK, LOGIN)
REVIEW_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, FORBIDDEN, FORBIDDEN, OK, LOGIN)
REVIEW_EDIT = row(LOGIN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)
REVIEW_EDIT_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)

# Projects: each role's scope; experts see the projects of the acceptance meetings they sit on (the own project's
# meeting has the demo expert; the foreign one another expert); admin and finance see every project.
PROJECT = row(LOGIN, OK, OK, OK, OK, OK, LOGIN)
PROJECT_FOREIGN = row(LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK, LOGIN)
TASK_BOOK = row(LOGIN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)
TASK_BOOK_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)
# Award-list import: officers only (the admin is read-only on business data); a pending upload belongs to the
# officer who uploaded it (anyone else's, or an unknown token, is a 404).
PROJECT_IMPORT = row(LOGIN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)
PROJECT_IMPORT_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)

# Progress reports: the grantee of the project's organisation fills, submits and corrects; the project's officer
# reviews; everyone who sees the project reads its reports and evidence.
REPORT_EDIT = row(LOGIN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)
REPORT_EDIT_FOREIGN = row(LOGIN, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)

# Acceptance: officers (their programmes), the admin (read-only) and the meeting's experts read meetings, cases and
# checklists; the officer organises and decides; only the meeting's experts check; grantees apply (REPORT_EDIT).
ACCEPTANCE = row(LOGIN, FORBIDDEN, OK, OK, FORBIDDEN, OK, LOGIN)
ACCEPTANCE_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, NOT_FOUND, FORBIDDEN, OK, LOGIN)
EXPERT_CHECK = row(LOGIN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, LOGIN)
EXPERT_CHECK_FOREIGN = row(LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, FORBIDDEN, LOGIN)

# Disbursements (后补助拨付): finance (every programme), the officer (their programmes: another programme's row is a 404)
# and the admin read the queue, a row and the payment list; only finance approves, returns, pays and reverses, on every
# programme's rows; only the officer completes a row (TASK_BOOK). Grantees see their disbursements on the project's
# acceptance page, not here; experts not at all.
DISBURSEMENT = row(LOGIN, FORBIDDEN, OK, FORBIDDEN, OK, OK, LOGIN)
DISBURSEMENT_FOREIGN = row(LOGIN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK, OK, LOGIN)
FINANCE_STEP = row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, LOGIN)

# route name → (own object expectations, foreign object expectations or _)
EXPECTED = {
    "health": (PUBLIC, _),
    "static": (PUBLIC, _),
    "language": (PUBLIC, _),
    "login": (PUBLIC, _),
    "login_submit": (PUBLIC, _),
    "logout": (SIGNED_IN, _),
    "home": (SIGNED_IN, _),
    "account": (SIGNED_IN, _),
    "account_password": (SIGNED_IN, _),
    "account_token_create": (SIGNED_IN, _),
    # Another user's token answers like a missing one.
    "account_token_revoke": (SIGNED_IN, row(LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN)),
    "account_language": (SIGNED_IN, _),
    # The token is the credential: a wrong one is a 404 to everyone.
    "activate_form": (PUBLIC, row(NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND)),
    "activate_submit": (PUBLIC, row(NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND)),
    "admin_users": (ADMIN_ONLY, _),
    "admin_user_new": (ADMIN_ONLY, _),
    "admin_user_create": (ADMIN_ONLY, _),
    "admin_user": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_user_update": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_user_active": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_user_activation": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_user_programmes": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_organisations": (ADMIN_ONLY, _),
    "admin_organisation_new": (ADMIN_ONLY, _),
    "admin_organisation_create": (ADMIN_ONLY, _),
    "admin_organisation": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_organisation_update": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_organisation_active": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_programmes": (ADMIN_ONLY, _),
    "admin_programme_create": (ADMIN_ONLY, _),
    "admin_audit": (ADMIN_ONLY, _),
    "admin_calendar": (ADMIN_ONLY, _),
    "admin_calendar_enter": (ADMIN_ONLY, _),
    "admin_calendar_seed": (ADMIN_ONLY, _),
    "admin_settings": (ADMIN_ONLY, _),
    "admin_settings_save": (ADMIN_ONLY, _),
    "admin_jobs": (ADMIN_ONLY, _),
    "admin_outbox": (ADMIN_ONLY, _),
    "admin_mail": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "admin_mail_resend": (ADMIN_ONLY, ADMIN_ONLY_FOREIGN),
    "guidelines": (CATALOGUE, _),
    "guideline_search": (CATALOGUE, _),
    "guideline_document": (CATALOGUE, CATALOGUE_FOREIGN),
    "guideline_flags": (CATALOGUE, CATALOGUE_FOREIGN),
    "guideline_direction": (CATALOGUE, CATALOGUE_FOREIGN),
    "guideline_upload_form": (UPLOAD, _),
    "guideline_upload": (UPLOAD, _),
    "guideline_upload_confirm": (UPLOAD, UPLOAD_FOREIGN),
    "projects": (SIGNED_IN, _),
    "project": (PROJECT, PROJECT_FOREIGN),
    "project_task_book": (PROJECT, PROJECT_FOREIGN),
    "project_task_book_confirm": (TASK_BOOK, TASK_BOOK_FOREIGN),
    "project_extend": (TASK_BOOK, TASK_BOOK_FOREIGN),
    "project_terminate": (TASK_BOOK, TASK_BOOK_FOREIGN),
    "project_contacts": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    # The Excel export: every signed-in role, each within its own project scope (an expert's file is empty).
    "projects_export": (SIGNED_IN, _),
    "projects_at_risk_export": (SIGNED_IN, _),
    "project_import_form": (PROJECT_IMPORT, _),
    # Without ?document= the blank template (a foreign document id is a 404: tests/web/test_project_import_page.py).
    "project_import_template": (PROJECT_IMPORT, _),
    "project_import": (PROJECT_IMPORT, _),
    "project_import_confirm": (PROJECT_IMPORT, PROJECT_IMPORT_FOREIGN),
    "report": (PROJECT, PROJECT_FOREIGN),
    "report_save": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    "report_revise": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    "report_excel": (PROJECT, PROJECT_FOREIGN),
    "report_excel_upload": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    "report_review": (TASK_BOOK, TASK_BOOK_FOREIGN),
    # The queue of submitted reports: officers (their programmes) and the admin (read-only).
    "report_queue": (REVIEW, _),
    "evidence_file": (PROJECT, PROJECT_FOREIGN),
    "review_queue": (REVIEW, _),
    "review_clause": (REVIEW, REVIEW_FOREIGN),
    "review_clause_correct": (REVIEW_EDIT, REVIEW_EDIT_FOREIGN),
    "review_clause_mark": (REVIEW_EDIT, REVIEW_EDIT_FOREIGN),
    "review_rules": (REVIEW, REVIEW_FOREIGN),
    "review_rule_correct": (REVIEW_EDIT, REVIEW_EDIT_FOREIGN),
    "project_acceptance": (PROJECT, PROJECT_FOREIGN),
    "acceptance_apply_form": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    "acceptance_apply": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    "acceptance": (ACCEPTANCE, _),
    "acceptance_meeting_form": (TASK_BOOK, _),
    "acceptance_meeting_create": (TASK_BOOK, _),
    "acceptance_meeting": (ACCEPTANCE, ACCEPTANCE_FOREIGN),
    "acceptance_checklist_xlsx": (ACCEPTANCE, ACCEPTANCE_FOREIGN),
    "acceptance_checklist_pdf": (ACCEPTANCE, ACCEPTANCE_FOREIGN),
    "acceptance_checklist_print": (ACCEPTANCE, ACCEPTANCE_FOREIGN),
    "acceptance_case": (ACCEPTANCE, ACCEPTANCE_FOREIGN),
    "acceptance_check": (EXPERT_CHECK, EXPERT_CHECK_FOREIGN),
    "acceptance_verdict": (TASK_BOOK, TASK_BOOK_FOREIGN),
    "milestone_check": (TASK_BOOK, TASK_BOOK_FOREIGN),
    "disbursements": (DISBURSEMENT, _),
    "disbursements_export": (DISBURSEMENT, _),
    "disbursement": (DISBURSEMENT, DISBURSEMENT_FOREIGN),
    "disbursement_approve": (FINANCE_STEP, FINANCE_STEP),
    "disbursement_return": (FINANCE_STEP, FINANCE_STEP),
    "disbursement_pay": (FINANCE_STEP, FINANCE_STEP),
    "disbursement_reverse": (FINANCE_STEP, FINANCE_STEP),
    "disbursement_update": (TASK_BOOK, TASK_BOOK_FOREIGN),
    # The JSON API: the same roles and scopes as the pages it mirrors (401 JSON instead of the login redirect).
    "api_programmes": (CATALOGUE, _),
    "api_programme_summary": (CATALOGUE, CATALOGUE_FOREIGN),
    "api_directions": (CATALOGUE, CATALOGUE_FOREIGN),
    "api_direction": (CATALOGUE, CATALOGUE_FOREIGN),
    "api_projects": (SIGNED_IN, _),
    "api_project": (PROJECT, PROJECT_FOREIGN),
    "api_project_targets": (PROJECT, PROJECT_FOREIGN),
    "api_project_progress": (PROJECT, PROJECT_FOREIGN),
    "api_project_assessment": (PROJECT, PROJECT_FOREIGN),
    "api_reports": (PROJECT, PROJECT_FOREIGN),
    "api_report": (PROJECT, PROJECT_FOREIGN),
    "api_report_save": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    "api_report_submit": (REPORT_EDIT, REPORT_EDIT_FOREIGN),
    # The OpenAPI document: admins only (not registered in production: tests/web/test_api.py).
    "api_openapi": (ADMIN_ONLY, _),
}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str


def app_routes(app) -> list[Case]:
    cases = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods):
                if method in {"HEAD", "OPTIONS"}:
                    continue
                cases.append(Case(handler.name, method, route.path))
    return cases


def test_every_route_is_in_both_tables(app):
    names = {case.name for case in app_routes(app)}
    assert names - set(EXPECTED) == set(), "routes missing from the expected table in tests/"
    assert names - set(access.POLICY) == set(), "routes missing from the policy table"
    assert set(EXPECTED) - names == set(), "expected table lists routes that do not exist"


MATRIX_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# A guideline small enough to parse in every confirm case of the matrix.
TINY_GUIDELINE = "一、矩阵测试专项\n方向1：测试方向\n研究内容：测试。\n考核指标：申请发明专利1项以上。\n".encode()


def _guideline(name: str) -> DocumentInput:
    leaf = NodeInput(path=(name, "方向"), title="方向", kind="direction", marker=None, line=2, leaf=True,
                     direction="方向", fields=[{"kind": "content", "label": "研究内容", "text": "x", "line": 3}],
                     clauses=[ClauseInput(label=None, text="申请发明专利1项以上", line=4)])
    root = NodeInput(path=(name,), title=name, kind="plan", marker=None, line=1, leaf=False, direction=name)
    return DocumentInput(file_name=f"{name}.txt", title=name, content_hash=name.encode().hex().ljust(64, "0"),
                         format="txt", encoding="utf-8", lines=(name, "方向", "研究内容：x", "考核指标：…"),
                         flags=[], nodes=[root, leaf])


@functools.cache
def _award_list(uscc: str) -> bytes:
    """A one-row award list for the matrix guideline (direction 方向), for the import confirm cases."""
    workbook = Workbook()
    workbook.active.append(["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人",
                            "任务书签订日期", "结束日期", "财政资助"])
    workbook.active.append(["矩阵-导入", "矩阵导入项目", "方向", "另一单位", uscc, "李", "2025-01-01", "2026-12-31", 10])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class World:
    """The objects each case points at: one of each kind that the acting user may touch, one it may not."""

    def __init__(self, db: Session, now, settings: Settings | None = None) -> None:
        self.db, self.now, self.settings = db, now, settings
        self.org = db.query(Organisation).one()
        self.target = accounts.create_user(db, username="target", password=None, role=Role.OFFICER, now=now,
                                           actor=Actor.system())
        self.stranger = accounts.create_user(db, username="stranger", password=None, role=Role.EXPERT, now=now,
                                             actor=Actor.system())
        # Guidelines: one of a programme assigned to the demo officer, one of a programme that is not.
        self.own_doc = store_guideline(db, _guideline("矩阵本人计划"), actor=Actor.system(), now=now).document
        self.foreign_doc = store_guideline(db, _guideline("矩阵他人计划"), actor=Actor.system(), now=now).document
        officer = db.query(User).filter_by(username="officer").one()
        accounts.assign_programmes(db, officer, [self.own_doc.programme], actor=Actor.system(), now=now)
        db.commit()
        self.own_leaf = next(n for n in self.own_doc.nodes if n.is_leaf)
        self.foreign_leaf = next(n for n in self.foreign_doc.nodes if n.is_leaf)
        # Projects: one of the demo grantee's organisation under the officer's programme, one of another
        # organisation under a programme the officer does not manage.
        self.own_project = self._project("矩阵-本人", self.own_doc, self.org.uscc)
        self.foreign_project = self._project("矩阵-他人", self.foreign_doc, "91450100MA5L00XX0" + uscc_check_char(
            "91450100MA5L00XX0"))
        # An evidence file of each project (on disk when the app's data folder is known), in the project's
        # acceptance application below: a file nothing submitted refers to is the grantee's alone.
        self.own_file = self._evidence_file(self.own_project)
        self.foreign_file = self._evidence_file(self.foreign_project)
        # An acceptance case of each project, in a meeting: the demo expert sits on the own one, another expert on
        # the foreign one.
        expert = db.query(User).filter_by(username="expert").one()
        self.own_case, self.own_meeting = self._case(self.own_project, expert, "YS2026-901", self.own_file)
        self.foreign_case, self.foreign_meeting = self._case(self.foreign_project, self.stranger, "YS2026-902",
                                                             self.foreign_file)
        # A disbursement of each project, waiting for finance's approval.
        self.own_disbursement = self._disbursement(self.own_project)
        self.foreign_disbursement = self._disbursement(self.foreign_project)
        # A mail in the outbox (the admin's to read; a missing id answers 404).
        self.mail_id = outbox.queue_mail(db, dedupe_key="matrix", template="activation", recipient="m@example.com",
                                         context={"name": "x", "username": "x", "path": "/", "expires": "x"},
                                         now=now)
        db.commit()

    def _evidence_file(self, project) -> EvidenceFile:
        checked = check_evidence_file("矩阵.pdf", MATRIX_PDF)
        storage = secrets.token_hex(16) + ".pdf"
        if self.settings is not None:
            storage = EvidenceStore(self.settings.data_dir / "evidence").put(checked)
        row = EvidenceFile(project_id=project.id, sha256=checked.sha256, storage_name=storage,
                           display_name=checked.display_name, media_type=checked.media_type, size=checked.size,
                           uploaded_at=self.now)
        self.db.add(row)
        return row

    def _case(self, project, expert: User, code: str, file: EvidenceFile
              ) -> tuple[AcceptanceApplication, AcceptanceMeeting]:
        """An application with its final report and `file` as its audit report, placed in a meeting of one expert
        (rows as the services leave them; the workflow's own rules are tested in tests/service/test_acceptance.py)."""
        report = Report(project_id=project.id, period_index=8, period_start=date(2026, 10, 1),
                        period_end=date(2026, 12, 31), is_final=True, status="submitted", created_at=self.now,
                        updated_at=self.now)
        meeting = AcceptanceMeeting(code=code, title=code, held_on=date(2027, 1, 10), place="会议室",
                                    leader_id=expert.id, created_at=self.now, members=[expert])
        self.db.add_all([report, meeting])
        self.db.flush()
        application = AcceptanceApplication(project_id=project.id, final_report_id=report.id,
                                            target_set_id=project.target_sets[-1].id, summary="完成",
                                            submitted_at=self.now, meeting_id=meeting.id)
        project.status = "under_acceptance"
        self.db.add(application)
        self.db.flush()
        self.db.add(ApplicationEvidence(application_id=application.id, position=0, kind="audit_report",
                                        file_id=file.id))
        self.db.flush()
        return application, meeting

    def _disbursement(self, project) -> Disbursement:
        """A computed row as the verdict's transaction leaves it (how it comes: tests/service/test_disbursements.py).
        The matrix posts no lock, so every step it reaches is refused (400) and the row stays as it is."""
        row = Disbursement(project_id=project.id, tranche="project", basis="verdict:0", status="pending",
                           amount=Decimal("80000"), message="补助金额8万元", created_at=self.now, updated_at=self.now,
                           computation={"steps": ["验收证书中核定的自筹经费80万元×10%=8万元"], "figures": {}})
        self.db.add(row)
        self.db.flush()
        return row

    def _project(self, code: str, document, uscc: str):
        row = ProjectInput(row=2, project_code=code, title=code, direction="方向", content_items=(),
                           organisation_name="另一单位", uscc=uscc, pi_name="李", pi_phone=None, pi_email=None,
                           officer=None, start_date=date(2025, 1, 1), end_date=date(2026, 12, 31),
                           period_months=None, fiscal_funding=Decimal("100000"), self_funding=Decimal("0"),
                           funding_mode=None)
        result = import_projects(self.db, [row], document, actor=Actor.system(), now=self.now)
        assert result.ok, result.problems
        return result.created[0]

    def upload_token(self, actor: User | None, own: bool) -> str:
        """A pending guideline upload of the acting user (own), or a token that is nobody's."""
        if not own or actor is None or self.settings is None:
            return secrets.token_urlsafe(24)
        return GUIDELINE_UPLOAD.store(self.settings).save(user_id=actor.id, file_name="matrix.txt",
                           programme_name="", data=TINY_GUIDELINE, now=self.now)

    def import_token(self, actor: User | None, own: bool) -> str:
        """A pending award-list upload of the acting user for the officer's guideline (own), or nobody's token."""
        if not own or actor is None or self.settings is None:
            return secrets.token_urlsafe(24)
        return save_award_upload(self.settings, user_id=actor.id, document_id=self.own_doc.id,
                                 file_name="matrix.xlsx", data=_award_list(self.org.uscc), now=self.now)

    def params(self, actor: User | None, own: bool) -> dict[str, str]:
        db = self.db
        if own:
            owner = actor or self.stranger
        else:
            owner = self.stranger
        token_row, _token = accounts.create_api_token(db, owner, "t", 30, actor=Actor.system(), now=self.now)
        activation = accounts.issue_activation(db, self.target, actor=Actor.system(), now=self.now)
        db.commit()
        return {
            "user_id": str(self.target.id) if own else "987654",
            "org_id": str(self.org.id) if own else "987654",
            "token_id": str(token_row.id),
            "token": activation if own else secrets.token_urlsafe(32),
            "code": "en",
            "file_path": "app.css",
            "document_id": str(self.own_doc.id if own else self.foreign_doc.id),
            "programme_id": str(self.own_doc.programme_id if own else self.foreign_doc.programme_id),
            "node_id": str(self.own_leaf.id if own else self.foreign_leaf.id),
            "clause_id": str((self.own_leaf if own else self.foreign_leaf).clauses[0].id),
            "project_id": str(self.own_project.id if own else self.foreign_project.id),
            "period": "1",
            "file_id": str(self.own_file.id if own else self.foreign_file.id),
            "upload_token": self.upload_token(actor, own),
            "import_token": self.import_token(actor, own),
            "mail_id": str(self.mail_id) if own else "987654",
            "meeting_id": str((self.own_meeting if own else self.foreign_meeting).id),
            "application_id": str((self.own_case if own else self.foreign_case).id),
            "disbursement_id": str((self.own_disbursement if own else self.foreign_disbursement).id),
            "position": "0",
        }


def _fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: params[m.group(1)], path)


def _outcome(response) -> str:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if response.status_code in (303, 302) and response.headers.get("location", "").startswith("/login?next="):
        return LOGIN
    if response.status_code == 401:
        return LOGIN
    return {403: FORBIDDEN, 404: NOT_FOUND}.get(response.status_code, OK)


def _client_for(app, db: Session, world: World, role: str, now) -> tuple[TestClient, User | None]:
    client = TestClient(app=app, raise_server_exceptions=False)
    client.__enter__()
    if role == "anonymous":
        return client, None
    if role == "disabled":
        user = db.query(User).filter_by(username="grantee").one()
    else:
        user = db.query(User).filter_by(username=role).one()
    token = sessions.start_session(db, user, now=now, ip="testclient")
    db.commit()
    client.cookies.set("tracker_session", token)
    return client, user


def _csrf(client: TestClient) -> str:
    """A valid token for this client: /login shows one, or redirects a signed-in user home, which has one."""
    html = client.get("/login", follow_redirects=True).text
    match = re.search(r'name="_csrf_token" value="([0-9a-f]{64})"', html)
    return match.group(1) if match else ""


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(app, db, demo_users, role):
    now = clock.now()
    world = World(db, now, app.state.settings)
    failures = []
    for case in app_routes(app):
        own_expected, foreign_expected = EXPECTED[case.name]
        variants = [("own", True, own_expected)]
        if foreign_expected is not _:
            variants.append(("foreign", False, foreign_expected))
        for label, own, expected in variants:
            client, actor = _client_for(app, db, world, role, now)
            try:
                if role == "disabled":
                    actor.is_active = False
                    db.commit()
                params = world.params(actor if role != "disabled" else None, own)
                path = _fill(case.path, params)
                if case.method == "GET":
                    response = client.get(path, follow_redirects=False)
                else:
                    token = _csrf(client)
                    audited = db.scalar(select(func.count()).select_from(AuditEntry))
                    response = client.request(case.method, path, data={"_csrf_token": token},
                                              follow_redirects=False)
                    # G26: every state-changing request leaves an audit row, refused or not.
                    if db.scalar(select(func.count()).select_from(AuditEntry)) <= audited:
                        failures.append(f"{case.method} {path} as {role}: no audit row")
                got = _outcome(response)
                if got != expected[role]:
                    failures.append(f"{case.method} {path} ({case.name}, {label}) as {role}: "
                                    f"expected {expected[role]}, got {got} ({response.status_code})")
            finally:
                if role == "disabled":
                    actor.is_active = True
                    db.commit()
                client.__exit__(None, None, None)
    assert failures == []


def test_foreign_object_looks_exactly_like_a_missing_one(app, db, demo_users):
    now = clock.now()
    world = World(db, now)
    client, officer = _client_for(app, db, world, "officer", now)
    try:
        foreign_row, _t = accounts.create_api_token(db, world.stranger, "x", 30, actor=Actor.system(), now=now)
        db.commit()
        token = _csrf(client)
        foreign = client.post(f"/account/tokens/{foreign_row.id}/revoke", data={"_csrf_token": token})
        missing = client.post("/account/tokens/987654/revoke", data={"_csrf_token": token})
        assert foreign.status_code == missing.status_code == 404
        # Identical but for the path echoed in the language links.
        assert foreign.text.replace(f"/{foreign_row.id}/", "/ID/") == missing.text.replace("/987654/", "/ID/")
        db.refresh(foreign_row)
        assert foreign_row.revoked_at is None
    finally:
        client.__exit__(None, None, None)


UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _allowed_role(name: str) -> str:
    rule = access.POLICY[name]
    for role in ("admin", "officer", "grantee", "expert", "finance"):
        if rule.allows(role):
            return role
    return "anonymous"


def test_every_unsafe_route_refuses_missing_and_foreign_csrf_tokens(app, db, demo_users):
    now = clock.now()
    world = World(db, now)
    cases = [c for c in app_routes(app) if c.method in UNSAFE]
    assert cases, "no unsafe routes found"
    other, _u = _client_for(app, db, world, "finance", now)
    foreign_token = _csrf(other)
    other.__exit__(None, None, None)
    for case in cases:
        role = _allowed_role(case.name)
        for sent in ({}, {"_csrf_token": foreign_token}, {"_csrf_token": "0" * 64}):
            client, actor = _client_for(app, db, world, role, now)
            try:
                _csrf(client)  # the client has its own CSRF cookie and session
                path = _fill(case.path, world.params(actor, True))
                response = client.request(case.method, path, data=sent, follow_redirects=False)
                assert response.status_code == 403, (case, sent, response.status_code)
            finally:
                client.__exit__(None, None, None)


def test_bearer_token_without_session_cookie_is_exempt_from_csrf(app, db, demo_users):
    now = clock.now()
    world = World(db, now)
    _row, token = accounts.create_api_token(db, demo_users["grantee"], "cli", 30, actor=Actor.system(), now=now)
    db.commit()
    api_write = "/api/v1/projects/987654/reports/1"
    with TestClient(app=app) as client:
        # No CSRF token, yet the handler runs (and finds no such project).
        response = client.post(api_write, json={}, headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 404
    # With a session cookie too, the token does not exempt the request.
    client, _actor = _client_for(app, db, world, "grantee", now)
    try:
        response = client.post(api_write, json={}, headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 403
    finally:
        client.__exit__(None, None, None)


def test_expired_or_revoked_bearer_tokens_are_refused(app, db, demo_users, now):
    import time_machine

    with time_machine.travel(now, tick=False) as clock:
        row, token = accounts.create_api_token(db, demo_users["officer"], "cli", 7, actor=Actor.system(), now=now)
        db.commit()
        with TestClient(app=app) as client:
            headers = {"authorization": f"Bearer {token}"}
            assert client.get("/api/v1/programmes", headers=headers).status_code == 200
            clock.shift(timedelta(days=8))
            assert client.get("/api/v1/programmes", headers=headers).status_code == 401
            bad = {"authorization": "Bearer trk_nonsense"}
            assert client.get("/api/v1/programmes", headers=bad).status_code == 401
