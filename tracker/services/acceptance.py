"""Acceptance applications (验收申请, DESIGN §2 Acceptance): the window, the figures a project's funding rule will
need, the grantee's self-assessment and the application itself.

A project applies once, within its window (from `acceptance_open_days` before the end date, or the extended end
date, to `acceptance_close_months` after it), with its final report (结题报告: the last period's report) submitted.
What the application declares is the grantee's word; the committee checks it and the certificate
(tracker.services.verdicts) holds what was certified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from indicators.assessment import readiness as readiness_model
from indicators.assessment.progress import is_per_year
from indicators.deadlines import add_months
from indicators.rules import funding
from tracker import clock
from tracker.files.evidence import CheckedFile
from tracker.files.store import EvidenceStore
from tracker.models import (
    FIGURE_LABELS,
    AcceptanceApplication,
    ApplicationEvidence,
    ApplicationFigure,
    ApplicationTarget,
    Project,
    ProjectStatus,
    Report,
    ReportStatus,
)
from tracker.models.acceptance import EVIDENCE_KINDS
from tracker.services import audit, monitoring, outbox
from tracker.services.audit import Actor
from tracker.services.business_settings import BusinessSettings
from tracker.services.projects import current_targets
from tracker.services.reports import project_progress, store_file

# Statuses from which a project may apply: it still runs.
MAY_APPLY = frozenset({ProjectStatus.ACTIVE, ProjectStatus.EXTENDED})
WAN = Decimal(10_000)
MAX_WAN = Decimal(10) ** 8  # 1万亿元: anything above is a typing slip
MAX_TEXT = 5000
MAX_EVIDENCE = 20
# The figures every application and certificate offers (DESIGN §2), needed or not by the rule.
STANDARD_FIGURES = ("certified_self_funding", "total_investment")
# Acceptance-window reminders still waiting to leave are skipped once the project has applied.
APPLIED = "项目已申请验收"


@dataclass
class AcceptanceProblems(Exception):
    """What is wrong with an acceptance form, field → message in Chinese; nothing was written."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "；".join(self.errors.values())


# --- the window -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    opens: date
    closes: date

    def state(self, today: date) -> str:
        """"before", "open" or "closed"."""
        if today < self.opens:
            return "before"
        return "open" if today <= self.closes else "closed"


def window_of(project: Project, rules: BusinessSettings) -> Window:
    """The acceptance window around the project's (possibly extended) end date."""
    return Window(project.end_date - timedelta(days=rules.acceptance_open_days),
                  add_months(project.end_date, rules.acceptance_close_months))


# --- the figures the funding rule needs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureNeed:
    key: str
    label: str
    required: bool
    why: str  # the rule's words that need it, or why it is asked anyway


def funding_rule_of(project: Project) -> funding.FundingRule | None:
    stored = (project.funding_rule or {}).get("rule")
    if not stored:
        return None
    try:
        return funding.from_dict(stored)
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return None


def is_post_subsidy(project: Project) -> bool:
    """后补助 or 里程碑式补助: paid after acceptance from the certificate's figures (the disbursement's input)."""
    mode = project.funding_mode or ""
    if mode:
        return "后补助" in mode or "里程碑" in mode
    rule = funding_rule_of(project)
    return rule is not None and bool(rule.modes & {funding.FundingMode.POST, funding.FundingMode.MILESTONE})


def figures_needed(project: Project) -> list[FigureNeed]:
    """The certificate figures the project's own funding rule (copied at award) will compute with, each with the
    reason in the rule's words, then the standard figures as optional."""
    needs: dict[str, FigureNeed] = {}
    rule = funding_rule_of(project)
    if rule is not None and is_post_subsidy(project):
        shares = [s for s in (rule.formula, *rule.relative_caps, *rule.relative_floors) if s is not None]
        for key in rule.required_figures:
            if key in ("approved_funding", "other"):
                continue  # the award's own figure, or a base the system cannot name: the officer settles it
            share = next((s for s in shares if s.base == key), None)
            why = (f"补助按“{share.base_text or funding.BASES.get(key, key)}”计算（{funding.describe(rule)}）"
                   if share is not None else "须在企业支付合作款项后拨付")
            needs[key] = FigureNeed(key, _label(key), True, why)
        if rule.matching_ratio is not None and "certified_self_funding" not in needs:
            needs["certified_self_funding"] = FigureNeed(
                "certified_self_funding", _label("certified_self_funding"), True,
                f"配套经费与财政经费之比不得低于{_ratio(rule.matching_ratio)}:1")
        if rule.min_total_investment is not None and "total_investment" not in needs:
            needs["total_investment"] = FigureNeed(
                "total_investment", _label("total_investment"), True,
                f"项目总投入不得少于{_wan_text(rule.min_total_investment)}万元")
    for key in STANDARD_FIGURES:
        if key not in needs:
            needs[key] = FigureNeed(key, _label(key), False, "验收证书载明的经费数据（选填）")
    return list(needs.values())


