"""Post-subsidy disbursements (后补助拨付, DESIGN §2 Disbursement, G23).

When a post-subsidy project's verdict is 通过, its disbursement is created in the verdict's transaction; a passed
milestone check of a 里程碑式补助 project creates that milestone's tranche. The `disbursements` sweep creates any
that are missing (a crash, an older database). Each is computed by the pure `compute_disbursement` from the
project's own funding rule (copied at award) and the certificate's figures, then held to the rule's other limits
(matching ratio, minimum total investment) and to what is left of the award. 受阻 (blocked) says why; the officer
completes what is missing (a figure through a corrected verdict, the amount for bounds without a rate, an approved
exception); finance approves once, or returns it to the officer, and marks it paid once with its voucher number.

A superseded verdict or milestone check voids its row, or, when it was paid, leaves it paid with the reversal finance
must make; the new basis then creates a new row. Exactly once: a partial unique index keeps one live row per
(project, tranche), and every insert runs in a savepoint that yields to a row another process wrote first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from indicators.rules import funding
from tracker.models import (
    AcceptanceVerdict,
    AuditEntry,
    Disbursement,
    DisbursementStatus,
    MilestoneCheck,
    Project,
    ProjectChange,
    ProjectStatus,
    Role,
    User,
    Verdict,
)
from tracker.models.disbursements import LIVE, PROJECT_TRANCHE, milestone_tranche
from tracker.services import audit, outbox
from tracker.services.acceptance import AcceptanceProblems, funding_rule_of, is_post_subsidy
from tracker.services.audit import Actor
from tracker.services.projects import current_targets
from tracker.services.reminders import recipients_of

WAN = Decimal(10_000)
YUAN = Decimal(1)
S = DisbursementStatus
REFUSED_BY_VERDICT = {Verdict.FAILED: "验收不通过", Verdict.CONCLUDED: "项目结题（未通过验收）",
                      Verdict.TERMINATED: "项目终止"}


def _wan(yuan: Decimal) -> Decimal:
    return yuan / WAN


def _yuan(wan: Decimal) -> Decimal:
    return (wan * WAN).quantize(YUAN, rounding=ROUND_HALF_UP)


def _fmt(wan: Decimal | None) -> str:
    if wan is None:
        return ""
    text = format(wan.quantize(Decimal("0.0001")).normalize(), "f")
    return text


# --- computing one tranche -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # blocked / pending / refused
    amount: Decimal | None  # yuan
    message: str
    computation: dict[str, Any]


def _already_committed(db: Session, project: Project, *, besides: int | None = None) -> Decimal:
    """What the project's other live tranches owe or paid, in yuan (blocked and refused ones owe nothing yet)."""
    query = select(func.coalesce(func.sum(Disbursement.amount), 0)).where(
        Disbursement.project_id == project.id,
        Disbursement.status.in_([S.PENDING, S.RETURNED, S.APPROVED, S.PAID]))
    if besides is not None:
        query = query.where(Disbursement.id != besides)
    return Decimal(db.scalar(query) or 0)


def _limits(rule: funding.FundingRule, project: Project, figures: dict[str, Decimal], steps: list[str]
            ) -> str | None:
    """The rule's limits besides the amount (matching ratio, minimum total investment): the refusal in words, or
    None when they hold (or no figure can say)."""
    fiscal = _wan(project.fiscal_funding)
    ratio = rule.matching_ratio
    if ratio is not None:
        own = figures.get("certified_self_funding")
        if own is None:
            return "验收证书缺少“核定的自筹经费”，无法核对配套比例"
        needed = ratio * fiscal
        steps.append(f"配套比例：核定自筹经费{_fmt(own)}万元，财政资助{_fmt(fiscal)}万元的{_fmt(ratio)}倍为"
                     f"{_fmt(needed)}万元")
        if own < needed:
            return (f"核定的自筹经费{_fmt(own)}万元低于财政资助{_fmt(fiscal)}万元的{_fmt(ratio)}倍（应不少于"
                    f"{_fmt(needed)}万元），不符合配套比例要求")
    if rule.min_total_investment is not None:
        total = figures.get("total_investment")
        if total is None:
            return "验收证书缺少“项目总投入”，无法核对最低总投入要求"
        steps.append(f"最低总投入：{_fmt(rule.min_total_investment)}万元，核定总投入{_fmt(total)}万元")
        if total < rule.min_total_investment:
            return f"核定的项目总投入{_fmt(total)}万元低于规定的{_fmt(rule.min_total_investment)}万元"
    return None


