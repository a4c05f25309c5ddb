"""The JSON API of progress reports (DESIGN §4): read a project's reports and progress; create, fill and submit
a draft with the same service, the same checks and the same messages as the form.

A draft is written with `POST /api/v1/projects/{id}/reports/{period}` and a JSON body
`{"edit_lock": null | n, "values": {"<position>": {"value", "year_value", "done", "explanation", "note"}},
"evidence": [{"kind", "identifier", "description", "target", "file_id"}], "funds": {"fiscal_received": "万元"…},
"narrative", "problems", "next_steps"}`: every value is text (or a number) read exactly as the form reads it.
`edit_lock` is the draft's lock from the last read (null for a new report): a stale one is a 409. Refusals are
`{"status", "error", "errors": {field: message}}` with the form's field names. Files are attached on the web page.

The handlers read the raw body (`json_body_of`) and parse it only after finding the project and period in the
caller's scope; the OpenAPI document still declares each body (`DRAFT_BODY`, `SUBMIT_BODY`, written beside the
parser `input_from_json` that they describe: a body they admit never fails its shape checks).
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from litestar import Request, Response, Router, get, post
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath
from sqlalchemy.orm import Session

from indicators.assessment import readiness
from indicators.assessment.monitoring import STATUS_LABELS
from indicators.evidence_ids import EVIDENCE_KINDS
from indicators.workdays import ReportingPeriod
from tracker import access, clock
from tracker.models import Project, Report, ReportVersion, User
from tracker.services import monitoring
from tracker.services import projects as project_service
from tracker.services import reports as service
from tracker.services.business_settings import BusinessSettings
from tracker.services.reports import EvidenceInput, ReportInput, ReportProblems, ValueInput
from tracker.web.common import API_PREFIX
from tracker.web.context import json_body_of
from tracker.web.controllers.api import (
    MAX_ID,
    ApiError,
    ObjectId,
    _decimal_text,
    _errors,
    _iso,
    json_request_body,
)
from tracker.web.controllers.reports import evidence_store
from tracker.web.deps import AppSettings, Business, CurrentUser, DbSession, RequestActor
from tracker.web.lookups import period_or_404, project_or_404

REPORT_PATH = f"{API_PREFIX}/projects/{{project_id:int}}/reports/{{period:int}}"


class PeriodOut(TypedDict):
    period_index: int
    label: str
    start: str
    end: str
    due: str
    due_provisional: bool
    is_final: bool


class ReportSummary(PeriodOut):
    status: str | None  # draft / submitted / accepted / returned; null: nothing written yet
    status_label: str
    accepted_version: int | None
    versions: int
    first_submitted_at: str | None
    on_time: bool | None
    overdue: bool
    open: bool


class ReportList(TypedDict):
    project_id: int
    reports: list[ReportSummary]


class ValueOut(TypedDict):
    position: int
    metric: str
    unit: str | None
    value: str | None
    year_value: str | None
    done: bool | None
    explanation: str
    note: str


class EvidenceOut(TypedDict):
    kind: str
    identifier: str
    description: str
    target: int | None
    file_id: int | None
    file_name: str | None
    file_sha256: str | None


class ReviewOut(TypedDict):
    version: int
    decision: str
    comment: str
    decided_at: str


class VersionOut(TypedDict):
    number: int
    draft: bool
    edit_lock: int
    saved_at: str
    submitted_at: str | None
    content_sha256: str | None
    channel: str
    funds_yuan: dict[str, str | None]
    narrative: str
    problems: str
    next_steps: str
    values: list[ValueOut]
    evidence: list[EvidenceOut]


class ReportOut(ReportSummary):
    project_id: int
    report_lock: int | None
    version_list: list[VersionOut]
    reviews: list[ReviewOut]


class TargetProgressOut(TypedDict):
    position: int
    metric: str
    kind: str
    op: str | None
    target: str | None
    unit: str | None
    current: str | None
    done: bool
    by_year: dict[str, str]
    met: bool | None
    last_period: int | None


class ProgressOut(TypedDict):
    project_id: int
    targets: list[TargetProgressOut]


class TargetAssessmentOut(TypedDict):
    position: int
    metric: str
    status: str
    status_label: str
    reasons: list[str]
    baseline: str | None
    achieved: str | None
    expected: str | None
    forecast: str | None


class AssessmentChangeOut(TypedDict):
    status: str
    previous: str | None
    reasons: list[str]
    changed_at: str


class ReadinessTargetOut(TypedDict):
    position: int
    state: str  # met / not_met / not_evidenced / needs_judgement
    state_label: str
    reason: str


class ReadinessOut(TypedDict):
    """The acceptance readiness (验收条件) on the same accepted figures."""

    status: str  # ready / not_ready / needs_judgement
    status_label: str
    score: str  # the share of the closest alternative's items met, 0 to 1
    requirement: str
    targets: list[ReadinessTargetOut]
    lacking: list[str]
    notes: list[str]


class AssessmentOut(TypedDict):
    project_id: int
    status: str | None
    status_label: str
    reasons: list[str]
    computed_at: str | None
    accepted_versions: list[int]
    overdue_reports: int
    returned_reports: int
    targets: list[TargetAssessmentOut]
    history: list[AssessmentChangeOut]
    readiness: ReadinessOut | None


def _project_and_period(db: Session, user: User, business: BusinessSettings, project_id: int, index: int
                        ) -> tuple[Project, ReportingPeriod]:
    project = project_or_404(db, user, project_id, "项目")
    return project, period_or_404(db, project, index, business.report_due_days, "报告期")


def _period_out(p: ReportingPeriod) -> PeriodOut:
    return {"period_index": p.index, "label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(),
            "due": p.due.isoformat(), "due_provisional": p.provisional, "is_final": p.is_final}


def _summary(row: service.PeriodRow) -> ReportSummary:
    report = row.report
    return {**_period_out(row.period), "status": report.status if report else None,
            "status_label": report.status_label if report else "未填报",
            "accepted_version": report.accepted_number if report else None,
            "versions": row.versions,
            "first_submitted_at": _iso(report.first_submitted_at) if report else None,
            "on_time": row.on_time, "overdue": row.overdue, "open": row.is_open}


def _version(version: ReportVersion) -> VersionOut:
    return {
        "number": version.number, "draft": version.is_draft, "edit_lock": version.edit_lock,
        "saved_at": _iso(version.saved_at) or "", "submitted_at": _iso(version.submitted_at),
        "content_sha256": version.content_sha256, "channel": version.channel,
        "funds_yuan": {name: _decimal_text(getattr(version, name)) for name in service.FUND_FIELDS},
        "narrative": version.narrative, "problems": version.problems, "next_steps": version.next_steps,
        "values": [{"position": v.target.position, "metric": v.target.metric, "unit": v.target.unit,
                    "value": _decimal_text(v.value), "year_value": _decimal_text(v.year_value), "done": v.done,
                    "explanation": v.explanation, "note": v.note} for v in version.values],
        "evidence": [{"kind": e.kind, "identifier": e.identifier, "description": e.description,
                      "target": e.target.position if e.target else None, "file_id": e.file_id,
                      "file_name": e.file.display_name if e.file else None,
                      "file_sha256": e.file.sha256 if e.file else None} for e in version.evidence],
    }


def _report_out(db: Session, user: User, business: BusinessSettings, project: Project, period: ReportingPeriod
                ) -> ReportOut:
    row = service.schedule(db, project, [period], today=clock.today_local(), open_days=business.report_open_days,
                           final_open_days=business.acceptance_open_days)[0]
    report: Report | None = row.report
    # Drafts are the grantee's work in progress: other roles read submitted versions only.
    grantee = access.may_access("api_report_save", user.role)
    versions = [v for v in (report.versions if report else []) if grantee or not v.is_draft]
    service.load_versions(db, versions)
    return {**_summary(row), "project_id": project.id, "report_lock": report.lock if report else None,
            "version_list": [_version(v) for v in versions],
            "reviews": [{"version": r.version.number, "decision": r.decision, "comment": r.comment,
                         "decided_at": _iso(r.decided_at) or ""} for r in (report.reviews if report else [])]}


@get(f"{API_PREFIX}/projects/{{project_id:int}}/reports", name="api_reports", sync_to_thread=True,
     include_in_schema=True, tags=["reports"], responses=_errors(400, 401, 404))
def api_reports(db: DbSession, user: CurrentUser, business: Business, project_id: ObjectId) -> ReportList:
    """Every reporting period of the project with its report's status (on time, overdue, accepted version)."""
    project = project_or_404(db, user, project_id, "项目")
    periods = service.project_periods(db, project, business.report_due_days)
    rows = service.schedule(db, project, periods, today=clock.today_local(), open_days=business.report_open_days,
                           final_open_days=business.acceptance_open_days)
    return {"project_id": project.id, "reports": [_summary(r) for r in rows]}


