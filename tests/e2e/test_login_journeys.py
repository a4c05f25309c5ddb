"""Every demo login reaches its role's home page, on a 390 px phone and at 1280 px."""

from __future__ import annotations

import pytest

from tracker.demo.accounts import DEMO_PASSWORD, DEMO_USERS

pytestmark = pytest.mark.browser

WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("username", "role", "name"), DEMO_USERS)
def test_demo_login_reaches_role_home(browser, live_server, screenshot_dir, username, role, name, width):
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/")
    assert page.url.endswith("/login?next=/")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    assert page.locator("h1").inner_text() == f"您好，{name}"
    assert page.locator(".role").inner_text() == role.label
    # Nothing wider than the viewport: readable on a phone without sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= w
    page.screenshot(path=str(screenshot_dir / f"home-{username}-{width}.png"), full_page=True)
    page.click("text=退出")
    page.wait_for_url(live_server + "/login")
    assert errors == [], errors  # no CSP violations or script errors
    context.close()


def test_language_switch_in_the_browser(browser, live_server, screenshot_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server + "/login")
    page.click("text=English")
    assert page.locator("h1").inner_text() == "Sign in"
    page.screenshot(path=str(screenshot_dir / "login-en-phone.png"))
    page.click("text=中文")
    assert page.locator("h1").inner_text() == "登录"
    context.close()
