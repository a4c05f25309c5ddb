"""Award lists (立项清单) imported in the browser, their Excel template, and the Excel export of the project list.

Who: officers import award lists into the current guideline of a programme assigned to them (the admin is
read-only on business data, DESIGN §1; finance, experts and grantees do not import). Another programme's
guideline is a 404, like a missing one.

The import is two requests (tracker.web.uploads.UploadFlow; the use case is imports.award_loader, the same as
`tracker projects import`):
1. `POST /projects/import` previews the file: with any problem the form comes back (400) with every problem by
   row, column and cell, and nothing is written; otherwise the preview lists the rows to create, the rows already
   imported unchanged and the new organisations, and the file waits server-side for an hour.
2. `POST /projects/import/{token}/confirm` imports it (all or nothing again: if the database changed in between
   and a row no longer fits, the problems are shown, 400) and shows the created projects and the activation
   links of the new grantee accounts (shown to the officer until mail exists).

The export (`GET /projects/export.xlsx`) takes the filters of the project list and builds the workbook of
tracker.exports.projects_xlsx (the same file as `tracker export projects PATH`), within the user's scope.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, FromQuery
from sqlalchemy.orm import Session

from imports.award_loader import AwardListPreview, import_award_list, preview_award_list
from imports.xlsx_guard import MAX_FILE_BYTES
from indicators.regions import CITIES, city_name
from tracker import clock
from tracker.exports.at_risk_xlsx import at_risk_rows, at_risk_workbook
from tracker.exports.award_template import award_template
from tracker.exports.projects_xlsx import load_projects, projects_workbook
from tracker.models import GuidelineDocument, ProjectStatus, User
from tracker.services import guidelines as catalogue
from tracker.services import projects as project_service
from tracker.services.programmes import visible_programmes
from tracker.services.projects import ImportProblem, current_target_counts, leaf_index
from tracker.settings import Settings
from tracker.web import forms
from tracker.web.controllers.projects import filters_from_query
from tracker.web.deps import AppSettings, CurrentUser, DbSession, RequestActor, SubmittedForm
from tracker.web.lookups import document_or_404, or_404
from tracker.web.render import page
from tracker.web.uploads import Call, Refused, UploadFlow

# The upload body: the reader's own limit plus room for the multipart envelope and the other fields, so a
# file just under the limit is not refused by the transport (the guard then checks the file itself).
IMPORT_BODY_LIMIT = MAX_FILE_BYTES + 64 * 1024
FUNDING_MODES = ("前资助", "后补助", "里程碑式补助", "定额资助", "贷补联动", "自筹", "包干制")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_LIMIT = 500  # rows listed in the preview; the counts are always complete
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def _is_id(text: str) -> bool:
    """ASCII digits only (str.isdigit also accepts ² and other digits int() refuses), of a sane length."""
    return text.isascii() and text.isdigit() and len(text) < 12


def _document_from_text(db: Session, user: User, raw: Any) -> GuidelineDocument:
    """The guideline a form field or query parameter names by its id; anything else is a 404 like a foreign id."""
    text = str(raw or "").strip()
    return document_or_404(db, user, int(text)) if _is_id(text) else or_404(None)


def _form(request: Request[Any, Any, Any], db: Session, user: User, *, status_code: int = 200, error: str = "",
          document_id: Any = "", problems: tuple[ImportProblem, ...] = (), file_name: str = "",
          errors: dict[str, str] | None = None) -> Response[Any]:
    # The current guidelines of the officer's programmes: the ones an award list can be imported into. None is
    # chosen in advance: a preselected guideline invites importing a list into the wrong programme.
    return page(request, "projects/import.html", status_code=status_code,
                documents=catalogue.catalogue_documents(db, user), selected=str(document_id or ""), error=error,
                errors=errors or {}, problems=problems, file_name=file_name,
                max_mb=MAX_FILE_BYTES // 1024 // 1024)


@get("/projects/import", name="project_import_form", sync_to_thread=True)
def import_form(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, document: FromQuery[str] = ""
                ) -> Response[Any]:
    return _form(request, db, user, document_id=document[:12])


# --- the template --------------------------------------------------------------------------------


def _file_name_part(text: str) -> str:
    return _UNSAFE_FILE_CHARS.sub("_", text).strip(" ._")[:80]


def attachment(data: bytes, file_name: str, fallback: str) -> Response[bytes]:
    """An .xlsx download: RFC 6266/5987 file name (UTF-8) with an ASCII fallback, never sniffed."""
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
    return Response(content=data, media_type=XLSX_TYPE,
                    headers={"content-disposition": disposition, "x-content-type-options": "nosniff"})


@get("/projects/import/template", name="project_import_template", sync_to_thread=True)
def import_template(db: DbSession, user: CurrentUser, document: FromQuery[str] = "") -> Response[Any]:
    """The template with this guideline's directions as the dropdown; without a guideline, a blank one."""
    choices: list[str] = []
    prefix = ""
    if document:
        found = _document_from_text(db, user, document)
        choices = [" / ".join(leaf.path) for leaf in leaf_index(db, found)]
        prefix = _file_name_part(found.programme.name)
    data = award_template(choices, list(FUNDING_MODES))
    return attachment(data, f"{prefix}立项清单模板.xlsx", "award-list-template.xlsx")


