"""G11 in the browser: the hostile world (tests/web/xss/hostile.py) on the live server, its pages opened in chromium
by its officer, grantee, expert, finance officer and admin, a few more payloads typed into forms through the
browser. Required: 0 alert (or confirm, prompt) dialogs, 0 Content Security Policy violations (the event and the
console), 0 script errors, and the payloads on the pages as text."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import demo_password_hash
from tests.web.xss import hostile
from tracker.db import session_scope
from tracker.demo.accounts import DEMO_PASSWORD

pytestmark = pytest.mark.browser

# Every CSP violation of the page, kept where the test can read it after the page has loaded.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
});
"""


@pytest.fixture(scope="module")
def world(live_session_factory):
    """The hostile world in the live server's database, its accounts signed in with the demo password; what the
    test needs of it as plain values (the session closes)."""
    with session_scope(live_session_factory) as db:
        w = hostile.HostileWorld(db, hostile.evidence_store(Path(tempfile.mkdtemp(prefix="hostile-e2e-"))),
                                 tag="-e2e", password_hash=demo_password_hash(), reminder_sweep=False)
        post, extended, applicant = w.post.id, w.extended.id, w.applicant.id
        leaves = [w.post_leaf.id, w.milestone_leaf.id, w.spare_leaf.id]
        mail = next(m.id for m in w.mails() if m.recipient == w.grantee.email)
        pages = {
            "officer": ["/", "/projects", f"/projects/{post}", f"/projects/{extended}", f"/projects/{w.milestone.id}",
                        f"/projects/{w.terminated.id}", f"/projects/{post}/task-book", f"/projects/{extended}/task-book",
                        f"/projects/{w.milestone.id}/task-book", f"/projects/{post}/reports/{w.returned.period_index}",
                        f"/projects/{post}/reports/{w.submitted.period_index}",
                        f"/projects/{post}/reports/{w.accepted.period_index}", f"/projects/{post}/acceptance",
                        f"/projects/{w.milestone.id}/acceptance", "/acceptance", f"/acceptance/meetings/{w.meeting.id}",
                        f"/acceptance/meetings/{w.meeting.id}/checklist", f"/acceptance/cases/{w.application.id}",
                        f"/acceptance/cases/{w.waiting_application.id}", "/reports", "/review",
                        f"/review/clauses/{w.spare_leaf.clauses[0].id}", f"/review/directions/{w.spare_leaf.id}/rules",
                        "/guidelines", f"/guidelines/{w.document.id}", f"/guidelines/{w.document.id}/flags",
                        *(f"/guidelines/directions/{n}" for n in leaves), "/guidelines/search?q=xss",
                        *(f"/disbursements/{d.id}" for d in w.disbursements() if d.project.officer_id == w.officer.id)],
            "grantee": ["/", "/projects", f"/projects/{post}", f"/projects/{extended}",
                        f"/projects/{extended}/reports/{w.running_draft.period_index}",
                        f"/projects/{post}/reports/{w.returned.period_index}", f"/projects/{post}/acceptance",
                        f"/projects/{applicant}/acceptance/apply", "/account"],
            "expert": ["/", "/acceptance", f"/acceptance/cases/{w.waiting_application.id}",
                       f"/acceptance/cases/{w.application.id}", f"/acceptance/meetings/{w.meeting.id}"],
            "finance": ["/", f"/disbursements?status=all&programme={w.document.programme_id}",
                        *(f"/disbursements/{d.id}" for d in w.disbursements() if d.project.officer_id == w.officer.id)],
            "admin": [f"/admin/users?q={w.grantee.username[:5]}", f"/admin/users/{w.grantee.id}",
                      f"/admin/users/{w.colleague.id}", f"/admin/organisations/{w.organisation.id}", "/admin/programmes",
                      "/admin/audit?object_type=organisation", "/admin/jobs", "/admin/calendar?year=2032",
                      f"/admin/outbox/{mail}", "/admin/outbox?status=dead"],
        }
        users = {role: user.username for role, user in w.users.items()}
        draft = f"/projects/{extended}/reports/{w.running_draft.period_index}"
    return {"pages": pages, "users": users, "draft": draft, "apply": f"/projects/{applicant}/acceptance/apply"}


