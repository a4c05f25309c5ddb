"""Reviewing what the parser read: the queue of flagged clauses, corrections of targets and of a direction's
selection, funding and period rules. Officers correct (their assigned programmes); the admin reads."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS, OP_LABELS, OPS, check_target
from indicators.rules import funding, period, selection
from tracker import clock
from tracker.models import GuidelineClause, GuidelineNode, User
from tracker.services import guidelines as catalogue
from tracker.services import indicator_review as review
from tracker.services.accounts import AccountError
from tracker.services.labels import READING_FLAGS
from tracker.web import forms
from tracker.web.deps import CurrentUser, DbSession, PageNo, RequestActor, SubmittedForm
from tracker.web.lookups import clause_or_404, direction_or_404
from tracker.web.render import page

ReviewState = Annotated[str, QueryParameter(name="state")]  # `state` is a reserved handler argument
TARGET_FIELDS = ("category", "metric", "op", "value", "unit", "kind")
BLANK_ROWS = 2
MAX_ROWS = 12
RULE_LABELS = {"selection": "指标选择规则", "funding": "资助规则", "period": "实施期限规则"}


@get("/review", name="review_queue", sync_to_thread=True)
def queue(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, document: FromQuery[int] = 0,
          kind: FromQuery[str] = "", review_state: ReviewState = "open", page_no: PageNo = 1) -> Response[Any]:
    state = review_state if review_state in ("open", "reviewed", "all") else "open"
    kind = kind if kind in READING_FLAGS else ""  # a choice of the list, never free text
    result = review.review_queue(db, user, document_id=document or None, flag_kind=kind, state=state,
                                 page=page_no)
    effective = {c.id: review.effective(db, c) for c in result.clauses}
    return page(request, "review/queue.html", result=result, effective=effective,
                documents=catalogue.current_documents(db, user), document=document, kind=kind, state=state,
                categories=CATEGORIES, flag_kinds=list(READING_FLAGS))


def _rows(targets: list[dict[str, Any]]) -> list[dict[str, str]]:
    rows = [{k: "" if t.get(k) is None else str(t.get(k)) for k in TARGET_FIELDS} for t in targets]
    return rows + [dict.fromkeys(TARGET_FIELDS, "") for _ in range(BLANK_ROWS)]


def _clause_page(request: Request[Any, Any, Any], db: Session, user: User, clause: GuidelineClause, *,
                 status_code: int = 200,
                 rows: list[dict[str, str]] | None = None, row_errors: dict[int, dict[str, str]] | None = None,
                 errors: dict[str, str] | None = None, combine: str | None = None, reason: str = "") -> Response[Any]:
    current = review.effective(db, clause)
    node = clause.node
    lines = node.document.lines
    source = lines[clause.line - 1] if 0 < clause.line <= len(lines) else ""
    return page(
        request, "review/clause.html", status_code=status_code, clause=clause, node=node, source=source,
        current=current, history=review.corrections_of(db, clause), mark=review.review_mark(db, clause=clause),
        rows=rows if rows is not None else _rows(current.targets), row_errors=row_errors or {},
        errors=errors or {}, combine=combine or current.combine, reason=reason, categories=CATEGORIES,
        ops=[(op, OP_LABELS[op]) for op in OPS], kinds=list(KIND_LABELS.items()),
        may_edit=user.role == "officer",
    )


@get("/review/clauses/{clause_id:int}", name="review_clause", sync_to_thread=True)
def clause_detail(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, clause_id: FromPath[int]
                  ) -> Response[Any]:
    return _clause_page(request, db, user, clause_or_404(db, user, clause_id))


@post("/review/clauses/{clause_id:int}/correct", name="review_clause_correct", sync_to_thread=True)
def clause_correct(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                   form: SubmittedForm, clause_id: FromPath[int]) -> Response[Any]:
    clause = clause_or_404(db, user, clause_id)
    raw_rows = []
    for i in range(MAX_ROWS):
        row = {k: forms.text(form, f"t{i}_{k}", 200) for k in TARGET_FIELDS}
        if any(row.values()):
            raw_rows.append(row)
    targets, row_errors = [], {}
    for i, row in enumerate(raw_rows):
        edit = check_target(row)
        if edit.errors:
            row_errors[i] = edit.errors
        else:
            targets.append(edit.target)
    combine = forms.text(form, "combine", 3)
    reason = forms.text(form, "reason", 2000)
    errors = {}
    if not raw_rows:
        errors["targets"] = "至少填写一个目标；条款不设目标时请选择类别“定性成效”并写明名称"
    if row_errors or errors:
        return _clause_page(request, db, user, clause, status_code=400, rows=raw_rows + _rows([])[:BLANK_ROWS],
                            row_errors=row_errors, errors=errors, combine=combine, reason=reason)
    try:
        review.correct_clause(db, clause, targets, combine, reason, actor=actor, now=clock.now())
    except AccountError as exc:
        return _clause_page(request, db, user, clause, status_code=400, rows=raw_rows + _rows([])[:BLANK_ROWS],
                            errors={exc.field or "reason": str(exc)}, combine=combine, reason=reason)
    return Redirect(f"/review/clauses/{clause.id}", status_code=303)


@post("/review/clauses/{clause_id:int}/mark", name="review_clause_mark", sync_to_thread=True)
def clause_mark(db: DbSession, user: CurrentUser, actor: RequestActor, form: SubmittedForm, clause_id: FromPath[int]
                ) -> Response[Any]:
    clause = clause_or_404(db, user, clause_id)
    if forms.text(form, "action", 10) == "reopen":
        review.reopen(db, clause=clause, actor=actor, now=clock.now())
    else:
        review.mark_reviewed(db, clause=clause, note=forms.text(form, "note", 500), actor=actor, now=clock.now())
    return Redirect(f"/review/clauses/{clause.id}", status_code=303)


# --- rules of a direction ------------------------------------------------------------------------


def _parse_rule(kind: str, text: str, labels: list[str | None]) -> tuple[dict[str, Any] | None, str | None]:
    """The officer writes the rule as the guideline would; it is read by the same parser as the import."""
    if kind == "selection":
        parsed = selection.parse_selection_rule(text if "满足" in text else f"满足考核指标中的{text}", labels)
        if parsed.rule is None:
            return None, "无法识别这条选择规则，请按“①②⑤或①③⑤”“满足其中3项及以上”等写法填写"
        return {"rule": selection.to_dict(parsed.rule), "description": selection.describe(parsed.rule),
                "text": text}, None
    if kind == "funding":
        rule = funding.parse_funding([text])
        data = funding.to_dict(rule)
        if not rule.modes and data.get("bounds", {}) == {"floor": None, "cap": None, "fixed": None} \
                and not data.get("formula"):
            return None, "没有读出资助方式或金额，请按指南原文的写法填写（如“后补助，最高不超过50万元”）"
        return {"rule": data, "description": funding.describe(rule), "text": text}, None
    rule = period.parse_period(text)
    data = period.to_dict(rule)
    if not data.get("months"):
        return None, "没有读出实施期限，请按“不超过3年”“2年”等写法填写"
    return {"rule": data, "description": period.describe(rule), "text": text}, None


def _rules_page(request: Request[Any, Any, Any], db: Session, user: User, node: GuidelineNode, *,
                status_code: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
                ) -> Response[Any]:
    rules = []
    for kind in review.RULE_KINDS:
        rules.append({"kind": kind, "label": RULE_LABELS[kind], "parsed": getattr(node, f"{kind}_rule"),
                      "latest": review.latest_rule(db, node, kind),
                      "history": list(db.scalars(select(review.RuleCorrection).where(
                          review.RuleCorrection.node_id == node.id, review.RuleCorrection.kind == kind)
                          .order_by(review.RuleCorrection.version.desc())))})
    return page(request, "review/rules.html", status_code=status_code, node=node, rules=rules, errors=errors or {},
                values=values or {}, may_edit=user.role == "officer")


@get("/review/directions/{node_id:int}/rules", name="review_rules", sync_to_thread=True)
def rules_detail(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, node_id: FromPath[int]
                 ) -> Response[Any]:
    return _rules_page(request, db, user, direction_or_404(db, user, node_id))


@post("/review/directions/{node_id:int}/rules", name="review_rule_correct", sync_to_thread=True)
def rule_correct(request: Request[Any, Any, Any], db: DbSession, user: CurrentUser, actor: RequestActor,
                 form: SubmittedForm, node_id: FromPath[int]) -> Response[Any]:
    node = direction_or_404(db, user, node_id)
    kind = forms.text(form, "kind", 20)
    text = forms.text(form, "text", 2000)
    reason = forms.text(form, "reason", 2000)
    values = {"kind": kind, "text": text, "reason": reason}
    errors: dict[str, str] = {}
    if kind not in review.RULE_KINDS:
        errors = {"kind": "请选择要更正的规则"}
    elif not text:
        errors = {f"{kind}_text": "请填写规则"}
    else:
        data, problem = _parse_rule(kind, text, [c.label for c in node.clauses])
        if problem:
            errors = {f"{kind}_text": problem}
        else:
            try:
                review.correct_rule(db, node, kind, data, reason, actor=actor, now=clock.now())
            except AccountError as exc:
                errors = {f"{kind}_reason": str(exc)}
    if errors:
        return _rules_page(request, db, user, node, status_code=400, errors=errors, values=values)
    return Redirect(f"/review/directions/{node.id}/rules", status_code=303)


router = Router(path="/", include_in_schema=False, route_handlers=[
    queue, clause_detail, clause_correct, clause_mark, rules_detail, rule_correct,
])
