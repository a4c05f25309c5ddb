"""Quarterly progress reports: the grantee's form and Excel file, the officer's queue and review, evidence files.

Thin handlers: read the form, find the project within the user's scope (a foreign one is a 404), call
tracker.services.reports, render or redirect. A refused save re-renders the form with every field error and
what was typed (uploaded files must be chosen again: browsers do not keep them).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.orm import Session

from imports.report_xlsx import locate, read_report_sheet
from indicators.assessment.progress import is_per_year
from indicators.evidence_ids import EVIDENCE_KINDS
from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS
from tracker import access, clock
from tracker.exports.report_xlsx import report_workbook
from tracker.files.evidence import MAX_EVIDENCE_BYTES, EvidenceFileRejected, check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.models import Project, Report, User
from tracker.services import business_settings
from tracker.services import reports as service
from tracker.services.business_settings import BusinessSettings
from tracker.services.reports import EvidenceInput, ReportInput, ReportProblems, ValueInput
from tracker.settings import Settings
from tracker.templating import render
from tracker.web import forms
from tracker.web.deps import AppSettings, Business, CurrentUser, DbSession, PageNo, RequestActor, SubmittedForm
from tracker.web.fragments import KEPT, scope_key
from tracker.web.lookups import evidence_file_or_404, period_or_404, project_or_404
from tracker.web.render import page, request_language
from tracker.web.uploads import is_file, read_upload

NEW_EVIDENCE_ROWS = 3
QUEUE_PAGE = 50  # reports waiting for review, a page
MAX_EVIDENCE_ROWS = service.MAX_EVIDENCE
# A report may carry several files of up to 20 MB each; the rest of the app keeps the 1 MB default.
REPORT_BODY_LIMIT = 100 * 1024 * 1024
EXCEL_BODY_LIMIT = 10 * 1024 * 1024
NOTICES = {"saved": "已保存草稿", "submitted": "报告已提交，等待项目管理专员审核",
           "excel": "已从 Excel 文件读入草稿，请核对后提交", "reviewed": "审核结论已保存",
           "revised": "已建立新版本，修改后请重新提交"}
NO_REPORT = "本期还没有填报报告"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def evidence_store(settings: Settings) -> EvidenceStore:
    return EvidenceStore(settings.data_dir / "evidence")


def _project_and_period(db: Session, user: User, business: BusinessSettings, project_id: int, period: int):
    project = project_or_404(db, user, project_id)
    return project, period_or_404(db, project, period, business.report_due_days)


# --- the report page ------------------------------------------------------------------------------


def _report_page(request: Request[Any, Any, Any], db: Session, user: User, business: BusinessSettings,
                 project: Project,
                 period, *, status_code: int = 200, errors: dict[str, str] | None = None,
                 typed: dict[str, str] | None = None, excel_errors: list[str] | None = None, notice: str = ""
                 ) -> Response[Any]:
    reports = service.reports_of(db, project)
    report = reports.get(period.index)
    may_edit = access.may_access("report_save", user.role)
    # The grantee works on the newest version; everyone else sees the newest submitted one (a draft is not
    # theirs to read until it is submitted).
    version = service.visible_version(report, drafts=may_edit)
    target_set = service.targets_of(project, version)
    baseline = service.project_progress(db, project, before=period.index, reports=reports)
    comparison = service.compare(db, project, report, version, reports=reports) if report and version else None
    closed = service.period_is_open(project, period, clock.today_local(), business.report_open_days,
                                    business.acceptance_open_days)
    editable = may_edit and not closed and (version is None or version.is_draft)
    if version is None:
        funds = service.accepted_funds(db, project, before=period.index, reports=reports)
    else:
        funds = {name: getattr(version, name) for name in service.FUND_FIELDS}
    rows = list(version.evidence) if version else []
    return page(request, "reports/report.html", status_code=status_code, project=project, period=period,
                report=report, version=version, target_set=target_set, baseline=baseline, comparison=comparison,
                closed=closed, editable=editable, may_edit=may_edit, funds=funds, evidence_rows=rows,
                new_rows=range(len(rows), min(len(rows) + NEW_EVIDENCE_ROWS, MAX_EVIDENCE_ROWS)),
                evidence_kinds=EVIDENCE_KINDS, fund_labels=service.FUND_LABELS, text_fields=service.TEXT_FIELDS,
                categories=CATEGORIES, kinds=KIND_LABELS, is_per_year=is_per_year,
                may_review=access.may_access("report_review", user.role) and report is not None
                and report.status == "submitted",
                errors=errors or {}, typed=typed or {}, excel_errors=excel_errors or [], notice=notice)


@get("/projects/{project_id:int}/reports/{period:int}", name="report", sync_to_thread=True)
def report_page(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, business: Business,
                project_id: FromPath[int], period: FromPath[int], done: FromQuery[str] = "") -> Response[Any]:
    project, found = _project_and_period(db, user, business, project_id, period)
    return _report_page(request, db, user, business, project, found, notice=NOTICES.get(done, ""))


def _typed(form: Any) -> dict[str, str]:
    return {key: forms.text(form, key, service.MAX_TEXT) for key in form if key != "_csrf_token"}


def _lock(form: Any, name: str = "edit_lock") -> int | None:
    return forms.integer(form, name)


def input_from_form(form: Any, target_set: Any) -> tuple[ReportInput, dict[str, str]]:
    """The form as a ReportInput, and the files that could not be accepted (field errors)."""
    values = {t.position: ValueInput(value=forms.text(form, f"v{t.position}_value", 60),
                                     year_value=forms.text(form, f"v{t.position}_year_value", 60),
                                     done=forms.text(form, f"v{t.position}_done", 2),
                                     explanation=forms.text(form, f"v{t.position}_explanation", service.MAX_TEXT),
                                     note=forms.text(form, f"v{t.position}_note", service.MAX_TEXT))
              for t in target_set.targets}
    evidence: list[EvidenceInput] = []
    file_errors: dict[str, str] = {}
    rows = min(forms.integer(form, "evidence_rows") or 0, MAX_EVIDENCE_ROWS)
    for i in range(rows):
        if forms.text(form, f"e{i}_remove", 2) == "1":
            continue
        upload = form.get(f"e{i}_file")
        checked = None
        index = len(evidence)
        if is_file(upload):
            data = read_upload(upload, MAX_EVIDENCE_BYTES)
            try:
                checked = check_evidence_file(upload.filename, data)
            except EvidenceFileRejected as exc:
                file_errors[f"e{index}_file"] = str(exc)
        kept = forms.integer(form, f"e{i}_file_id")
        kind = forms.text(form, f"e{i}_kind", 30)
        identifier = forms.text(form, f"e{i}_identifier", 120)
        description = forms.text(form, f"e{i}_description", 500)
        if not (identifier or description or checked or kept or f"e{index}_file" in file_errors):
            continue  # an empty row
        evidence.append(EvidenceInput(kind=kind or ("file" if checked or kept else ""), identifier=identifier,
                                      description=description, target=forms.text(form, f"e{i}_target", 6),
                                      file_id=kept if checked is None else None, new_file=checked))
    data = ReportInput(values=values, evidence=evidence,
                       funds={name: forms.text(form, name, 60) for name in service.FUND_FIELDS},
                       narrative=forms.text(form, "narrative", service.MAX_TEXT + 1),
                       problems=forms.text(form, "problems", service.MAX_TEXT + 1),
                       next_steps=forms.text(form, "next_steps", service.MAX_TEXT + 1), edit_lock=_lock(form))
    return data, file_errors


@post("/projects/{project_id:int}/reports/{period:int}", name="report_save", sync_to_thread=True,
      request_max_body_size=REPORT_BODY_LIMIT)
def report_save(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                settings: AppSettings, business: Business, form: SubmittedForm, project_id: FromPath[int],
                period: FromPath[int]) -> Response[Any]:
    project, found = _project_and_period(db, user, business, project_id, period)
    report = service.reports_of(db, project).get(found.index)
    target_set = service.targets_of(project, report.latest if report else None)
    data, file_errors = input_from_form(form, target_set)
    submitting = forms.text(form, "action", 10) == "submit"
    save = service.save_and_submit if submitting else service.save_draft
    try:
        if file_errors:
            raise ReportProblems(file_errors)
        save(db, project, found, data, actor=actor, now=clock.now(), today=clock.today_local(),
             open_days=business.report_open_days, final_open_days=business.acceptance_open_days,
             store=evidence_store(settings))
    except ReportProblems as problems:
        status = 409 if "lock" in problems.errors else 400
        return _report_page(request, db, user, business, project, found, status_code=status, errors=problems.errors,
                            typed=_typed(form))
    done = "submitted" if submitting else "saved"
    return Redirect(f"/projects/{project.id}/reports/{found.index}?done={done}", status_code=303)


@post("/projects/{project_id:int}/reports/{period:int}/revise", name="report_revise", sync_to_thread=True)
def report_revise(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                  business: Business, form: SubmittedForm, project_id: FromPath[int], period: FromPath[int]
                  ) -> Response[Any]:
    project, found = _project_and_period(db, user, business, project_id, period)
    report = service.reports_of(db, project).get(found.index)
    if report is None:
        return _report_page(request, db, user, business, project, found, status_code=400, errors={"form": NO_REPORT})
    try:
        service.start_revision(db, project, report, lock=_lock(form, "report_lock"), actor=actor, now=clock.now(),
                               today=clock.today_local(), open_days=business.report_open_days)
    except ReportProblems as problems:
        return _report_page(request, db, user, business, project, found,
                            status_code=409 if "lock" in problems.errors else 400, errors=problems.errors)
    return Redirect(f"/projects/{project.id}/reports/{found.index}?done=revised", status_code=303)


# --- Excel round trip -------------------------------------------------------------------------------


@get("/projects/{project_id:int}/reports/{period:int}/excel", name="report_excel", sync_to_thread=True)
def report_excel(db: DbSession, user: CurrentUser, business: Business, project_id: FromPath[int],
                 period: FromPath[int]) -> Response[Any]:
    project, found = _project_and_period(db, user, business, project_id, period)
    reports = service.reports_of(db, project)
    version = service.visible_version(reports.get(found.index), drafts=access.may_access("report_save", user.role))
    baseline = service.project_progress(db, project, before=found.index, reports=reports)
    content = report_workbook(project=project, period=found, target_set=service.targets_of(project, version),
                              version=version, last_accepted={p: g.current for p, g in baseline.items()},
                              accepted_funds=service.accepted_funds(db, project, before=found.index,
                                                                    reports=reports))
    name = f"进展报告-{project.code}-第{found.index}期.xlsx"
    return Response(content=content, media_type=XLSX_TYPE, headers={
        "content-disposition": f"attachment; filename=\"report.xlsx\"; filename*=UTF-8''{quote(name)}"})


@post("/projects/{project_id:int}/reports/{period:int}/excel", name="report_excel_upload", sync_to_thread=True,
      request_max_body_size=EXCEL_BODY_LIMIT)
def report_excel_upload(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                        settings: AppSettings, business: Business, form: SubmittedForm, project_id: FromPath[int],
                        period: FromPath[int]) -> Response[Any]:
    project, found = _project_and_period(db, user, business, project_id, period)
    upload = form.get("file")
    if not is_file(upload):
        return _report_page(request, db, user, business, project, found, status_code=400,
                            excel_errors=["请选择要上传的 Excel 文件"])
    data = read_upload(upload, EXCEL_BODY_LIMIT)
    report = service.reports_of(db, project).get(found.index)
    version = report.latest if report else None
    target_set = service.targets_of(project, version)
    # Files attached on the web page are not in the workbook: they stay with the draft.
    kept = [EvidenceInput(kind=e.kind, identifier=e.identifier, description=e.description,
                          target=str(e.target.position) if e.target else "", file_id=e.file_id)
            for e in (version.evidence if version else []) if e.file_id is not None]
    sheet = read_report_sheet(data, project=project, period=found, target_set=target_set, kept_evidence=kept)
    if sheet.errors or sheet.report is None:
        return _report_page(request, db, user, business, project, found, status_code=400,
                            excel_errors=[str(e) for e in sheet.errors])
    lock = version.edit_lock if version is not None and version.is_draft else None
    try:
        service.save_draft(db, project, found, replace(sheet.report, edit_lock=lock), actor=actor, now=clock.now(),
                           today=clock.today_local(), open_days=business.report_open_days,
                           final_open_days=business.acceptance_open_days,
                           store=evidence_store(settings), channel="excel")
    except ReportProblems as problems:
        located = locate(problems.errors, target_set=target_set, evidence_rows=sheet.evidence_rows)
        return _report_page(request, db, user, business, project, found, status_code=400,
                            excel_errors=[str(e) for e in located])
    return Redirect(f"/projects/{project.id}/reports/{found.index}?done=excel", status_code=303)


# --- officer review ------------------------------------------------------------------------------------


@post("/projects/{project_id:int}/reports/{period:int}/review", name="report_review", sync_to_thread=True)
def report_review(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                  business: Business, form: SubmittedForm, project_id: FromPath[int], period: FromPath[int]
                  ) -> Response[Any]:
    project, found = _project_and_period(db, user, business, project_id, period)
    report = service.reports_of(db, project).get(found.index)
    if report is None:
        return _report_page(request, db, user, business, project, found, status_code=400, errors={"form": NO_REPORT})
    try:
        service.review(db, report, decision=forms.text(form, "decision", 20),
                       comment=forms.text(form, "comment", service.MAX_TEXT + 1),
                       lock=_lock(form, "report_lock"), actor=actor, now=clock.now())
    except ReportProblems as problems:
        return _report_page(request, db, user, business, project, found,
                            status_code=409 if "lock" in problems.errors else 400, errors=problems.errors,
                            typed=_typed(form))
    if forms.text(form, "next", 10) == "queue":
        return Redirect("/reports", status_code=303)
    return Redirect(f"/projects/{project.id}/reports/{found.index}?done=reviewed", status_code=303)


@get("/reports", name="report_queue", sync_to_thread=True)
def report_queue(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser,
                 page_no: PageNo = 1) -> Response[Any]:
    lang = request_language(request)

    def body() -> str:
        due_days = business_settings.load(db).report_due_days  # the settings table is watched too
        total = service.review_queue_size(db, user)
        pages = max(1, math.ceil(total / QUEUE_PAGE))
        number = min(max(page_no, 1), pages)
        reports: list[Report] = service.review_queue(db, user, offset=(number - 1) * QUEUE_PAGE, limit=QUEUE_PAGE)
        return render("reports/_queue_body.html", lang=lang, reports=reports, total=total, page=number, pages=pages,
                      due=service.periods_of(db, reports, due_days),
                      versions=service.version_counts(db, reports))

    key = ("reports", lang, scope_key(user), page_no)
    return page(request, "reports/queue.html", body=KEPT.html(db, key, body))


# --- evidence files -----------------------------------------------------------------------------------


@get("/evidence/{file_id:int}", name="evidence_file", sync_to_thread=True)
def evidence_file(db: DbSession, user: CurrentUser, settings: AppSettings, file_id: FromPath[int]
                  ) -> Response[Any]:
    row = evidence_file_or_404(db, user, file_id)
    try:
        content = evidence_store(settings).read(row.storage_name)
    except (OSError, ValueError) as exc:
        raise NotFoundException() from exc
    return Response(content=content, media_type=row.media_type, headers={
        # Always a download, never shown in our origin (the headers hook adds nosniff and a sandboxing CSP).
        "content-disposition": f"attachment; filename=\"evidence{_suffix(row.display_name)}\"; "
                               f"filename*=UTF-8''{quote(row.display_name)}",
    })


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    return suffix if suffix[1:].isascii() and suffix[1:].isalnum() and len(suffix) <= 6 else ""


router = Router(path="/", include_in_schema=False, route_handlers=[
    report_page, report_save, report_revise, report_excel, report_excel_upload, report_review, report_queue,
    evidence_file,
])
