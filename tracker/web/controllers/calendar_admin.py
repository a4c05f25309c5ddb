"""The working-day calendar (admin only, DESIGN §1, §2): known years, the warning from 1 November, entering a
year's official arrangement as text lines, (re)seeding from chinesecalendar."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromQuery
from litestar.response import Redirect
from sqlalchemy.orm import Session

from tracker import clock
from tracker.services import work_calendar
from tracker.services.accounts import AccountError
from tracker.web import forms
from tracker.web.deps import DbSession, RequestActor, SubmittedForm
from tracker.web.render import page

ARRANGEMENT_MAX = 20_000
EXAMPLE = "2027-01-01 元旦 休\n2027-02-06~2027-02-12 春节 休\n2027-02-14 春节调休 上班"


def _year(raw: str) -> int | None:
    try:
        year = int(raw.strip())
    except ValueError:
        return None
    return year if work_calendar.MIN_YEAR <= year <= work_calendar.MAX_YEAR else None


def _calendar_page(request: Request[Any, Any, Any], db: Session, *, values: dict[str, Any], errors: dict[str, str],
                   line_errors: list[str] | None = None, status_code: int = 200, saved_year: int | None = None,
                   seeded: int | None = None, shown_year: int | None = None) -> Response[Any]:
    today = clock.today_local()
    years = work_calendar.year_summaries(db)
    known = {y.year for y in years}
    supported = work_calendar.chinesecalendar_years()
    shown = None
    if shown_year is not None and shown_year in known:
        shown = {"year": shown_year, "summary": next(y for y in years if y.year == shown_year)}
    return page(request, "admin/calendar.html", status_code=status_code, years=years, values=values,
                errors=errors, line_errors=line_errors or [], saved_year=saved_year, seeded=seeded, shown=shown,
                warnings=[w for w in (work_calendar.missing_current_year_warning(db, today),
                                      work_calendar.missing_next_year_warning(db, today)) if w],
                supported=(supported.start, supported.stop - 1), example=EXAMPLE,
                max_length=ARRANGEMENT_MAX)


@get("/admin/calendar", name="admin_calendar", sync_to_thread=True)
def calendar_page(request: Request[Any, Any, Any], db: DbSession, year: FromQuery[str] = "",
                  saved: FromQuery[str] = "", seeded: FromQuery[str] = "") -> Response[Any]:
    shown_year = _year(year)
    values: dict[str, Any] = {"year": str(clock.today_local().year + 1), "arrangement": ""}
    if shown_year is not None:
        values["year"] = str(shown_year)
        stored = work_calendar.year_days(db, shown_year)
        values["arrangement"] = work_calendar.arrangement_text(stored)
    return _calendar_page(request, db, values=values, errors={}, shown_year=shown_year,
                          saved_year=shown_year if saved == "1" else None,
                          seeded=int(seeded) if seeded.isdigit() and len(seeded) < 4 else None)


@post("/admin/calendar", name="admin_calendar_enter", sync_to_thread=True)
def calendar_enter(request: Request[Any, Any, Any], db: DbSession, actor: RequestActor, form: SubmittedForm
                   ) -> Response[Any]:
    raw = form.get("arrangement", "")
    # Not stripped: the line numbers of the errors must match what the admin sees in the text box.
    text = "" if hasattr(raw, "filename") else str(raw)
    values = {"year": forms.text(form, "year", 10), "arrangement": text[:ARRANGEMENT_MAX]}
    year = _year(values["year"])
    errors: dict[str, str] = {}
    if year is None:
        errors["year"] = f"请填写{work_calendar.MIN_YEAR}至{work_calendar.MAX_YEAR}之间的年份"
    if len(text) > ARRANGEMENT_MAX:
        errors["arrangement"] = f"内容过长（不超过{ARRANGEMENT_MAX}个字符）"
    elif not text.strip():
        errors["arrangement"] = "请填写该年的放假和调休上班安排"
    if errors or year is None:
        return _calendar_page(request, db, values=values, errors=errors, status_code=400)
    holidays, workdays, line_errors = work_calendar.parse_arrangement(values["arrangement"], year)
    if line_errors:
        return _calendar_page(request, db, values=values, line_errors=line_errors, status_code=400,
                              errors={"arrangement": f"有{len(line_errors)}处错误，未保存任何内容，请修改后重试"})
    try:
        work_calendar.enter_official_year(db, year, holidays, workdays, actor=actor, now=clock.now())
    except AccountError as exc:
        return _calendar_page(request, db, values=values, errors={exc.field or "arrangement": str(exc)},
                              status_code=400)
    return Redirect(f"/admin/calendar?year={year}&saved=1", status_code=303)


@post("/admin/calendar/seed", name="admin_calendar_seed", sync_to_thread=True)
def calendar_seed(db: DbSession, actor: RequestActor) -> Response[Any]:
    result = work_calendar.seed_from_chinesecalendar(db, actor=actor, now=clock.now())
    return Redirect(f"/admin/calendar?seeded={len(result.seeded)}", status_code=303)


router = Router(path="/", route_handlers=[calendar_page, calendar_enter, calendar_seed], include_in_schema=False)