# --- upload, preview, confirm --------------------------------------------------------------------


class AwardListUpload(UploadFlow[AwardListPreview]):
    kind = "award_list"
    max_bytes = MAX_FILE_BYTES
    default_name = "立项清单.xlsx"
    no_file = "请选择要上传的立项清单文件（Excel 工作簿 .xlsx）"
    gone = "上传的立项清单不存在或已过期（有效期1小时），请重新上传"
    taken = "该立项清单已被确认导入或已过期，请刷新项目列表查看"

    def fields(self, call: Call, form: FormMultiDict) -> dict[str, Any]:
        raw = forms.text(form, "document", 20)
        if not raw:
            raise Refused(_form(call.request, call.db, call.user, status_code=400,
                                errors={"document": "请选择立项清单所属的指南"}))
        fields = {"document_id": _document_from_text(call.db, call.user, raw).id}
        self._document(call, fields, confirming=False)
        return fields

    def form_page(self, call: Call, fields: dict[str, Any], *, error: str, status_code: int,
                  problems: tuple[ImportProblem, ...] = (), file_name: str = "") -> Response[Any]:
        return _form(call.request, call.db, call.user, status_code=status_code, error=error, problems=problems,
                     document_id=fields.get("document_id", ""), file_name=file_name)

    def _document(self, call: Call, fields: dict[str, Any], *, confirming: bool) -> GuidelineDocument:
        # At the confirmation the programme may have been unassigned since: then it is a 404 like any other.
        document = _document_from_text(call.db, call.user, fields.get("document_id"))
        if not document.is_current:
            error = ("预览之后该指南导入了新版本，请选择当前版本后重新上传立项清单" if confirming
                     else "该指南已有新版本，请选择项目计划的当前版本后重新上传")
            raise Refused(self.form_page(call, fields, error=error, status_code=400))
        return document

    def preview(self, call: Call, name: str, data: bytes, fields: dict[str, Any], *, confirming: bool
                ) -> AwardListPreview:
        document = self._document(call, fields, confirming=confirming)
        preview = preview_award_list(call.db, name, data, document, actor=call.actor, now=clock.now())
        if preview.problems:
            error = "预览之后数据库中的数据有变化，以下问题使这份立项清单无法导入，未导入任何数据" if confirming else ""
            raise Refused(self.form_page(call, fields, error=error, status_code=400, problems=preview.problems,
                                         file_name=name))
        return preview

    def needs_confirming(self, preview: AwardListPreview) -> bool:
        return bool(preview.creating)  # a list that is already imported has nothing to confirm

    def preview_page(self, call: Call, preview: AwardListPreview, token: str) -> Response[Any]:
        return page(call.request, "projects/import_preview.html",
                    document=call.db.get(GuidelineDocument, preview.document_id), file_name=preview.file_name,
                    sheet=preview.sheet, creating=preview.creating[:PREVIEW_LIMIT],
                    creating_total=len(preview.creating), same=preview.unchanged[:PREVIEW_LIMIT],
                    same_total=len(preview.unchanged), organisations=preview.new_organisations, token=token,
                    limit=PREVIEW_LIMIT)

    def commit(self, call: Call, preview: AwardListPreview) -> Response[Any]:
        document = call.db.get(GuidelineDocument, preview.document_id)
        result = import_award_list(call.db, preview, document, actor=call.actor, now=clock.now())
        if result.problems:
            raise Refused(self.form_page(
                call, {"document_id": document.id}, status_code=400, problems=tuple(result.problems),
                file_name=preview.file_name,
                error="预览之后数据库中的数据有变化，以下问题使这份立项清单无法导入，未导入任何数据"))
        base = str(call.request.base_url).rstrip("/")
        activations = [(username, f"{base}/activate/{token}") for username, token in result.activations]
        by_username = result.account_organisations
        # Counted in a few queries: the page lists every created project (thousands for a provincial list).
        target_counts = current_target_counts(call.db, [p.id for p in result.created])
        return page(call.request, "projects/import_result.html", document=document, file_name=preview.file_name,
                    created=result.created, unchanged=result.unchanged, organisations=result.new_organisations,
                    activations=activations, by_username=by_username, city_name=city_name,
                    target_counts=target_counts)