def compute(db: Session, project: Project, tranche: str, figures_yuan: dict[str, Decimal], *,
            officer_amount: Decimal | None = None, exception: bool = False,
            milestone_amount: Decimal | None = None, row_id: int | None = None) -> Outcome:
    """One tranche's amount and state from the project's own rule and the certificate's figures (yuan in, yuan out)."""
    stored = (project.funding_rule or {}).get("rule")
    rule = funding_rule_of(project)
    figures = {k: _wan(v) for k, v in figures_yuan.items()}
    record: dict[str, Any] = {"rule": stored, "rule_text": (project.funding_rule or {}).get("description", ""),
                              "figures": {k: _fmt(v) for k, v in figures.items()}, "steps": []}
    if rule is None:
        return Outcome(S.BLOCKED, None, "项目没有可读的资助规则，请项目管理专员核定补助金额", record)
    steps: list[str] = []
    if milestone_amount is not None:
        # A milestone pays the task book's amount, the rule's cap on the project's total kept across tranches; the
        # certificate's limits (matching, total investment) are for the acceptance at the end.
        amount_wan: Decimal | None = _wan(milestone_amount)
        steps.append(f"任务书里程碑金额{_fmt(amount_wan)}万元")
        cap = rule.bounds.cap
        committed = _wan(_already_committed(db, project, besides=row_id))
        if cap is not None and committed + amount_wan > cap:
            amount_wan = max(cap - committed, Decimal(0))
            steps.append(f"累计不超过规定上限{_fmt(cap)}万元，本期按{_fmt(amount_wan)}万元")
        record.update(base=None, base_value=None, rate=None, floor=None, cap=_fmt(cap) if cap is not None else None,
                      clamped=None, officer_enters_amount=False)
        refusal = None
    else:
        # (`exception` is an approved exception to the limits below, not the rule's higher exception ceiling.)
        calc = funding.compute_disbursement(rule, figures, _wan(officer_amount) if officer_amount is not None else None)
        steps.extend(calc.steps)
        amount_wan = calc.amount
        record.update(base=rule.formula.base if rule.formula else None,
                      base_value=_fmt(figures.get(rule.formula.base)) if rule.formula else None,
                      rate=str(rule.formula.rate) if rule.formula else None,
                      floor=_fmt(calc.floor) if calc.floor is not None else None,
                      cap=_fmt(calc.cap) if calc.cap is not None else None, clamped=calc.clamped,
                      officer_enters_amount=rule.officer_enters_amount)
        if calc.blocked or amount_wan is None:
            record["steps"] = steps
            return Outcome(S.BLOCKED, None, calc.message, record)
        refusal = None if exception else _limits(rule, project, figures, steps)
    if exception:
        steps.append("经批准的例外：不受配套比例和最低总投入限制")
    if refusal is not None:
        record["steps"] = steps
        return Outcome(S.BLOCKED, None, refusal, record)
    # Never more than the award: what the other tranches owe or paid comes off the fiscal funding.
    left = project.fiscal_funding - _already_committed(db, project, besides=row_id)
    amount = _yuan(amount_wan)
    if amount > left:
        steps.append(f"累计拨付不超过财政资助{_fmt(_wan(project.fiscal_funding))}万元，本期按剩余"
                     f"{_fmt(_wan(max(left, Decimal(0))))}万元")
        amount = max(left, Decimal(0))
    record["steps"] = steps
    record["amount_wan"] = _fmt(_wan(amount))
    return Outcome(S.PENDING, amount, f"补助金额{_fmt(_wan(amount))}万元", record)


