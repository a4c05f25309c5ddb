"""Finance's day with the keyboard only, at 1280 px: sign in (Enter submits), reach 后补助拨付 from the menu, open the
row, approve it, type the voucher number and press Enter to record the payment. Every element Tab reaches shows a
visible focus ring, and Tab moves forward through the page in reading order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import builders as build
from tests.e2e.journey import Journey
from tracker import clock
from tracker.db import session_scope
from tracker.demo.accounts import DEMO_ORGANISATION_USCC, DEMO_PASSWORD
from tracker.models import Organisation, User
from tracker.services import verdicts
from tracker.services.audit import Actor

pytestmark = pytest.mark.browser

CODE = "KB-E2E-1"

# What Tab focused: whether it is the element looked for, whether its focus is visible (an outline or a ring), and
# whether it comes after the previously focused element in the document.
FOCUSED = """(wanted) => {
  const el = document.activeElement;
  // Focus on <body> is focus gone past the page's last element; Tab then starts again from the top.
  const prev = el === document.body ? null : window.__previousFocus;
  const forward = !prev || prev === el || !prev.isConnected
    || Boolean(prev.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
  window.__previousFocus = el;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
  const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 40);
  return {what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + text,
          found: el !== document.body && el.matches(wanted.selector)
                 && (!wanted.text || (el.innerText || '').trim() === wanted.text),
          ring, forward};
}"""


class Keyboard:
    """Tab until an element is focused, recording every stop on the way."""

    def __init__(self, page) -> None:
        self.page = page
        self.stops: list[dict] = []

    def tab_to(self, selector: str, text: str = "", limit: int = 60) -> int:
        """Press Tab until `selector` (with `text`, when given) has the focus; the number of presses."""
        for presses in range(1, limit + 1):
            self.page.keyboard.press("Tab")
            stop = self.page.evaluate(FOCUSED, {"selector": selector, "text": text})
            self.stops.append(stop)
            if stop["found"]:
                return presses
        raise AssertionError(f"{selector} {text} not reached by Tab: {[s['what'] for s in self.stops[-limit:]]}")

    def enter(self) -> None:
        self.page.keyboard.press("Enter")


def _approved_verdict(factory) -> int:
    """A post-subsidy project of the demo grantee whose acceptance passed: its disbursement waits for finance."""
    now, today = clock.now(), clock.today_local()
    with session_scope(factory) as db:
        officer = db.scalar(select(User).where(User.username == "officer"))
        expert = db.scalar(select(User).where(User.username == "expert"))
        org = db.scalar(select(Organisation).where(Organisation.uscc == DEMO_ORGANISATION_USCC))
        document = build.guideline(db, programme="键盘操作测试计划", officer=officer, now=now)
        end = today + timedelta(days=10)
        start = end.replace(year=end.year - 2) + timedelta(days=1)
        project = build.project(db, guideline=document, code=CODE, title="键盘操作后补助测试项目", organisation=org,
                                officer=officer, start=start, confirmed=True, now=now)
        application = build.application(db, project, now=now)
        build.meeting(db, [application], [expert], by=officer, now=now)
        build.check(db, application, expert, now=now)
        verdicts.record_verdict(db, application, verdicts.VerdictInput(
            "passed", "同意通过验收。", {"certified_self_funding": "100"}, certificate_no="桂科验字〔2026〕9号"),
            actor=Actor.of(officer), now=now)
        return project.id


def test_finance_approves_and_pays_with_the_keyboard_only(browser, live_server, live_session_factory,
                                                          screenshot_dir):
    _approved_verdict(live_session_factory)
    journey = Journey(browser, live_server, "desktop", screenshot_dir, prefix="keyboard")
    page = journey.new_context()
    keys = Keyboard(page)

    page.goto(live_server + "/login")
    assert page.evaluate("document.activeElement.id") == "username"  # autofocus: type at once
    page.keyboard.type("finance")
    keys.tab_to("#password")
    page.keyboard.type(DEMO_PASSWORD)
    journey.check(page, "login")
    keys.enter()
    page.wait_for_url(live_server + "/")

    keys.tab_to("nav.menu a[href='/disbursements']")
    journey.check(page, "menu-focused")
    keys.enter()
    page.wait_for_url(live_server + "/disbursements")
    # The first stop of a page skips the menu.
    assert keys.tab_to("a.skip-link") == 1
    keys.enter()
    keys.tab_to("#queue a", text=CODE)
    journey.check(page, "row-focused")
    keys.enter()
    page.wait_for_url("**/disbursements/*")
    detail_url = page.url

    keys.tab_to("#approve button[type=submit]")
    journey.check(page, "approve-focused")
    keys.enter()
    page.wait_for_url(f"{detail_url}?done=approve")
    keys.tab_to("#pay-voucher_no")
    page.keyboard.type("PZ-KB-0001")
    journey.check(page, "voucher-typed")
    keys.enter()
    page.wait_for_url(f"{detail_url}?done=pay")
    assert "已支付" in page.inner_text("h1") and "PZ-KB-0001" in page.inner_text("#history")
    journey.check(page, "paid")

    no_ring = [s["what"] for s in keys.stops if not s["ring"] and not s["what"].startswith("body")]
    assert no_ring == [], f"focus not visible on: {no_ring}"
    backwards = [s["what"] for s in keys.stops if not s["forward"]]
    assert backwards == [], f"Tab moved backwards to: {backwards}"
    journey.close()
    assert journey.script_errors() == [], journey.errors
