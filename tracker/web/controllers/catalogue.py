"""The guideline catalogue (指南目录): programmes → node tree → direction, search, flags, and the upload of a
new guideline with a preview before anything is stored (DESIGN §1, §2).

Who: officers see the programmes assigned to them; admin, finance and expert read every programme; grantees
do not browse the catalogue (policy). Uploading is for officers and admins only: finance and experts read.
An officer uploading a guideline of a new programme is assigned to it; a file that would become a new version
of a programme not assigned to the officer is refused.

The upload is two requests (tracker.web.uploads.UploadFlow, the use case in imports.guideline_loader): the
first parses the file and shows a preview, storing nothing in the database; the confirm parses the kept bytes
again, plans again against the database as it is then and stores them. Unknown, foreign or expired tokens
answer 404.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.orm import Session

from imports.guideline_loader import Preview, StoreRefused, UploadPreview, preview_upload, store_upload
from imports.guidelines import MAX_SOURCE_BYTES, GuidelineReadError
from indicators.reading.categories import CATEGORIES
from tracker import access, clock
from tracker.models import GuidelineDocument, GuidelineNode, User
from tracker.services import guidelines as catalogue
from tracker.services import indicator_review
from tracker.services.labels import FLAG_LABELS, STRUCTURE_FLAGS
from tracker.web import forms
from tracker.web.deps import AppSettings, CurrentUser, DbSession, RequestActor, SubmittedForm
from tracker.web.lookups import document_or_404, or_404
from tracker.web.render import page
from tracker.web.uploads import Call, Refused, UploadFlow

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

TARGET_KINDS = {"cumulative": "累计型", "level": "水平型", "deliverable": "交付型", "qualitative": "定性"}
COMBINE = {"all": "全部满足", "any": "满足其一"}


def _common(user: User) -> dict[str, Any]:
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
def catalogue_index(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser) -> Response[Any]:
    documents = catalogue.catalogue_documents(db, user)
    readings = _reading_counts(db, {d.id for d in documents})
    return page(request, "catalogue/index.html", documents=documents, readings=readings, q="", **_common(user))


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
def search(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, q: FromQuery[str] = "") -> Response[Any]:
    q = q.strip()[:200]
    terms = _terms(q)
    nodes = catalogue.search_nodes(db, user, q, limit=SEARCH_LIMIT) if terms else []
    documents = catalogue.documents_by_id(db, {n.document_id for n in nodes})
    # The content fields only: the title is shown on its own line.
    pattern = _pattern(terms) if terms else None
    results = [{"node": n, "document": documents[n.document_id], "title": _highlight(n.title, pattern),
                "excerpt": _excerpt(" ".join(str(f.get("text", "")) for f in n.fields or []), pattern)}
               for n in nodes] if pattern else []
    return page(request, "catalogue/search.html", q=q, terms=terms, results=results,
                limited=len(nodes) >= SEARCH_LIMIT, limit=SEARCH_LIMIT, **_common(user))


@get("/guidelines/{document_id:int}", name="guideline_document", sync_to_thread=True)
def document_page(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, document_id: FromPath[int]
                  ) -> Response[Any]:
    document = document_or_404(db, user, document_id)
    nodes = catalogue.document_nodes(db, document.id)
    tree = _stored_tree(document, nodes, catalogue.clause_counts(db, document.id))
    versions = catalogue.programme_versions(db, document.programme_id)
    importer = db.get(User, document.imported_by_id) if document.imported_by_id else None
    current = next((v for v in versions if v.is_current), None)
    return page(request, "catalogue/document.html", document=document, tree=tree, versions=versions,
                current=current, importer=importer, node_count=len(nodes), **_common(user))


@get("/guidelines/{document_id:int}/flags", name="guideline_flags", sync_to_thread=True)
def flags_page(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, document_id: FromPath[int],
               kind: FromQuery[str] = "") -> Response[Any]:
    document = document_or_404(db, user, document_id)
    nodes = catalogue.document_nodes(db, document.id)
    rows = _flag_rows(list(document.flags or []), _stored_node_refs(db, document, nodes), document.lines)
    kinds = Counter(r.kind for r in rows)
    kind = kind.strip()[:40]
    shown = [r for r in rows if r.kind == kind] if kind else rows
    kind_options = sorted(kinds.items(), key=lambda item: (item[0] not in STRUCTURE_FLAGS, item[0]))
    return page(request, "catalogue/flags.html", document=document, rows=shown, total=len(rows), kind=kind,
                kinds=kind_options, **_common(user))


@get("/guidelines/directions/{node_id:int}", name="guideline_direction", sync_to_thread=True)
def direction_page(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, node_id: FromPath[int]
                   ) -> Response[Any]:
    node = or_404(catalogue.node_for(db, user, node_id))
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
                rules=rules, may_review=access.may_access("review_clause", user.role),
                ancestors=catalogue.ancestors_of(db, node), groups=[g for g in groups if g[2]], clauses=clauses,
                node_flags=[_row(f, "structure", f.get("line"), lines, None) for f in node.flags or []],
                categories=CATEGORIES, target_kinds=TARGET_KINDS, combine=COMBINE,
                first_clause_line=min((c.line for c in clauses), default=None), **_common(user))


# --- upload -------------------------------------------------------------------------------------------------------


def _upload_form(request: Request[Any, Any, Any], user: User, *, error: str = "", programme_name: str = "",
                 status_code: int = 200) -> Response[Any]:
    return page(request, "catalogue/upload.html", status_code=status_code, error=error,
                programme_name=programme_name, max_mb=MAX_SOURCE_BYTES // 1024 // 1024, **_common(user))


def _suffix_problem(name: str) -> str:
    lower = name.lower()
    if lower.endswith(UPLOAD_SUFFIXES):
        return ""
    if lower.endswith(".doc") or lower.endswith(".wps"):
        return f"文件“{name}”是旧版Word（.doc/.wps）文件，请在Word中另存为.docx后再上传"
    if lower.endswith(".pdf"):
        return f"文件“{name}”是PDF文件，暂不支持，请上传.docx或.txt格式的指南"
    return f"文件“{name}”不是.txt或.docx格式，只能上传.txt或.docx格式的指南"


class GuidelineUpload(UploadFlow[UploadPreview]):
    kind = "guideline"
    max_bytes = MAX_SOURCE_BYTES
    default_name = "upload.txt"
    no_file = "请选择要上传的指南文件（.txt 或 .docx）"
    gone = "上传的文件不存在或已过期（有效期1小时），请重新上传"
    taken = "上传的文件已被确认导入或已过期，请刷新目录查看"

    def fields(self, call: Call, form: FormMultiDict) -> dict[str, Any]:
        return {"programme_name": forms.text(form, "programme_name", 300)}

    def form_page(self, call: Call, fields: dict[str, Any], *, error: str, status_code: int) -> Response[Any]:
        return _upload_form(call.request, call.user, error=error, status_code=status_code,
                            programme_name=str(fields.get("programme_name") or ""))

    def preview(self, call: Call, name: str, data: bytes, fields: dict[str, Any], *, confirming: bool
                ) -> UploadPreview:
        problem = _suffix_problem(name)
        if problem:
            raise Refused(self.form_page(call, fields, error=problem, status_code=400))
        try:
            upload = preview_upload(call.db, name, data, user=call.user,
                                    programme_name=str(fields.get("programme_name") or ""))
        except GuidelineReadError as exc:
            raise Refused(self.form_page(call, fields, error=str(exc), status_code=400)) from exc
        if upload.refusal:
            # At the confirmation the programmes have changed since the preview: show it again with the reason.
            refusal = self._page(call, upload, "", error=upload.refusal, status_code=403) if confirming \
                else self.form_page(call, fields, error=upload.refusal, status_code=403)
            raise Refused(refusal)
        return upload

    def needs_confirming(self, preview: UploadPreview) -> bool:
        return preview.needs_confirming

    def preview_page(self, call: Call, preview: UploadPreview, token: str) -> Response[Any]:
        return self._page(call, preview, token)

    def nothing_to_do(self, call: Call, preview: UploadPreview) -> Response[Any]:
        """The same file was imported meanwhile: go to it (when the user may see it)."""
        existing = preview.plan.existing
        visible = existing is not None and catalogue.plan_visible(call.db, call.user, preview.plan)
        return Redirect(f"/guidelines/{existing.id}" if visible else "/guidelines", status_code=303)

    def commit(self, call: Call, preview: UploadPreview) -> Response[Any]:
        try:
            result = store_upload(call.db, preview, user=call.user, actor=call.actor, now=clock.now())
        except StoreRefused as exc:
            raise Refused(self._page(call, preview, "", error=str(exc), status_code=403)) from exc
        return Redirect(f"/guidelines/{result.document.id}", status_code=303)

    def _page(self, call: Call, upload: UploadPreview, token: str, *, error: str = "", status_code: int = 200
              ) -> Response[Any]:
        doc = upload.parsed.document
        refs = [_NodeRef(_node_title(n.marker, n.title), "", list(n.flags),
                         [(c.line, list(c.flags)) for c in n.clauses]) for n in doc.nodes]
        rows = _flag_rows(list(doc.flags), refs, doc.lines)
        structure = [r for r in rows if r.source == "structure"]
        readings = Counter(r.kind for r in rows if r.source == "reading")
        return page(call.request, "catalogue/preview.html", status_code=status_code, doc=doc, plan=upload.plan,
                    token=token, programme_name=upload.programme_name, size_kb=max(1, round(upload.size / 1024)),
                    error=error, plan_visible=catalogue.plan_visible(call.db, call.user, upload.plan),
                    tree=_preview_tree(upload.parsed), structure=structure, readings=sorted(readings.items()),
                    reading_total=sum(readings.values()), leaves=sum(1 for n in doc.nodes if n.leaf),
                    clauses=sum(len(n.clauses) for n in doc.nodes), **_common(call.user))


GUIDELINE_UPLOAD = GuidelineUpload()


@get("/guidelines/upload", name="guideline_upload_form", sync_to_thread=True)
def upload_form(request: Request[Any, Any, Any], user: CurrentUser) -> Response[Any]:
    return _upload_form(request, user)


@post("/guidelines/upload", name="guideline_upload", sync_to_thread=True, request_max_body_size=UPLOAD_BODY_LIMIT)
def upload(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
           settings: AppSettings, form: SubmittedForm) -> Response[Any]:
    return GUIDELINE_UPLOAD.upload(Call(request, db, user, actor, settings), form)


@post("/guidelines/upload/{upload_token:str}/confirm", name="guideline_upload_confirm", sync_to_thread=True)
def upload_confirm(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                   settings: AppSettings, upload_token: FromPath[str]) -> Response[Any]:
    return GUIDELINE_UPLOAD.confirm(Call(request, db, user, actor, settings), upload_token)


router = Router(path="/", include_in_schema=False, route_handlers=[
    catalogue_index, search, upload_form, upload, upload_confirm, document_page, flags_page, direction_page,
])
