"""Post-subsidy disbursement (后补助拨付) pages: the queue, one disbursement with its computation line by line and its
history, and each step as its own POST — finance approves, returns to the officer, records the payment and a reversal;
the officer enters the amount (bounds without a rate), records an approved exception to a limit, or sends a returned
one back. The payment list (Excel) of the filtered queue.

Who: the policy's roles (tracker/access.py) plus the scope query of the service (`disbursement_for`): finance and the
admin see every row, the officer the rows of their programmes; another programme's row answers 404 like a missing one.
The grantee has none of these routes: the project's acceptance page shows its disbursements.

Every form sends the row's `lock`; the service refuses a stale one ("该拨付已被他人处理…"), so a second approval from an
old page is refused with the reason. A refused step re-renders the page (400) with the field errors and the input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tracker import access, clock
from tracker.exports.disbursements_xlsx import payment_list_workbook, payment_rows
from tracker.models import DISBURSEMENT_STATUS_LABELS, FIGURE_LABELS, Disbursement, DisbursementStatus, Role, User
from tracker.services import disbursements
from tracker.services.acceptance import AcceptanceProblems
from tracker.services.programmes import visible_programmes
from tracker.web import forms
from tracker.web.controllers.project_import import attachment
from tracker.web.deps import CurrentUser, DbSession, PageNo, RequestActor, SubmittedForm
from tracker.web.lookups import or_404
from tracker.web.render import page

PAGE_SIZE = 50
STALE = "页面已过期，请刷新页面查看最新状态"
# The service's own words for a row someone else changed meanwhile (officer_update takes no lock: checked here).
CHANGED = "该拨付已被他人处理，请刷新页面查看最新状态"
# Another user's step saved first while this one was under way (the lock, or a voucher number used at the same time).
CONFLICT = "保存时他人已处理该拨付或已使用该凭证号，未作修改；请查看最新状态后重试"
NOTICES = {
    "approve": "已审批通过，等待登记支付", "return": "已退回项目管理专员", "pay": "已登记支付，已通知项目承担单位",
    "reverse": "已登记冲销", "amount": "补助金额已录入，等待财务审批",
    "exception": "经批准的例外已记录，等待财务审批", "resubmit": "已重新提交，拨付已重新计算",
    "update": "拨付已重新计算",
}
ACTION_LABELS = {
    "disbursement_created": "生成拨付", "disbursement_updated": "专员更新", "disbursement_approved": "审批通过",
    "disbursement_returned": "退回专员", "disbursement_paid": "登记支付", "disbursement_voided": "作废",
    "disbursement_reversal_due": "需冲销", "disbursement_reversed": "登记冲销",
}
# What the audit entries' `after` holds, in words, for the history (in this order).
TRAIL_FIELDS = (("status", "状态"), ("amount", "金额（元）"), ("officer_amount", "专员录入（元）"),
                ("comment", "退回原因"), ("exception", "例外原因"), ("paid_on", "支付日期"),
                ("reversed_on", "冲销日期"), ("voucher_no", "凭证号"), ("reason", "原因"), ("message", "说明"))
CLAMPED = {"floor": "低于下限，按下限", "cap": "高于上限，按上限"}
OFFICER_FORMS = ("amount", "exception", "resubmit")


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _percent(rate: str | None) -> str:
    try:
        return format((Decimal(rate) * 100).normalize(), "f") + "%" if rate else ""
    except InvalidOperation:
        return rate or ""


# --- the queue ------------------------------------------------------------------------------------------------------


def _filters(user: User, status: str, programme: str) -> disbursements.QueueFilter:
    """The query string as a filter: finance starts on 待审批, the others on 全部; anything unreadable is ignored."""
    default = "pending" if user.role == Role.FINANCE.value else "all"
    return disbursements.QueueFilter(status if status in disbursements.QUEUE_TABS else default, _int(programme))


@get("/disbursements", name="disbursements", sync_to_thread=True)
def queue_page(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, status: FromQuery[str] = "",
               programme: FromQuery[str] = "", page_no: PageNo = 1) -> Response[Any]:
    filters = _filters(user, status, programme)
    query = disbursements.queue(user, filters)
    tally = disbursements.queue_tally(db, query)
    pages = max(1, math.ceil(tally.count / PAGE_SIZE))
    page_no = min(max(page_no, 1), pages)
    params = {"status": filters.tab, "programme": str(filters.programme_id or "")}
    return page(request, "disbursements/queue.html", title="后补助拨付", filters=filters, params=params,
                rows=disbursements.queue_rows(db, query, filters.tab, offset=(page_no - 1) * PAGE_SIZE,
                                              limit=PAGE_SIZE),
                tally=tally, tabs=disbursements.QUEUE_TABS,
                tallies=disbursements.tallies(db, user, filters.programme_id),
                programmes=visible_programmes(db, user), page=page_no, pages=pages)


def _scope_note(db: Session, user: User, filters: disbursements.QueueFilter) -> str:
    scope = "范围：本人负责的项目计划" if user.role == Role.OFFICER.value else "范围：全部项目计划"
    parts = [f"状态={disbursements.QUEUE_TABS[filters.tab]}"]
    if filters.programme_id is not None:
        names = {p.id: p.name for p in visible_programmes(db, user)}  # never the name of a programme out of scope
        parts.append(f"项目计划={names.get(filters.programme_id, filters.programme_id)}")
    return f"{scope}；筛选：{'，'.join(parts)}"


@get("/disbursements/export.xlsx", name="disbursements_export", sync_to_thread=True)
def payment_list(db: DbSession, user: CurrentUser, status: FromQuery[str] = "", programme: FromQuery[str] = ""
                 ) -> Response[Any]:
    """The payment list (支付清单): the filtered queue, without paging, as Excel."""
    filters = _filters(user, status, programme)
    now = clock.now()
    data = payment_list_workbook(payment_rows(db, disbursements.queue(user, filters)), generated_at=now,
                                 scope_note=_scope_note(db, user, filters))
    stamp = clock.local(now).strftime("%Y%m%d")
    return attachment(data, f"支付清单-{stamp}.xlsx", f"payment-list-{stamp}.xlsx")


# --- one disbursement -------------------------------------------------------------------------------------------------


def _computation(row: Disbursement) -> dict[str, Any]:
    """The computation as copied at award and applied to the certificate, with labels (amounts in 万元)."""
    found = row.computation or {}
    base = found.get("base")
    return {"rule_text": found.get("rule_text", ""), "steps": found.get("steps", []),
            "base": FIGURE_LABELS.get(base, base) if base else "", "base_value": found.get("base_value"),
            "rate": _percent(found.get("rate")), "floor": found.get("floor"), "cap": found.get("cap"),
            "clamped": CLAMPED.get(found.get("clamped") or "", ""),
            "figures": [(FIGURE_LABELS.get(key, key), value) for key, value in (found.get("figures") or {}).items()],
            "officer_enters_amount": bool(found.get("officer_enters_amount"))}


def _trail(db: Session, row: Disbursement) -> list[dict[str, Any]]:
    """The row's audit entries in words: when, who, what, and the details they recorded."""
    trail = []
    entries = disbursements.trail_of(db, row)
    # Who, by the name people know them by (the entry keeps the user name it was written with).
    ids = {entry.user_id for entry in entries if entry.user_id}
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).tuples().all()) if ids else {}
    for entry in entries:
        try:
            after = json.loads(entry.after) if entry.after else {}
        except ValueError:
            after = {}
        after = after if isinstance(after, dict) else {}
        words = {key: DISBURSEMENT_STATUS_LABELS.get(value, value) if key == "status" else str(value)
                 for key, value in after.items() if value not in (None, "")}
        trail.append({"at": entry.at, "who": names.get(entry.user_id) or entry.username or "系统",
                      "action": ACTION_LABELS.get(entry.action, entry.action),
                      "details": [(label, words[key]) for key, label in TRAIL_FIELDS if key in words]})
    return trail


