"""G11: hostile strings, a world full of them, and the check that none comes out of a page unescaped.

- PAYLOADS: 48 XSS and template-injection strings (script tags, attribute breakouts, script URLs, SVG and image
  handlers, entity tricks, RTL overrides, closing textarea/title/style tags, markdown links, CSS expressions, data
  URLs, mutation XSS, Jinja/Mako/ERB/format-string expressions, header line breaks), each with its marker `xssNN`.
- Payloads: hands them out in rotation, skipping those a field cannot hold (its length, one line, no spaces), so
  every payload is used and a long text gets several at once.
- HostileWorld: one object of every kind a user fills in (organisations, accounts, programmes, a guideline read
  from hostile text, projects of every funding mode and state, task books with custom targets, milestones and
  lowered targets, reports in every state with evidence and uploaded files, reviews, acceptance applications,
  committees, expert checks, verdicts and their correction, milestone checks, disbursements returned, blocked with
  an exception, paid, reversed, project extensions and terminations, indicator and rule corrections, API tokens,
  calendar notes, admin edits, every kind of mail, job errors), built through the services with payloads in every
  user-controlled string. tests/web/xss/test_xss_sweep.py renders every page over it; tests/e2e/test_hostile_data.py
  opens its pages in chromium.
- Checker: parses a page (html.parser) and lists every script that is not the app's own, event handler attribute,
  script URL, element no template writes, unescaped payload and evaluated expression in it.
- recording_templates(): the names of the templates rendered meanwhile.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from markupsafe import escape
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from indicators.assessment.progress import is_per_year
from indicators.rules import funding
from tests import builders as build
from tracker import templating
from tracker.files.evidence import check_evidence_file
from tracker.files.store import EvidenceStore
from tracker.models import (
    Disbursement,
    EvidenceFile,
    GuidelineDocument,
    JobRun,
    MailStatus,
    OutboxMail,
    Project,
    Role,
    SchedulerLease,
    User,
)
from tracker.services import (
    acceptance,
    accounts,
    committees,
    disbursements,
    indicator_review,
    monitoring,
    organisations,
    programmes,
    project_changes,
    reminders,
    verdicts,
    work_calendar,
)
from tracker.services import reports as report_service
from tracker.services.audit import Actor
from tracker.services.business_settings import BusinessSettings
from tracker.services.reports import EvidenceInput, ReportInput, ValueInput
from tracker.services.task_books import MilestoneInput, TargetChange, confirm_task_book

TEMPLATE_DIR = templating.TEMPLATE_DIR

# --- the payloads ------------------------------------------------------------------------------------------------

# Each carries its marker xssNN (NN = its number): a leak names the payload. Template injections compute 7*191 = 1337
# right before their marker ("1337xss08"): found anywhere, something evaluated what a user typed.
PAYLOADS: tuple[str, ...] = (
    '<script>alert("xss00")</script>',
    '<img src=x onerror=alert("xss01")>',
    '<svg/onload=alert("xss02")>',
    '" onmouseover="alert(\'xss03\')" x="',
    "' onfocus='alert(4)' autofocus x='xss04",
    "javascript:alert('xss05')",
    " JaVaScRiPt:alert('xss06')",
    "{{7*191}}xss07",
    "{% print(7*191) %}xss08",
    "${7*191}xss09",
    "#{7*191}xss10",
    "<%= 7*191 %>xss11",
    "{{self.__init__.__globals__}}xss12",
    "{{ cycler.__init__.__globals__.os }}xss13",
    "%(lang)s %s %d xss14",
    "{0.__class__} {lang} xss15",
    '</textarea><script>alert("xss16")</script>',
    '</title><script>alert("xss17")</script>',
    '</style><script>alert("xss18")</script>',
    '<iframe src="javascript:alert(\'xss19\')">',
    '<a href="javascript:alert(\'xss20\')">xss20</a>',
    "[xss21](javascript:alert(21))",
    '<body onload=alert("xss22")>',
    '<details open ontoggle=alert("xss23")>',
    '&lt;script&gt;alert("xss24")&lt;/script&gt;',
    '&#60;script&#62;alert("xss25")&#60;/script&#62;',
    "\u202egnp.exe xss26\u202c",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==#xss27",
    '<div style="background:url(javascript:alert(\'xss28\'))">',
    'x:expression(alert("xss29"))',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert("xss30")>',
    '"><svg onload=alert("xss31")>',
    "'><script>alert('xss32')</script>",
    '--><script>alert("xss33")</script><!--',
    '<![CDATA[<script>alert("xss34")</script>]]>',
    '<object data="javascript:alert(\'xss35\')">',
    '<base href="javascript:alert(\'xss36\')//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(37)">xss37',
    '<form><button formaction="javascript:alert(\'xss38\')">xss38',
    'vbscript:msgbox("xss39")',
    '<input onfocus=alert("xss40") autofocus>',
    '<scr<script>ipt>alert("xss41")</scr</script>ipt>',
    "line1\r\nBcc: evil@example.com\r\nxss42",
    "🙂 中文 <b>xss43</b> \u200b",
    '`${alert("xss44")}`',
    "\\\"; alert('xss45'); //",
    "<i>xss46</i>",  # short ones, for fields of a few characters
    '"\'><b>xss47',
)
MARKER = re.compile(r"xss(\d\d)")
# What a page shows only when something evaluated a payload as a template or a format string.
EVALUATED = ("1337xss", "__builtins__", "TemplateReference", "<class '", "&lt;class &#39;", "&lt;class '",
             "function generate_lorem_ipsum", "<module 'os'", "&lt;module &#39;os")


def marker_of(payload: str) -> str:
    return MARKER.search(payload).group(0)


def fits(payload: str, *, max_len: int | None = None, single_line: bool = False, no_space: bool = False,
         printable: bool = False) -> bool:
    if max_len is not None and len(payload.strip()) > max_len:
        return False
    if single_line and ("\r" in payload or "\n" in payload):
        return False
    if no_space and any(ch.isspace() for ch in payload.strip()):
        return False
    return not (printable and not payload.strip().isprintable())


class Payloads:
    """Hands out payloads in rotation (from `offset`), skipping those a field cannot hold, and counts their uses."""

    def __init__(self, offset: int = 0) -> None:
        self.position = offset
        self.used: Counter[str] = Counter()

    def one(self, **limits) -> str:
        for _ in range(len(PAYLOADS)):
            payload = PAYLOADS[self.position % len(PAYLOADS)]
            self.position += 1
            if fits(payload, **limits):
                self.used[payload] += 1
                return payload.strip()
        raise ValueError(f"no payload fits {limits}")

    def text(self, n: int = 3, *, prefix: str = "", sep: str = " ", max_len: int | None = None, **limits) -> str:
        """`n` payloads joined (a long text field gets several at once), within `max_len`."""
        parts = [prefix] if prefix else []
        for _ in range(n):
            room = None if max_len is None else max_len - len(sep.join(parts)) - len(sep)
            if room is not None and room < 20:
                break
            parts.append(self.one(max_len=room, **limits))
        return sep.join(parts)


# --- the check -----------------------------------------------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "background", "xlink:href", "srcset",
                  "ping", "cite", "longdesc", "manifest", "icon", "codebase", "lowsrc", "dynsrc"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:application", "data:image/svg", "livescript:")


def template_tags() -> frozenset[str]:
    """The elements the templates themselves write: any other element in a page came from data."""
    tags = set()
    for path in TEMPLATE_DIR.rglob("*"):
        if path.is_file():
            tags.update(t.lower() for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9-]*)", path.read_text("utf-8")))
    return frozenset(tags)


class _Scan(HTMLParser):
    def __init__(self, tags: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.tags = tags
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = f"<{tag} {' '.join(f'{k}={v!r}' for k, v in attrs)}>"[:200]
        if tag not in self.tags:
            self.found.append(f"an element the templates never write: {where}")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.found.append(f"a script that is not the app's own: {where}")
            self._in_script = True
        if tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "refresh":
            self.found.append(f"a meta refresh: {where}")
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                self.found.append(f"an event handler attribute {name}: {where}")
            if name in ("srcdoc", "formaction"):
                self.found.append(f"an attribute {name}: {where}")
            if value and name in URL_ATTRIBUTES:
                url = re.sub(r"[\x00-\x20\u200b\u202a-\u202e]", "", value).lower()
                if url.startswith(BAD_SCHEMES):
                    self.found.append(f"a script URL in {name}: {where}")
            if value and name == "style" and re.search(r"expression\s*\(|javascript:|url\s*\(", value, re.I):
                self.found.append(f"a script in a style attribute: {where}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"an inline script: {data.strip()[:100]!r}")


@dataclass
class Checker:
    """Checks pages and counts which payloads came out (escaped) where."""

    tags: frozenset[str] = field(default_factory=template_tags)
    shown: Counter[str] = field(default_factory=Counter)  # payload → pages showing it escaped
    pages: int = 0

    def html(self, body: str, where: str) -> list[str]:
        self.pages += 1
        scan = _Scan(self.tags)
        scan.feed(body)
        scan.close()
        found = [f"{where}: {p}" for p in scan.found]
        found += [f"{where}: evaluated template code ({e!r})" for e in EVALUATED if e in body]
        for payload in PAYLOADS:
            text = payload.strip()
            if any(ch in text for ch in "<>\"'&") and text in body:
                found.append(f"{where}: payload {marker_of(text)} unescaped")
            if str(escape(text)) in body:
                self.shown[text] += 1
        return found

    def text(self, body: str, where: str) -> list[str]:
        """A plain-text mail: payloads as typed (nothing to escape), nothing evaluated, no HTML entities."""
        found = [f"{where}: evaluated template code ({e!r})" for e in EVALUATED if e in body]
        for payload in PAYLOADS:
            text = payload.strip()
            if any(ch in text for ch in "<>\"'") and str(escape(text)) in body:
                found.append(f"{where}: payload {marker_of(text)} HTML-escaped in a text mail")
        return found


@dataclass
class Form:
    action: str
    enctype: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, kind, value)
    options: dict[str, list[str]] = field(default_factory=dict)  # a select's values, the selected one first

    @property
    def key(self) -> tuple[str, ...]:
        return (self.action, *sorted({name for name, _kind, _value in self.fields}))


TYPED = {"text", "textarea", "search", "email", "url", "tel", "number", "date", "password", ""}


class FormScan(HTMLParser):
    """The POST forms of a page, with what a browser would send unless the user typed something."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(a.get("action", ""), a.get("enctype", ""))
            self.forms.append(self._form)
        if self._form is None or not a.get("name"):
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                kind += "-unchecked"
            self._form.fields.append((a["name"], kind, a.get("value", "")))
        elif tag == "textarea":
            self._form.fields.append((a["name"], "textarea", ""))
        elif tag == "select":
            self._select = a["name"]
            self._form.options[a["name"]] = []
            self._form.fields.append((a["name"], "select", ""))
        if tag == "option" and self._select is not None:
            values = self._form.options[self._select]
            values.insert(0, a.get("value", "")) if "selected" in a else values.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None


