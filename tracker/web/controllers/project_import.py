"""Award lists (立项清单) imported in the browser, their Excel template, and the Excel export of the project list.

Who: officers import award lists into the current guideline of a programme assigned to them (the admin is
read-only on business data, DESIGN §1; finance, experts and grantees do not import). Another programme's
guideline is a 404, like a missing one.

The import is two requests, like the guideline upload (tracker.web.uploads):
1. `POST /projects/import` reads the file and runs `load_award_list(..., dry_run=True)`: with any problem the
   form comes back (400) with every problem by row, column and cell, and nothing is written; otherwise a
   preview lists the rows to create, the rows already imported unchanged and the new organisations, and the
   file waits server-side under a random token bound to the officer (one hour).
2. `POST /projects/import/{token}/confirm` imports it for real (all or nothing again: if the database changed
   in between and a row no longer fits, the problems are shown, 400) and shows the created projects and the
   activation links of the new grantee accounts (shown to the officer until mail exists).

The export (`GET /projects/export.xlsx`) takes the filters of the project list and builds the workbook of
tracker.exports.projects_xlsx (the same file as `tracker export projects PATH`), within the user's scope.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from imports.award_loader import load_award_list
from imports.awards import AwardRow, AwardSheet, header_field, read_award_list
from imports.xlsx_guard import MAX_FILE_BYTES
from indicators.regions import CITIES, city_name
from tracker import clock
from tracker.exports.award_template import award_template
from tracker.exports.projects_xlsx import load_projects, projects_workbook
from tracker.models import GuidelineDocument, Organisation, ProjectStatus, User
from tracker.services import audit
from tracker.services import guidelines as catalogue
from tracker.services import projects as project_service
from tracker.services.programmes import visible_programmes
from tracker.services.projects import ImportResult, leaf_index, match_direction
from tracker.web import forms
from tracker.web.context import form_of, state_of
from tracker.web.controllers.projects import filters_from_query
from tracker.web.render import page
from tracker.web.uploads import PendingStore, clean_file_name, is_file, read_upload

# The upload body: the reader's own limit plus room for the multipart envelope and the other fields, so a
# file just under the limit is not refused by the transport (the guard then checks the file itself).
IMPORT_BODY_LIMIT = MAX_FILE_BYTES + 64 * 1024
FUNDING_MODES = ("前资助", "后补助", "里程碑式补助", "定额资助", "贷补联动", "自筹", "包干制")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_LIMIT = 500  # rows listed in the preview; the counts are always complete
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def _db(request: Request[Any, Any, Any]) -> Session:
    return state_of(request)["db"]


def _user(request: Request[Any, Any, Any]) -> User:
    return state_of(request)["user"]


# --- the waiting files ---------------------------------------------------------------------------


def award_uploads(settings: Any) -> PendingStore:
    """Award lists waiting for their confirmation: `uploads/award-lists/` under the settings' data_dir."""
    return PendingStore(Path(settings.data_dir) / "uploads" / "award-lists", kind="award_list")


def save_award_upload(settings: Any, *, user_id: int, document_id: int, file_name: str, data: bytes,
                      now: Any) -> str:
    """Keep an award list for its confirmation; returns the token (the route matrix test uses it too)."""
    return award_uploads(settings).save(user_id=user_id, file_name=file_name, data=data, now=now,
                                        document_id=document_id)


# --- documents -----------------------------------------------------------------------------------


def _documents(request: Request[Any, Any, Any]) -> list[GuidelineDocument]:
    """The current guidelines of the officer's programmes (the ones an award list can be imported into)."""
    return catalogue.catalogue_documents(_db(request), _user(request))


def _is_id(text: str) -> bool:
    """ASCII digits only (str.isdigit also accepts ² and other digits int() refuses), of a sane length."""
    return text.isascii() and text.isdigit() and len(text) < 12


def _document_or_404(request: Request[Any, Any, Any], raw: Any) -> GuidelineDocument:
    text = str(raw or "").strip()
    document = catalogue.document_for(_db(request), _user(request), int(text)) if _is_id(text) else None
    if document is None:
        raise NotFoundException()
    return document