def _forms(db: Session, user: User, row: Disbursement) -> set[str]:
    """The steps this user may take on the row in its state."""
    shown: set[str] = set()
    if access.may_access("disbursement_approve", user.role):
        if row.status == DisbursementStatus.PENDING:
            shown |= {"approve", "return"}
        elif row.status == DisbursementStatus.APPROVED:
            shown.add("pay")
        elif row.reversal_due and row.status == DisbursementStatus.PAID:
            shown.add("reverse")
    if access.may_access("disbursement_update", user.role):
        if row.status == DisbursementStatus.BLOCKED and (row.computation or {}).get("officer_enters_amount"):
            shown.add("amount")
        if disbursements.exception_would_unblock(db, row):
            shown.add("exception")
        if row.status == DisbursementStatus.RETURNED:
            shown.add("resubmit")
    return shown


def _detail(request: Request[Any, Any, Any], db: Session, user: User, row: Disbursement, *, status_code: int = 200,
            failed: str = "", errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
            done: str = "") -> Response[Any]:
    project = row.project
    return page(request, "disbursements/detail.html", status_code=status_code,
                title=f"{project.code} {row.tranche_label}", row=row, project=project,
                computation=_computation(row), trail=_trail(db, row),
                others=[r for r in disbursements.of_project(db, project) if r.id != row.id],
                forms=_forms(db, user, row), failed=failed, errors=errors or {}, typed=typed or {},
                notice=NOTICES.get(done, ""), today=clock.today_local())


def _row_or_404(db: Session, user: User, disbursement_id: int) -> Disbursement:
    return or_404(disbursements.disbursement_for(db, user, disbursement_id))


