"""One user's way through the pages in a real browser, shared by the journeys of tests/e2e.

At every `check` the page must fit its width (no sideways scroll), is saved as a screenshot, and is audited with
axe-core: 0 serious or critical violations. The journeys themselves run under the app's real CSP, which refuses an
injected script; so axe runs in a second browser context that bypasses CSP, on the very DOM the journey sees (served
back for the same URL, with the page's own stylesheet from the server), never on the app's own pages."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tracker.demo.accounts import DEMO_PASSWORD

WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}


def screenshots_folder() -> Path:
    """Where the journeys' screenshots go: TRACKER_SCREENSHOTS, else var/screenshots/ of the checkout (git-ignored)."""
    return Path(os.environ.get("TRACKER_SCREENSHOTS") or Path(__file__).parents[2] / "var" / "screenshots")
SERIOUS = ("serious", "critical")
WIDE_TABLES = """() => [...document.querySelectorAll('.table-wrap')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => (el.querySelector('th') || el).innerText.slice(0, 20) + ': ' + el.scrollWidth + '>' + el.clientWidth)"""


def axe_script() -> str:
    """axe-core as bundled by the axe-playwright-python wheel (MPL-2.0, its licence travels with it): a test
    dependency, never served by the app."""
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


@dataclass
class AxeFinding:
    page: str
    rule: str
    impact: str
    help: str
    targets: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.page}: {self.rule} ({self.impact}) {self.help}: {', '.join(self.targets[:4])}"


def audit(axe_page, url: str, html: str, name: str) -> list[AxeFinding]:
    """axe on `html` served as `url` in the CSP-bypassing context: the serious and critical violations."""
    bare = url.split("#")[0]

    def serve(route) -> None:
        route.fulfill(status=200, body=html, headers={"content-type": "text/html; charset=utf-8"})

    axe_page.route(lambda u: u == bare, serve)
    try:
        axe_page.goto(bare, wait_until="load")
        axe_page.evaluate(axe_script())
        result = axe_page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    finally:
        axe_page.unroute_all()
    return [AxeFinding(name, v["id"], v["impact"], v["help"], [", ".join(n["target"]) for n in v["nodes"]])
            for v in result["violations"] if v.get("impact") in SERIOUS]


class Journey:
    """A role's session at one width. `login` starts a fresh browser context (and its axe twin); `check` asserts
    the page fits, screenshots it as `{prefix}-{name}-{width}.png` and audits it."""

    def __init__(self, browser, base: str, width: str, shots: Path, prefix: str = "report"):
        self.browser, self.base, self.width, self.shots, self.prefix = browser, base, width, shots, prefix
        self.errors: list[str] = []
        self.context = None
        self.axe_context = None
        self.axe_page = None
        self.checked: list[str] = []

    def new_context(self, **extra):
        self.close()
        w, h = WIDTHS[self.width]
        self.context = self.browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN",
                                                accept_downloads=True, **extra)
        self.axe_context = self.browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN",
                                                    bypass_csp=True)
        self.axe_page = self.axe_context.new_page()
        page = self.context.new_page()
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        return page

    def login(self, username: str, password: str = DEMO_PASSWORD):
        page = self.new_context()
        page.goto(self.base + "/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(self.base + "/")
        return page

    def check(self, page, name: str) -> None:
        w = WIDTHS[self.width][0]
        page.screenshot(path=str(self.shots / f"{self.prefix}-{name}-{self.width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= w, f"{name}: wider than {w}px"
        if self.width == "desktop":
            # On a desktop no table hides columns behind a sideways scroll.
            hidden = page.evaluate(WIDE_TABLES)
            assert not hidden, f"{name}: tables wider than their place at {w}px: {hidden}"
        findings = audit(self.axe_page, page.url, page.content(), f"{self.prefix}-{name}-{self.width}")
        assert not findings, "axe: serious or critical violations\n" + "\n".join(map(str, findings))
        self.checked.append(name)

    def close(self) -> None:
        for context in (self.context, self.axe_context):
            if context is not None:
                context.close()
        self.context = self.axe_context = self.axe_page = None

    def script_errors(self, allowed: str = r"status of 400") -> list[str]:
        """Console errors other than the refusals a journey provokes on purpose (a 400 is logged by the browser)."""
        return [e for e in self.errors if not re.search(allowed, e)]
