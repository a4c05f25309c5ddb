"""The JSON API under /api/v1/ (DESIGN §4): programmes, directions with their targets, projects and a project's
targets (the reports are in api_reports).

The same permission policy as the pages: the middleware resolves the user from the session cookie or from a
personal API token (`Authorization: Bearer …`) and checks the route's POLICY entry by the handler's `name`
before the handler runs; the handlers then keep to the user's object scope, and another scope's object answers
404 exactly like a missing one. Errors are JSON `{"status", "error"}` (tracker.web.errors).

Money is given in yuan as decimal strings (never floats) and in 万元; dates and times are ISO 8601 strings.

Query parameters are checked strictly: a malformed page, page size or filter is a 400 naming the parameter (an
API client is better served by an error than by a silently ignored filter). `per_page` above 200 is cut to 200;
a page beyond the last one is an empty list (never clamped to the last page, so a client can page until empty).

The OpenAPI document (`/api/v1/openapi.json`, admins only, not registered in production) is served by our own
named handler; see `openapi_config` below for why Litestar's own schema routes are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypedDict

from litestar import Request, Response, Router, get
from litestar.enums import OpenAPIMediaType
from litestar.exceptions import ClientException, NotFoundException
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, Operation, RequestBody, Schema, SecurityScheme
from litestar.openapi.spec import OpenAPIMediaType as MediaTypeSpec
from litestar.params import PathParameter, QueryParameter
from litestar.serialization import encode_json
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from indicators.regions import city_name
from tracker.models import (
    GuidelineClause,
    GuidelineDocument,
    GuidelineNode,
    Programme,
    Project,
    ProjectStatus,
    ProjectTarget,
    RuleCorrection,
    TargetSet,
    User,
)
from tracker.services import dashboard, indicator_review
from tracker.services import guidelines as catalogue
from tracker.services import projects as project_service
from tracker.services.programmes import visible_programmes
from tracker.services.task_books import confirmed_set
from tracker.web.common import API_PREFIX
from tracker.web.deps import CurrentUser, DbSession
from tracker.web.fragments import KEPT, scope_key
from tracker.web.lookups import direction_or_404, or_404, project_or_404

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
WAN = Decimal(10_000)
RULE_KINDS = ("selection", "funding", "period")
# Ids are INTEGER columns: PostgreSQL refuses a larger number even in a comparison (a 500 instead of no row).
MAX_ID = 2**31 - 1
ObjectId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


# --- response shapes (TypedDicts: plain dicts at run time, documented in the OpenAPI schema) ---------------


class ApiError(TypedDict):
    """Every error of the API (tracker.web.errors): the status and a message in Chinese."""

    status: int
    error: str


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    text = {400: "参数无效", 401: "未登录，或 API 令牌无效、已过期、已撤销", 403: "角色无权访问",
            404: "对象不存在，或不在您的权限范围内（两者的回答相同）"}
    return {code: ResponseSpec(data_container=ApiError, description=text[code]) for code in codes}


def json_request_body(schema: Schema, description: str) -> type[Operation]:
    """The OpenAPI operation of a handler that reads its JSON body itself (`json_body_of`, parsed only after the
    object was found in the caller's scope, so that another scope's object answers 404 whatever the body), with
    that body declared: give it as `operation_class=`. Not `required`: an empty body reads as `{}`."""
    body = RequestBody(content={"application/json": MediaTypeSpec(schema=schema)}, description=description,
                       required=False)

    @dataclass
    class WithJsonBody(Operation):
        def __post_init__(self) -> None:
            if self.request_body is None:
                self.request_body = body

    return WithJsonBody


class DocumentRef(TypedDict):
    id: int
    version: int
    title: str | None
    file_name: str
    imported_at: str
    leaf_count: int
    clause_count: int


class ProgrammeOut(TypedDict):
    id: int
    name: str
    description: str
    is_active: bool
    document: DocumentRef | None


class ProgrammeList(TypedDict):
    items: list[ProgrammeOut]


class RateOut(TypedDict):
    name: str
    reports_due: int
    reports_submitted: int
    reports_on_time: int
    reporting_rate: float | None
    on_time_rate: float | None


class CategoryTotalOut(TypedDict):
    category: str
    label: str
    unit: str
    committed: str
    achieved: str
    projects: int


class ProgrammeSummary(TypedDict):
    programme: ProgrammeOut
    projects_by_status: dict[str, int]
    reporting: RateOut | None
    by_city: list[RateOut]
    by_officer: list[RateOut]
    committed_vs_achieved: list[CategoryTotalOut]


class GuidelineTarget(TypedDict):
    category: str | None
    metric: str | None
    op: str | None
    value: str | None
    unit: str | None
    kind: str | None
    better: str | None


class ClauseOut(TypedDict):
    id: int
    label: str | None
    text: str
    line: int
    group: str | None
    combine: str
    quantitative: bool
    corrected: bool
    correction_version: int | None
    targets: list[GuidelineTarget]


class RuleItem(TypedDict):
    label: str | None
    line: int | None
    description: str | None


class RuleOut(TypedDict):
    description: str | None
    text: str | None
    line: int | None
    rule: dict[str, Any] | None
    items: list[RuleItem]
    corrected: bool
    correction_version: int | None


class DirectionOut(TypedDict):
    id: int
    document_id: int
    programme_id: int
    path: list[str]
    title: str
    direction: str
    marker: str | None
    line: int
    inherits_indicators: bool
    clauses: list[ClauseOut]
    rules: dict[str, RuleOut | None]


class DirectionDetail(DirectionOut):
    document: DocumentRef
    is_current: bool


class DirectionList(TypedDict):
    programme: ProgrammeOut
    items: list[DirectionOut]


class NamedRef(TypedDict):
    id: int
    name: str


class VersionRef(TypedDict):
    id: int
    version: int


class DirectionRef(TypedDict):
    id: int
    path: list[str]
    title: str


class OrganisationRef(TypedDict):
    id: int
    name: str
    uscc: str
    city: str


class TaskBookState(TypedDict):
    state: str  # "confirmed" | "draft"
    confirmed_version: int | None
    confirmed_at: str | None
    current_version: int


class ProjectOut(TypedDict):
    id: int
    code: str
    title: str
    programme: NamedRef
    document: VersionRef  # the guideline version the project was awarded under
    direction: DirectionRef
    organisation: OrganisationRef
    officer: NamedRef | None
    start_date: str
    end_date: str
    period_months: int
    fiscal_funding_yuan: str
    fiscal_funding_wan: str
    self_funding_yuan: str
    self_funding_wan: str
    funding_mode: str | None
    status: str
    status_label: str
    task_book: TaskBookState


class ProjectList(TypedDict):
    items: list[ProjectOut]
    page: int
    per_page: int
    total: int
    pages: int


class ProjectTargetOut(TypedDict):
    position: int
    source: str
    clause_id: int | None
    label: str | None
    clause_text: str
    clause_combine: str
    category: str
    metric: str
    op: str | None
    value: str | None
    unit: str | None
    kind: str
    better: str | None
    guideline_value: str | None
    change_reason: str


class TargetSetSummary(TypedDict):
    version: int
    confirmed: bool
    confirmed_at: str | None
    confirmed_by_id: int | None
    reason: str
    created_at: str
    target_count: int


class TargetSetOut(TargetSetSummary):
    targets: list[ProjectTargetOut]


class ProjectTargets(TypedDict):
    project_id: int
    current: TargetSetOut
    older_versions: list[TargetSetSummary]


class RuleDescriptions(TypedDict):
    selection: str | None
    funding: str | None
    period: str | None


class ProjectDetail(ProjectOut):
    content_items: list[str]
    rules: RuleDescriptions
    created_at: str
    targets: ProjectTargets


# --- helpers --------------------------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _decimal_text(value: Any) -> str | None:
    """A number as a plain decimal string (no exponent, no float noise); None stays None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _yuan(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _wan(value: Decimal) -> str:
    return _decimal_text(value / WAN) or "0"


def _bad(name: str, message: str) -> ClientException:
    return ClientException(detail=f"参数 {name} 无效：{message}", status_code=400)


_POSITIVE = {"type": "integer", "minimum": 1, "maximum": 999_999_999}


def _query(description: str, **schema: Any) -> Any:
    """A query parameter the handler reads as text itself (`_positive_int`: a malformed one is a 400 naming the
    parameter, not Litestar's validation error); `schema` is what the OpenAPI document says it admits."""
    return QueryParameter(description=description, schema_extra={"one_of": None, **schema})


def _positive_int(name: str, text: str, default: int) -> int:
    text = text.strip()
    if not text:
        return default
    # isascii: `²` is a digit to str.isdigit but not to int().
    if not (text.isascii() and text.isdigit() and len(text) < 10) or int(text) < 1:
        raise _bad(name, "必须是正整数")
    return int(text)


# --- programmes and directions --------------------------------------------------------------------


def _document_ref(document: GuidelineDocument) -> DocumentRef:
    return {"id": document.id, "version": document.version, "title": document.title,
            "file_name": document.file_name, "imported_at": _iso(document.imported_at) or "",
            "leaf_count": document.leaf_count, "clause_count": document.clause_count}


def _programme(programme: Programme, document: GuidelineDocument | None) -> ProgrammeOut:
    return {"id": programme.id, "name": programme.name, "description": programme.description,
            "is_active": programme.is_active, "document": _document_ref(document) if document else None}


def _guideline_target(target: dict[str, Any]) -> GuidelineTarget:
    value = target.get("value")
    # The same defaults a project applies when it inherits the target (services.projects.inherited_targets).
    return {"category": target.get("category"), "metric": target.get("metric"), "op": target.get("op"),
            "value": _decimal_text(value), "unit": target.get("unit"),
            "kind": target.get("kind") or ("qualitative" if value is None else "cumulative"),
            "better": target.get("better")}


def _clause(clause: GuidelineClause, corrections: dict[int, Any]) -> ClauseOut:
    correction = corrections.get(clause.id)
    targets = correction.targets if correction else clause.targets
    return {"id": clause.id, "label": clause.label, "text": clause.text, "line": clause.line, "group": clause.group,
            "combine": correction.combine if correction else clause.combine, "quantitative": clause.quantitative,
            "corrected": correction is not None, "correction_version": correction.version if correction else None,
            "targets": [_guideline_target(t) for t in targets or [] if isinstance(t, dict)]}


def _rule(kind: str, parsed: dict[str, Any] | None, correction: RuleCorrection | None) -> RuleOut | None:
    """A direction's selection / funding / period rule: the newest correction, else the parse."""
    if correction is not None:
        data = correction.data or {}
        return {"description": data.get("description"), "text": data.get("text"), "line": None,
                "rule": data.get("rule"), "items": [], "corrected": True, "correction_version": correction.version}
    if not parsed:
        return None
    if kind == "selection":
        block = parsed.get("block") or {}
        items: list[RuleItem] = [{"label": item.get("label"), "line": item.get("line"),
                                  "description": item.get("description")} for item in parsed.get("items") or []]
        return {"description": block.get("description"), "text": block.get("text"), "line": block.get("line"),
                "rule": block.get("rule"), "items": items, "corrected": False, "correction_version": None}
    return {"description": parsed.get("description"), "text": parsed.get("text"), "line": parsed.get("line"),
            "rule": parsed.get("rule"), "items": [], "corrected": False, "correction_version": None}


def _direction(node: GuidelineNode, programme_id: int, corrections: dict[int, Any],
               rule_corrections: dict[tuple[int, str], RuleCorrection]) -> DirectionOut:
    return {"id": node.id, "document_id": node.document_id, "programme_id": programme_id, "path": list(node.path),
            "title": node.title, "direction": node.direction, "marker": node.marker, "line": node.line,
            "inherits_indicators": node.inherits_indicators,
            "clauses": [_clause(c, corrections) for c in node.clauses],
            "rules": {kind: _rule(kind, getattr(node, f"{kind}_rule"), rule_corrections.get((node.id, kind)))
                      for kind in RULE_KINDS}}


@get(f"{API_PREFIX}/programmes", name="api_programmes", sync_to_thread=True, include_in_schema=True,
     tags=["guidelines"], responses=_errors(401, 403))
def api_programmes(db: DbSession, user: CurrentUser) -> ProgrammeList:
    """The programmes the user may see, each with its current guideline version (null before any import)."""
    documents = {d.programme_id: d for d in catalogue.catalogue_documents(db, user)}
    return {"items": [_programme(p, documents.get(p.id)) for p in visible_programmes(db, user)]}


def _visible_programme(db: Session, user: User, programme_id: int) -> Programme:
    ids = catalogue.visible_programme_ids(db, user)
    visible = ids is None or programme_id in ids
    return or_404(db.get(Programme, programme_id) if visible else None, "项目计划")


@get(f"{API_PREFIX}/programmes/{{programme_id:int}}/directions", name="api_directions", sync_to_thread=True,
     include_in_schema=True, tags=["guidelines"], responses=_errors(400, 401, 403, 404))
def api_directions(db: DbSession, user: CurrentUser, programme_id: ObjectId) -> DirectionList:
    """The leaf directions of the programme's current guideline, with their indicator clauses, effective
    targets (officers' corrections applied) and selection / funding / period rules."""
    programme = _visible_programme(db, user, programme_id)
    document = catalogue.current_document_of(db, programme.id)
    if document is None:
        return {"programme": _programme(programme, None), "items": []}
    leaves = catalogue.leaves_with_clauses(db, document.id)
    corrections = indicator_review.latest_corrections(db, [c.id for leaf in leaves for c in leaf.clauses])
    rule_corrections = catalogue.latest_rule_corrections(db, [leaf.id for leaf in leaves])
    return {"programme": _programme(programme, document),
            "items": [_direction(leaf, programme.id, corrections, rule_corrections) for leaf in leaves]}


@get(f"{API_PREFIX}/directions/{{node_id:int}}", name="api_direction", sync_to_thread=True,
     include_in_schema=True, tags=["guidelines"], responses=_errors(400, 401, 403, 404))
def api_direction(db: DbSession, user: CurrentUser, node_id: ObjectId) -> DirectionDetail:
    """One direction (a leaf of any guideline version the user may see; a project's direction stays reachable
    after a new version is imported), in the shape of the list, with its document."""
    node = direction_or_404(db, user, node_id, "方向")
    document = node.document
    corrections = indicator_review.latest_corrections(db, [c.id for c in node.clauses])
    rule_corrections = catalogue.latest_rule_corrections(db, [node.id])
    out = _direction(node, document.programme_id, corrections, rule_corrections)
    return {**out, "document": _document_ref(document), "is_current": document.is_current}


# --- projects -------------------------------------------------------------------------------------


def _task_book_state(project: Project) -> TaskBookState:
    confirmed = confirmed_set(project)
    current = project.target_sets[-1] if project.target_sets else None
    return {"state": "confirmed" if confirmed else "draft",
            "confirmed_version": confirmed.version if confirmed else None,
            "confirmed_at": _iso(confirmed.confirmed_at) if confirmed else None,
            "current_version": current.version if current else 0}


def _project(project: Project) -> ProjectOut:
    organisation, node, officer = project.organisation, project.node, project.officer
    return {
        "id": project.id, "code": project.code, "title": project.title,
        "programme": {"id": project.programme.id, "name": project.programme.name},
        "document": {"id": project.document.id, "version": project.document.version},
        "direction": {"id": node.id, "path": list(node.path), "title": node.title},
        "organisation": {"id": organisation.id, "name": organisation.name, "uscc": organisation.uscc,
                         "city": city_name(organisation.division_code)},
        "officer": {"id": officer.id, "name": officer.display_name or officer.username} if officer else None,
        "start_date": _iso(project.start_date) or "", "end_date": _iso(project.end_date) or "",
        "period_months": project.period_months,
        "fiscal_funding_yuan": _yuan(project.fiscal_funding), "fiscal_funding_wan": _wan(project.fiscal_funding),
        "self_funding_yuan": _yuan(project.self_funding), "self_funding_wan": _wan(project.self_funding),
        "funding_mode": project.funding_mode, "status": project.status, "status_label": project.status_label,
        "task_book": _task_book_state(project),
    }


@get(f"{API_PREFIX}/projects", name="api_projects", sync_to_thread=True, include_in_schema=True, tags=["projects"],
     responses=_errors(400, 401))
def api_projects(
    db: DbSession,
    user: CurrentUser,
    page: Annotated[str | None, _query("页码，从1开始；超过末页时返回空列表", **_POSITIVE)] = None,
    per_page: Annotated[str | None, _query(f"每页条数，默认{DEFAULT_PER_PAGE}，最多{MAX_PER_PAGE}"
                                           f"（更大的数按{MAX_PER_PAGE}）", **_POSITIVE)] = None,
    programme: Annotated[str | None, _query("项目计划 id", **_POSITIVE)] = None,
    status: Annotated[str | None, _query("状态：" + "、".join(ProjectStatus), type="string",
                                         enum=[s.value for s in ProjectStatus])] = None,
    q: Annotated[str | None, _query("项目编号或名称中包含的文字（前50个字符）", type="string")] = None,
) -> ProjectList:
    """The projects in the user's scope (grantee: own organisation; officer: assigned programmes; admin and
    finance: all; expert: their acceptance cases), by project code, paginated."""
    page_no = _positive_int("page", page or "", 1)
    size = min(_positive_int("per_page", per_page or "", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    programme_id = _positive_int("programme", programme or "", 0) or None
    if status and status not in {s.value for s in ProjectStatus}:
        raise _bad("status", "可选值为 " + "、".join(ProjectStatus))
    filters = project_service.ProjectFilters(programme_id=programme_id, status=status or "", q=(q or "")[:50])

    def build() -> ProjectList:
        query = project_service.filtered_projects(user, filters)
        total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        # Related rows in a fixed number of queries, whatever the number of projects on the page.
        # Only the columns an item shows of the direction and the guideline version (not the guideline's text).
        rows = project_service.page_of_projects(db, query, offset=(page_no - 1) * size, limit=size, options=(
            selectinload(Project.organisation), selectinload(Project.programme), selectinload(Project.officer),
            selectinload(Project.node).load_only(GuidelineNode.id, GuidelineNode.path, GuidelineNode.title),
            selectinload(Project.document).load_only(GuidelineDocument.id, GuidelineDocument.version),
            selectinload(Project.target_sets),
        ))
        return {"items": [_project(p) for p in rows], "page": page_no, "per_page": size, "total": total,
                "pages": max(1, math.ceil(total / size))}

    key = ("api-projects", scope_key(user), page_no, size, filters)
    return KEPT.get(db, key, build)


def _target(target: ProjectTarget) -> ProjectTargetOut:
    return {"position": target.position, "source": target.source, "clause_id": target.clause_id,
            "label": target.label, "clause_text": target.clause_text, "clause_combine": target.clause_combine,
            "category": target.category, "metric": target.metric, "op": target.op,
            "value": _decimal_text(target.value), "unit": target.unit, "kind": target.kind, "better": target.better,
            "guideline_value": _decimal_text(target.guideline_value), "change_reason": target.change_reason}


def _set_summary(target_set: TargetSet, count: int) -> TargetSetSummary:
    return {"version": target_set.version, "confirmed": target_set.confirmed,
            "confirmed_at": _iso(target_set.confirmed_at), "confirmed_by_id": target_set.confirmed_by_id,
            "reason": target_set.reason, "created_at": _iso(target_set.created_at) or "", "target_count": count}


def _targets(db: Session, project: Project) -> ProjectTargets:
    current = project_service.current_targets(project)
    older = [s for s in reversed(project.target_sets) if s is not current]
    counts = project_service.target_counts(db, [s.id for s in older])
    targets = [_target(t) for t in current.targets]
    return {"project_id": project.id,
            "current": {**_set_summary(current, len(targets)), "targets": targets},
            "older_versions": [_set_summary(s, counts.get(s.id, 0)) for s in older]}


@get(f"{API_PREFIX}/projects/{{project_id:int}}", name="api_project", sync_to_thread=True, include_in_schema=True,
     tags=["projects"], responses=_errors(400, 401, 404))
def api_project(db: DbSession, user: CurrentUser, project_id: ObjectId) -> ProjectDetail:
    """One project of the user's scope, with its rules as awarded and its current targets."""
    project = project_or_404(db, user, project_id, "项目")
    selection = project.selection_rule or {}
    block = selection.get("block") if isinstance(selection.get("block"), dict) else {}
    rules: RuleDescriptions = {
        # A corrected selection rule carries its description at the top; a parsed one in its block.
        "selection": selection.get("description") or (block or {}).get("description"),
        "funding": (project.funding_rule or {}).get("description"),
        "period": (project.period_rule or {}).get("description"),
    }
    return {**_project(project), "content_items": list(project.content_items or []), "rules": rules,
            "created_at": _iso(project.created_at) or "", "targets": _targets(db, project)}


@get(f"{API_PREFIX}/projects/{{project_id:int}}/targets", name="api_project_targets", sync_to_thread=True,
     include_in_schema=True, tags=["projects"], responses=_errors(400, 401, 404))
def api_project_targets(db: DbSession, user: CurrentUser, project_id: ObjectId) -> ProjectTargets:
    """The project's current target set (the confirmed task book, or the draft inherited from the guideline)
    with every target, and a summary of each older version, newest first."""
    return _targets(db, project_or_404(db, user, project_id, "项目"))


# --- the OpenAPI document -------------------------------------------------------------------------


@get(f"{API_PREFIX}/openapi.json", name="api_openapi", sync_to_thread=False, include_in_schema=False,
     media_type=OpenAPIMediaType.OPENAPI_JSON)
def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The OpenAPI document of /api/v1 (admins; the route is not registered in production)."""
    if request.app.openapi_config is None:
        raise NotFoundException(detail="接口文档未启用")
    return Response(encode_json(request.app.openapi_schema.to_schema()), media_type=OpenAPIMediaType.OPENAPI_JSON)


class _NoSchemaRoutes(JsonRenderPlugin):
    """Litestar adds its own routes for the schema: a JSON handler with a random per-process name and an unnamed
    catch-all 404 (plus the documentation UIs of its other render plugins, which load scripts from a CDN). Our
    middleware allows a route by its name in POLICY and refuses a route without one, so those routes could never
    be allowed, and the route × role test would reject them. This hook runs after Litestar has put them on its
    router and leaves that router empty; `openapi_json` above, named `api_openapi`, serves the document."""

    def receive_router(self, router: Router) -> None:
        router.routes.clear()


def openapi_config(*, enabled: bool) -> OpenAPIConfig | None:
    """The schema of the API handlers only: page handlers sit in a router with include_in_schema=False (app.py)
    and every API handler says include_in_schema=True, which wins over the router's setting."""
    if not enabled:
        return None
    return OpenAPIConfig(
        title="科技项目绩效监测与验收跟踪系统 API", version="1", path=API_PREFIX, render_plugins=[_NoSchemaRoutes()],
        use_handler_docstrings=True,
        description="项目计划、方向及其考核指标、项目及其指标、监测评估（只读）；进度报告：读取，填写并提交草稿。"
                    "用浏览器会话或个人 API 令牌（Authorization: Bearer …）访问，权限与页面相同。"
                    "金额以元为单位的十进制字符串给出，并附万元。",
        components=Components(security_schemes={
            "apiToken": SecurityScheme(type="http", scheme="bearer", description="个人 API 令牌（在“我的账户”页创建）"),
        }),
        security=[{"apiToken": []}],
    )


# Handlers say include_in_schema=True: the OpenAPI document lists /api/v1 and nothing else.
def _rate(row: dashboard.RateRow) -> RateOut:
    return {"name": row.name, "reports_due": row.due, "reports_submitted": row.submitted,
            "reports_on_time": row.on_time, "reporting_rate": row.rate, "on_time_rate": row.on_time_rate}


@get(f"{API_PREFIX}/programmes/{{programme_id:int}}/summary", name="api_programme_summary", sync_to_thread=True,
     include_in_schema=True, tags=["monitoring"], responses=_errors(400, 401, 403, 404))
def api_programme_summary(db: DbSession, user: CurrentUser, programme_id: ObjectId) -> ProgrammeSummary:
    """The programme's projects in the user's scope: how many per monitoring status ("none": not assessed yet),
    the reporting and on-time rates (DHIS2's definitions: over the periods past their due date since the task
    book was confirmed) overall, per city and per officer, and what the task books commit against what accepted
    reports have achieved, per indicator category and unit (counted targets only)."""
    programme = _visible_programme(db, user, programme_id)
    rates = dashboard.reporting_rates(db, user, programme_id=programme.id)
    overall = rates["programme"][0] if rates["programme"] else None
    totals = dashboard.committed_vs_achieved(db, user, programme_id=programme.id, limit=None)
    return {
        "programme": _programme(programme, catalogue.current_document_of(db, programme.id)),
        "projects_by_status": dashboard.status_counts(db, user, programme_id=programme.id),
        "reporting": _rate(overall) if overall else None,
        "by_city": [_rate(r) for r in rates["city"]], "by_officer": [_rate(r) for r in rates["officer"]],
        "committed_vs_achieved": [{"category": t.category, "label": t.label, "unit": t.unit,
                                   "committed": _decimal_text(t.committed) or "0",
                                   "achieved": _decimal_text(t.achieved) or "0", "projects": t.projects}
                                  for t in totals],
    }


router = Router(path="/", route_handlers=[
    api_programmes, api_directions, api_direction, api_projects, api_project, api_project_targets,
    api_programme_summary,
])