def _label(key: str) -> str:
    return FIGURE_LABELS.get(key) or funding.BASES.get(key, key)


def _ratio(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _wan_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def parse_figures(needs: list[FigureNeed], typed: Mapping[str, str], errors: dict[str, str], prefix: str
                  ) -> dict[str, Decimal]:
    """Typed figures in 万元 → yuan, rounded to the fen; a required one missing, or any negative or not a number,
    is a field error (`prefix` + key)."""
    found: dict[str, Decimal] = {}
    for need in needs:
        name = prefix + need.key
        text = (typed.get(need.key) or "").strip().replace(",", "").replace("，", "")
        if not text:
            if need.required:
                errors[name] = f"请填写“{need.label}”（万元）：{need.why}"
            continue
        try:
            wan = Decimal(text)
        except InvalidOperation:
            errors[name] = f"“{need.label}”应为数字（万元），收到“{text[:20]}”"
            continue
        if not wan.is_finite() or wan < 0:
            errors[name] = f"“{need.label}”不能为负数"
        elif wan > MAX_WAN:
            errors[name] = f"“{need.label}”超过1万亿元，请检查单位（万元）"
        else:
            found[need.key] = (wan * WAN).quantize(Decimal("0.01"))
    return found


# --- the application ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimInput:
    """The grantee's self-assessment of one target, as typed."""

    value: str = ""  # achieved value (cumulative, or the best measured)
    done: str = ""  # deliverables: "1" done
    claim: str = ""  # "met" / "not_met" / "" (for the experts)
    note: str = ""


@dataclass(frozen=True)
class EvidenceUpload:
    kind: str
    new_file: CheckedFile
    figure_key: str = ""
    description: str = ""


@dataclass(frozen=True)
class ApplicationInput:
    summary: str
    targets: dict[int, ClaimInput]  # target id → typed
    figures: dict[str, str]  # figure key → 万元 as typed
    evidence: list[EvidenceUpload] = field(default_factory=list)


def application_of(db: Session, project: Project) -> AcceptanceApplication | None:
    return db.scalar(select(AcceptanceApplication).where(AcceptanceApplication.project_id == project.id).options(
        selectinload(AcceptanceApplication.targets), selectinload(AcceptanceApplication.figures),
        selectinload(AcceptanceApplication.evidence).selectinload(ApplicationEvidence.file)))


def final_report(db: Session, project: Project) -> Report | None:
    """The last period's report (结题报告), if one was opened."""
    return db.scalar(select(Report).where(Report.project_id == project.id, Report.is_final.is_(True))
                     .order_by(Report.period_index.desc()).limit(1))


def refusal(db: Session, project: Project, rules: BusinessSettings, today: date) -> list[str]:
    """Why the project cannot apply today (empty: it can), in words for the grantee."""
    reasons = []
    existing = db.scalar(select(AcceptanceApplication.submitted_at)
                         .where(AcceptanceApplication.project_id == project.id))
    if existing is not None:
        return [f"该项目已于{existing.astimezone(clock.LOCAL_TZ):%Y年%m月%d日}提交验收申请，不能重复申请"]
    if project.status not in MAY_APPLY:
        return [f"项目当前状态为“{project.status_label}”，不能申请验收"]
    target_set = current_targets(project) if project.target_sets else None
    if target_set is None or not target_set.confirmed:
        reasons.append("任务书尚未确认，不能申请验收")
    elif not target_set.targets:
        reasons.append("任务书没有考核指标，请联系项目管理专员补充后再申请验收")
    window = window_of(project, rules)
    state = window.state(today)
    if state == "before":
        reasons.append(f"验收申请自{window.opens:%Y年%m月%d日}起开放（结束日期前{rules.acceptance_open_days}天）")
    elif state == "closed":
        reasons.append(f"验收申请已于{window.closes:%Y年%m月%d日}截止，请联系项目管理专员")
    report = final_report(db, project)
    if report is None or report.status not in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
        if report is not None and report.status == ReportStatus.RETURNED:
            reasons.append("结题报告（最后一期进展报告）已被退回，请修改后重新提交")
        else:
            reasons.append("结题报告（最后一期进展报告）尚未提交")
    return reasons


@dataclass(frozen=True)
class TargetDefault:
    """What the application form shows for one target before the grantee changes it."""

    value: Decimal | None
    done: bool
    claim: str  # met / not_met / ""
    state_label: str
    reason: str


def self_assessment_defaults(db: Session, project: Project) -> dict[int, TargetDefault]:
    """Target id → the accepted values and readiness's judgement, the self-assessment's starting point."""
    target_set = current_targets(project)
    progressed = project_progress(db, project)
    assessment = monitoring.assessment_of(db, project)
    states = {row["position"]: row for row in ((assessment.readiness or {}).get("targets") or [])} \
        if assessment is not None else {}
    found = {}
    for t in target_set.targets:
        p = progressed.get(t.position)
        state = states.get(t.position, {})
        claim = {"met": "met", "not_met": "not_met"}.get(state.get("state", ""), "")
        value = None
        if p is not None:
            value = max(p.by_year.values()) if p.by_year and is_per_year(t.unit, t.kind) else p.current
        found[t.id] = TargetDefault(value, bool(p and p.done), claim,
                                    readiness_model.TARGET_LABELS.get(state.get("state", ""), ""),
                                    state.get("reason", ""))
    return found


def apply(db: Session, project: Project, data: ApplicationInput, *, actor: Actor, now: datetime, today: date,
          rules: BusinessSettings, store: EvidenceStore) -> AcceptanceApplication:
    """The grantee applies for acceptance; raises AcceptanceProblems (nothing written) when it may not or the form
    is incomplete."""
    reasons = refusal(db, project, rules, today)
    if reasons:
        raise AcceptanceProblems({"application": "；".join(reasons)})
    target_set = current_targets(project)
    errors: dict[str, str] = {}
    summary = data.summary.strip()
    if not summary:
        errors["summary"] = "请填写项目完成情况自评总结"
    elif len(summary) > MAX_TEXT:
        errors["summary"] = f"自评总结不超过{MAX_TEXT}字"
    claims = _claims(target_set.targets, data.targets, errors)
    needs = figures_needed(project)
    figures = parse_figures(needs, data.figures, errors, "figure_")
    if len(data.evidence) > MAX_EVIDENCE:
        errors["evidence"] = f"佐证材料最多{MAX_EVIDENCE}份"
    for i, item in enumerate(data.evidence):
        if item.kind not in EVIDENCE_KINDS:
            errors[f"evidence_{i}"] = "请选择材料类型"
        if item.figure_key and item.figure_key not in {n.key for n in needs}:
            errors[f"evidence_{i}"] = "材料对应的经费数据不在本申请中"
    if any(n.required for n in needs) and not data.evidence:
        errors["evidence"] = "请上传专项审计报告或发票等经费佐证材料"
    if errors:
        raise AcceptanceProblems(errors)

    report = final_report(db, project)
    before = project.status
    project.status = ProjectStatus.ACCEPTANCE_APPLIED.value
    project.version += 1
    # Readiness on today's accepted values, and an assessment that no longer waits for this application.
    monitoring.refresh_project(db, project, now=now)
    assessment = monitoring.assessment_of(db, project)
    application = AcceptanceApplication(
        project_id=project.id, final_report_id=report.id, target_set_id=target_set.id, summary=summary,
        readiness=assessment.readiness if assessment is not None else None, submitted_at=now,
        submitted_by_id=actor.user_id)
    application.targets = [ApplicationTarget(target_id=t.id, value=claims[t.id][0], done=claims[t.id][1],
                                             claimed_met=claims[t.id][2], note=claims[t.id][3])
                           for t in target_set.targets]
    application.figures = [ApplicationFigure(key=key, amount=amount) for key, amount in figures.items()]
    application.evidence = [
        ApplicationEvidence(position=i, kind=item.kind, figure_key=item.figure_key or None,
                            description=item.description.strip()[:500],
                            file_id=store_file(db, project, item.new_file, store, actor, now).id)
        for i, item in enumerate(data.evidence)]
    db.add(application)
    db.flush()
    for kind in ("acceptance-open", "acceptance-closing"):
        outbox.skip_prefix(db, f"{kind}:{project.id}:", reason=APPLIED)
    audit.record(db, actor, "acceptance_applied", now=now, object_type="project", object_id=project.id,
                 before={"status": before},
                 after={"status": project.status, "application": application.id,
                        "figures": {k: str(v) for k, v in figures.items()},
                        "evidence": [e.file_id for e in application.evidence]})
    return application


def _claims(targets: list[Any], typed: Mapping[int, ClaimInput], errors: dict[str, str]
            ) -> dict[int, tuple[Decimal | None, bool | None, bool | None, str]]:
    out = {}
    for t in targets:
        entry = typed.get(t.id, ClaimInput())
        value: Decimal | None = None
        text = entry.value.strip().replace(",", "")
        if text and t.kind != "deliverable":
            try:
                value = Decimal(text)
                if not value.is_finite() or abs(value) >= Decimal(10) ** 17:
                    raise InvalidOperation
            except InvalidOperation:
                errors[f"t{t.id}_value"] = f"“{t.metric}”的完成值应为数字"
        done = entry.done == "1" if t.kind == "deliverable" else None
        if entry.claim not in ("met", "not_met", ""):
            errors[f"t{t.id}_claim"] = "自评结论只能是“达到”或“未达到”"
        claimed = {"met": True, "not_met": False}.get(entry.claim)
        if len(entry.note) > 2000:
            errors[f"t{t.id}_note"] = "说明不超过2000字"
        out[t.id] = (value, done, claimed, entry.note.strip())
    return out