# --- creating tranches -----------------------------------------------------------------------------------------


def live_row(db: Session, project: Project, tranche: str) -> Disbursement | None:
    return db.scalar(select(Disbursement).where(Disbursement.project_id == project.id, Disbursement.tranche == tranche,
                                                Disbursement.status.in_(LIVE)))


def _insert(db: Session, project: Project, tranche: str, basis: str, outcome: Outcome, *, actor: Actor,
            now: datetime) -> Disbursement | None:
    """The tranche's row, unless another process (or an earlier run) has written it: then None."""
    row = Disbursement(project_id=project.id, tranche=tranche, basis=basis, status=outcome.status,
                       amount=outcome.amount, message=outcome.message, computation=outcome.computation,
                       created_at=now, updated_at=now)
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        return None
    audit.record(db, actor, "disbursement_created", now=now, object_type="disbursement", object_id=row.id,
                 after={"project": project.code, "tranche": tranche, "basis": basis, "status": row.status,
                        "amount": str(row.amount) if row.amount is not None else None, "message": row.message})
    if row.status == S.PENDING:
        _mail_finance(db, row, project, now)
    return row


def _retire(db: Session, project: Project, tranche: str, reason: str, *, actor: Actor, now: datetime) -> None:
    """The live row of a tranche whose basis was superseded: void, or when paid, kept with its reversal due."""
    row = live_row(db, project, tranche)
    if row is None:
        return
    before = row.status
    if row.status == S.PAID:
        row.reversal_due = True
        row.void_reason = reason
    else:
        row.status = S.VOID
        row.void_reason = reason
    row.updated_at = now
    db.flush()
    audit.record(db, actor, "disbursement_voided" if row.status == S.VOID else "disbursement_reversal_due", now=now,
                 object_type="disbursement", object_id=row.id, before={"status": before},
                 after={"status": row.status, "reversal_due": row.reversal_due, "reason": reason[:200]})


def on_verdict(db: Session, verdict: AcceptanceVerdict, project: Project, *, superseded: bool, actor: Actor,
               now: datetime) -> Disbursement | None:
    """The project tranche a verdict creates (通过 of a post-subsidy project), or the refusal it records; called by
    the verdict service in its transaction."""
    if not is_post_subsidy(project):
        return None
    if superseded:
        _retire(db, project, PROJECT_TRANCHE, f"验收结论已更正：{verdict.reason}", actor=actor, now=now)
    return _for_verdict(db, project, verdict, actor=actor, now=now)


def _for_verdict(db: Session, project: Project, verdict: AcceptanceVerdict, *, actor: Actor, now: datetime
                 ) -> Disbursement | None:
    basis = f"verdict:{verdict.id}"
    if verdict.verdict != Verdict.PASSED:
        rule = funding_rule_of(project)
        words = REFUSED_BY_VERDICT.get(Verdict(verdict.verdict), "未通过验收")
        forfeit = rule is not None and rule.forfeit
        rule_words = "按资助规则“验收不通过或终止结题，不拨付”" if forfeit else "后补助须通过验收"
        outcome = Outcome(S.REFUSED, None, f"{words}，{rule_words}，不予拨付", {"steps": [], "figures": {}})
        return _insert(db, project, PROJECT_TRANCHE, basis, outcome, actor=actor, now=now)
    if project.is_milestone_funded:
        return None  # paid per passed milestone
    figures = {f.key: f.amount for f in verdict.figures}
    return _insert(db, project, PROJECT_TRANCHE, basis, compute(db, project, PROJECT_TRANCHE, figures),
                   actor=actor, now=now)