@get(REPORT_PATH, name="api_report", sync_to_thread=True, include_in_schema=True, tags=["reports"],
     responses=_errors(400, 401, 404))
def api_report(db: DbSession, user: CurrentUser, business: Business, project_id: ObjectId, period: FromPath[int]
               ) -> ReportOut:
    """One period's report: every version (values, evidence, funds in yuan, texts) and every review decision."""
    project, found = _project_and_period(db, user, business, project_id, period)
    return _report_out(db, user, business, project, found)


@get(f"{API_PREFIX}/projects/{{project_id:int}}/progress", name="api_project_progress", sync_to_thread=True,
     include_in_schema=True, tags=["reports"], responses=_errors(400, 401, 404))
def api_project_progress(db: DbSession, user: CurrentUser, project_id: ObjectId) -> ProgressOut:
    """Progress of each target from the accepted report versions only."""
    project = project_or_404(db, user, project_id, "项目")
    progress = service.project_progress(db, project)
    target_set = project_service.current_targets(project)
    specs = {s.id: s for s in service.target_specs(target_set)}
    out: list[TargetProgressOut] = []
    for target in target_set.targets:
        p = progress[target.position]
        out.append({"position": target.position, "metric": target.metric, "kind": target.kind, "op": target.op,
                    "target": _decimal_text(target.value), "unit": target.unit, "current": _decimal_text(p.current),
                    "done": p.done, "by_year": {str(y): _decimal_text(v) or "0" for y, v in p.by_year.items()},
                    "met": p.met(specs[target.position]), "last_period": p.last_period})
    return {"project_id": project.id, "targets": out}