def post_forms(body: str) -> list[Form]:
    scan = FormScan()
    scan.feed(body)
    return scan.forms


# --- which templates were rendered ---------------------------------------------------------------------------------


def template_files() -> set[str]:
    """Every file under templates/ (pages, parts, mails, print), as Jinja names it."""
    return {p.relative_to(TEMPLATE_DIR).as_posix() for p in TEMPLATE_DIR.rglob("*") if p.is_file()}


@contextmanager
def recording_templates() -> Iterator[set[str]]:
    """The names of the templates loaded while inside, by extends, include and import too (they all go through
    Environment.get_template)."""
    env = templating.environment()
    seen: set[str] = set()
    original = env.get_template

    def get_template(name, *args, **kwargs):
        template = original(name, *args, **kwargs)
        seen.add(template.name)
        return template

    env.get_template = get_template
    try:
        yield seen
    finally:
        del env.get_template


# --- the hostile world ---------------------------------------------------------------------------------------------

NOW = build.NOW  # 2026-02-10: periods 1–5 of a project started 2025-01-01 are open
ACCEPTANCE_NOW = build.ACCEPTANCE_NOW  # 2026-12-20: in the acceptance window of a project ending 2026-12-31


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def uscc_for(n: int) -> str:
    return build.uscc(f"91450200MA5L{n:03d}X0")