@get("/disbursements/{disbursement_id:int}", name="disbursement", sync_to_thread=True)
def detail(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, disbursement_id: FromPath[int],
           done: FromQuery[str] = "") -> Response[Any]:
    return _detail(request, db, user, _row_or_404(db, user, disbursement_id), done=done)


def _step(request: Request[Any, Any, Any], db: Session, user: User, row: Disbursement, form: FormMultiDict,
          action: str, fields: tuple[str, ...], call: Callable[[int, dict[str, str]], Any]) -> Response[Any]:
    """One step on the row: the service with the form's lock and fields; refused → the page again (400) with the
    errors and the input; done → back to the page with a notice (303)."""
    typed = forms.values(form, fields, 2001)
    try:
        lock = forms.integer(form, "lock")
        if lock is None:
            raise AcceptanceProblems({"form": STALE})
        try:
            with db.begin_nested():  # a race lost at the flush is undone alone; the page reads what is stored
                call(lock, typed)
        except (StaleDataError, IntegrityError) as exc:
            raise AcceptanceProblems({"form": CONFLICT}) from exc
    except AcceptanceProblems as problems:
        return _detail(request, db, user, row, status_code=400, failed=action, errors=problems.errors, typed=typed)
    return Redirect(f"/disbursements/{row.id}?done={action}", status_code=303)


@post("/disbursements/{disbursement_id:int}/approve", name="disbursement_approve", sync_to_thread=True)
def approve(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
            form: SubmittedForm, disbursement_id: FromPath[int]) -> Response[Any]:
    row = _row_or_404(db, user, disbursement_id)
    return _step(request, db, user, row, form, "approve", (), lambda lock, _typed: disbursements.approve(
        db, row, lock=lock, actor=actor, now=clock.now()))


@post("/disbursements/{disbursement_id:int}/return", name="disbursement_return", sync_to_thread=True)
def return_to_officer(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                      form: SubmittedForm, disbursement_id: FromPath[int]) -> Response[Any]:
    row = _row_or_404(db, user, disbursement_id)
    return _step(request, db, user, row, form, "return", ("comment",), lambda lock, typed: (
        disbursements.return_to_officer(db, row, comment=typed["comment"], lock=lock, actor=actor, now=clock.now())))


@post("/disbursements/{disbursement_id:int}/pay", name="disbursement_pay", sync_to_thread=True)
def pay(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor, form: SubmittedForm,
        disbursement_id: FromPath[int]) -> Response[Any]:
    row = _row_or_404(db, user, disbursement_id)
    return _step(request, db, user, row, form, "pay", ("paid_on", "voucher_no"), lambda lock, typed: (
        disbursements.mark_paid(db, row, paid_on=typed["paid_on"], voucher_no=typed["voucher_no"], lock=lock,
                                actor=actor, today=clock.today_local(), now=clock.now())))


@post("/disbursements/{disbursement_id:int}/reverse", name="disbursement_reverse", sync_to_thread=True)
def reverse(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
            form: SubmittedForm, disbursement_id: FromPath[int]) -> Response[Any]:
    row = _row_or_404(db, user, disbursement_id)
    # The service names the fields of a payment (paid_on, voucher_no): the reversal form uses the same names.
    return _step(request, db, user, row, form, "reverse", ("paid_on", "voucher_no"), lambda lock, typed: (
        disbursements.record_reversal(db, row, reversed_on=typed["paid_on"], voucher_no=typed["voucher_no"],
                                      lock=lock, actor=actor, today=clock.today_local(), now=clock.now())))


@post("/disbursements/{disbursement_id:int}/update", name="disbursement_update", sync_to_thread=True)
def officer_update(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                   form: SubmittedForm, disbursement_id: FromPath[int]) -> Response[Any]:
    row = _row_or_404(db, user, disbursement_id)
    which = forms.text(form, "form", 20)

    def call(lock: int, typed: dict[str, str]) -> Any:
        if lock != row.lock:
            raise AcceptanceProblems({"form": CHANGED})
        # Each form says what it is for: an empty one would only compute the row again.
        if which == "amount" and not typed["amount"]:
            raise AcceptanceProblems({"amount": "请填写补助金额（万元）"})
        if which == "exception" and not typed["exception_reason"]:
            raise AcceptanceProblems({"exception_reason": "请写明批准例外的依据"})
        return disbursements.officer_update(db, row, amount=typed["amount"], exception_reason=typed["exception_reason"],
                                            actor=actor, now=clock.now())

    return _step(request, db, user, row, form, which if which in OFFICER_FORMS else "update",
                 ("amount", "exception_reason"), call)


router = Router(path="/", include_in_schema=False, route_handlers=[
    queue_page, payment_list, detail, approve, return_to_officer, pay, reverse, officer_update,
])