@get(f"{API_PREFIX}/projects/{{project_id:int}}/assessment", name="api_project_assessment", sync_to_thread=True,
     include_in_schema=True, tags=["monitoring"], responses=_errors(400, 401, 404))
def api_project_assessment(db: DbSession, user: CurrentUser, project_id: ObjectId) -> AssessmentOut:
    """The project's stored monitoring assessment (green, amber, red or unknown, with its reasons in words), per
    target, and its status history, newest first. `status` is null before the first assessment."""
    project = project_or_404(db, user, project_id, "项目")
    stored = monitoring.assessment_of(db, project)
    lines = monitoring.target_lines(stored, project_service.current_targets(project).targets)
    return {
        "project_id": project.id, "status": stored.status if stored else None,
        "status_label": STATUS_LABELS[stored.status] if stored else "未评估",
        "reasons": list(stored.reasons) if stored else [], "computed_at": _iso(stored.computed_at) if stored else None,
        "accepted_versions": list(stored.versions) if stored else [],
        "overdue_reports": stored.overdue_reports if stored else 0,
        "returned_reports": stored.returned_reports if stored else 0,
        "targets": [{"position": line.target.position, "metric": line.target.metric, "status": line.status,
                     "status_label": line.label, "reasons": list(line.reasons), "baseline": line.baseline,
                     "achieved": line.achieved, "expected": line.expected, "forecast": line.forecast}
                    for line in lines],
        "history": [{"status": h.status, "previous": h.previous, "reasons": list(h.reasons),
                     "changed_at": _iso(h.changed_at) or ""} for h in monitoring.history_of(db, project)],
        "readiness": _readiness_out(stored.readiness if stored else None),
    }


def _readiness_out(stored: dict[str, Any] | None) -> ReadinessOut | None:
    if not stored:
        return None
    return {"status": stored["status"], "status_label": readiness.STATUS_LABELS[stored["status"]],
            "score": stored["score"], "requirement": stored["requirement"],
            "targets": [{"position": t["position"], "state": t["state"],
                         "state_label": readiness.TARGET_LABELS[t["state"]], "reason": t["reason"]}
                        for t in stored["targets"]],
            "lacking": list(stored["lacking"]), "notes": list(stored["notes"])}


class ReportProblemsOut(ApiError, total=False):
    """A refused save or submit: the messages by the form's field names (`v3_value`, `e0_identifier`, `lock`…);
    without `errors` when the request itself is malformed (an id out of range)."""

    errors: dict[str, str]


def _write_responses() -> dict[int, ResponseSpec]:
    return {**_errors(401, 403, 404),
            200: ResponseSpec(data_container=ReportOut, description="报告（与 GET 相同的形式）"),
            400: ResponseSpec(data_container=ReportProblemsOut,
                              description="请求体或填写内容有误，errors 按字段给出原因"),
            409: ResponseSpec(data_container=ReportProblemsOut, description="edit_lock 已过期：报告已被他人修改")}


