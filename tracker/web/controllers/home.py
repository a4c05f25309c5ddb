"""The home page of each role, the language switch and the health check."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy import text

from indicators.assessment import readiness
from indicators.assessment.monitoring import STATUS_LABELS
from tracker import clock, i18n
from tracker.models import AcceptanceMeeting, Role
from tracker.services import committees, dashboard, disbursements, work_calendar
from tracker.templating import render
from tracker.web.context import cookie_names, make_cookie
from tracker.web.controllers.auth import safe_next
from tracker.web.deps import AppSettings, Business, CurrentUser, DbSession
from tracker.web.fragments import KEPT, scope_key
from tracker.web.render import page, request_language

# What each role comes here to do (DESIGN §1), shown on its home page; a (text, link) pair is a link to the page.
ROLE_TASKS: dict[Role, list[str | tuple[str, str]]] = {
    Role.GRANTEE: ["填写并提交季度进展报告及佐证材料", "查看本单位项目的考核指标与完成情况", "申请项目验收"],
    Role.OFFICER: ["导入指南与立项清单", "确认任务书考核指标", "审核季度进展报告", "关注风险项目，组织验收"],
    Role.EXPERT: ["逐项核查分配给您的验收项目的考核指标", "填写专家意见与结论"],
    Role.FINANCE: [("审批后补助拨付", "/disbursements?status=pending"),
                   ("登记已支付款项", "/disbursements?status=approved"),
                   ("导出支付清单（已审批待支付）", "/disbursements/export.xlsx?status=approved")],
    Role.ADMIN: ["管理用户、单位与项目分配", "维护工作日历与系统设置", "查阅审计日志"],
}


@get("/", name="home", sync_to_thread=True)
def home(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, business: Business) -> Response[Any]:
    role = Role(user.role)
    today = clock.today_local()
    # The admin's reminder to enter next year's holiday arrangement (from 1 November, DESIGN §2).
    warnings = []
    if role is Role.ADMIN:
        for check in (work_calendar.missing_current_year_warning, work_calendar.missing_next_year_warning):
            calendar_warning = check(db, today)
            if calendar_warning:
                warnings.append((calendar_warning, "/admin/calendar"))
    # What needs doing: the officer's worklist over their programmes, the grantee's projects to file for.
    worklist = None
    if role is Role.OFFICER:  # kept, rendered, until a project, report or assessment changes (tracker.web.fragments)
        # Kept until what it rests on changes (dashboard.worklist_version), not until anything changes: a grantee
        # saving a draft does not rebuild it.
        # The version's own queries (about 20 ms at 10,000 projects) run once per data generation.
        lang, scope = request_language(request), scope_key(user)
        version = KEPT.get(db, ("worklist-version", scope), lambda: dashboard.worklist_version(db, user))
        key = ("worklist", lang, scope, today, version)
        worklist = KEPT.html(db, key, lambda: render(
            "_officer_worklist.html", lang=lang, worklist=dashboard.officer_worklist(db, user, today),
            rate_dimensions=dashboard.RATE_DIMENSIONS), generation=False)
    todos = dashboard.grantee_todos(db, user, business, today) if role is Role.GRANTEE else None
    counts = dashboard.admin_counts(db) if role is Role.ADMIN else None
    expert_meetings = None
    if role is Role.EXPERT:  # the meetings they sit on, the coming ones first
        meetings = db.scalars(committees.meetings_for(db, user).order_by(AcceptanceMeeting.held_on.desc()))
        expert_meetings = [(m, committees.meeting_progress(db, m, user)) for m in meetings]
    # Finance: each state's count and sum, linking to that tab of the queue.
    payments = None
    if role is Role.FINANCE:
        tallies = disbursements.tallies(db, user)
        payments = [(key, label, tallies[key]) for key, label in disbursements.QUEUE_TABS.items()]
    return page(request, "home.html", role_label=role.label, tasks=ROLE_TASKS[role], warnings=warnings,
                worklist=worklist, todos=todos, counts=counts, expert_meetings=expert_meetings, payments=payments,
                risk_labels=STATUS_LABELS, readiness_labels=readiness.STATUS_LABELS,
                open_days=business.report_open_days, today=today)


@get("/lang/{code:str}", name="language", sync_to_thread=False)
def language(settings: AppSettings, code: FromPath[str], next: FromQuery[str] = "/") -> Response[Any]:  # noqa: A002
    response = Redirect(safe_next(next), status_code=303)
    response.set_cookie(make_cookie(settings, cookie_names(settings)["lang"], i18n.normalize(code),
                                    max_age=365 * 24 * 3600))
    return response


@get("/healthz", name="health", sync_to_thread=True)
def health(db: DbSession) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok"}


router = Router(path="/", route_handlers=[home, language, health], include_in_schema=False)
