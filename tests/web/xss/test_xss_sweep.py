"""G11 (issue #25): every template rendered over a world full of XSS and template-injection payloads, 0 unescaped.

The hostile world (tests/web/xss/hostile.py) puts about forty payloads, in rotation, into every string a user
controls. Then every GET route of the app is requested over each of the world's objects, and once more with every
string query parameter hostile; hostile paths probe the error pages; the pages only a POST renders get hostile
uploads (a guideline's preview and the stored guideline, an award list's preview and result, a failed login); every
POST form the pages showed is sent back with a payload in every field a user types in (the form with its errors,
or the stored result); every mail in the outbox is rendered as the sender renders it. Each HTML answer is parsed
(tests.web.xss.hostile.Checker): a script that is not the app's own, an event handler attribute, a script URL, an
element no template writes, or a payload that comes out unescaped fails; so does the result of an evaluated template
expression (SSTI) anywhere, and any 5xx. Text mails carry, as typed, what their HTML part shows escaped.

The sweep lists the templates itself and fails on a file under templates/ it never rendered (a template added by a
later issue needs a fixture here), on a string column the world leaves without a payload unless SYSTEM_COLUMNS says
why no user writes it (a column added by a later issue must be put on one side), on a payload no page showed and
on a route that never answered 200.

Default tier: every object as the first role of MAIN_ROLES the policy lets in, the first FIRST_SETS objects as every
other role allowed, the routes that answer with no page (JSON, workbooks, files) once. Slow tier: every object as
every role allowed, those routes and the PDF too, with the payload rotation shifted in each run.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jinja2
import pytest
import time_machine
from litestar.params import ParamType
from litestar.testing import TestClient
from markupsafe import escape
from sqlalchemy import String, Text, cast, func, select
from sqlalchemy.types import JSON

import tracker.models  # noqa: F401 - registers every table on Base.metadata
from reminders.mail import render_mail
from tests.web.xss import hostile
from tests.web.xss.hostile import ACCEPTANCE_NOW, PAYLOADS, Checker, HostileWorld
from tracker import access
from tracker.db import Base
from tracker.services import accounts, sessions
from tracker.services import reports as report_service

# Routes the sweep does not request, and why.
NOT_SWEPT = {
    "static": "the app's own files (app.css, app.js), no data in them",
}
# Routes only the slow tier requests, and why.
SLOW_ONLY = {
    "acceptance_checklist_pdf": "WeasyPrint takes seconds; the PDF is printed from the HTML of "
                                "acceptance_checklist_print, which both tiers check",
}
# Routes whose answer is a redirect, not a page.
REDIRECTS = {"language": "sets the language cookie and goes back"}

# Files under templates/ that no request and no mail renders, and why. Keep it empty: a template nobody renders is
# either dead (delete it) or reached by a path the sweep must learn.
NEVER_RENDERED: dict[str, str] = {}

# Every string column users or the outside world can fill holds a payload once the world is built; every other
# string column is named here with why it cannot hold one (its values are codes, hashes, enums, numbers or dates
# the services write themselves). A new column fails until it is put on one side.
SYSTEM_COLUMNS = {
    "acceptance_applications.readiness": "the readiness computed by the system (its reasons quote metrics, checked "
                                         "on the pages)",
    "application_figures.key": "a figure key of the funding rule",
    "application_evidence.kind": "a kind from a list",
    "application_evidence.figure_key": "a figure key of the funding rule",
    "acceptance_meetings.code": "YS<year>-<n>, numbered by the service",
    "expert_checks.recommendation": "a verdict value",
    "acceptance_verdicts.verdict": "a verdict value",
    "certificate_figures.key": "a figure key of the funding rule",
    "organisations.uscc": "a checked 统一社会信用代码",
    "organisations.division_code": "digits of the credit code",
    "organisations.kind": "a kind from a list",
    "users.role": "a role",
    "users.password_hash": "argon2",
    "users.language": "zh_CN or en",
    "auth_sessions.id": "a digest",
    "auth_sessions.ip": "the client address the proxy reports",
    "activation_tokens.token_hash": "a digest",
    "api_tokens.token_hash": "a digest",
    "api_tokens.prefix": "the token's first characters, random",
    "login_attempts.username": "never shown (rate limiting only)",
    "login_attempts.ip": "the client address",
    "audit_log.role": "a role",
    "audit_log.ip": "the client address",
    "audit_log.action": "an action name the code writes",
    "audit_log.object_type": "an object type the code writes",
    "audit_log.object_id": "an id",
    "audit_log.result": "ok / refused / …",
    "audit_log.prev_hash": "a digest",
    "audit_log.hash": "a digest",
    "work_calendar_years.source": "official / library / demo",
    "work_calendar_days.source": "official / library / demo",
    "disbursements.tranche": "project or milestone:<n>",
    "disbursements.basis": "verdict:<id> or milestone_check:<id>",
    "disbursements.status": "a status",
    "data_generation.epoch": "random",
    "guideline_documents.content_hash": "a digest",
    "guideline_documents.format": "txt or docx",
    "guideline_documents.encoding": "the detected encoding",
    "guideline_nodes.kind": "a node kind",
    "guideline_nodes.period_rule": "a parsed rule (its description is checked through the page)",
    "guideline_nodes.marker": "a numbering marker the reader recognised (一、, 方向一, （1）)",
    "guideline_nodes.selection_rule": "the selection sentence as parsed (the sentence itself: selection_texts)",
    "guideline_nodes.funding_rule": "a parsed rule; its description is written by funding.describe",
    "guideline_nodes.flags": "the reader's messages (the flagged line is shown from the document's source_text)",
    "guideline_documents.flags": "the reader's messages (the flagged line is shown from source_text)",
    "guideline_clauses.label": "a numbering marker the reader recognised (（1）, ①)",
    "guideline_clauses.flags": "the reader's messages (the clause text is shown from its own column)",
    "project_targets.label": "the clause's numbering marker",
    "projects.content_items": "labels of the direction's content items the award list names",
    "projects.funding_rule": "the direction's parsed rule (or the officer's correction), description by "
                             "funding.describe",
    "disbursements.message": "the result in words, written by the service from numbers and rule names",
    "disbursements.computation": "the computation's steps and figures, written by the service",
    "guideline_clauses.combine": "all or any",
    "job_runs.job": "a job name",
    "job_runs.result": "ok / failed / running",
    "job_runs.counts": "counters the job's code names",
    "outbox.dedupe_key": "built by the code from ids",
    "outbox.template": "a template name",
    "outbox.recipient": "an address the services checked (outbox.valid_address)",
    "outbox.language": "zh_CN or en",
    "outbox.status": "a status",
    "outbox.message_id": "built by the code",
    "project_assessments.status": "a status",
    "project_assessments.versions": "version numbers",
    "project_assessments.basis": "a digest",
    "assessment_changes.status": "a status",
    "assessment_changes.previous": "a status",
    "projects.status": "a status",
    "projects.imported_batch": "a digest",
    "projects.period_rule": "a parsed rule",
    "projects.selection_rule": "a parsed rule (its description comes from the guideline, checked on the page)",
    "project_targets.source": "guideline / custom",
    "project_targets.clause_combine": "all or any",
    "project_targets.category": "a category from a list",
    "project_targets.op": "a comparator",
    "project_targets.unit": "a unit read against a list",
    "project_targets.kind": "a kind from a list",
    "project_targets.better": "higher / lower",
    "project_changes.kind": "extension / termination",
    "project_changes.old_status": "a status",
    "reports.status": "a status",
    "report_versions.channel": "form / excel / api",
    "report_versions.content_sha256": "a digest",
    "evidence_files.sha256": "a digest",
    "evidence_files.storage_name": "random",
    "evidence_files.media_type": "detected from the content",
    "report_evidence.kind": "a kind from a list",
    "report_reviews.decision": "accepted / returned",
    "clause_corrections.combine": "all or any",
    "rule_corrections.kind": "a rule kind",
    "settings.key": "a setting name",
    "settings.value": "typed by the admin but parsed and validated by its definition (numbers, times, "
                      "an http(s) address)",
    "scheduler_lease.name": "a lease name",
}


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    queries: tuple[str, ...]  # its string query parameters
    numbers: tuple[str, ...] = ()  # its integer query parameters (a payload there gets the 400 page)


def get_routes(app) -> list[Route]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" not in handler.http_methods:
                continue
            queries: dict[type, list[str]] = {str: [], int: []}
            for name, definition in handler.parsed_fn_signature.parameters.items():
                kwarg = definition.kwarg_definition
                if getattr(kwarg, "param_type", None) is ParamType.QUERY and definition.annotation in queries:
                    queries[definition.annotation].append(kwarg.name or name)
            found.append(Route(handler.name, route.path, tuple(queries[str]), tuple(queries[int])))
    return found


def _fill(path: str, params: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: str(params[m.group(1)]), path)


def param_sets(world: HostileWorld) -> list[dict[str, Any]]:
    """Coherent path parameters: each set one of the world's objects of every kind (the routes take the distinct
    paths they give)."""
    db = world.db
    # What the default tier shows every role (FIRST_SETS): a running project's draft (the grantee's form), the
    # project through acceptance and payment, one in its acceptance window not applied yet (the grantee's
    # application form); the case waiting for the expert's check, the case decided.
    projects = [(world.extended, world.running_draft.period_index)]
    for project in (world.post, world.applicant, world.matched, world.waiting, world.milestone, world.extended,
                    world.terminated):
        projects += [(project, n) for n in sorted(report_service.reports_of(db, project)) or [1]
                     if (project, n) != projects[0]]
    leaves = [world.post_leaf, world.milestone_leaf, world.spare_leaf]
    clauses = [c for leaf in leaves for c in leaf.clauses]
    mails = {}
    for mail in world.mails():
        mails.setdefault(mail.template, mail)
    lists: dict[str, list[Any]] = {
        "user_id": [u.id for u in (world.grantee, world.pending, world.officer, world.leader, world.finance)],
        "org_id": [world.organisation.id, world.expert_org.id],
        "token": [world.activation_token],
        "code": ["en"],
        "document_id": [world.document.id],
        "programme_id": [world.document.programme_id],
        "node_id": [leaf.id for leaf in leaves],
        "clause_id": [c.id for c in clauses],
        "file_id": [f.id for f in world.files()],
        "mail_id": [m.id for m in mails.values()],
        "meeting_id": [world.meeting.id],
        "application_id": [world.waiting_application.id, world.application.id, world.matched_application.id],
        "disbursement_id": [d.id for d in world.disbursements()],
    }
    count = max(len(projects), *(len(v) for v in lists.values()))
    sets = []
    for i in range(count):
        project, period = projects[i % len(projects)]
        sets.append({"project_id": project.id, "period": period,
                     **{k: v[i % len(v)] for k, v in lists.items()}})
    return sets


class Sweep:
    """A client with the cookies of each of the world's users in turn (one TestClient: several at once on one app
    would wait for each other's lifespan), the checks of every answer, and what was found."""

    def __init__(self, app, world: HostileWorld) -> None:
        self.app, self.world = app, world
        self.checker = Checker()
        self.problems: list[str] = []
        self.requests = 0
        self.statuses: dict[str, Counter[int]] = {}
        self.jars: dict[str, httpx.Cookies] = {}
        self.forms: dict[tuple[str, ...], tuple[str, hostile.Form]] = {}  # the POST forms seen, first of each
        self.text_mails = 0  # mails whose text part was checked against the HTML part
        self.submitted = 0  # forms sent with payloads
        self.route_roles: set[tuple[str, str]] = set()
        self._client = TestClient(app=app, raise_server_exceptions=False)
        self._client.__enter__()

    def close(self) -> None:
        self._client.__exit__(None, None, None)

    def _send(self, role: str, method: str, path: str, **kwargs) -> Any:
        if role not in self.jars:
            self.jars[role] = httpx.Cookies()
            if role != "anonymous":
                user = self.world.users[role]
                token = sessions.start_session(self.world.db, user, now=ACCEPTANCE_NOW, ip="testclient")
                self.world.db.commit()
                self.jars[role].set("tracker_session", token)
        self._client.cookies = self.jars[role]
        try:
            return self._client.request(method, path, follow_redirects=False, **kwargs)
        finally:
            self.jars[role] = self._client.cookies

    def csrf(self, role: str) -> str:
        html = self._send(role, "GET", "/login").text
        if "_csrf_token" not in html:  # a signed-in user is sent home
            html = self._send(role, "GET", "/").text
        match = re.search(r'name="_csrf_token" value="([0-9a-f]{64})"', html)
        assert match, f"no CSRF token for {role}"
        return match.group(1)

    def check(self, response, role: str, where: str, name: str = "") -> None:
        self.requests += 1
        self.statuses.setdefault(name, Counter())[response.status_code] += 1
        self.route_roles.add((name, role))
        if response.status_code >= 500:
            self.problems.append(f"{where}: {response.status_code}")
            return
        kind = response.headers.get("content-type", "")
        if kind.startswith("text/html"):
            self.problems += self.checker.html(response.text, where)
            for form in hostile.post_forms(response.text):
                self.forms.setdefault((role, *form.key), (role, form))
        elif kind.startswith(("application/json", "text/")):
            self.problems += [f"{where}: evaluated template code ({e!r})" for e in hostile.EVALUATED
                              if e in response.text]

    def get(self, role: str, path: str, name: str = "", **kwargs) -> Any:
        response = self._send(role, "GET", path, **kwargs)
        self.check(response, role, f"GET {path} as {role}", name)
        return response

    def post(self, role: str, path: str, name: str = "", **kwargs) -> Any:
        response = self._send(role, "POST", path, **kwargs)
        self.check(response, role, f"POST {path} as {role}", name)
        return response