# --- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemRow:
    row: int | None
    column: str
    cell: str
    message: str


def _header_letters(data: bytes, sheet: AwardSheet) -> dict[str, str]:
    """Field key → column letter, from the header row(s) the reader found (for problems found against the
    database, which name the column but not the cell). Empty when anything goes wrong: cells are a help."""
    if not sheet.sheet_name or sheet.header_row < 1:
        return {}
    letters: dict[str, str] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        try:
            ws = workbook[sheet.sheet_name]
            ws.reset_dimensions()
            for row in ws.iter_rows(min_row=sheet.header_row, max_row=sheet.header_row + 1, max_col=200,
                                    values_only=True):
                for index, value in enumerate(row):
                    key = header_field(str(value)) if value is not None else None
                    if key and key not in letters:
                        letters[key] = get_column_letter(index + 1)
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 - the file was read once already; without letters the table still helps
        return {}
    return letters


def _problem_rows(problems: list[Any], *, data: bytes, sheet: AwardSheet | None) -> list[ProblemRow]:
    letters: dict[str, str] | None = None
    rows = []
    for problem in problems:
        cell = getattr(problem, "cell", None) or ""
        if not cell and problem.row is not None and problem.column and sheet is not None:
            if letters is None:
                letters = _header_letters(data, sheet)
            key = header_field(problem.column)
            cell = f"{letters[key]}{problem.row}" if key in letters else ""
        rows.append(ProblemRow(problem.row, problem.column or "", cell, problem.message))
    return rows


def _check(request: Request[Any, Any, Any], document: GuidelineDocument, name: str, data: bytes
           ) -> tuple[AwardSheet, ImportResult | None, list[ProblemRow]]:
    """Read the file, then try the import without writing: (sheet, dry-run result, problems)."""
    sheet = read_award_list(name, data)
    if sheet.errors:
        return sheet, None, _problem_rows(list(sheet.errors), data=data, sheet=sheet)
    state = state_of(request)
    result = load_award_list(_db(request), name, data, document, actor=state["actor"], now=clock.now(),
                             dry_run=True)
    return sheet, result, _problem_rows(result.problems, data=data, sheet=sheet)


# --- the form ------------------------------------------------------------------------------------