# --- the request bodies, as `input_from_json` reads them ---------------------------------------------------

_ANY_TEXT = [OpenAPIType.STRING, OpenAPIType.NUMBER, OpenAPIType.BOOLEAN, OpenAPIType.NULL]
_LOCK = Schema(type=[OpenAPIType.INTEGER, OpenAPIType.NULL],
               description="上次读取时报告的 edit_lock（新报告为 null）；过期的为 409")


def _text_schema(description: str, max_length: int | None = None) -> Schema:
    """A field read as text: a string, or a number written out as text (true/false read as 1/0; null as empty)."""
    return Schema(type=_ANY_TEXT, max_length=max_length, description=description)


_VALUE = Schema(type=OpenAPIType.OBJECT, description="一项考核指标本期填写的内容", properties={
    "value": _text_schema("截至本期末的累计值，或实测的最好值（可带单位，如“1.2亿元”）"),
    "year_value": _text_schema("按年考核的指标：本项目年度的数值"),
    "done": Schema(enum=["", "0", "1", 0, 1, True, False, None], description="成果类指标：1 已完成，0 或空 未完成"),
    "explanation": _text_schema("累计值比上期减少时的原因说明", service.MAX_TEXT),
    "note": _text_schema("备注", service.MAX_TEXT),
})
_EVIDENCE = Schema(type=OpenAPIType.OBJECT, description="一项佐证材料", properties={
    "kind": Schema(type=OpenAPIType.STRING, enum=list(EVIDENCE_KINDS), description="材料类型"),
    "identifier": _text_schema("编号（专利号、DOI、合同编号等；超过120个字符的部分不读）"),
    "description": _text_schema("说明", 500),
    "target": _text_schema("所证明的考核指标序号（position）；空为整份报告"),
    "file_id": Schema(type=[OpenAPIType.INTEGER, OpenAPIType.NULL], minimum=1, maximum=MAX_ID,
                      description="本项目已上传文件的 id（文件在网页上上传）"),
})
DRAFT_BODY = Schema(type=OpenAPIType.OBJECT, title="ReportDraftIn", properties={
    "edit_lock": _LOCK,
    "values": Schema(type=[OpenAPIType.OBJECT, OpenAPIType.NULL], description="以考核指标序号（position）为键",
                     property_names=Schema(type=OpenAPIType.STRING, pattern="^[0-9]{1,5}$"),
                     additional_properties=_VALUE),
    "evidence": Schema(type=[OpenAPIType.ARRAY, OpenAPIType.NULL], items=_EVIDENCE, max_items=service.MAX_EVIDENCE),
    "funds": Schema(type=[OpenAPIType.OBJECT, OpenAPIType.NULL], description="经费累计到位与支出，万元",
                    properties={name: _text_schema(label + "（万元）") for name, label in service.FUND_LABELS.items()}),
    **{name: _text_schema(label, service.MAX_TEXT) for name, label in service.TEXT_FIELDS.items()},
})
SUBMIT_BODY = Schema(type=OpenAPIType.OBJECT, title="ReportSubmitIn", properties={"edit_lock": _LOCK})


def _problems(problems: ReportProblems) -> Response[dict[str, Any]]:
    status = 409 if "lock" in problems.errors else 400
    return Response({"status": status, "error": str(problems), "errors": problems.errors}, status_code=status)


def _bad_body(message: str) -> Response[dict[str, Any]]:
    return Response({"status": 400, "error": message, "errors": {"form": message}}, status_code=400)


def _text(value: Any, limit: int = service.MAX_TEXT + 1) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value).strip()[:limit]
    raise ValueError("字段应为文本或数字")