def on_milestone_check(db: Session, check: MilestoneCheck, project: Project, *, superseded: bool, actor: Actor,
                       now: datetime) -> Disbursement | None:
    """A passed milestone check creates that milestone's tranche (the task book's amount, within the rule's cap)."""
    tranche = milestone_tranche(check.position)
    if superseded:
        _retire(db, project, tranche, f"里程碑核查结论已更正：{check.reason}", actor=actor, now=now)
    if not check.passed:
        return None
    return _for_milestone(db, project, check, actor=actor, now=now)


def _for_milestone(db: Session, project: Project, check: MilestoneCheck, *, actor: Actor, now: datetime
                   ) -> Disbursement | None:
    milestone = next((m for m in current_targets(project).milestones if m.position == check.position), None)
    amount = milestone.amount if milestone is not None else check.milestone.amount
    outcome = compute(db, project, milestone_tranche(check.position), {}, milestone_amount=amount)
    return _insert(db, project, milestone_tranche(check.position), f"milestone_check:{check.id}", outcome,
                   actor=actor, now=now)


def on_termination(db: Session, project: Project, change_id: int, *, actor: Actor, now: datetime
                   ) -> Disbursement | None:
    """A post-subsidy project terminated (终止) before acceptance: the refusal is recorded, with the reason."""
    if not is_post_subsidy(project) or live_row(db, project, PROJECT_TRANCHE) is not None:
        return None
    outcome = Outcome(S.REFUSED, None, "项目终止，后补助须通过验收，不予拨付", {"steps": [], "figures": {}})
    return _insert(db, project, PROJECT_TRANCHE, f"termination:{change_id}", outcome, actor=actor, now=now)


def sweep(db: Session, now: datetime) -> dict[str, int]:
    """The safety net: every current passed verdict of a post-subsidy project, and every current passed milestone
    check, has its live row; create what is missing (the `disbursements` job)."""
    actor = Actor.system("disbursements")
    counts = {"created": 0, "looked_at": 0}
    if db.get_bind().dialect.name == "postgresql":
        # Decide on what is committed: queue behind the other writers before reading, as SQLite's BEGIN IMMEDIATE
        # does. (Writers queue at their first write — the data generation's row, then the audit chain's lock —
        # and a sweep that read before a milestone or a correction committed would go above the award, or create
        # the row of a superseded verdict; tests/service/test_disbursement_crashes.py forces both.)
        db.execute(text("SELECT value FROM data_generation WHERE id = 1 FOR UPDATE"))
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext('tracker-audit'))"))
    newest = (select(AcceptanceVerdict.project_id, func.max(AcceptanceVerdict.id).label("id"))
              .group_by(AcceptanceVerdict.project_id).subquery())
    verdicts = db.scalars(select(AcceptanceVerdict).join(newest, newest.c.id == AcceptanceVerdict.id)
                          .order_by(AcceptanceVerdict.id)).all()
    for verdict in verdicts:
        project = db.get(Project, verdict.project_id)
        if not is_post_subsidy(project) or (verdict.verdict == Verdict.PASSED and project.is_milestone_funded):
            continue
        counts["looked_at"] += 1
        if live_row(db, project, PROJECT_TRANCHE) is None and _for_verdict(db, project, verdict, actor=actor,
                                                                           now=now) is not None:
            counts["created"] += 1
    terminated = db.execute(select(ProjectChange.id, ProjectChange.project_id)
                            .join(Project, Project.id == ProjectChange.project_id)
                            .where(ProjectChange.kind == "termination",
                                   Project.status == ProjectStatus.TERMINATED.value)).all()
    for change_id, project_id in terminated:
        project = db.get(Project, project_id)
        if on_termination(db, project, change_id, actor=actor, now=now) is not None:
            counts["created"] += 1
    newest_checks = (select(MilestoneCheck.project_id, MilestoneCheck.position,
                            func.max(MilestoneCheck.id).label("id"))
                     .group_by(MilestoneCheck.project_id, MilestoneCheck.position).subquery())
    checks = db.scalars(select(MilestoneCheck).join(newest_checks, newest_checks.c.id == MilestoneCheck.id)
                        .where(MilestoneCheck.passed.is_(True)).order_by(MilestoneCheck.id)).all()
    for check in checks:
        project = db.get(Project, check.project_id)
        counts["looked_at"] += 1
        if live_row(db, project, milestone_tranche(check.position)) is None and _for_milestone(
                db, project, check, actor=actor, now=now) is not None:
            counts["created"] += 1
    return counts