AWARD_LIST_UPLOAD = AwardListUpload()


def save_award_upload(settings: Settings, *, user_id: int, document_id: int, file_name: str, data: bytes,
                      now: Any) -> str:
    """Keep an award list as the upload step does and return its token (the route tests confirm it directly)."""
    return AWARD_LIST_UPLOAD.store(settings).save(user_id=user_id, file_name=file_name, data=data, now=now,
                                                  document_id=document_id)


@post("/projects/import", name="project_import", sync_to_thread=True, request_max_body_size=IMPORT_BODY_LIMIT)
def import_upload(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                  settings: AppSettings, form: SubmittedForm) -> Response[Any]:
    return AWARD_LIST_UPLOAD.upload(Call(request, db, user, actor, settings), form)


@post("/projects/import/{import_token:str}/confirm", name="project_import_confirm", sync_to_thread=True)
def import_confirm(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                   settings: AppSettings, import_token: FromPath[str]) -> Response[Any]:
    return AWARD_LIST_UPLOAD.confirm(Call(request, db, user, actor, settings), import_token)


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
def projects_export(db: DbSession, user: CurrentUser, programme: FromQuery[str] = "", direction: FromQuery[str] = "",
                    city: FromQuery[str] = "", organisation: FromQuery[str] = "", officer: FromQuery[str] = "",
                    status: FromQuery[str] = "", risk: FromQuery[str] = "", attention: FromQuery[str] = "",
                    q: FromQuery[str] = "", sort: FromQuery[str] = "code", order: FromQuery[str] = "asc"
                    ) -> Response[Any]:
    """The filtered project list (the filters of /projects, without paging) as Excel, one row per target."""
    filters = filters_from_query(programme, direction, city, organisation, officer, status, q, sort, order, risk,
                                 attention)
    now = clock.now()
    projects = load_projects(db, project_service.filtered_projects(user, filters))
    data = projects_workbook(projects, generated_at=now, scope_note=_scope_note(db, user, filters))
    stamp = clock.local(now).strftime("%Y%m%d")
    return attachment(data, f"项目清单-{stamp}.xlsx", f"projects-{stamp}.xlsx")


@get("/projects/at-risk.xlsx", name="projects_at_risk_export", sync_to_thread=True)
def projects_at_risk_export(db: DbSession, user: CurrentUser, programme: FromQuery[str] = "",
                            direction: FromQuery[str] = "", city: FromQuery[str] = "",
                            organisation: FromQuery[str] = "", officer: FromQuery[str] = "",
                            status: FromQuery[str] = "", risk: FromQuery[str] = "at_risk",
                            attention: FromQuery[str] = "", q: FromQuery[str] = "", sort: FromQuery[str] = "risk",
                            order: FromQuery[str] = "asc") -> Response[Any]:
    """The at-risk list (red and amber unless the filters say otherwise, worst first) as Excel, one row per
    project with its reasons."""
    filters = filters_from_query(programme, direction, city, organisation, officer, status, q, sort, order, risk,
                                 attention)
    now = clock.now()
    rows = at_risk_rows(db, project_service.filtered_projects(user, filters))
    data = at_risk_workbook(rows, generated_at=now, scope_note=_scope_note(db, user, filters))
    stamp = clock.local(now).strftime("%Y%m%d")
    return attachment(data, f"风险项目-{stamp}.xlsx", f"at-risk-{stamp}.xlsx")


router = Router(path="/", include_in_schema=False, route_handlers=[
    import_form, import_template, import_upload, import_confirm, projects_export, projects_at_risk_export,
])