def hostile_guideline(p: Payloads) -> str:
    """The default guideline's shapes (a post-subsidy direction with a funding rule, a milestone-funded one, a
    spare one for rule corrections) with payloads in headings, titles, contents and clauses."""
    one = lambda: p.one(single_line=True, max_len=70)  # noqa: E731 - the reader takes one line per field
    return f"""\
一、{one()}智能制造专项
方向一：{one()}智能装备研发
1. 研究内容：（1）{one()}传感器研制（满足考核指标中的①②或①③）。（2）{one()}控制系统开发。
2. 考核指标：（1）申请发明专利3件以上{one()}。（2）实现新增销售收入1000万元以上。（3）{one()}建成中试平台1个。（4）取得显著经济效益{one()}。
3. 实施期限：2年。
4. 资助经费：后补助，验收通过后一次性拨付，按验收证书中核定的自筹经费的10%给予补助，单个项目最高补助30万元。{one()}
方向二：{one()}纯电动汽车研发
1. 研究内容：{one()}集成开发纯电动汽车新车型。
2. 考核指标：（1）至少研发出1款纯电动汽车新车型{one()}。（2）申请发明专利2件以上。
3. 实施期限：不超过3年。
4. 补助方式：里程碑式补助。
5. 资助经费：不少于80万元。
方向三：{one()}备用方向
1. 研究内容：{one()}
2. 考核指标：须满足考核指标中的全部{one()}。（1）开发新产品1项以上{one()}且申请发明专利1件以上或获得授权专利1件以上。
3. 实施期限：2年。
"""