# --- the officer's part: an amount, an exception, a returned one back ---------------------------------------


def _certificate(db: Session, row: Disbursement) -> dict[str, Decimal]:
    if not row.basis.startswith("verdict:"):
        return {}
    verdict = db.get(AcceptanceVerdict, int(row.basis.split(":")[1]))
    return {f.key: f.amount for f in verdict.figures} if verdict is not None else {}


def _recompute(db: Session, row: Disbursement, *, officer_amount: Decimal | None = None,
               exception: bool | None = None) -> Outcome:
    project = row.project
    if row.tranche == PROJECT_TRANCHE:
        return compute(db, project, row.tranche, _certificate(db, row),
                       officer_amount=row.officer_amount if officer_amount is None else officer_amount,
                       exception=row.exception if exception is None else exception, row_id=row.id)
    check = db.get(MilestoneCheck, int(row.basis.split(":")[1]))
    milestone = next((m for m in current_targets(project).milestones if m.position == check.position), None)
    return compute(db, project, row.tranche, {}, milestone_amount=milestone.amount if milestone else None,
                   row_id=row.id)


def _apply(row: Disbursement, outcome: Outcome, now: datetime) -> None:
    row.status, row.amount, row.message, row.computation = outcome.status, outcome.amount, outcome.message, \
        outcome.computation
    row.updated_at = now


def parse_wan(text: str, field: str) -> Decimal:
    cleaned = (text or "").strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AcceptanceProblems({field: "请填写金额（万元，数字）"}) from None
    if not value.is_finite() or value < 0:
        raise AcceptanceProblems({field: "金额不能为负数"})
    return _yuan(value)


def officer_update(db: Session, row: Disbursement, *, amount: str = "", exception_reason: str = "", actor: Actor,
                   now: datetime) -> Disbursement:
    """The officer enters the amount (bounds without a rate), records an approved exception to a limit, or sends a
    returned row back to finance; the row is computed again. Raises AcceptanceProblems (nothing written)."""
    if row.status not in (S.BLOCKED, S.RETURNED):
        raise AcceptanceProblems({"form": f"该拨付当前为“{row.status_label}”，不能修改"})
    before = {"status": row.status, "amount": str(row.amount) if row.amount is not None else None}
    entered = parse_wan(amount, "amount") if amount.strip() else None
    reason = exception_reason.strip()
    outcome = _recompute(db, row, officer_amount=entered, exception=True if reason else None)
    if outcome.status == S.BLOCKED and (entered is not None or reason):  # refused with the reason, nothing kept
        raise AcceptanceProblems({"amount" if entered is not None else "exception_reason": outcome.message})
    if entered is not None:
        row.officer_amount = entered
    if reason:
        row.exception, row.exception_reason = True, reason[:2000]
    _apply(row, outcome, now)
    db.flush()
    audit.record(db, actor, "disbursement_updated", now=now, object_type="disbursement", object_id=row.id,
                 before=before, after={"status": row.status, "amount": str(row.amount) if row.amount else None,
                                       "officer_amount": str(row.officer_amount) if row.officer_amount else None,
                                       "exception": reason[:200]})
    if row.status == S.PENDING:
        _mail_finance(db, row, row.project, now)
    return row