class Watch:
    """A browser context signed in as one user, recording dialogs, CSP violations and script errors."""

    def __init__(self, browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.pages_with_payloads = 0
        self.visited = 0
        self.context = None

    def login(self, username: str):
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(locale="zh-CN")
        self.context.add_init_script(RECORD_VIOLATIONS)
        page = self.context.new_page()
        page.on("dialog", self._dialog)
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("response", lambda r: self.errors.append(f"{page.url}: {r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document" else None)
        page.goto(self.base + "/login")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(self.base + "/")
        return page

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, page, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.violations.append(f"{page.url}: {message.text[:300]}")
        elif message.type == "error" and not message.text.startswith("Failed to load resource"):
            # (A failed resource of the page is recorded from its response; chromium's own /favicon.ico request for
            # the printable checklist, which links no icon, only reaches the console.)
            self.errors.append(f"{page.url}: {message.text[:300]}")

    def visit(self, page, path: str) -> None:
        response = page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self.look(page, path)

    def look(self, page, where: str) -> None:
        """Tab through the page (an autofocus or onfocus payload would fire), then collect."""
        for _ in range(4):
            page.keyboard.press("Tab")
        self.violations += [f"{where}: {v}" for v in page.evaluate("window.__violations || []")]
        self.visited += 1
        self.pages_with_payloads += "xss" in page.inner_text("body")

    def close(self) -> None:
        if self.context is not None:
            self.context.close()


def test_hostile_data_opens_no_dialog_and_breaks_no_policy(browser, live_server, world):
    started = time.perf_counter()
    watch = Watch(browser, live_server)
    try:
        for role in ("grantee", "officer", "expert", "finance", "admin"):
            page = watch.login(world["users"][role])
            for path in world["pages"][role]:
                watch.visit(page, path)
            if role == "grantee":
                # Payloads typed through the browser: the draft's narrative saved and shown again; the acceptance
                # application refused (no file) and shown back with what was typed.
                page.goto(live_server + world["draft"])
                page.fill("#f-narrative", '<img src=x onerror=alert("typed")> {{7*191}} "><script>alert(2)</script>')
                page.click("button[value=save]")
                page.wait_for_load_state()
                watch.look(page, "the saved draft")
                assert "onerror=alert(\"typed\")" in page.input_value("#f-narrative")
                page.goto(live_server + world["apply"])
                page.fill("#summary", '</textarea><svg onload=alert("typed")>')
                page.click("text=提交验收申请")
                page.wait_for_load_state()
                watch.look(page, "the refused application")
            if role == "officer":
                page.goto(live_server + "/projects?q=" + '"><img src=x onerror=alert(1)>')
                watch.look(page, "a hostile search")
        # The watch itself: an inline script the policy refuses, and an alert, are both seen.
        found = len(watch.violations), len(watch.dialogs)
        page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';
                                 document.body.appendChild(s); }""")
        page.evaluate("() => alert('control')")
        page.wait_for_timeout(200)
        watch.look(page, "control")
        assert len(watch.violations) > found[0] and len(watch.dialogs) > found[1], "the watch sees nothing"
        del watch.violations[found[0]:], watch.dialogs[found[1]:]
    finally:
        watch.close()
    elapsed = time.perf_counter() - started
    print(f"\nG11 browser: {watch.visited} pages, {watch.pages_with_payloads} showing payloads, {elapsed:.1f}s")
    assert watch.dialogs == []
    assert watch.violations == []
    assert watch.errors == []
    assert watch.pages_with_payloads >= watch.visited * 0.8, "the pages did not show the hostile data"
