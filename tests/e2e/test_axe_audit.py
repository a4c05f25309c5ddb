"""The audit the journeys rely on finds what it should: an unlabelled field and low-contrast text on a page of the
app's own layout, and nothing on the login page as it is."""

from __future__ import annotations

import pytest

from tests.e2e.journey import audit

pytestmark = pytest.mark.browser


def test_axe_finds_an_unlabelled_field_and_grey_on_grey_text(browser, live_server):
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    html = ('<!doctype html><html lang="zh-CN"><head><title>测试</title></head><body><main><h1>表单</h1>'
            '<form><input name="x"></form><p style="color:#bbb;background:#ccc">看不清的文字</p></main></body></html>')
    findings = audit(page, f"{live_server}/nowhere", html, "sample")
    assert {f.rule for f in findings} >= {"label", "color-contrast"}, findings
    context.close()


def test_the_login_page_has_no_serious_violation(browser, live_server):
    app = browser.new_context()
    page = app.new_page()
    page.goto(f"{live_server}/login")
    html, url = page.content(), page.url
    app.close()
    context = browser.new_context(bypass_csp=True)
    assert audit(context.new_page(), url, html, "login") == []
    context.close()