def award_list(rows: list[list[object]]) -> bytes:
    """An award list (立项清单) workbook with these data rows under the standard header."""
    workbook = Workbook()
    workbook.active.append(["项目编号", "项目名称", "方向", "承担单位", "统一社会信用代码", "项目负责人",
                            "任务书签订日期", "结束日期", "财政资助"])
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class HostileWorld:
    """Every kind of object users write, filled with payloads (see the module docstring). `tag` keeps names apart
    when the database has other data (the browser tests' demo data); `password_hash` lets its accounts sign in."""

    def __init__(self, db: Session, store: EvidenceStore, *, offset: int = 0, tag: str = "",
                 password_hash: str | None = None, reminder_sweep: bool = True) -> None:
        self.db, self.store, self.tag = db, store, tag
        self.p = Payloads(offset)
        self.system = Actor.system("hostile-world")
        self.password_hash = password_hash
        self.numbers = iter(range(1, 1000))
        self._people()
        self._guideline()
        self._projects()
        self._reports()
        self._acceptance()
        self._milestones()
        self._changes()
        self._corrections()
        self._odds_and_ends()
        if reminder_sweep:  # over every project of the database: not over a live server's demo data
            self._reminder_mails()
        self._dead_mail()
        db.commit()

    # -- helpers

    def _name(self, role: str) -> str:
        """A username: a payload without spaces (usernames may hold anything but whitespace)."""
        return f"{self.p.one(no_space=True, max_len=50)}-{role}{self.tag}"[:64]

    def _user(self, role: Role, key: str, *, organisation=None, email: str | None = None) -> User:
        user = accounts.create_user(self.db, username=self._name(key), password=None, role=role, now=NOW,
                                    display_name=self.p.text(2, max_len=100, single_line=True),
                                    organisation=organisation, email=email,
                                    phone=self.p.one(max_len=32, single_line=True), actor=self.system)
        user.password_hash = self.password_hash
        return user

    def _file(self, suffix: str = ".png"):
        """An uploaded file with a hostile name (its display name keeps it, made safe for a file name)."""
        name = self.p.one(single_line=True, max_len=80, printable=True) + suffix
        return check_evidence_file(name, png() if suffix == ".png" else build.TINY_PDF)

    # -- people and organisations

    def _people(self) -> None:
        db, p = self.db, self.p
        self.organisation = organisations.create_organisation(
            db, uscc=uscc_for(next(self.numbers) + (500 if self.tag else 0)), name=p.text(2, max_len=200,
                                                                                           single_line=True),
            kind="enterprise", contact_name=p.one(max_len=100, single_line=True),
            contact_phone=p.one(max_len=32, single_line=True), actor=self.system, now=NOW)
        self.expert_org = organisations.create_organisation(
            db, uscc=uscc_for(next(self.numbers) + (500 if self.tag else 0)),
            name=p.text(2, max_len=200, single_line=True), kind="university", actor=self.system, now=NOW)
        self.admin = self._user(Role.ADMIN, "admin", email=f"admin{self.tag}@example.org")
        self.officer = self._user(Role.OFFICER, "officer", email=f"officer{self.tag}@example.org")
        self.grantee = self._user(Role.GRANTEE, "grantee", organisation=self.organisation,
                                  email=f"grantee{self.tag}@example.org")
        self.colleague = self._user(Role.GRANTEE, "colleague", organisation=self.organisation,
                                    email=f"colleague{self.tag}@example.org")
        self.leader = self._user(Role.EXPERT, "leader", organisation=self.expert_org,
                                 email=f"leader{self.tag}@example.org")
        self.member = self._user(Role.EXPERT, "member", email=f"member{self.tag}@example.org")
        # Finance's address is hostile too (admin lists show it masked: its domain comes out).
        self.finance = self._user(Role.FINANCE, "finance", email=f"f@{p.one(no_space=True, max_len=60)}")
        self.pending = self._user(Role.GRANTEE, "pending", organisation=self.organisation,
                                  email=f"pending{self.tag}@example.org")
        self.activation_token = accounts.issue_activation(db, self.pending, actor=self.system, now=NOW)
        self.programme = programmes.create_programme(db, name=p.text(2, max_len=300, single_line=True),
                                                     description=p.text(3, max_len=2000), actor=self.system, now=NOW)
        accounts.assign_programmes(db, self.officer, [self.programme], actor=self.system, now=NOW)
        organisations.update_organisation(db, self.organisation, version=self.organisation.version,
                                          uscc=self.organisation.uscc, name=p.text(2, max_len=200, single_line=True),
                                          kind="enterprise", contact_name=p.one(max_len=100, single_line=True),
                                          contact_phone=p.one(max_len=32, single_line=True),
                                          actor=Actor.of(self.admin), now=NOW)
        accounts.update_user(db, self.colleague, version=self.colleague.version,
                             display_name=p.text(2, max_len=100, single_line=True), role=Role.GRANTEE,
                             organisation=self.organisation, email=self.colleague.email,
                             phone=p.one(max_len=32, single_line=True), actor=Actor.of(self.admin), now=NOW)
        self.token_row, _token = accounts.create_api_token(db, self.grantee, p.one(max_len=100, single_line=True),
                                                           30, actor=Actor.of(self.grantee), now=NOW)
        db.commit()

    # -- the guideline

    def _guideline(self) -> None:
        db = self.db
        name = self.p.text(2, max_len=250, single_line=True)
        self.document: GuidelineDocument = build.guideline(db, programme=name, text=hostile_guideline(self.p),
                                                           officer=self.officer, now=NOW)
        leaves = [n for n in self.document.nodes if n.is_leaf]
        assert len(leaves) == 3, [n.title for n in self.document.nodes]
        self.post_leaf, self.milestone_leaf, self.spare_leaf = leaves
        assert self.post_leaf.funding_rule and self.post_leaf.clauses, "the reader must keep the funding rule"
        assert self.spare_leaf.selection_texts, "the reader must keep the selection sentence"
        self.clause = self.post_leaf.clauses[0]
        # A group heading of an indicator block (（一）技术指标。) comes from the document too; the reader takes it
        # only from a document-wide 考核要求 block, which this text has not: set as the reader would.
        self.clause.group = self.p.one(max_len=20, single_line=True)
        db.commit()

    # -- projects

    def _import(self, leaf, *, title: str | None = None, months: int | None = None,
                pi_email: str | None = None) -> Project:
        p = self.p
        code = f"{p.one(single_line=True, max_len=50)}-{next(self.numbers)}{self.tag}"
        # The full path: a title holding "/" or ">" would read as a path of its own.
        return build.project(self.db, guideline=self.document, direction=" / ".join(leaf.path), code=code,
                             title=title or p.text(2, max_len=500, single_line=True),
                             organisation=self.organisation, officer=self.officer, months=months,
                             pi_email=pi_email or f"pi{next(self.numbers)}{self.tag}@example.org", now=NOW)

    def _projects(self) -> None:
        db, p = self.db, self.p
        self.post = self._import(self.post_leaf)  # 后补助: reports, acceptance, disbursement
        self.post.pi_name = p.one(max_len=100, single_line=True)
        self.post.pi_phone = p.one(max_len=32, single_line=True)
        self.post.contacts = [self.grantee, self.colleague]
        # Units are read against a list (not free text); metrics are free.
        custom = [{"category": "product", "metric": p.text(2, max_len=200, single_line=True), "op": ">=",
                   "value": "1000", "unit": "项", "kind": "cumulative"},
                  {"category": "impact", "metric": p.one(max_len=200, single_line=True), "op": "", "value": "",
                   "unit": "", "kind": "qualitative"}]
        confirm_task_book(db, self.post, [], custom, reason="", actor=Actor.of(self.officer), now=NOW)
        # Confirmed again with a reason: the task book's history shows both.
        confirm_task_book(db, self.post, [], [], reason=p.text(2, max_len=2000), actor=Actor.of(self.officer),
                          now=NOW)
        self.milestone = self._import(self.milestone_leaf)  # 里程碑式补助
        half = self.milestone.fiscal_funding / 2 / 10000
        middle = self.milestone.start_date + (self.milestone.end_date - self.milestone.start_date) / 2
        confirm_task_book(db, self.milestone, [], [
            {"category": "product", "metric": p.one(max_len=200, single_line=True), "op": ">=", "value": "1",
             "unit": "款", "kind": "cumulative"}], reason="", actor=Actor.of(self.officer), now=NOW, milestones=[
            MilestoneInput(p.one(max_len=200, single_line=True), middle.isoformat(), f"{half:f}", p.text(2)),
            MilestoneInput(p.one(max_len=200, single_line=True), self.milestone.end_date.isoformat(), f"{half:f}",
                           p.text(2))])
        # 后补助 with a matching ratio the certificate will not meet: blocked until an approved exception.
        self.matched = self._import(self.post_leaf)
        rule = funding.FundingRule(modes=frozenset({funding.FundingMode.POST}),
                                   formula=funding.Share(Decimal("0.1"), "certified_self_funding"),
                                   matching=(funding.Matching(Decimal(3)),))
        self.matched.funding_rule = {"rule": funding.to_dict(rule), "description": funding.describe(rule)}
        confirm_task_book(db, self.matched, [], [], reason="", actor=Actor.of(self.officer), now=NOW)
        self.extended = self._import(self.post_leaf)
        self.extended.funding_mode = p.one(max_len=40, single_line=True)  # as the award list wrote it
        # A target lowered below the guideline's value, with the reason the officer gave.
        lowered = next(t for t in self.extended.target_sets[-1].targets if t.op and t.guideline_value)
        confirm_task_book(db, self.extended, [TargetChange(lowered.position, "0.5", lowered.kind,
                                                           p.one(max_len=500))], [], reason="",
                          actor=Actor.of(self.officer), now=NOW)
        # In the acceptance window: one not applied yet (the grantee's form), one applied and waiting for the
        # leader's check (the expert's form).
        self.applicant = self._import(self.post_leaf)
        self.waiting = self._import(self.post_leaf)
        for project in (self.applicant, self.waiting):
            confirm_task_book(db, project, [], [], reason="", actor=Actor.of(self.officer), now=NOW)
        self.terminated = self._import(self.post_leaf, pi_email=f"{p.one(no_space=True, max_len=60)}@example.org")
        confirm_task_book(db, self.terminated, [], [], reason="", actor=Actor.of(self.officer), now=NOW)
        db.commit()

    # -- reports

    def _report_input(self, project: Project, *, lock: int | None = None, file: bool = False) -> ReportInput:
        p = self.p
        values: dict[int, ValueInput] = {}
        target_set = project.target_sets[-1]
        for target in target_set.targets:
            note = p.text(2, max_len=500)
            if target.kind == "deliverable":
                values[target.position] = ValueInput(done="0", note=note)
            elif target.kind == "qualitative":
                values[target.position] = ValueInput(note=note)
            elif is_per_year(target.unit, target.kind):
                values[target.position] = ValueInput(year_value="0", note=note)
            else:
                values[target.position] = ValueInput(value="0", note=note, explanation=p.one(max_len=200))
        evidence = [EvidenceInput("invoice", p.one(max_len=60, printable=True), p.text(2, max_len=500), "0"),
                    EvidenceInput("contract", p.one(max_len=60, printable=True), p.text(2, max_len=500))]
        if file:
            evidence.append(EvidenceInput("file", "", p.text(1, max_len=500), new_file=self._file()))
        return ReportInput(values=values, evidence=evidence, funds={"fiscal_received": "0", "fiscal_spent": "0"},
                           narrative=p.text(4), problems=p.text(3), next_steps=p.text(3), edit_lock=lock)

    def _report(self, project: Project, period: int, status: str, *, file: bool = False, now: datetime = NOW):
        existing = report_service.reports_of(self.db, project).get(period)
        lock = existing.latest.edit_lock if existing is not None and existing.latest.is_draft else None
        return build.report(self.db, project, period=period, status=status, by=self.grantee, reviewer=self.officer,
                            data=self._report_input(project, lock=lock, file=file), store=self.store,
                            comment=self.p.text(3), now=now)

    def _reports(self) -> None:
        self.accepted = self._report(self.post, 1, "accepted", file=True)
        self.returned = self._report(self.post, 2, "returned")
        self.submitted = self._report(self.post, 3, "submitted", file=True)
        self.draft = self._report(self.post, 4, "draft", file=True)
        self._report(self.milestone, 1, "accepted")
        self._report(self.extended, 1, "submitted")
        # A running project's draft: the grantee's form, filled.
        self.running_draft = self._report(self.extended, 2, "draft", file=True)
        self.db.commit()

    # -- acceptance

    def _apply(self, project: Project):
        p = self.p
        build.final_report(self.db, project, now=ACCEPTANCE_NOW)
        needs = acceptance.figures_needed(project)
        claims = {t.id: acceptance.ClaimInput(value="1" if t.kind not in ("qualitative", "deliverable") else "",
                                              done="1" if t.kind == "deliverable" else "", claim="met",
                                              note=p.text(2, max_len=2000)) for t in project.target_sets[-1].targets}
        uploads = [acceptance.EvidenceUpload("audit_report", self._file(".pdf"),
                                             figure_key=needs[0].key if needs else "",
                                             description=p.text(2, max_len=500)),
                   acceptance.EvidenceUpload("invoice", self._file(), description=p.text(1, max_len=500))]
        made = acceptance.apply(
            self.db, project, acceptance.ApplicationInput(p.text(4), claims, {n.key: "50" for n in needs}, uploads),
            actor=Actor.of(self.grantee), now=ACCEPTANCE_NOW, today=ACCEPTANCE_NOW.date(), rules=BusinessSettings(),
            store=self.store)
        self.db.commit()
        return made

    def _decide(self, application, figures: str, *, reason: str = "", now: datetime = ACCEPTANCE_NOW):
        p = self.p
        needs = acceptance.figures_needed(application.project)
        return verdicts.record_verdict(self.db, application, verdicts.VerdictInput(
            "passed", p.text(3), {n.key: figures for n in needs}, certificate_no=p.one(max_len=40, single_line=True),
            reason=reason), actor=Actor.of(self.officer), now=now)

    def _acceptance(self) -> None:
        db, p = self.db, self.p
        self.application = self._apply(self.post)
        self.matched_application = self._apply(self.matched)
        self.waiting_application = self._apply(self.waiting)
        build.final_report(db, self.applicant, now=ACCEPTANCE_NOW)
        held_on = (ACCEPTANCE_NOW.date() + timedelta(days=1)).isoformat()
        self.meeting = committees.form_meeting(db, self.officer, committees.MeetingInput(
            p.one(max_len=200, single_line=True), held_on, p.one(max_len=200, single_line=True),
            [self.leader.id, self.member.id], self.leader.id,
            [self.application.id, self.matched_application.id, self.waiting_application.id]),
            actor=Actor.of(self.officer), now=ACCEPTANCE_NOW, today=ACCEPTANCE_NOW.date())
        db.commit()
        for application, experts in ((self.application, (self.leader, self.member)),
                                     (self.matched_application, (self.leader, self.member)),
                                     (self.waiting_application, (self.member,))):
            for expert in experts:
                items = {t.id: committees.ItemInput("0", p.text(2, max_len=2000))
                         for t in application.target_set.targets}
                committees.submit_check(db, application, expert, items, opinion=p.text(3),
                                        recommendation="passed", actor=Actor.of(expert), now=ACCEPTANCE_NOW)
        db.commit()
        self._decide(self.application, "123.4567")
        self._decide(self.matched_application, "300")  # fiscal 200万元 × 3 = 600万元 needed: blocked
        db.commit()
        later = ACCEPTANCE_NOW + timedelta(hours=1)
        blocked = disbursements.live_row(db, self.matched, "project")
        assert blocked is not None and blocked.status == "blocked", blocked
        disbursements.officer_update(db, blocked, exception_reason=p.text(2, max_len=2000),
                                     actor=Actor.of(self.officer), now=later)
        row = disbursements.live_row(db, self.post, "project")
        assert row is not None and row.status == "pending", row
        # Finance returns it with a comment; the officer sends it back; finance approves and pays (a voucher).
        disbursements.return_to_officer(db, row, comment=p.text(3, max_len=2000), lock=row.lock,
                                        actor=Actor.of(self.finance), now=later)
        disbursements.officer_update(db, row, actor=Actor.of(self.officer), now=later)
        disbursements.approve(db, row, lock=row.lock, actor=Actor.of(self.finance), now=later)
        disbursements.mark_paid(db, row, paid_on=ACCEPTANCE_NOW.date().isoformat(),
                                voucher_no=p.one(max_len=60, single_line=True), lock=row.lock,
                                actor=Actor.of(self.finance), today=ACCEPTANCE_NOW.date(), now=later)
        db.commit()
        # The verdict corrected (a reason): the paid row's reversal is due, then recorded (a voucher); the
        # corrected verdict's row waits for finance.
        self._decide(self.application, "100", reason=p.text(2, max_len=2000), now=later + timedelta(hours=1))
        db.commit()
        db.refresh(row)
        assert row.reversal_due, row.status
        self.reversal_due = row.id
        disbursements.record_reversal(db, row, reversed_on=ACCEPTANCE_NOW.date().isoformat(),
                                      voucher_no=p.one(max_len=60, single_line=True), lock=row.lock,
                                      actor=Actor.of(self.finance), today=ACCEPTANCE_NOW.date(),
                                      now=later + timedelta(hours=2))
        db.commit()

    def _milestones(self) -> None:
        db, p = self.db, self.p
        project = self.milestone
        for position, (passed, reason) in enumerate((("1", ""), ("0", ""))):
            verdicts.record_milestone_check(db, project, position, verdicts.MilestoneCheckInput(
                passed, NOW.date().isoformat(), p.text(2, max_len=2000), p.text(2, max_len=2000), reason),
                actor=Actor.of(self.officer), now=NOW, today=NOW.date())
        db.commit()
        # The first corrected (a reason).
        verdicts.record_milestone_check(db, project, 0, verdicts.MilestoneCheckInput(
            "1", NOW.date().isoformat(), p.text(2, max_len=2000), p.text(1, max_len=2000), p.text(2, max_len=2000)),
            actor=Actor.of(self.officer), now=NOW + timedelta(minutes=5), today=NOW.date())
        db.commit()
        self.milestone_disbursement = disbursements.live_row(db, project, "milestone:0")

    # -- project changes

    def _changes(self) -> None:
        db, p = self.db, self.p
        project_changes.extend(db, self.extended, requested_on=NOW.date(), months=6, reason=p.text(3, max_len=2000),
                               actor=Actor.of(self.officer), now=NOW)
        project_changes.terminate(db, self.terminated, requested_on=NOW.date(), reason=p.text(3, max_len=2000),
                                  actor=Actor.of(self.officer), now=NOW)
        db.commit()

    # -- the officer's corrections of what the reader read

    def _corrections(self) -> None:
        db, p = self.db, self.p
        clause = self.spare_leaf.clauses[0]
        targets = [dict(t, metric=p.one(max_len=200, single_line=True)) for t in clause.targets]
        assert targets, "the spare direction's clause must have targets"
        indicator_review.correct_clause(db, clause, targets, "any", p.text(2, max_len=2000),
                                        actor=Actor.of(self.officer), now=NOW)
        indicator_review.correct_rule(db, self.spare_leaf, "period", {"description": p.text(2, max_len=300),
                                                                      "months": 24}, p.text(2, max_len=2000),
                                      actor=Actor.of(self.officer), now=NOW)
        indicator_review.mark_reviewed(db, clause=self.spare_leaf.clauses[-1], note=p.text(2, max_len=500),
                                       actor=Actor.of(self.officer), now=NOW)
        db.commit()

    # -- the rest: calendar notes, job errors, the scheduler's holder, mail errors

    def _odds_and_ends(self) -> None:
        db, p = self.db, self.p
        year = 2031 if not self.tag else 2032
        arrangement = "\n".join([f"{year}-01-01 {p.one(max_len=30, single_line=True)} 休",
                                 f"{year}-01-04 {p.one(max_len=30, single_line=True)} 上班"])
        holidays, workdays, problems = work_calendar.parse_arrangement(arrangement, year)
        assert not problems, problems
        work_calendar.enter_official_year(db, year, holidays, workdays, actor=Actor.of(self.admin), now=NOW)
        # Job errors quote what they failed on; the scheduler's holder is a host name.
        db.add(JobRun(job="reminders", started_at=NOW, finished_at=NOW, result="failed", counts={"queued": 1},
                      error=p.text(3), runner=p.one(max_len=120, single_line=True)))
        if not self.tag and db.get(SchedulerLease, "scheduler") is None:  # not over a live server's own
            db.add(SchedulerLease(name="scheduler", holder=p.one(max_len=120, single_line=True), acquired_at=NOW,
                                  heartbeat_at=NOW, expires_at=NOW + timedelta(days=3650)))
        for project in (self.post, self.milestone, self.extended):
            monitoring.refresh_project(db, project, now=NOW)
        db.commit()

    def _reminder_mails(self) -> None:
        """The reminder sweep's mails over the hostile projects (reminders, deadlines, the officers' digest), next to
        those the services queued (activation, expert invitations, verdicts, returned reports, disbursements)."""
        rules = BusinessSettings()
        # Overdue reports now; then the milestone project's extension deadline, acceptance opening and closing.
        days = sorted(reminders._deadlines(self.milestone, rules).values())
        for moment in [NOW] + [datetime.combine(d, time(2, 0), tzinfo=UTC) for d in days]:
            reminders.queue_reminders(self.db, moment, rules)
        self.db.commit()

    def _dead_mail(self) -> None:
        """A dead mail: the server's answer quotes what it refused."""
        db, p = self.db, self.p
        mail = db.scalars(select(OutboxMail).where(OutboxMail.recipient == self.grantee.email)
                          .order_by(OutboxMail.id)).first()
        mail.status, mail.last_error = MailStatus.DEAD, p.text(2)
        db.commit()

    # -- what the sweep needs

    @property
    def users(self) -> dict[str, User]:
        return {"admin": self.admin, "officer": self.officer, "grantee": self.grantee, "expert": self.leader,
                "finance": self.finance}

    def files(self) -> list[EvidenceFile]:
        return list(self.db.scalars(select(EvidenceFile).order_by(EvidenceFile.id)))

    def disbursements(self) -> list[Disbursement]:
        return list(self.db.scalars(select(Disbursement).order_by(Disbursement.id)))

    def mails(self) -> list[OutboxMail]:
        return list(self.db.scalars(select(OutboxMail).order_by(OutboxMail.id)))



def mail_templates() -> set[str]:
    """The mails there are templates for (templates/emails/<name>/)."""
    return {p.name for p in (TEMPLATE_DIR / "emails").iterdir() if p.is_dir()}


def evidence_store(data_dir: Path) -> EvidenceStore:
    """The store the app keeps evidence files in (tracker.web.controllers.reports)."""
    return EvidenceStore(data_dir / "evidence")