# Who requests every object of a route in the default tier: the first of these the policy lets in.
MAIN_ROLES = ("anonymous", "officer", "admin", "finance", "expert", "grantee")
FIRST_SETS = 3  # … and how many of the first objects every other role requests


def sweep_routes(sweep: Sweep, routes: list[Route], sets: list[dict[str, Any]], *, full: bool) -> None:
    """Every GET route over every distinct object of the world, then with its query parameters hostile. The slow
    tier asks as every role allowed; the default tier asks every object as one role (MAIN_ROLES), the first
    FIRST_SETS objects as every other role allowed, and a route that answers with no page (JSON, a workbook, a
    file) only once."""
    p = hostile.Payloads(sweep.world.p.position)
    for route in routes:
        if route.name in NOT_SWEPT or (route.name in SLOW_ONLY and not full):
            continue
        paths = list(dict.fromkeys(_fill(route.path, s) for s in sets))
        allowed = [r for r in MAIN_ROLES if access.may_access(route.name, None if r == "anonymous" else r)]
        assert allowed, f"no role may open {route.name}"
        first = sweep.get(allowed[0], paths[0], route.name)
        is_page = first.headers.get("content-type", "").startswith("text/html")
        for role in allowed:
            if full or (is_page and role == allowed[0]):
                asked = paths
            else:
                asked = paths[:FIRST_SETS] if is_page else []
            for path in asked:
                if (role, path) != (allowed[0], paths[0]):
                    sweep.get(role, path, route.name)
        if route.queries:
            query = urlencode({q: p.one() for q in route.queries})
            for role in allowed if full else allowed[:1]:
                sweep.get(role, f"{paths[0]}?{query}", route.name)
        if route.numbers:
            sweep.get(allowed[0], f"{paths[0]}?{urlencode({q: p.one() for q in route.numbers})}", route.name)


