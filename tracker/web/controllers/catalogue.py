"""The guideline catalogue (指南目录): programmes → node tree → direction, search, flags, and the upload of a
new guideline with a preview before anything is stored (DESIGN §1, §2).

Who: officers see the programmes assigned to them; admin, finance and expert read every programme; grantees
do not browse the catalogue (policy). Uploading is for officers and admins only: finance and experts read.
An officer uploading a guideline of a new programme is assigned to it; a file that would become a new version
of a programme not assigned to the officer is refused.

The upload is two requests. The first parses the file and shows a preview, storing nothing in the database;
the bytes wait in a server-side folder (`data_dir/uploads`) under a random token bound to the uploader, with
their SHA-256. The confirm form sends only that token; the second request reads the bytes back, parses them
again, stores them and deletes the temporary file. Unknown, foreign or expired tokens answer 404.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.orm import Session

from imports.guideline_loader import Preview, prepare, store_preview
from imports.guidelines import MAX_SOURCE_BYTES, GuidelineReadError
from indicators.reading.categories import CATEGORIES
from tracker import access, clock
from tracker.models import GuidelineDocument, GuidelineNode, User
from tracker.services import audit, indicator_review
from tracker.services import guidelines as catalogue
from tracker.services.audit import Actor
from tracker.services.guidelines import StorePlan
from tracker.web import forms
from tracker.web.context import form_of, state_of
from tracker.web.render import page
from tracker.web.uploads import PendingStore, clean_file_name, is_file, read_upload

log = logging.getLogger("tracker.web")

# The upload body: the reader's own limit plus room for the multipart envelope and the other fields, so a
# file just under the limit is not refused by the transport (the reader then checks the file itself).
UPLOAD_BODY_LIMIT = MAX_SOURCE_BYTES + 64 * 1024
UPLOAD_SUFFIXES = (".txt", ".docx")
SEARCH_LIMIT = 100

FIELD_KINDS = (
    ("content", "研究内容"),
    ("indicators", "考核指标"),
    ("period", "实施期限"),
    ("funding", "资助经费"),
    ("eligibility", "申报要求"),
    ("notes", "相关说明"),
)

# Flag kinds in Chinese: the parser's doubts about the structure (imports.guideline_model.FlagKind) and the
# clause interpreter's doubts about a reading (indicators.reading.targets.FLAG_KINDS). Unknown kinds show as they are.
STRUCTURE_FLAGS = {
    "lost_heading": "标题缺失",
    "no_indicator_block": "缺少考核指标",
    "unexpected_field": "意外的字段",
    "empty_field": "字段为空",
    "unknown_numbering": "未知的编号形式",
    "numbering_gap": "编号跳号",
    "numbering_duplicate": "编号重复或倒退",
    "untitled_direction": "方向无标题",
    "unnumbered_heading": "无编号的标题",
    "unbalanced_brackets": "括号不配对",
    "source_problem": "源文件问题",
}
READING_FLAGS = {
    "typo": "原文笔误",
    "absurd_value": "数值异常",
    "garbage_number": "数字无法识别",
    "unknown_unit": "单位无法识别",
    "comparator_conflict": "比较词矛盾",
    "ignored_number": "非指标数字",
    "nominal": "标称值",
    "implied_one": "隐含数量1",
    "qualitative_guess": "类别为推测",
    "duplicate": "重复条款",
    "split": "且/或混合已拆分",
    "mixed_connectives": "且/或混用",
    "non_binding": "非约束性表述",
    "no_target": "未读出指标",
    "empty": "空条款",
    "internal_error": "解读出错",
    "twin_conflict": "与同名方向数字不一致",
}
FLAG_LABELS = {**STRUCTURE_FLAGS, **READING_FLAGS}
TARGET_KINDS = {"cumulative": "累计型", "level": "水平型", "deliverable": "交付型", "qualitative": "定性"}
OPS = {">=": "≥", "<=": "≤", ">": "＞", "<": "＜", "==": "＝"}
COMBINE = {"all": "全部满足", "any": "满足其一"}


def _db(request: Request[Any, Any, Any]) -> Session:
    return state_of(request)["db"]


def _user(request: Request[Any, Any, Any]) -> User:
    return state_of(request)["user"]


def _document_or_404(request: Request[Any, Any, Any], document_id: int) -> GuidelineDocument:
    document = catalogue.document_for(_db(request), _user(request), document_id)
    if document is None:
        raise NotFoundException()
    return document


def _common(request: Request[Any, Any, Any]) -> dict[str, Any]:
    user = _user(request)
    return {"may_upload": access.may_access("guideline_upload_form", user.role), "flag_labels": FLAG_LABELS}


# --- flags: one list for the structure doubts and the clause readings -----------------------------


@dataclass
class FlagRow:
    kind: str
    label: str
    source: str  # "structure" | "reading"
    line: int | None
    message: str
    text: str  # the source line
    node_title: str = ""
    node_href: str = ""
    more_nodes: int = 0  # a shared block's reading flag concerns every leaf that inherits it


@dataclass
class _NodeRef:
    title: str
    href: str
    flags: list[dict[str, Any]]
    clauses: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)  # (line, flags)


SOURCE_LINE_CHARS = 300  # a .txt "line" can be a whole paragraph


def _source_line(lines: list[str] | tuple[str, ...], line: int | None) -> str:
    if line is None or not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].strip()
    return text if len(text) <= SOURCE_LINE_CHARS else text[:SOURCE_LINE_CHARS] + "…"


def _flag_rows(document_flags: list[dict[str, Any]], nodes: list[_NodeRef],
               lines: list[str] | tuple[str, ...]) -> list[FlagRow]:
    """Every flag once, in line order: the document's (structure) flags, each with the node it belongs to,
    then the clause readings' flags (a shared block's flag once, with the number of leaves sharing it)."""
    owner: dict[tuple[Any, ...], _NodeRef] = {}
    for node in nodes:
        for flag in node.flags:
            owner.setdefault((flag.get("kind"), flag.get("line"), flag.get("message")), node)
    rows: dict[tuple[Any, ...], FlagRow] = {}
    for flag in document_flags:
        key = (flag.get("kind"), flag.get("line"), flag.get("message"))
        if key in rows:
            continue
        node = owner.get(key)
        rows[key] = _row(flag, "structure", flag.get("line"), lines, node)
    for node in nodes:
        for line, flags in node.clauses:
            for flag in flags:
                where = flag.get("line") or line
                key = (flag.get("kind"), where, flag.get("message"))
                if key in rows:
                    if rows[key].source == "reading" and rows[key].node_href != node.href:
                        rows[key].more_nodes += 1
                    continue
                rows[key] = _row(flag, "reading", where, lines, node)
    return sorted(rows.values(), key=lambda r: (r.line is None, r.line or 0, r.source != "structure"))


def _row(flag: dict[str, Any], source: str, line: int | None, lines: list[str] | tuple[str, ...],
         node: _NodeRef | None) -> FlagRow:
    kind = str(flag.get("kind") or "")
    return FlagRow(kind=kind, label=FLAG_LABELS.get(kind, kind), source=source, line=line,
                   message=str(flag.get("message") or ""), text=_source_line(lines, line),
                   node_title=node.title if node else "", node_href=node.href if node else "")


def _stored_node_refs(db: Session, document: GuidelineDocument,
                      nodes: list[GuidelineNode]) -> list[_NodeRef]:
    by_node: dict[int, list[tuple[int, list[dict[str, Any]]]]] = {}
    for row in catalogue.clause_flags(db, {document.id}):
        by_node.setdefault(row.node_id, []).append((row.line, row.flags))
    return [_NodeRef(_node_title(n.marker, n.title), _node_href(document, n), list(n.flags or []),
                     by_node.get(n.id, [])) for n in nodes]


def _node_title(marker: str | None, title: str) -> str:
    return f"{marker} {title}" if marker else title


def _node_href(document: GuidelineDocument, node: GuidelineNode) -> str:
    return f"/guidelines/directions/{node.id}" if node.is_leaf else f"/guidelines/{document.id}#n{node.id}"


def _reading_counts(db: Session, document_ids: set[int]) -> dict[int, int]:
    """Document id → number of distinct clause-reading flags (a shared block's flag counts once)."""
    seen: dict[int, set[tuple[Any, ...]]] = {}
    for row in catalogue.clause_flags(db, document_ids):
        for flag in row.flags:
            seen.setdefault(row.document_id, set()).add(
                (flag.get("kind"), flag.get("line") or row.line, flag.get("message")))
    return {doc_id: len(keys) for doc_id, keys in seen.items()}


# --- the tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeRow:
    anchor: str
    depth: int
    marker: str
    title: str
    line: int
    leaf: bool
    flags: int
    clauses: int
    inherits: bool
    href: str = ""
    flag_messages: tuple[str, ...] = ()


def _stored_tree(document: GuidelineDocument, nodes: list[GuidelineNode], counts: dict[int, int]) -> list[TreeRow]:
    return [TreeRow(anchor=f"n{n.id}", depth=n.depth, marker=n.marker or "", title=n.title, line=n.line,
                    leaf=n.is_leaf, flags=len(n.flags or []), clauses=counts.get(n.id, 0),
                    inherits=n.inherits_indicators, href=_node_href(document, n) if n.is_leaf else "",
                    flag_messages=tuple(str(f.get("message", "")) for f in n.flags or []))
            for n in nodes]


def _preview_tree(preview: Preview) -> list[TreeRow]:
    return [TreeRow(anchor=f"p{i}", depth=len(n.path), marker=n.marker or "", title=n.title, line=n.line,
                    leaf=n.leaf, flags=len(n.flags), clauses=len(n.clauses), inherits=n.inherits_indicators,
                    flag_messages=tuple(str(f.get("message", "")) for f in n.flags))
            for i, n in enumerate(preview.document.nodes)]


# --- pages ---------------------------------------------------------------------------------------


@get("/guidelines", name="guidelines", sync_to_thread=True)
def catalogue_index(request: Request[Any, Any, Any]) -> Response[Any]:
    db = _db(request)
    documents = catalogue.catalogue_documents(db, _user(request))
    readings = _reading_counts(db, {d.id for d in documents})
    return page(request, "catalogue/index.html", documents=documents, readings=readings, q="", **_common(request))


def _terms(q: str) -> list[str]:
    # The same split as tracker.services.guidelines.search_nodes.
    return [w for w in q.replace("　", " ").split() if w][:5]


def _pattern(terms: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t[:50]) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)


