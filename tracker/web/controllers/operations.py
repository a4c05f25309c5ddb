"""The admin's view of the machinery (DESIGN §1, §3): the scheduled jobs and the scheduler lease, the outbox
(every mail, rendered as its recipient reads it; a dead one can be sent again), and the business settings."""

from __future__ import annotations

import math
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from reminders.jobs import COUNT_LABELS, JOBS
from reminders.mail import render_mail
from tracker import clock
from tracker.models import MAIL_STATUS_LABELS, MailStatus, OutboxMail
from tracker.services import business_settings, outbox, scheduling
from tracker.services.accounts import StaleEdit
from tracker.services.business_settings import BusinessSettings, SettingsProblems
from tracker.web import forms
from tracker.web.deps import AppSettings, Business, DbSession, PageNo, RequestActor, SubmittedForm
from tracker.web.lookups import row_or_404
from tracker.web.render import page

PAGE_SIZE = 50
STATUS_OPTIONS = [(s.value, MAIL_STATUS_LABELS[s]) for s in MailStatus]
TEMPLATE_LABELS = {
    "activation": "账号激活", "report_reminder": "催报提醒", "report_returned": "报告退回",
    "officer_digest": "专员每日汇总", "extension_deadline": "延期申请截止", "acceptance_open": "验收申请开始",
    "acceptance_closing": "验收申请即将截止", "project_at_risk": "项目预警", "expert_assigned": "验收专家邀请",
    "acceptance_verdict": "验收结论", "disbursement_pending": "后补助待审批", "disbursement_paid": "后补助已拨付",
}


def schedule() -> dict[str, int]:
    """Each scheduled job's interval in minutes (the jobs page and the banner judge staleness by it)."""
    return {job.name: job.every_minutes for job in JOBS.values()}


# --- jobs ------------------------------------------------------------------------------------------------------


@get("/admin/jobs", name="admin_jobs", sync_to_thread=True)
def jobs_page(request: Request[Any, Any, Any], db: DbSession, job: FromQuery[str] = "") -> Response[Any]:
    now = clock.now()
    job = job if job in JOBS else ""
    return page(request, "admin/jobs.html", jobs=JOBS, health=scheduling.job_health(db, schedule(), now=now),
                lease=scheduling.current_lease(db, now=now), runs=scheduling.recent_runs(db, job=job or None),
                job=job, now=now, count_labels=COUNT_LABELS)


# --- the outbox ------------------------------------------------------------------------------------------------


@get("/admin/outbox", name="admin_outbox", sync_to_thread=True)
def outbox_page(request: Request[Any, Any, Any], db: DbSession, settings: AppSettings, status: FromQuery[str] = "",
                template: FromQuery[str] = "", q: FromQuery[str] = "", page_no: PageNo = 1) -> Response[Any]:
    query = select(OutboxMail).order_by(OutboxMail.id.desc())
    status = status if status in {s.value for s in MailStatus} else ""
    if status:
        query = query.where(OutboxMail.status == status)
    templates = db.scalars(select(OutboxMail.template).distinct().order_by(OutboxMail.template)).all()
    if template in templates:
        query = query.where(OutboxMail.template == template)
    else:
        template = ""
    if q.strip():
        like = f"%{q.strip()[:100]}%"
        query = query.where(or_(OutboxMail.recipient.ilike(like), OutboxMail.dedupe_key.ilike(like)))
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_no = min(max(page_no, 1), pages)
    rows = db.scalars(query.limit(PAGE_SIZE).offset((page_no - 1) * PAGE_SIZE)).all()
    return page(request, "admin/outbox.html", mails=rows, total=total, page=page_no, pages=pages,
                counts=outbox.counts_by_status(db), statuses=STATUS_OPTIONS, templates=templates,
                template_labels=TEMPLATE_LABELS, filters={"status": status, "template": template, "q": q},
                no_server=not settings.smtp_url)


def _mail_page(request: Request[Any, Any, Any], db: Session, business: BusinessSettings, mail: OutboxMail, *,
               error: str = "", status_code: int = 200) -> Response[Any]:
    try:
        rendered, render_error = render_mail(mail, site_url=business.site_url), ""
    except Exception as exc:  # noqa: BLE001 - a mail whose template fails is shown with the reason, not a 500
        rendered, render_error = None, f"{type(exc).__name__}: {exc}"
    return page(request, "admin/mail.html", status_code=status_code, mail=mail, rendered=rendered,
                render_error=render_error, error=error, template_labels=TEMPLATE_LABELS)


@get("/admin/outbox/{mail_id:int}", name="admin_mail", sync_to_thread=True)
def mail_page(request: Request[Any, Any, Any], db: DbSession, business: Business, mail_id: FromPath[int]
              ) -> Response[Any]:
    return _mail_page(request, db, business, row_or_404(db, OutboxMail, mail_id))


@post("/admin/outbox/{mail_id:int}/resend", name="admin_mail_resend", sync_to_thread=True)
def mail_resend(request: Request[Any, Any, Any], db: DbSession, business: Business, actor: RequestActor,
                mail_id: FromPath[int]) -> Response[Any]:
    mail = row_or_404(db, OutboxMail, mail_id)
    try:
        outbox.resend(db, mail, actor=actor, now=clock.now())
    except ValueError as exc:
        return _mail_page(request, db, business, mail, error=str(exc), status_code=400)
    return Redirect(f"/admin/outbox/{mail.id}", status_code=303)


# --- business settings -----------------------------------------------------------------------------------------


def _settings_page(request: Request[Any, Any, Any], current: BusinessSettings, *, values: dict[str, str],
                   errors: dict[str, str], status_code: int = 200, saved: bool = False) -> Response[Any]:
    sections: dict[str, list[Any]] = {}
    for definition in business_settings.DEFINITIONS:
        sections.setdefault(definition.section, []).append(definition)
    return page(request, "admin/settings.html", status_code=status_code, sections=sections, values=values,
                errors=errors, seen=business_settings.fingerprint(current), saved=saved,
                defaults=business_settings.as_text(business_settings.DEFAULTS))


@get("/admin/settings", name="admin_settings", sync_to_thread=True)
def settings_page(request: Request[Any, Any, Any], business: Business, saved: FromQuery[str] = "") -> Response[Any]:
    return _settings_page(request, business, values=business_settings.as_text(business), errors={},
                          saved=saved == "1")


@post("/admin/settings", name="admin_settings_save", sync_to_thread=True)
def settings_save(request: Request[Any, Any, Any], db: DbSession, business: Business, actor: RequestActor,
                  form: SubmittedForm) -> Response[Any]:
    typed = {d.key: forms.text(form, d.key, 200) for d in business_settings.DEFINITIONS}
    try:
        business_settings.update(db, typed, seen=forms.text(form, "seen", 40), actor=actor, now=clock.now())
    except SettingsProblems as problems:
        return _settings_page(request, business, values=typed, errors=problems.errors, status_code=400)
    except StaleEdit as exc:
        return _settings_page(request, business, values=typed, errors={"form": str(exc)}, status_code=409)
    return Redirect("/admin/settings?saved=1", status_code=303)


router = Router(path="/", include_in_schema=False, route_handlers=[
    jobs_page, outbox_page, mail_page, mail_resend, settings_page, settings_save,
])