def sweep_probes(sweep: Sweep) -> None:
    """Hostile paths: a missing page echoes its path (the language links), a bad activation token, a language, a
    `next`, a method the route has not (405)."""
    p = hostile.Payloads(7)
    for _ in range(3):
        payload = quote(p.one(), safe="")
        sweep.get("officer", f"/projects/{payload}")
        sweep.get("anonymous", f"/{payload}")
        sweep.get("anonymous", f"/activate/{payload}")
        sweep.get("anonymous", f"/lang/{payload}?next={payload}")
        sweep.get("anonymous", f"/login?next={payload}")
        sweep.post("officer", f"/projects?q={payload}")


def sweep_uploads(sweep: Sweep) -> None:
    """The pages only a POST renders: a failed login (the typed username comes back), a guideline upload's preview
    (a hostile file name, programme name and text) and its confirmation, an award list's preview and result."""
    world, p = sweep.world, hostile.Payloads(11)
    for _ in range(2):
        sweep.post("anonymous", "/login", data={"_csrf_token": sweep.csrf("anonymous"), "username": p.one(max_len=64),
                                                "password": "wrong-password-0123", "next": p.one()})
    token = sweep.csrf("officer")
    text = f"{p.one(single_line=True)}指南\n\n" + hostile.hostile_guideline(p)
    response = sweep.post("officer", "/guidelines/upload", data={
        "_csrf_token": token, "programme_name": p.text(2, max_len=300, single_line=True)},
        files={"file": (p.one(single_line=True, max_len=80) + ".txt", text.encode(), "text/plain")})
    assert response.status_code == 200, response.text[:500]
    confirm = re.search(r'action="(/guidelines/upload/[^"]+/confirm)"', response.text)
    assert confirm, "no confirm form on the preview"
    response = sweep.post("officer", confirm.group(1), data={"_csrf_token": token})
    assert response.status_code == 303, response.status_code
    document = sweep.get("officer", response.headers["location"]).text
    for link in sorted(set(re.findall(r'href="(/guidelines/(?:directions/\d+|\d+/flags))"', document)))[:4]:
        sweep.get("officer", link)
    # The award list: hostile codes, titles, organisations and people, for the world's guideline.
    rows = []
    for n in range(2):
        rows.append([f"{p.one(single_line=True, max_len=40)}-{n}", p.one(single_line=True),
                     " / ".join(world.post_leaf.path), p.one(single_line=True, max_len=100),
                     hostile.uscc_for(300 + n), p.one(single_line=True, max_len=50), "2025-01-01", "2026-12-31", 10])
    response = sweep.post("officer", "/projects/import", data={"_csrf_token": token, "document": str(world.document.id)},
                          files={"file": (p.one(single_line=True, max_len=60) + ".xlsx", hostile.award_list(rows),
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    assert response.status_code == 200, response.text[:500]
    confirm = re.search(r'action="(/projects/import/[^"]+/confirm)"', response.text)
    assert confirm, "no confirm form on the award list's preview:\n" + "\n".join(
        re.findall(r'class="(?:error|field-error)[^>]*>([^<]*)', response.text))
    response = sweep.post("officer", confirm.group(1), data={"_csrf_token": token})
    assert response.status_code == 200, response.status_code


# POST forms the sweep does not submit, and why (their fields are all the page's own: nothing typed comes back).
NOT_SUBMITTED = {
    r"/logout": "ends the session",
    r"/admin/(users|organisations)/\d+/active": "disables the account or organisation (no typed field)",
}
FORM_ROLES = ("anonymous", "grantee", "expert", "finance", "officer", "admin")  # the admin's resets come last


def sweep_forms(sweep: Sweep) -> None:
    """Every POST form the pages showed, sent with a payload in every field a user types in (and a hostile file
    name in every file field): the answers that put the typed values back (a form with errors) or go on to the
    stored result (a redirect, followed) are checked like the pages."""
    p = hostile.Payloads(sweep.world.p.position + 5)
    forms = sorted(sweep.forms.values(), key=lambda rf: FORM_ROLES.index(rf[0]))
    for role, form in forms:
        if any(re.fullmatch(pattern, form.action) for pattern in NOT_SUBMITTED):
            continue
        if not any(kind in hostile.TYPED or kind == "file" for _name, kind, _value in form.fields):
            continue  # nothing typed: nothing of the user's comes back
        data: dict[str, list[str]] = {}
        files = {}
        for name, kind, value in form.fields:
            if kind in hostile.TYPED:
                data.setdefault(name, []).append(p.one())
            elif kind == "select":
                options = form.options.get(name) or [""]
                data.setdefault(name, []).append(options[0])
            elif kind == "file":
                files[name] = (p.one(single_line=True, max_len=80, printable=True) + ".png", hostile.png(),
                               "image/png")
            elif not kind.endswith("-unchecked") and kind not in ("submit", "button", "reset"):
                data.setdefault(name, []).append(value)
        response = sweep.post(role, form.action, data=data, files=files or None)
        sweep.submitted += 1
        if response.status_code in (302, 303) and response.headers.get("location", "").startswith("/"):
            sweep.get(role, response.headers["location"])


def sweep_mails(sweep: Sweep) -> None:
    """Every mail as the sender renders it (subject, text, HTML); the admin's page of each shows the text."""
    for mail in sweep.world.mails():
        rendered = render_mail(mail, site_url="https://kjxm.example.gov.cn")
        where = f"mail {mail.id} ({mail.template})"
        assert "\n" not in rendered.subject and "\r" not in rendered.subject, f"{where}: a line break in the subject"
        sweep.problems += sweep.checker.text(rendered.subject, f"{where} subject")
        sweep.problems += sweep.checker.text(rendered.text, f"{where} text")
        sweep.problems += sweep.checker.html(rendered.html, f"{where} html")
        # The text part carries, as typed, what the HTML part shows escaped.
        in_html = {p.strip() for p in PAYLOADS if str(escape(p.strip())) in rendered.html}
        lacking = sorted(hostile.marker_of(p) for p in in_html if p not in rendered.text)
        if lacking:
            sweep.problems.append(f"{where}: the text part lacks payloads the HTML part shows: {lacking}")
        sweep.text_mails += bool(in_html)


def hostile_columns() -> list[tuple[str, str]]:
    """Every string column of the schema (String, Text, JSON) that SYSTEM_COLUMNS does not name."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text | JSON) and f"{table.name}.{column.name}" not in SYSTEM_COLUMNS:
                found.append((table.name, column.name))
    return found


def columns_without_payloads(db) -> list[str]:
    missing = []
    for table_name, column_name in hostile_columns():
        table = Base.metadata.tables[table_name]
        column = table.columns[column_name]
        holding = db.scalar(select(func.count()).select_from(table).where(cast(column, Text).like("%xss%")))
        if not holding:
            missing.append(f"{table_name}.{column_name}")
    return missing


def run_sweep(app, db, settings, offset: int, *, full: bool) -> tuple[Sweep, set[str], dict[str, float]]:
    timings = {}
    started = time.perf_counter()
    world = HostileWorld(db, hostile.evidence_store(settings.data_dir), offset=offset)
    timings["world"] = time.perf_counter() - started
    sweep = Sweep(app, world)
    try:
        with time_machine.travel(ACCEPTANCE_NOW, tick=True), hostile.recording_templates() as rendered:
            started = time.perf_counter()
            # An activation link issued now (the world's is older than its 72 hours): its page shows the account.
            world.activation_token = accounts.issue_activation(db, world.pending, actor=world.system,
                                                               now=ACCEPTANCE_NOW)
            db.commit()
            sweep_routes(sweep, get_routes(app), param_sets(world), full=full)
            timings["routes"] = time.perf_counter() - started
            started = time.perf_counter()
            sweep_probes(sweep)
            sweep_uploads(sweep)
            timings["uploads"] = time.perf_counter() - started
            started = time.perf_counter()
            sweep_forms(sweep)
            timings["forms"] = time.perf_counter() - started
            started = time.perf_counter()
            sweep_mails(sweep)
            timings["mails"] = time.perf_counter() - started
    finally:
        sweep.close()
    return sweep, rendered, timings


def assert_clean(sweep: Sweep, rendered: set[str], db) -> None:
    assert sweep.problems == [], "\n".join(sweep.problems[:60])
    unrendered = hostile.template_files() - rendered - set(NEVER_RENDERED)
    assert unrendered == set(), "templates no request or mail of the sweep rendered: give them a fixture"
    assert set(NEVER_RENDERED) <= hostile.template_files(), "NEVER_RENDERED names templates that do not exist"
    never_shown = [hostile.marker_of(p) for p in PAYLOADS if not sweep.checker.shown[p.strip()]]
    assert never_shown == [], "payloads no page showed (escaped): the sweep checked nothing with them"
    missing = columns_without_payloads(db)
    assert missing == [], "user-writable columns the hostile world left without a payload (fill them in " \
                          "tests/web/xss/hostile.py, or name them in SYSTEM_COLUMNS with the reason)"
    dead = [name for name, counts in sweep.statuses.items()
            if name and not counts.get(200) and not (name in REDIRECTS and counts.get(303))]
    assert dead == [], "routes that never answered 200 in the sweep: it checked nothing there"
    assert sweep.submitted >= 20 and sweep.text_mails >= len(hostile.mail_templates()), \
        (sweep.submitted, sweep.text_mails)


def report(sweep: Sweep, rendered: set[str], timings: dict[str, float], record_property) -> None:
    numbers = {"requests": sweep.requests, "route_x_role": len({rr for rr in sweep.route_roles if rr[0]}),
               "html_documents": sweep.checker.pages, "forms": sweep.submitted,
               "hostile_columns": len(hostile_columns()),
               "mails": len(sweep.world.mails()), "templates": len(rendered), "payloads": len(PAYLOADS),
               "payloads_shown": sum(sweep.checker.shown.values()),
               **{f"{k}_seconds": round(v, 2) for k, v in timings.items()}}
    record_property("g11_sweep", numbers)
    print("\nG11 sweep:", ", ".join(f"{k} {v}" for k, v in numbers.items()))


def test_every_page_and_mail_escapes_every_payload(app, db, settings, record_property):
    sweep, rendered, timings = run_sweep(app, db, settings, offset=0, full=False)
    report(sweep, rendered, timings, record_property)
    assert_clean(sweep, rendered, db)


@pytest.mark.slow
@pytest.mark.parametrize("offset", [pytest.param(0, marks=pytest.mark.both_databases),
                                    *range(4, len(PAYLOADS), 4)])
def test_every_page_escapes_every_payload_in_every_rotation(app, db, settings, offset, record_property):
    """The whole sweep as every role over every object, the workbooks, JSON and the PDF too, with the rotation
    shifted by 4 each run: over the 12 runs every field meets 12 or more of the payloads (the first run on
    PostgreSQL too)."""
    sweep, rendered, timings = run_sweep(app, db, settings, offset=offset, full=True)
    report(sweep, rendered, timings, record_property)
    assert_clean(sweep, rendered, db)


def test_every_string_column_is_classified():
    """A column is either filled with payloads by the world (the sweep checks it) or named in SYSTEM_COLUMNS; the
    names there exist."""
    columns = {f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns}
    assert set(SYSTEM_COLUMNS) - columns == set(), "SYSTEM_COLUMNS names columns that do not exist"
    assert len(hostile_columns()) >= 60


# --- the check itself ----------------------------------------------------------------------------------------------

CONTEXTS = ("<p>{}</p>", '<input value="{}">', "<textarea>{}</textarea>", '<p title="{}">x</p>')
URL_CONTEXT = '<a href="{}">x</a>'


def _page(value: str, contexts=CONTEXTS) -> str:
    return ("<!doctype html><html><head><title>t</title></head><body>" + "".join(c.format(value) for c in contexts)
            + "</body></html>")


def _evaluated(payload: str) -> str:
    """The payload as a template engine or a format string would have left it."""
    try:
        out = jinja2.Environment(keep_trailing_newline=True).from_string(payload).render()  # noqa: S701
    except jinja2.TemplateError:
        out = payload
    out = re.sub(r"(?:\$\{|#\{|<%=)\s*7\*191\s*(?:\}|%>)", "1337", out)
    with contextlib.suppress(IndexError, KeyError, ValueError, AttributeError):
        out = out.format("x", lang="en")
    return out.replace("\n", "\r\n") if "\r\n" in payload else out


def _printf_crashes(payload: str) -> bool:
    """A %-format string made of user text crashes (a 500, which the sweep fails on)."""
    try:
        payload % {"lang": "en"}  # noqa: B018
    except (TypeError, ValueError, KeyError):
        return True
    return False


@pytest.mark.parametrize("payload", PAYLOADS, ids=hostile.marker_of)
def test_the_check_tells_an_escaped_payload_from_a_raw_one(payload):
    """Escaped, a payload passes in every context a template puts text in; raw it fails wherever it is markup, a
    script URL or an evaluated expression. (The sweep is only as good as this check.)"""
    checker, text = Checker(), payload.strip()
    assert checker.html(_page(str(escape(text))), "escaped") == []
    assert checker.shown[text] == 1
    markup = any(ch in text for ch in "<>\"'&")
    scheme = re.sub(r"\s", "", text).lower().startswith(("javascript:", "vbscript:", "data:text/html"))
    if markup:
        assert checker.html(_page(text), "raw"), "missed raw"
    if scheme:
        assert checker.html(_page(str(escape(text)), (URL_CONTEXT,)), "in a link"), "missed a script URL"
    evaluated = _evaluated(text)
    if evaluated != text:
        assert checker.html(_page(str(escape(evaluated))), "evaluated"), "missed an evaluated expression"
    assert markup or scheme or evaluated != text or _printf_crashes(text) or marker_inert(text), \
        "a payload the check cannot catch"


def marker_inert(text: str) -> bool:
    """Payloads that are only text in HTML: markdown links and RTL overrides (the sweep checks that they come out
    as text), line breaks (for mail headers: the sweep checks that no subject has one)."""
    return "](" in text or "\u202e" in text or "\r\n" in text