def _json(data: bytes) -> Any:
    """The body as JSON, read only after the project was found (a foreign project is a 404 whatever the body)."""
    try:
        return json.loads(data or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("请求体不是有效的 JSON") from exc


def _whole(value: Any, message: str) -> int | None:
    """A JSON integer or null (2.0 is an integer too, as JSON Schema counts them); anything else raises."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(message)


def _or_empty(value: Any, empty: Any) -> Any:
    """An absent or null part of the body is an empty one (any other value must have the declared type)."""
    return empty if value is None else value


def input_from_json(body: Any) -> ReportInput:
    """The JSON body as the form's ReportInput; a body of the wrong shape raises ValueError (Chinese)."""
    if not isinstance(body, dict):
        raise ValueError("请求体应为 JSON 对象")
    values: dict[int, ValueInput] = {}
    raw_values = _or_empty(body.get("values"), {})
    if not isinstance(raw_values, dict):
        raise ValueError("values 应为以指标序号为键的对象")
    for key, raw in raw_values.items():
        if not (str(key).isascii() and str(key).isdigit() and len(str(key)) < 6) or not isinstance(raw, dict):
            raise ValueError(f"values 的键“{str(key)[:20]}”应为指标序号（position），值应为对象")
        values[int(key)] = ValueInput(**{name: _text(raw.get(name)) for name in
                                         ("value", "year_value", "done", "explanation", "note")})
    evidence = []
    raw_evidence = _or_empty(body.get("evidence"), [])
    if not isinstance(raw_evidence, list) or len(raw_evidence) > service.MAX_EVIDENCE:
        raise ValueError(f"evidence 应为不超过{service.MAX_EVIDENCE}项的列表")
    for raw in raw_evidence:
        if not isinstance(raw, dict):
            raise ValueError("evidence 的每一项应为对象")
        file_id = _whole(raw.get("file_id"), "file_id 应为本项目文件的 id（正整数）")
        if file_id is not None and not 1 <= file_id <= MAX_ID:
            raise ValueError("file_id 应为本项目文件的 id（正整数）")
        evidence.append(EvidenceInput(kind=_text(raw.get("kind"), 30), identifier=_text(raw.get("identifier"), 120),
                                      description=_text(raw.get("description"), 501),
                                      target=_text(raw.get("target"), 6), file_id=file_id))
    funds = _or_empty(body.get("funds"), {})
    if not isinstance(funds, dict):
        raise ValueError("funds 应为对象（万元）")
    lock = _whole(body.get("edit_lock"), "edit_lock 应为整数或 null")
    return ReportInput(values=values, evidence=evidence,
                       funds={name: _text(funds.get(name), 60) for name in service.FUND_FIELDS},
                       narrative=_text(body.get("narrative")), problems=_text(body.get("problems")),
                       next_steps=_text(body.get("next_steps")), edit_lock=lock)


@post(REPORT_PATH, name="api_report_save", sync_to_thread=True, include_in_schema=True, tags=["reports"],
      status_code=200, responses=_write_responses(),
      operation_class=json_request_body(DRAFT_BODY, "草稿的全部内容：省略的指标数值和佐证材料被清空"))
def api_report_save(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                    settings: AppSettings, business: Business, project_id: ObjectId, period: FromPath[int]
                    ) -> Response[Any]:
    """Create or replace the period's draft (all of it: omitted values and evidence are emptied)."""
    project, found = _project_and_period(db, user, business, project_id, period)
    try:
        parsed = input_from_json(_json(json_body_of(request)))
    except (ValueError, TypeError) as exc:
        return _bad_body(str(exc))
    try:
        service.save_draft(db, project, found, parsed, actor=actor, now=clock.now(), today=clock.today_local(),
                           open_days=business.report_open_days, final_open_days=business.acceptance_open_days,
                           store=evidence_store(settings), channel="api")
    except ReportProblems as problems:
        return _problems(problems)
    return Response(_report_out(db, user, business, project, found))


@post(f"{REPORT_PATH}/submit", name="api_report_submit", sync_to_thread=True, include_in_schema=True,
      tags=["reports"], status_code=200, responses=_write_responses(),
      operation_class=json_request_body(SUBMIT_BODY, "提交上次读取的草稿"))
def api_report_submit(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                      business: Business, project_id: ObjectId, period: FromPath[int]) -> Response[Any]:
    """Submit the draft: `{"edit_lock": n}` from the last read. A second submit of the same version is a 400."""
    project, found = _project_and_period(db, user, business, project_id, period)
    try:
        body = _json(json_body_of(request))
    except ValueError as exc:
        return _bad_body(str(exc))
    if not isinstance(body, dict):
        return _bad_body("请求体应为 JSON 对象")
    try:
        lock = _whole(body.get("edit_lock"), "edit_lock 应为整数或 null")
    except ValueError as exc:
        return _bad_body(str(exc))
    try:
        service.submit(db, project, found, edit_lock=lock, actor=actor, now=clock.now(), today=clock.today_local(),
                       open_days=business.report_open_days, final_open_days=business.acceptance_open_days)
    except ReportProblems as problems:
        return _problems(problems)
    return Response(_report_out(db, user, business, project, found))


router = Router(path="/", route_handlers=[
    api_project_progress, api_project_assessment, api_reports, api_report, api_report_save, api_report_submit,
])