# --- finance -----------------------------------------------------------------------------------------------------


def approve(db: Session, row: Disbursement, *, lock: int | None, actor: Actor, now: datetime) -> Disbursement:
    _expect(row, S.PENDING, "只有待审批的拨付可以审批", lock)
    row.status, row.approved_by_id, row.approved_at, row.updated_at = S.APPROVED, actor.user_id, now, now
    db.flush()
    audit.record(db, actor, "disbursement_approved", now=now, object_type="disbursement", object_id=row.id,
                 before={"status": S.PENDING}, after={"status": row.status, "amount": str(row.amount)})
    return row


def return_to_officer(db: Session, row: Disbursement, *, comment: str, lock: int | None, actor: Actor,
                      now: datetime) -> Disbursement:
    _expect(row, S.PENDING, "只有待审批的拨付可以退回", lock)
    if not comment.strip():
        raise AcceptanceProblems({"comment": "退回须写明原因"})
    row.status, row.return_comment, row.updated_at = S.RETURNED, comment.strip()[:2000], now
    db.flush()
    audit.record(db, actor, "disbursement_returned", now=now, object_type="disbursement", object_id=row.id,
                 before={"status": S.PENDING}, after={"status": row.status, "comment": comment.strip()[:200]})
    return row


def mark_paid(db: Session, row: Disbursement, *, paid_on: str, voucher_no: str, lock: int | None, actor: Actor,
              today: date, now: datetime) -> Disbursement:
    _expect(row, S.APPROVED, "只有已审批的拨付可以登记支付", lock)
    day, voucher = _payment(db, paid_on, voucher_no, today)
    row.status, row.paid_on, row.voucher_no, row.paid_by_id, row.updated_at = S.PAID, day, voucher, actor.user_id, now
    db.flush()
    audit.record(db, actor, "disbursement_paid", now=now, object_type="disbursement", object_id=row.id,
                 before={"status": S.APPROVED},
                 after={"status": row.status, "paid_on": day.isoformat(), "voucher_no": voucher,
                        "amount": str(row.amount)})
    project = row.project
    for to in recipients_of(project):
        outbox.queue_mail(db, dedupe_key=f"disbursement-paid:{row.id}:to:{to.key}", template="disbursement_paid",
                          recipient=to.address, user=to.user, project_id=project.id, now=now, context={
                              "name": to.name, "project_code": project.code, "project_title": project.title,
                              "amount_wan": _fmt(_wan(row.amount)), "paid_on": day.isoformat(),
                              "tranche": row.tranche_label, "path": f"/projects/{project.id}/acceptance"})
    return row


def record_reversal(db: Session, row: Disbursement, *, reversed_on: str, voucher_no: str, lock: int | None,
                    actor: Actor, today: date, now: datetime) -> Disbursement:
    """Finance records the reversal of a paid tranche whose basis was superseded (never a silent change)."""
    if not row.reversal_due:
        raise AcceptanceProblems({"form": "该拨付没有待冲销的款项"})
    _expect(row, S.PAID, "只有已支付的拨付可以冲销", lock)
    day, voucher = _payment(db, reversed_on, voucher_no, today)
    row.status, row.reversed_on, row.reversal_voucher_no = S.REVERSED, day, voucher
    row.reversal_due, row.updated_at = False, now
    db.flush()
    audit.record(db, actor, "disbursement_reversed", now=now, object_type="disbursement", object_id=row.id,
                 before={"status": S.PAID}, after={"status": row.status, "reversed_on": day.isoformat(),
                                                   "voucher_no": voucher, "amount": str(row.amount)})
    return row


def _expect(row: Disbursement, status: str, message: str, lock: int | None) -> None:
    if lock is not None and lock != row.lock:
        raise AcceptanceProblems({"form": "该拨付已被他人处理，请刷新页面查看最新状态"})
    if row.status != status:
        raise AcceptanceProblems({"form": f"{message}（当前为“{row.status_label}”）"})


