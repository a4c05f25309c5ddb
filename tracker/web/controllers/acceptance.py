"""Acceptance (验收) pages: the project's acceptance page and the grantee's application; the officer's overview,
committees (meetings) and verdicts; the expert's cases and check form; milestone checks; the checklist downloads.

Who sees what is the policy's roles plus the services' scopes: a project within the user's scope, a case of the
officer's programmes or of a meeting the expert sits on. Anything else answers 404 like a missing object.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.orm import Session

from indicators.assessment import readiness as readiness_model
from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS, OP_LABELS
from tracker import access, clock
from tracker.exports import checklist
from tracker.exports.pdf import PdfError
from tracker.files.evidence import MAX_EVIDENCE_BYTES, EvidenceFileRejected, check_evidence_file
from tracker.models import (
    FIGURE_LABELS,
    VERDICT_LABELS,
    AcceptanceApplication,
    AcceptanceMeeting,
    Project,
    Role,
    User,
    Verdict,
)
from tracker.models.acceptance import EVIDENCE_KINDS
from tracker.services import acceptance, committees, disbursements, monitoring, verdicts
from tracker.services import projects as project_service
from tracker.services import reports as report_service
from tracker.services.acceptance import AcceptanceProblems
from tracker.services.business_settings import BusinessSettings
from tracker.web import forms
from tracker.web.controllers.reports import evidence_store
from tracker.web.deps import AppSettings, Business, CurrentUser, DbSession, RequestActor, SubmittedForm
from tracker.web.lookups import or_404, project_or_404
from tracker.web.render import page
from tracker.web.security import PRINT_CSP
from tracker.web.uploads import is_file, read_upload

EVIDENCE_ROWS = 4
APPLICATION_BODY_LIMIT = 100 * 1024 * 1024  # several audit reports and invoices of up to 20 MB each
WAN = Decimal(10_000)
NOTICES = {"applied": "验收申请已提交，项目管理专员将组织专家验收", "formed": "验收会已组建，已通知专家",
           "checked": "核查意见已提交", "verdict": "验收结论已记录，已通知项目承担单位",
           "milestone": "里程碑核查结论已记录"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _notice(done: str) -> str:
    return NOTICES.get(done, "")


def _wan_text(yuan: Decimal | None) -> str:
    return "" if yuan is None else format((yuan / WAN).normalize(), "f")


def _labels() -> dict[str, Any]:
    return {"categories": CATEGORIES, "kinds": KIND_LABELS, "ops": OP_LABELS, "figure_labels": FIGURE_LABELS,
            "verdict_labels": {v.value: label for v, label in VERDICT_LABELS.items()},
            "evidence_kinds": EVIDENCE_KINDS, "readiness_labels": readiness_model.STATUS_LABELS,
            "readiness_target_labels": readiness_model.TARGET_LABELS}


# --- the project's acceptance page ------------------------------------------------------------------------------


def _project_page(request: Request[Any, Any, Any], db: Session, user: User, business: BusinessSettings,
                  project: Project, *, status_code: int = 200, milestone_errors: dict[str, str] | None = None,
                  milestone_typed: dict[str, str] | None = None, milestone_open: int | None = None,
                  done: str = "") -> Response[Any]:
    today = clock.today_local()
    application = acceptance.application_of(db, project)
    case = committees.case_for(db, user, application.id) if application is not None else None
    assessment = monitoring.assessment_of(db, project)
    current = project.target_sets[-1]
    return page(request, "acceptance/project.html", status_code=status_code, title=f"{project.code} 验收",
                project=project, current=current, application=application, case=case,
                window=acceptance.window_of(project, business), today=today,
                refusal=acceptance.refusal(db, project, business, today) if application is None else [],
                readiness=assessment.readiness if assessment is not None else None,
                verdict_history=verdicts.verdict_history(db, project),
                milestone_checks=verdicts.milestone_checks(db, project),
                may_apply=access.may_access("acceptance_apply", user.role),
                may_check_milestones=access.may_access("milestone_check", user.role),
                may_open_case=case is not None and access.may_access("acceptance_case", user.role),
                milestone_errors=milestone_errors or {}, milestone_typed=milestone_typed or {},
                milestone_open=milestone_open, notice=_notice(done),
                disbursements=disbursements.of_project(db, project) if user.role != Role.EXPERT.value else [],
                may_open_disbursement=access.may_access("disbursement", user.role), **_labels())


@get("/projects/{project_id:int}/acceptance", name="project_acceptance", sync_to_thread=True)
def project_acceptance(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, business: Business,
                       project_id: FromPath[int], done: FromQuery[str] = "") -> Response[Any]:
    return _project_page(request, db, user, business, project_service.project_page(db, user, project_id)
                         or or_404(None), done=done)


# --- the grantee's application ----------------------------------------------------------------------------------


def _apply_page(request: Request[Any, Any, Any], db: Session, business: BusinessSettings, project: Project, *,
                status_code: int = 200, errors: dict[str, str] | None = None,
                typed: dict[str, str] | None = None) -> Response[Any]:
    today = clock.today_local()
    refusal = acceptance.refusal(db, project, business, today)
    assessment = monitoring.assessment_of(db, project)
    return page(request, "acceptance/apply.html", status_code=status_code, title=f"{project.code} 申请验收",
                project=project, current=project.target_sets[-1], refusal=refusal,
                window=acceptance.window_of(project, business),
                final_report=acceptance.final_report(db, project),
                defaults=acceptance.self_assessment_defaults(db, project) if not refusal else {},
                needs=acceptance.figures_needed(project),
                readiness=assessment.readiness if assessment is not None else None,
                errors=errors or {}, typed=typed or {}, evidence_rows=range(EVIDENCE_ROWS), **_labels())


@get("/projects/{project_id:int}/acceptance/apply", name="acceptance_apply_form", sync_to_thread=True)
def apply_form(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, business: Business,
               project_id: FromPath[int]) -> Response[Any]:
    return _apply_page(request, db, business, project_service.project_page(db, user, project_id) or or_404(None))


def _application_input(form: Any, project: Project) -> tuple[acceptance.ApplicationInput, dict[str, str]]:
    """The form as an ApplicationInput, and the files that could not be accepted (field errors)."""
    targets = {t.id: acceptance.ClaimInput(value=forms.text(form, f"t{t.id}_value", 60),
                                           done=forms.text(form, f"t{t.id}_done", 2),
                                           claim=forms.text(form, f"t{t.id}_claim", 10),
                                           note=forms.text(form, f"t{t.id}_note", 2001))
               for t in project.target_sets[-1].targets}
    figures = {need.key: forms.text(form, f"figure_{need.key}", 40) for need in acceptance.figures_needed(project)}
    evidence, file_errors = [], {}
    for i in range(EVIDENCE_ROWS):
        upload = form.get(f"e{i}_file")
        if not is_file(upload):
            continue
        try:
            checked = check_evidence_file(upload.filename, read_upload(upload, MAX_EVIDENCE_BYTES))
        except EvidenceFileRejected as exc:
            file_errors[f"evidence_{i}"] = str(exc)
            continue
        evidence.append(acceptance.EvidenceUpload(kind=forms.text(form, f"e{i}_kind", 30), new_file=checked,
                                                  figure_key=forms.text(form, f"e{i}_figure", 40),
                                                  description=forms.text(form, f"e{i}_description", 500)))
    return acceptance.ApplicationInput(forms.text(form, "summary", acceptance.MAX_TEXT + 1), targets, figures,
                                       evidence), file_errors


@post("/projects/{project_id:int}/acceptance/apply", name="acceptance_apply", sync_to_thread=True,
      request_max_body_size=APPLICATION_BODY_LIMIT)
def apply_submit(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                 settings: AppSettings, business: Business, form: SubmittedForm, project_id: FromPath[int]
                 ) -> Response[Any]:
    project = project_service.project_page(db, user, project_id) or or_404(None)
    data, file_errors = _application_input(form, project)
    typed = {key: forms.text(form, key, 2001) for key in form if key != "_csrf_token" and not is_file(form.get(key))}
    try:
        if file_errors:
            raise AcceptanceProblems(file_errors)
        acceptance.apply(db, project, data, actor=actor, now=clock.now(), today=clock.today_local(), rules=business,
                         store=evidence_store(settings))
    except AcceptanceProblems as problems:
        return _apply_page(request, db, business, project, status_code=400, errors=problems.errors, typed=typed)
    return Redirect(f"/projects/{project.id}/acceptance?done=applied", status_code=303)


# --- the officer's and the expert's overview --------------------------------------------------------------------


@get("/acceptance", name="acceptance", sync_to_thread=True)
def overview(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser) -> Response[Any]:
    meetings = list(db.scalars(committees.meetings_for(db, user).order_by(AcceptanceMeeting.held_on.desc(),
                                                                          AcceptanceMeeting.id.desc())))
    progress = {m.id: committees.meeting_progress(db, m, user) for m in meetings}
    waiting = committees.waiting_applications(db, user) if user.role != Role.EXPERT.value else []
    return page(request, "acceptance/index.html", title="项目验收", meetings=meetings, progress=progress,
                waiting=waiting, is_expert=user.role == Role.EXPERT.value,
                may_organise=access.may_access("acceptance_meeting_create", user.role), **_labels())


# --- committees --------------------------------------------------------------------------------------------------


def _meeting_form(request: Request[Any, Any, Any], db: Session, user: User, *, selected: list[int],
                  status_code: int = 200, errors: dict[str, str] | None = None,
                  typed: dict[str, Any] | None = None) -> Response[Any]:
    return page(request, "acceptance/meeting_form.html", status_code=status_code, title="组建验收会",
                waiting=committees.waiting_applications(db, user), experts=committees.experts(db),
                selected=set(selected), errors=errors or {}, typed=typed or {}, today=clock.today_local())


@get("/acceptance/meetings/new", name="acceptance_meeting_form", sync_to_thread=True)
def meeting_form(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser) -> Response[Any]:
    return _meeting_form(request, db, user, selected=forms.integers(request.query_params, "application"))


@post("/acceptance/meetings", name="acceptance_meeting_create", sync_to_thread=True)
def meeting_create(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                   form: SubmittedForm) -> Response[Any]:
    data = committees.MeetingInput(title=forms.text(form, "title", 201), held_on=forms.text(form, "held_on", 10),
                                   place=forms.text(form, "place", 201), member_ids=forms.integers(form, "member"),
                                   leader_id=forms.integer(form, "leader_id"),
                                   application_ids=forms.integers(form, "application"))
    try:
        meeting = committees.form_meeting(db, user, data, actor=actor, now=clock.now(), today=clock.today_local())
    except AcceptanceProblems as problems:
        typed = {"title": data.title, "held_on": data.held_on, "place": data.place, "members": set(data.member_ids),
                 "leader_id": data.leader_id}
        return _meeting_form(request, db, user, selected=list(data.application_ids), status_code=400,
                             errors=problems.errors, typed=typed)
    return Redirect(f"/acceptance/meetings/{meeting.id}?done=formed", status_code=303)


@get("/acceptance/meetings/{meeting_id:int}", name="acceptance_meeting", sync_to_thread=True)
def meeting_page(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, meeting_id: FromPath[int],
                 done: FromQuery[str] = "") -> Response[Any]:
    meeting = or_404(committees.meeting_for(db, user, meeting_id))
    cases = [a for a in meeting.applications if committees.case_for(db, user, a.id) is not None]
    return page(request, "acceptance/meeting.html", title=meeting.code, meeting=meeting, cases=cases,
                progress=committees.meeting_progress(db, meeting, user),
                current={a.id: verdicts.current_verdict(db, a.project) for a in cases},
                is_expert=user.role == Role.EXPERT.value, notice=_notice(done), **_labels())


def _checklist_cases(db: Session, user: User, meeting_id: int):
    meeting = or_404(committees.meeting_for(db, user, meeting_id))
    return meeting, checklist.cases_for_meeting(db, meeting)


def _download(data: bytes, media_type: str, name: str) -> Response[Any]:
    return Response(content=data, media_type=media_type, headers={
        "content-disposition": f"attachment; filename=\"checklist{name[name.rfind('.'):]}\"; "
                               f"filename*=UTF-8''{quote(name)}"})


@get("/acceptance/meetings/{meeting_id:int}/checklist.xlsx", name="acceptance_checklist_xlsx", sync_to_thread=True)
def checklist_xlsx(db: DbSession, user: CurrentUser, meeting_id: FromPath[int]) -> Response[Any]:
    meeting, cases = _checklist_cases(db, user, meeting_id)
    return _download(checklist.checklist_workbook(cases, generated_at=clock.now()), XLSX_TYPE,
                     checklist.checklist_filename(meeting.code, ".xlsx"))


@get("/acceptance/meetings/{meeting_id:int}/checklist.pdf", name="acceptance_checklist_pdf", sync_to_thread=True)
def checklist_pdf(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, meeting_id: FromPath[int]
                  ) -> Response[Any]:
    meeting, cases = _checklist_cases(db, user, meeting_id)
    try:
        data = checklist.checklist_pdf(cases, generated_at=clock.now())
    except PdfError as exc:  # the server lacks WeasyPrint's system libraries: say so, offer the other formats
        return page(request, "errors/error.html", status_code=503, title="无法生成PDF", status=503,
                    message=f"{exc}。请下载 Excel 版或使用打印版。")
    return _download(data, "application/pdf", checklist.checklist_filename(meeting.code, ".pdf"))


@get("/acceptance/meetings/{meeting_id:int}/checklist", name="acceptance_checklist_print", sync_to_thread=True)
def checklist_print(db: DbSession, user: CurrentUser, meeting_id: FromPath[int]) -> Response[Any]:
    _meeting, cases = _checklist_cases(db, user, meeting_id)
    return Response(content=checklist.checklist_html(cases, generated_at=clock.now()),
                    media_type="text/html; charset=utf-8", headers={"content-security-policy": PRINT_CSP})


# --- a case: the expert's check and the officer's verdict --------------------------------------------------------


def _case_page(request: Request[Any, Any, Any], db: Session, user: User, application: AcceptanceApplication, *,
               status_code: int = 200, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
               done: str = "") -> Response[Any]:
    project = application.project
    is_expert = user.role == Role.EXPERT.value
    checks = committees.latest_checks(db, application)
    current = verdicts.current_verdict(db, project)
    mine = checks.get(user.id) if is_expert else None
    needs = acceptance.figures_needed(project)
    if typed is None:  # the forms start from what is on record: the expert's last check, the declared figures
        typed = {}
        if mine is not None:
            typed = {"opinion": mine.opinion, "recommendation": mine.recommendation,
                     **{f"t{i.target_id}_agrees": "1" if i.agrees else "0" for i in mine.items},
                     **{f"t{i.target_id}_comment": i.comment for i in mine.items}}
        if not is_expert:
            source = current.figure if current is not None else application.figure
            typed.update({f"figure_{n.key}": _wan_text(source(n.key)) for n in needs})
            leader = checks.get(application.meeting.leader_id) if application.meeting else None
            if current is not None:
                typed.update(verdict=current.verdict, opinion=current.opinion, certificate_no=current.certificate_no)
            elif leader is not None:
                typed.update(verdict=leader.recommendation, opinion=leader.opinion)
    evidence = _target_evidence(db, project)
    return page(request, "acceptance/case.html", status_code=status_code, title=f"{project.code} 验收核查",
                application=application, project=project, targets=application.target_set.targets,
                checks=checks if not is_expert else ({user.id: mine} if mine else {}),
                members=application.meeting.members if application.meeting else [],
                missing=committees.missing_checks(db, application), current=current,
                history=verdicts.verdict_history(db, project), needs=needs, evidence=evidence,
                readiness_rows={row["position"]: row for row in (application.readiness or {}).get("targets", [])},
                is_expert=is_expert, may_check=is_expert and access.may_access("acceptance_check", user.role)
                and current is None,
                may_decide=access.may_access("acceptance_verdict", user.role),
                verdict_options=[(v.value, v.label) for v in Verdict], errors=errors or {}, typed=typed,
                notice=_notice(done), **_labels())


def _target_evidence(db: Session, project: Project) -> dict[int, list[Any]]:
    """Target id → the evidence items of the accepted reports (identifiers and files) behind its figures."""
    reports = report_service.reports_of(db, project)
    accepted = [r.accepted for r in reports.values() if r.accepted is not None]
    report_service.load_versions(db, accepted)
    found: dict[int, list[Any]] = {}
    for version in accepted:
        for item in version.evidence:
            if item.target_id is not None:
                found.setdefault(item.target_id, []).append(item)
    return found


def _case_or_404(db: Session, user: User, application_id: int) -> AcceptanceApplication:
    return or_404(committees.case_for(db, user, application_id))


@get("/acceptance/cases/{application_id:int}", name="acceptance_case", sync_to_thread=True)
def case_page(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, application_id: FromPath[int],
              done: FromQuery[str] = "") -> Response[Any]:
    return _case_page(request, db, user, _case_or_404(db, user, application_id), done=done)


@post("/acceptance/cases/{application_id:int}/check", name="acceptance_check", sync_to_thread=True)
def case_check(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
               form: SubmittedForm, application_id: FromPath[int]) -> Response[Any]:
    application = _case_or_404(db, user, application_id)
    targets = application.target_set.targets
    items = {t.id: committees.ItemInput(forms.text(form, f"t{t.id}_agrees", 2),
                                        forms.text(form, f"t{t.id}_comment", 2001)) for t in targets}
    try:
        committees.submit_check(db, application, user, items, opinion=forms.text(form, "opinion", 5001),
                                recommendation=forms.text(form, "recommendation", 20), actor=actor, now=clock.now())
    except AcceptanceProblems as problems:
        typed = {key: forms.text(form, key, 5001) for key in form if key != "_csrf_token"}
        return _case_page(request, db, user, application, status_code=400, errors=problems.errors, typed=typed)
    return Redirect(f"/acceptance/cases/{application.id}?done=checked", status_code=303)


@post("/acceptance/cases/{application_id:int}/verdict", name="acceptance_verdict", sync_to_thread=True)
def case_verdict(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                 form: SubmittedForm, application_id: FromPath[int]) -> Response[Any]:
    application = _case_or_404(db, user, application_id)
    needs = acceptance.figures_needed(application.project)
    data = verdicts.VerdictInput(verdict=forms.text(form, "verdict", 20), opinion=forms.text(form, "opinion", 5001),
                                 figures={n.key: forms.text(form, f"figure_{n.key}", 40) for n in needs},
                                 certificate_no=forms.text(form, "certificate_no", 41),
                                 reason=forms.text(form, "reason", 2000))
    try:
        verdicts.record_verdict(db, application, data, actor=actor, now=clock.now())
    except AcceptanceProblems as problems:
        typed = {key: forms.text(form, key, 5001) for key in form if key != "_csrf_token"}
        return _case_page(request, db, user, application, status_code=400, errors=problems.errors, typed=typed)
    return Redirect(f"/acceptance/cases/{application.id}?done=verdict", status_code=303)


# --- milestone checks (里程碑式补助) -------------------------------------------------------------------------------


@post("/projects/{project_id:int}/milestones/{position:int}/check", name="milestone_check", sync_to_thread=True,
      request_max_body_size=APPLICATION_BODY_LIMIT)
def milestone_check(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                    settings: AppSettings, business: Business, form: SubmittedForm, project_id: FromPath[int],
                    position: FromPath[int]) -> Response[Any]:
    project = project_or_404(db, user, project_id)
    typed = {key: forms.text(form, key, 2001) for key in form if key != "_csrf_token" and not is_file(form.get(key))}
    data = verdicts.MilestoneCheckInput(passed=typed.get("passed", ""), checked_on=typed.get("checked_on", ""),
                                        evidence=typed.get("evidence", ""), comment=typed.get("comment", ""),
                                        reason=typed.get("reason", ""))
    upload = form.get("file")
    try:
        with db.begin_nested():  # a refused check keeps no file row
            file_id = None
            if is_file(upload):
                try:
                    checked = check_evidence_file(upload.filename, read_upload(upload, MAX_EVIDENCE_BYTES))
                except EvidenceFileRejected as exc:
                    raise AcceptanceProblems({"file": str(exc)}) from exc
                file_id = report_service.store_file(db, project, checked, evidence_store(settings), actor,
                                                    clock.now()).id
            verdicts.record_milestone_check(db, project, position, data, actor=actor, now=clock.now(),
                                            today=clock.today_local(), file_id=file_id)
    except AcceptanceProblems as problems:
        return _project_page(request, db, user, business, project, status_code=400,
                             milestone_errors={f"m{position}_{k}": v for k, v in problems.errors.items()},
                             milestone_typed={f"m{position}_{k}": v for k, v in typed.items()},
                             milestone_open=position)
    return Redirect(f"/projects/{project.id}/acceptance?done=milestone#milestones", status_code=303)


router = Router(path="/", include_in_schema=False, route_handlers=[
    project_acceptance, apply_form, apply_submit, overview, meeting_form, meeting_create, meeting_page,
    checklist_xlsx, checklist_pdf, checklist_print, case_page, case_check, case_verdict, milestone_check,
])