def _highlight(text: str, pattern: re.Pattern[str]) -> list[tuple[str, bool]]:
    """The text as (piece, is_hit) segments: the template escapes each piece and wraps hits in <mark>
    (nothing is ever marked safe)."""
    segments: list[tuple[str, bool]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            segments.append((text[pos:m.start()], False))
        segments.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def _excerpt(text: str, pattern: re.Pattern[str], width: int = 60) -> list[tuple[str, bool]]:
    """A piece of the direction's text around the first hit, highlighted."""
    if not text:
        return []
    hit = pattern.search(text)
    if hit is None:
        return [(text[: width * 2] + ("…" if len(text) > width * 2 else ""), False)]
    start = max(0, hit.start() - width // 2)
    end = min(len(text), hit.end() + width)
    return ([("…", False)] if start > 0 else []) + _highlight(text[start:end], pattern) + (
        [("…", False)] if end < len(text) else [])


@get("/guidelines/search", name="guideline_search", sync_to_thread=True)
def search(request: Request[Any, Any, Any], q: FromQuery[str] = "") -> Response[Any]:
    db = _db(request)
    q = q.strip()[:200]
    terms = _terms(q)
    nodes = catalogue.search_nodes(db, _user(request), q, limit=SEARCH_LIMIT) if terms else []
    documents = catalogue.documents_by_id(db, {n.document_id for n in nodes})
    # The content fields only: the title is shown on its own line.
    pattern = _pattern(terms) if terms else None
    results = [{"node": n, "document": documents[n.document_id], "title": _highlight(n.title, pattern),
                "excerpt": _excerpt(" ".join(str(f.get("text", "")) for f in n.fields or []), pattern)}
               for n in nodes] if pattern else []
    return page(request, "catalogue/search.html", q=q, terms=terms, results=results,
                limited=len(nodes) >= SEARCH_LIMIT, limit=SEARCH_LIMIT, **_common(request))


@get("/guidelines/{document_id:int}", name="guideline_document", sync_to_thread=True)
def document_page(request: Request[Any, Any, Any], document_id: FromPath[int]) -> Response[Any]:
    db = _db(request)
    document = _document_or_404(request, document_id)
    nodes = catalogue.document_nodes(db, document.id)
    tree = _stored_tree(document, nodes, catalogue.clause_counts(db, document.id))
    versions = catalogue.programme_versions(db, document.programme_id)
    importer = db.get(User, document.imported_by_id) if document.imported_by_id else None
    current = next((v for v in versions if v.is_current), None)
    return page(request, "catalogue/document.html", document=document, tree=tree, versions=versions,
                current=current, importer=importer, node_count=len(nodes), **_common(request))


@get("/guidelines/{document_id:int}/flags", name="guideline_flags", sync_to_thread=True)
def flags_page(request: Request[Any, Any, Any], document_id: FromPath[int], kind: FromQuery[str] = ""
               ) -> Response[Any]:
    db = _db(request)
    document = _document_or_404(request, document_id)
    nodes = catalogue.document_nodes(db, document.id)
    rows = _flag_rows(list(document.flags or []), _stored_node_refs(db, document, nodes), document.lines)
    kinds = Counter(r.kind for r in rows)
    kind = kind.strip()[:40]
    shown = [r for r in rows if r.kind == kind] if kind else rows
    kind_options = sorted(kinds.items(), key=lambda item: (item[0] not in STRUCTURE_FLAGS, item[0]))
    return page(request, "catalogue/flags.html", document=document, rows=shown, total=len(rows), kind=kind,
                kinds=kind_options, **_common(request))


@get("/guidelines/directions/{node_id:int}", name="guideline_direction", sync_to_thread=True)
def direction_page(request: Request[Any, Any, Any], node_id: FromPath[int]) -> Response[Any]:
    db = _db(request)
    node = catalogue.node_for(db, _user(request), node_id)
    if node is None:
        raise NotFoundException()
    document = node.document
    fields = list(node.fields or [])
    groups = [(kind, label, [f for f in fields if f.get("kind") == kind]) for kind, label in FIELD_KINDS]
    known = {kind for kind, _label in FIELD_KINDS}
    other = [f for f in fields if f.get("kind") not in known]
    if other:
        groups.append(("other", "其他", other))
    clauses = list(node.clauses)
    lines = document.lines
    corrections = indicator_review.latest_corrections(db, [c.id for c in clauses])
    rules = [(kind, label, getattr(node, f"{kind}_rule"), indicator_review.latest_rule(db, node, kind))
             for kind, label in (("selection", "指标选择规则"), ("funding", "资助规则"), ("period", "实施期限"))]
    return page(request, "catalogue/direction.html", node=node, document=document, corrections=corrections,
                rules=rules, may_review=access.may_access("review_clause", _user(request).role),
                ancestors=catalogue.ancestors_of(db, node), groups=[g for g in groups if g[2]], clauses=clauses,
                node_flags=[_row(f, "structure", f.get("line"), lines, None) for f in node.flags or []],
                categories=CATEGORIES, target_kinds=TARGET_KINDS, ops=OPS, combine=COMBINE,
                first_clause_line=min((c.line for c in clauses), default=None), **_common(request))


# --- upload: the temporary store -----------------------------------------------------------------


def guideline_uploads(settings: Any) -> PendingStore:
    """Guideline files waiting for their confirmation (`uploads/` under the settings' data_dir)."""
    return PendingStore(Path(settings.data_dir) / "uploads", kind="guideline")


def _store(request: Request[Any, Any, Any]) -> PendingStore:
    return guideline_uploads(request.app.state.settings)


# --- upload: the pages ---------------------------------------------------------------------------


def _upload_form(request: Request[Any, Any, Any], *, error: str = "", programme_name: str = "",
                 status_code: int = 200) -> Response[Any]:
    return page(request, "catalogue/upload.html", status_code=status_code, error=error,
                programme_name=programme_name, max_mb=MAX_SOURCE_BYTES // 1024 // 1024, **_common(request))


@get("/guidelines/upload", name="guideline_upload_form", sync_to_thread=True)
def upload_form(request: Request[Any, Any, Any]) -> Response[Any]:
    return _upload_form(request)


def _suffix_problem(name: str) -> str:
    lower = name.lower()
    if lower.endswith(UPLOAD_SUFFIXES):
        return ""
    if lower.endswith(".doc") or lower.endswith(".wps"):
        return f"文件“{name}”是旧版Word（.doc/.wps）文件，请在Word中另存为.docx后再上传"
    if lower.endswith(".pdf"):
        return f"文件“{name}”是PDF文件，暂不支持，请上传.docx或.txt格式的指南"
    return f"文件“{name}”不是.txt或.docx格式，只能上传.txt或.docx格式的指南"


def _parse(name: str, data: bytes) -> Preview:
    """prepare(), with any failure of the reader turned into a message for the uploader (never a 500)."""
    try:
        return prepare(name, data)
    except GuidelineReadError:
        raise
    except Exception as exc:
        incident = secrets.token_hex(6)
        log.exception("guideline parser failed on an upload, incident %s", incident)
        raise GuidelineReadError(f"文件“{name}”无法解析（事件编号：{incident}），请检查文件内容，"
                                 "或把文件和事件编号交给管理员") from exc


def _refusal(db: Session, user: User, plan: StorePlan) -> str:
    """Why this user may not store this document (empty: they may). Admins may store any programme."""
    if user.role != "officer" or plan.status != "new_version" or plan.programme is None:
        return ""
    ids = catalogue.visible_programme_ids(db, user)
    if ids is None or plan.programme.id in ids:
        return ""
    return (f"项目计划“{plan.programme_name}”已存在，但没有分配给您：这份指南会成为它的第{plan.version}版，"
            "只有负责该计划的项目管理专员或管理员可以导入。请联系管理员分配该计划，或填写另一个项目计划名称。")


def _plan_visible(db: Session, user: User, plan: StorePlan) -> bool:
    if plan.programme is None:
        return True
    ids = catalogue.visible_programme_ids(db, user)
    return ids is None or plan.programme.id in ids


def _preview_page(request: Request[Any, Any, Any], *, preview: Preview, plan: StorePlan, token: str,
                  programme_name: str, size: int, error: str = "", status_code: int = 200) -> Response[Any]:
    db, user = _db(request), _user(request)
    doc = preview.document
    refs = [_NodeRef(_node_title(n.marker, n.title), "", list(n.flags), [(c.line, list(c.flags)) for c in n.clauses])
            for n in doc.nodes]
    rows = _flag_rows(list(doc.flags), refs, doc.lines)
    structure = [r for r in rows if r.source == "structure"]
    readings = Counter(r.kind for r in rows if r.source == "reading")
    return page(request, "catalogue/preview.html", status_code=status_code, doc=doc, plan=plan, token=token,
                programme_name=programme_name, size_kb=max(1, round(size / 1024)), error=error,
                plan_visible=_plan_visible(db, user, plan), tree=_preview_tree(preview), structure=structure,
                readings=sorted(readings.items()), reading_total=sum(readings.values()),
                leaves=sum(1 for n in doc.nodes if n.leaf), clauses=sum(len(n.clauses) for n in doc.nodes),
                **_common(request))


@post("/guidelines/upload", name="guideline_upload", sync_to_thread=True, request_max_body_size=UPLOAD_BODY_LIMIT)
def upload(request: Request[Any, Any, Any]) -> Response[Any]:
    state = state_of(request)
    db, user = state["db"], state["user"]
    form = form_of(request)
    programme_name = forms.text(form, "programme_name", 300)
    upload_file = form.get("file")
    if not is_file(upload_file):
        return _upload_form(request, error="请选择要上传的指南文件（.txt 或 .docx）", programme_name=programme_name,
                            status_code=400)
    name = clean_file_name(str(upload_file.filename), "upload.txt")
    data = read_upload(upload_file, MAX_SOURCE_BYTES)
    problem = _suffix_problem(name)
    if problem:
        return _upload_form(request, error=problem, programme_name=programme_name, status_code=400)
    try:
        preview = _parse(name, data)
    except GuidelineReadError as exc:
        return _upload_form(request, error=str(exc), programme_name=programme_name, status_code=400)
    plan = catalogue.plan_store(db, preview.document, programme_name or None)
    refusal = _refusal(db, user, plan)
    if refusal:
        return _upload_form(request, error=refusal, programme_name=programme_name, status_code=403)
    token = ""
    if plan.status != "duplicate":  # an already imported file has nothing to confirm
        token = _store(request).save(user_id=user.id, file_name=name, data=data, now=clock.now(),
                                     programme_name=programme_name)
    return _preview_page(request, preview=preview, plan=plan, token=token, programme_name=programme_name,
                         size=len(data))


@post("/guidelines/upload/{upload_token:str}/confirm", name="guideline_upload_confirm", sync_to_thread=True)
def upload_confirm(request: Request[Any, Any, Any], upload_token: FromPath[str]) -> Response[Any]:
    state = state_of(request)
    db, user, actor = state["db"], state["user"], state["actor"]
    store = _store(request)
    now = clock.now()
    pending = store.load(upload_token, user_id=user.id, now=now)
    if pending is None:
        raise NotFoundException(detail="上传的文件不存在或已过期（有效期1小时），请重新上传")
    programme_name = str(pending.extra.get("programme_name") or "")
    try:
        preview = _parse(pending.file_name, pending.data)
    except GuidelineReadError as exc:
        store.discard(pending.token)
        return _upload_form(request, error=str(exc), programme_name=programme_name, status_code=400)
    plan = catalogue.plan_store(db, preview.document, programme_name or None)
    refusal = _refusal(db, user, plan)  # the programmes may have changed since the preview
    if refusal:
        return _preview_page(request, preview=preview, plan=plan, token="", programme_name=programme_name,
                             size=len(pending.data), error=refusal, status_code=403)
    if plan.status == "duplicate":
        store.discard(pending.token)
        target = plan.existing.id if plan.existing and _plan_visible(db, user, plan) else None
        return Redirect(f"/guidelines/{target}" if target else "/guidelines", status_code=303)
    if not store.claim(pending.token):
        raise NotFoundException(detail="上传的文件已被确认导入或已过期，请刷新目录查看")
    result = store_preview(db, preview, actor=actor, now=now, programme_name=programme_name or None)
    programme = result.document.programme
    if user.role == "officer" and programme not in user.programmes:
        _assign_uploader(db, user, programme, actor=actor, now=now)
    return Redirect(f"/guidelines/{result.document.id}", status_code=303)


def _assign_uploader(db: Session, user: User, programme: Any, *, actor: Actor, now: datetime) -> None:
    """An officer who imports a new programme manages it. Unlike accounts.assign_programmes this adds one
    programme and keeps the officer's sessions: their rights only grow."""
    before = sorted(p.id for p in user.programmes)
    user.programmes.append(programme)
    audit.record(db, actor, "programmes_assigned", now=now, object_type="user", object_id=user.id,
                 before={"programmes": before}, after={"programmes": sorted([*before, programme.id]),
                                                       "reason": "guideline_upload"})