def _payment(db: Session, day_text: str, voucher_no: str, today: date) -> tuple[date, str]:
    errors = {}
    day = None
    try:
        day = date.fromisoformat(day_text.strip())
    except ValueError:
        errors["paid_on"] = "请填写支付日期（年-月-日）"
    if day is not None and day > today:
        errors["paid_on"] = "支付日期不能晚于今天"
    voucher = voucher_no.strip()
    if not voucher:
        errors["voucher_no"] = "请填写凭证号"
    elif len(voucher) > 60:
        errors["voucher_no"] = "凭证号不超过60个字符"
    elif db.scalar(select(func.count()).select_from(Disbursement).where(
            (Disbursement.voucher_no == voucher) | (Disbursement.reversal_voucher_no == voucher))):
        errors["voucher_no"] = f"凭证号{voucher}已用于其他拨付"
    if errors:
        raise AcceptanceProblems(errors)
    return day, voucher


def _mail_finance(db: Session, row: Disbursement, project: Project, now: datetime) -> None:
    """Finance hears of a disbursement waiting for approval (each time it comes back to 待审批)."""
    users = db.scalars(select(User).where(User.role == Role.FINANCE.value, User.is_active.is_(True))).all()
    for user in users:
        if user.email:
            outbox.queue_mail(db, dedupe_key=f"disbursement-pending:{row.id}:{row.lock}:to:u{user.id}",
                              template="disbursement_pending", recipient=user.email, user=user, project_id=project.id,
                              now=now, context={"name": user.display_name or user.username,
                                                "project_code": project.code, "project_title": project.title,
                                                "amount_wan": _fmt(_wan(row.amount)), "tranche": row.tranche_label,
                                                "path": f"/disbursements/{row.id}"})


# --- reading ----------------------------------------------------------------------------------------------------


def disbursements_for(user: User | None):
    """A SELECT of the rows the user may see: finance and admin all; the officer their programmes'; the grantee
    their organisation's."""
    from tracker.services.projects import scoped_projects

    query = select(Disbursement).join(Project, Project.id == Disbursement.project_id)
    if user is None or user.role in (Role.FINANCE.value, Role.ADMIN.value):
        return query
    return query.where(Project.id.in_(scoped_projects(user).with_only_columns(Project.id)))


def of_project(db: Session, project: Project) -> Sequence[Disbursement]:
    return db.scalars(select(Disbursement).where(Disbursement.project_id == project.id)
                      .order_by(Disbursement.id)).all()


# --- pages --------------------------------------------------------------------------------------------------------
# Read-only helpers of the finance and officer pages (tracker.web.controllers.disbursements) and of the payment list.

# The queue's tabs, in the order the page shows them. 待冲销 rows are paid rows whose basis was superseded; they and
# the reversed ones have their own tab (not 已支付); 已作废 rows show under 全部 only.
QUEUE_TABS = {"pending": "待审批", "approved": "已审批待支付", "paid": "已支付", "blocked": "受阻",
              "returned": "已退回", "refused": "不予拨付", "reversal": "待冲销/已冲销", "all": "全部"}
# Work queues oldest first; the records (paid, refused, everything) newest first.
_NEWEST_FIRST = frozenset({"paid", "refused", "all"})
# What the totals add up: what is owed or paid (a voided or reversed row's amount is not).
_COUNTED = (S.PENDING, S.RETURNED, S.APPROVED, S.PAID)


@dataclass(frozen=True)
class QueueFilter:
    tab: str = "pending"  # a key of QUEUE_TABS
    programme_id: int | None = None


@dataclass(frozen=True)
class Tally:
    count: int
    total: Decimal  # yuan, of the rows that count (_COUNTED)


def _tab_of(status: str, reversal_due: bool) -> str:
    if reversal_due or status == S.REVERSED:
        return "reversal"
    return status  # "void" belongs to no tab but 全部