def _form(request: Request[Any, Any, Any], *, status_code: int = 200, error: str = "", document_id: Any = "",
          problems: list[ProblemRow] | None = None, file_name: str = "") -> Response[Any]:
    documents = _documents(request)
    return page(request, "projects/import.html", status_code=status_code, documents=documents,
                selected=str(document_id or ""),
                error=error, problems=problems or [], file_name=file_name,
                max_mb=MAX_FILE_BYTES // 1024 // 1024)


@get("/projects/import", name="project_import_form", sync_to_thread=True)
def import_form(request: Request[Any, Any, Any], document: FromQuery[str] = "") -> Response[Any]:
    return _form(request, document_id=document[:12])


# --- the template --------------------------------------------------------------------------------


def _file_name_part(text: str) -> str:
    return _UNSAFE_FILE_CHARS.sub("_", text).strip(" ._")[:80]


def attachment(data: bytes, file_name: str, fallback: str) -> Response[bytes]:
    """An .xlsx download: RFC 6266/5987 file name (UTF-8) with an ASCII fallback, never sniffed."""
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
    return Response(content=data, media_type=XLSX_TYPE,
                    headers={"content-disposition": disposition, "x-content-type-options": "nosniff"})


@get("/projects/import/template", name="project_import_template", sync_to_thread=True)
def import_template(request: Request[Any, Any, Any], document: FromQuery[str] = "") -> Response[Any]:
    """The template with this guideline's directions as the dropdown; without a guideline, a blank one."""
    choices: list[str] = []
    prefix = ""
    if document:
        found = _document_or_404(request, document)
        choices = [" / ".join(leaf.path) for leaf in leaf_index(_db(request), found)]
        prefix = _file_name_part(found.programme.name)
    data = award_template(choices, list(FUNDING_MODES))
    return attachment(data, f"{prefix}立项清单模板.xlsx", "award-list-template.xlsx")


# --- upload and preview --------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    row: int
    code: str
    title: str
    direction: str
    organisation: str
    uscc: str
    new_organisation: bool
    fiscal: Decimal
    self_funding: Decimal
    start: date
    end: date | None
    period_months: int | None
    funding_mode: str


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    uscc: str
    city: str
    username: str


def _preview_rows(db: Session, document: GuidelineDocument, rows: tuple[AwardRow, ...], unchanged: set[str]
                  ) -> tuple[list[PreviewRow], list[AwardRow], list[NewOrganisation]]:
    """(rows to create, rows already imported and identical, organisations the import will create)."""
    leaves = leaf_index(db, document)
    fresh = [r for r in rows if r.project_code not in unchanged]
    codes = {r.uscc for r in fresh}
    known = set(db.scalars(select(Organisation.uscc).where(Organisation.uscc.in_(codes)))) if codes else set()
    creating: list[PreviewRow] = []
    organisations: dict[str, NewOrganisation] = {}
    for r in fresh:
        node, _problem = match_direction(leaves, r.direction)
        is_new = r.uscc not in known
        if is_new and r.uscc not in organisations:
            organisations[r.uscc] = NewOrganisation(r.organisation_name, r.uscc, city_name(r.uscc[2:8]),
                                                    r.uscc.lower())
        creating.append(PreviewRow(
            row=r.row, code=r.project_code, title=r.title,
            direction=" / ".join(node.path) if node is not None else r.direction,
            organisation=r.organisation_name, uscc=r.uscc, new_organisation=is_new, fiscal=r.fiscal_funding,
            self_funding=r.self_funding, start=r.start_date, end=r.end_date, period_months=r.period_months,
            funding_mode=r.funding_mode or ""))
    same = [r for r in rows if r.project_code in unchanged]
    return creating, same, list(organisations.values())


@post("/projects/import", name="project_import", sync_to_thread=True, request_max_body_size=IMPORT_BODY_LIMIT)
def import_upload(request: Request[Any, Any, Any]) -> Response[Any]:
    db, user = _db(request), _user(request)
    form = form_of(request)
    raw_document = forms.text(form, "document", 20)
    if not raw_document:
        return _form(request, status_code=400, error="请选择立项清单所属的指南")
    document = _document_or_404(request, raw_document)
    if not document.is_current:
        return _form(request, status_code=400, document_id=raw_document,
                     error="该指南已有新版本，请选择项目计划的当前版本后重新上传")
    upload = form.get("file")
    if not is_file(upload):
        return _form(request, status_code=400, document_id=document.id,
                     error="请选择要上传的立项清单文件（Excel 工作簿 .xlsx）")
    name = clean_file_name(str(upload.filename), "立项清单.xlsx")
    data = read_upload(upload, MAX_FILE_BYTES)
    sheet, result, problems = _check(request, document, name, data)
    if problems or result is None:
        return _form(request, status_code=400, document_id=document.id, problems=problems, file_name=name)
    creating, same, organisations = _preview_rows(db, document, sheet.rows, set(result.unchanged))
    token = ""
    if creating:  # a list that is already imported has nothing to confirm
        token = save_award_upload(request.app.state.settings, user_id=user.id, document_id=document.id,
                                  file_name=name, data=data, now=clock.now())
    return page(request, "projects/import_preview.html", document=document,
                file_name=name, sheet=sheet, creating=creating[:PREVIEW_LIMIT], creating_total=len(creating),
                same=same[:PREVIEW_LIMIT], same_total=len(same), organisations=organisations, token=token,
                limit=PREVIEW_LIMIT)


# --- confirm -------------------------------------------------------------------------------------


@post("/projects/import/{import_token:str}/confirm", name="project_import_confirm", sync_to_thread=True)
def import_confirm(request: Request[Any, Any, Any], import_token: FromPath[str]) -> Response[Any]:
    state = state_of(request)
    db, user, actor = state["db"], state["user"], state["actor"]
    store = award_uploads(request.app.state.settings)
    now = clock.now()
    pending = store.load(import_token, user_id=user.id, now=now)
    if pending is None:
        raise NotFoundException(detail="上传的立项清单不存在或已过期（有效期1小时），请重新上传")
    # The programme may have been unassigned since the preview: then the guideline is a 404 like any other.
    document = _document_or_404(request, pending.extra.get("document_id"))
    if not document.is_current:
        store.discard(pending.token)
        return _form(request, status_code=400, document_id=document.id, file_name=pending.file_name,
                     error="预览之后该指南导入了新版本，请选择当前版本后重新上传立项清单")
    if not store.claim(pending.token):
        raise NotFoundException(detail="该立项清单已被确认导入或已过期，请刷新项目列表查看")
    result = load_award_list(db, pending.file_name, pending.data, document, actor=actor, now=now)
    if result.problems:
        sheet = read_award_list(pending.file_name, pending.data)
        return _form(request, status_code=400, document_id=document.id, file_name=pending.file_name,
                     problems=_problem_rows(result.problems, data=pending.data, sheet=sheet),
                     error="预览之后数据库中的数据有变化，以下问题使这份立项清单无法导入，未导入任何数据")
    if result.created:
        audit.record(db, actor, "award_list_imported", now=now, object_type="guideline_document",
                     object_id=document.id, after={
                         "file": pending.file_name, "created": len(result.created),
                         "unchanged": len(result.unchanged), "organisations": len(result.new_organisations)})
    base = str(request.base_url).rstrip("/")
    activations = [(username, f"{base}/activate/{token}") for username, token in result.activations]
    by_username = {o.uscc.lower(): o for o in result.new_organisations}
    return page(request, "projects/import_result.html", document=document,
                file_name=pending.file_name, created=result.created, unchanged=result.unchanged,
                organisations=result.new_organisations, activations=activations, by_username=by_username,
                city_name=city_name)


# --- the Excel export of the project list --------------------------------------------------------


def _scope_note(db: Session, user: User, filters: project_service.ProjectFilters) -> str:
    scope = {"grantee": "本单位的项目", "officer": "分配给我的项目计划中的项目", "admin": "全部项目",
             "finance": "全部项目", "expert": "分配给我的验收项目"}.get(user.role, "")
    parts = []
    if filters.programme_id:
        names = {p.id: p.name for p in visible_programmes(db, user)}  # never the name of a programme out of scope
        parts.append(f"项目计划={names.get(filters.programme_id, filters.programme_id)}")
    if filters.city:
        parts.append(f"城市={CITIES.get(filters.city + '00', filters.city)}")
    if filters.status:
        parts.append(f"状态={ProjectStatus(filters.status).label}")
    if filters.q:
        parts.append(f"编号或名称包含“{filters.q}”")
    for label, value in (("方向", filters.node_id), ("单位", filters.organisation_id), ("专员", filters.officer_id)):
        if value:
            parts.append(f"{label}编号={value}")
    return scope + ("；筛选：" + "，".join(parts) if parts else "")


@get("/projects/export.xlsx", name="projects_export", sync_to_thread=True)
def projects_export(request: Request[Any, Any, Any], programme: FromQuery[str] = "", direction: FromQuery[str] = "",
                    city: FromQuery[str] = "", organisation: FromQuery[str] = "", officer: FromQuery[str] = "",
                    status: FromQuery[str] = "", q: FromQuery[str] = "", sort: FromQuery[str] = "code",
                    order: FromQuery[str] = "asc") -> Response[Any]:
    """The filtered project list (the filters of /projects, without paging) as Excel, one row per target."""
    db, user = _db(request), _user(request)
    filters = filters_from_query(programme, direction, city, organisation, officer, status, q, sort, order)
    now = clock.now()
    projects = load_projects(db, project_service.filtered_projects(user, filters))
    data = projects_workbook(projects, generated_at=now, scope_note=_scope_note(db, user, filters))
    stamp = clock.local(now).strftime("%Y%m%d")
    return attachment(data, f"项目清单-{stamp}.xlsx", f"projects-{stamp}.xlsx")