def _in_tab(tab: str):
    if tab == "reversal":
        return Disbursement.reversal_due.is_(True) | (Disbursement.status == S.REVERSED)
    if tab == "paid":
        return (Disbursement.status == S.PAID) & Disbursement.reversal_due.is_(False)
    if tab in QUEUE_TABS and tab != "all":
        return Disbursement.status == tab
    return None


def queue(user: User | None, filters: QueueFilter):
    """A SELECT of the user's rows in the tab and programme (no order, no paging): the queue page and its export."""
    query = disbursements_for(user)
    condition = _in_tab(filters.tab)
    if condition is not None:
        query = query.where(condition)
    if filters.programme_id is not None:
        query = query.where(Project.programme_id == filters.programme_id)
    return query


def queue_rows(db: Session, query, tab: str, *, offset: int = 0, limit: int | None = None) -> list[Disbursement]:
    """One page of the queue with each row's project, organisation and programme (one query whatever the rows)."""
    newest = tab in _NEWEST_FIRST
    order = (Disbursement.updated_at.desc(), Disbursement.id.desc()) if newest else (Disbursement.created_at,
                                                                                     Disbursement.id)
    project = contains_eager(Disbursement.project)
    return list(db.scalars(query.options(project.joinedload(Project.organisation),
                                         project.joinedload(Project.programme))
                           .order_by(*order).offset(offset).limit(limit)).unique())


def queue_tally(db: Session, query) -> Tally:
    """How many rows the query holds and what the counted ones (owed or paid) add up to, in yuan."""
    rows = query.order_by(None).subquery()
    counted = func.sum(case((rows.c.status.in_(_COUNTED), rows.c.amount), else_=None))
    count, total = db.execute(select(func.count(), func.coalesce(counted, 0)).select_from(rows)).one()
    return Tally(count, Decimal(total or 0))


def tallies(db: Session, user: User | None, programme_id: int | None = None) -> dict[str, Tally]:
    """Each tab's count and sum for this user (finance's home page and the queue's tabs), in one query."""
    query = queue(user, QueueFilter("all", programme_id))
    grouped = db.execute(query.with_only_columns(
        Disbursement.status, Disbursement.reversal_due, func.count(),
        func.coalesce(func.sum(Disbursement.amount), 0)).group_by(Disbursement.status, Disbursement.reversal_due))
    counts = dict.fromkeys(QUEUE_TABS, 0)
    totals = {tab: Decimal(0) for tab in QUEUE_TABS}
    for status, due, count, total in grouped:
        tab = _tab_of(status, bool(due))
        counted = Decimal(total or 0) if status in _COUNTED else Decimal(0)
        for key in (tab, "all"):
            if key in counts:
                counts[key] += count
                totals[key] += counted
    return {tab: Tally(counts[tab], totals[tab]) for tab in QUEUE_TABS}


def disbursement_for(db: Session, user: User | None, disbursement_id: int) -> Disbursement | None:
    """The row if the user may see it; another scope's row is None exactly like a missing one."""
    return db.scalar(disbursements_for(user).where(Disbursement.id == disbursement_id))


def trail_of(db: Session, row: Disbursement) -> Sequence[Any]:
    """The row's audit entries, oldest first: who created, completed, approved, returned, paid or reversed it."""
    return db.scalars(select(AuditEntry).where(AuditEntry.object_type == "disbursement",
                                               AuditEntry.object_id == str(row.id))
                      .order_by(AuditEntry.id)).all()


def exception_would_unblock(db: Session, row: Disbursement) -> bool:
    """Whether the row is blocked only by a limit an approved exception lifts (matching ratio, minimum total
    investment): the officer is offered the exception form then, not for a missing figure or amount."""
    if row.status != S.BLOCKED or row.tranche != PROJECT_TRANCHE:
        return False
    return _recompute(db, row, exception=True).status != S.BLOCKED
