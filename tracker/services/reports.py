"""Quarterly progress reports (季度进展报告): filling, submitting, reviewing and correcting (DESIGN §2).

The workflow: a draft is saved (form, Excel file or API — the same `ReportInput` and the same checks),
submitted (its content is then frozen and hashed), and the officer accepts it or returns it with a comment.
A returned report, or a correction of an accepted one, is a new version; the accepted version keeps counting
until a newer one is accepted. Every refusal is a `ReportProblems` with Chinese messages keyed by field
(`v{position}_value`, `e{i}_identifier`, `fiscal_spent`, `narrative`, `lock`, `form`…), and nothing is written.

Values are keyed by the target's position in the task book: positions survive a new task-book version, so a
report answers the same target before and after the officer raises its value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, inspect, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from indicators.assessment import progress as progress_model
from indicators.assessment.report_values import read_value
from indicators.evidence_ids import EVIDENCE_KINDS, check_identifier
from indicators.reading.numbers import to_plain
from indicators.workdays import ReportingPeriod, quarter_label, reporting_periods, years_needed
from tracker import clock
from tracker.files.evidence import CheckedFile
from tracker.files.store import EvidenceStore
from tracker.models import (
    AcceptanceApplication,
    ApplicationEvidence,
    EvidenceFile,
    MilestoneCheck,
    Organisation,
    Project,
    ProjectStatus,
    ProjectTarget,
    Report,
    ReportEvidence,
    ReportReview,
    ReportStatus,
    ReportValue,
    ReportVersion,
    ReviewDecision,
    Role,
    TargetSet,
    User,
)
from tracker.services import audit, monitoring, outbox, reminders
from tracker.services.audit import Actor
from tracker.services.projects import current_targets, scoped_projects
from tracker.services.work_calendar import load_calendar, reporting_calendars

# Statuses in which a project still reports (the final report is due before the acceptance application is
# decided; a terminated or accepted project reports no more).
REPORTING_STATUSES = frozenset({ProjectStatus.ACTIVE, ProjectStatus.EXTENDED, ProjectStatus.ACCEPTANCE_APPLIED})
MAX_TEXT = 5000
MAX_EVIDENCE = 50
WAN = Decimal(10_000)
MAX_FUNDS_WAN = Decimal(10) ** 8  # 1万亿元: anything above is a typing slip
FUND_FIELDS = ("fiscal_received", "fiscal_spent", "self_received", "self_spent")
FUND_LABELS = {"fiscal_received": "财政资金累计到位", "fiscal_spent": "财政资金累计支出",
               "self_received": "自筹资金累计到位", "self_spent": "自筹资金累计支出"}
TEXT_FIELDS = {"narrative": "项目进展情况", "problems": "存在的问题", "next_steps": "下一步工作计划"}
# Units of level targets that can be below zero (temperatures, angles; decibels of any kind are matched by prefix).
SIGNED_UNITS = frozenset({"℃", "°"})


@dataclass(frozen=True)
class ValueInput:
    """What was typed for one target (all text, checked by the service)."""

    value: str = ""  # cumulative total to date, or the best measured value
    year_value: str = ""  # per-year targets: the current project year's value
    done: str = ""  # deliverables: "1" done, "0" or "" not yet
    explanation: str = ""  # needed when a cumulative value goes down
    note: str = ""


@dataclass(frozen=True)
class EvidenceInput:
    kind: str
    identifier: str = ""
    description: str = ""
    target: str = ""  # the target's position as text, or "" for the whole report
    file_id: int | None = None  # a file already stored for this project (kept from the draft)
    new_file: CheckedFile | None = None  # a file uploaded with this save, already checked


@dataclass(frozen=True)
class ReportInput:
    values: dict[int, ValueInput]  # target position → typed values
    evidence: list[EvidenceInput] = field(default_factory=list)
    funds: dict[str, str] = field(default_factory=dict)  # FUND_FIELDS → 万元 as typed
    narrative: str = ""
    problems: str = ""
    next_steps: str = ""
    # The draft version's edit lock the editor started from; None when there was no draft yet.
    edit_lock: int | None = None


@dataclass
class ReportProblems(Exception):
    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "；".join(self.errors.values())


CONFLICT = ("报告已被他人修改（可能在另一个窗口或由同单位的其他人）。您填写的内容仍在下方，"
            "请刷新页面查看最新版本后再保存")


# --- periods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodRow:
    """One reporting period of a project with its report (if any) and where it stands."""

    period: ReportingPeriod
    report: Report | None
    is_open: bool
    today: date
    versions: int = 0  # how many versions the report has, drafts included

    @property
    def overdue(self) -> bool:
        submitted = self.report is not None and self.report.first_submitted_at is not None
        return not submitted and self.today > self.period.due

    @property
    def on_time(self) -> bool | None:
        if self.report is None or self.report.first_submitted_at is None:
            return None
        return clock.local(self.report.first_submitted_at).date() <= self.period.due


def project_periods(db: Session, project: Project, due_days: int) -> list[ReportingPeriod]:
    """The reporting calendar (DESIGN §2): quarters with due dates on Chinese working days."""
    calendar = load_calendar(db, years_needed(project.start_date, project.end_date, due_days))
    return reporting_periods(project.start_date, project.end_date, calendar, due_days)


def period_of(db: Session, project: Project, index: int, due_days: int) -> ReportingPeriod | None:
    return next((p for p in project_periods(db, project, due_days) if p.index == index), None)


def period_is_open(project: Project, period: ReportingPeriod, today: date, open_days: int,
                   final_open_days: int = 0) -> str | None:
    """None when a report for this period may be written today, else the reason (Chinese). The final report (结题报告)
    opens `final_open_days` before the end if that is earlier: when the acceptance window opens (DESIGN §2)."""
    if period.is_final:
        open_days = max(open_days, final_open_days)
    if project.status not in REPORTING_STATUSES:
        return f"项目状态为“{project.status_label}”，不再填报进展报告"
    if not project.target_sets or not project.target_sets[-1].confirmed:
        return "任务书尚未确认，确认考核指标后才能填报进展报告"
    if today < period.end - timedelta(days=open_days):
        return f"{period.label}的报告自 {(period.end - timedelta(days=open_days)).isoformat()} 起才能填报"
    return None


def reports_of(db: Session, project: Project) -> dict[int, Report]:
    """Period index → report, with versions and reviews loaded (a fixed number of queries)."""
    rows = db.scalars(select(Report).where(Report.project_id == project.id).options(
        selectinload(Report.versions), selectinload(Report.reviews))).all()
    return {r.period_index: r for r in rows}


def schedule(db: Session, project: Project, periods: Sequence[ReportingPeriod], *, today: date,
             open_days: int, final_open_days: int = 0) -> list[PeriodRow]:
    # The reports' own columns and their version counts: a calendar needs no version's content.
    reports = {r.period_index: r for r in db.scalars(select(Report).where(Report.project_id == project.id))}
    counts = version_counts(db, list(reports.values()))
    rows = []
    for p in periods:
        report = reports.get(p.index)
        rows.append(PeriodRow(p, report, period_is_open(project, p, today, open_days, final_open_days) is None, today,
                              counts.get(report.id, 0) if report else 0))
    return rows


def visible_version(report: Report | None, *, drafts: bool) -> ReportVersion | None:
    """The version to show: the newest, or for readers other than the grantee the newest submitted one."""
    if report is None:
        return None
    if drafts:
        return report.latest
    return next((v for v in reversed(report.versions) if not v.is_draft), None)


def targets_of(project: Project, version: ReportVersion | None) -> TargetSet:
    """The targets a report answers: its version's task-book version, or for a new report the current one."""
    return version.target_set if version is not None else current_targets(project)


# --- progress from accepted versions --------------------------------------------------------------


def target_specs(target_set: TargetSet) -> list[progress_model.TargetSpec]:
    """A task book's targets for the progress model, keyed by position."""
    return [progress_model.TargetSpec(t.position, t.kind, t.op, t.value, t.unit) for t in target_set.targets]


def _accepted_reports(reports: dict[int, Report], *, before: int | None = None
                      ) -> list[progress_model.AcceptedReport]:
    out = []
    for report in reports.values():
        version = report.accepted
        if version is None or (before is not None and report.period_index >= before):
            continue
        values = {v.target.position: progress_model.ReportedValue(v.value, v.year_value, v.done)
                  for v in version.values}
        out.append(progress_model.AcceptedReport(report.period_index, report.period_end, values))
    return out


def project_progress(db: Session, project: Project, *, before: int | None = None,
                     reports: dict[int, Report] | None = None) -> dict[int, progress_model.TargetProgress]:
    """Target position → progress from the accepted versions (of periods before `before`, if given). `reports`:
    the project's reports when the caller has loaded them already (`reports_of`)."""
    reports = reports_of(db, project) if reports is None else reports
    load_versions(db, [r.accepted for r in reports.values() if r.accepted is not None])
    return progress_model.progress(target_specs(current_targets(project)),
                                   _accepted_reports(reports, before=before), project.start_date)


def load_versions(db: Session, versions: list[ReportVersion]) -> None:
    """Values and evidence of many versions in two queries (pages stay at a constant number of queries); versions
    loaded before are not read again (the report page asks for the accepted ones three times)."""
    versions = [v for v in versions if {"values", "evidence"} & inspect(v).unloaded]
    if versions:
        db.scalars(select(ReportVersion).where(ReportVersion.id.in_([v.id for v in versions])).options(
            selectinload(ReportVersion.values).selectinload(ReportValue.target),
            selectinload(ReportVersion.evidence).selectinload(ReportEvidence.file))).all()


def accepted_funds(db: Session, project: Project, *, before: int, reports: dict[int, Report] | None = None
                   ) -> dict[str, Decimal | None]:
    """The funds of the latest accepted report of an earlier period (the baseline a new report grows from)."""
    reports = reports_of(db, project) if reports is None else reports
    earlier = [r for r in reports.values() if r.accepted is not None and r.period_index < before]
    if not earlier:
        return dict.fromkeys(FUND_FIELDS)
    version = max(earlier, key=lambda r: r.period_index).accepted
    return {name: getattr(version, name) for name in FUND_FIELDS}


# --- checking what was typed ----------------------------------------------------------------------


@dataclass
class _Clean:
    values: dict[int, tuple[Decimal | None, Decimal | None, bool | None, str, str]] = field(default_factory=dict)
    evidence: list[tuple[EvidenceInput, str, str, int | None]] = field(default_factory=list)
    funds: dict[str, Decimal | None] = field(default_factory=dict)


def _check_text(data: ReportInput, errors: dict[str, str]) -> None:
    for name, label in TEXT_FIELDS.items():
        if len(getattr(data, name)) > MAX_TEXT:
            errors[name] = f"{label}不能超过{MAX_TEXT}个字符"


def _check_funds(project: Project, data: ReportInput, baseline: dict[str, Decimal | None], errors: dict[str, str],
                 clean: _Clean) -> None:
    for name in FUND_FIELDS:
        typed = (data.funds.get(name) or "").strip()
        read = read_value(typed, "万元")
        if read.error:
            errors[name] = f"{FUND_LABELS[name]}：{read.error}"
            continue
        if read.value is not None and read.value > MAX_FUNDS_WAN:
            errors[name] = f"{FUND_LABELS[name]}大得不合理，请检查单位（万元）"
            continue
        clean.funds[name] = None if read.value is None else (read.value * WAN).quantize(Decimal("0.01"))
    funds = clean.funds
    for received, spent, what in (("fiscal_received", "fiscal_spent", "财政"), ("self_received", "self_spent", "自筹")):
        if funds.get(received) is not None and funds.get(spent) is not None and funds[spent] > funds[received]:
            errors.setdefault(spent, f"{what}资金累计支出不能超过累计到位金额")
    if funds.get("fiscal_received") is not None and funds["fiscal_received"] > project.fiscal_funding:
        errors.setdefault("fiscal_received", f"财政资金累计到位不能超过立项的财政资金"
                                             f"（{_wan(project.fiscal_funding)}万元）")
    for name in FUND_FIELDS:
        before = baseline.get(name)
        if funds.get(name) is not None and before is not None and funds[name] < before:
            errors.setdefault(name, f"{FUND_LABELS[name]}是累计数，不能少于上期审核通过的{_wan(before)}万元；"
                                    "如上期填错，请先更正上期报告")


def _wan(yuan: Decimal) -> str:
    return str(to_plain((yuan / WAN).normalize()))


def _check_values(target_set: TargetSet, data: ReportInput, baseline: dict[int, progress_model.TargetProgress],
                  errors: dict[str, str], clean: _Clean) -> None:
    by_position = {t.position: t for t in target_set.targets}
    for position in data.values:
        if position not in by_position:
            errors["form"] = "报告中有任务书里不存在的考核指标，请刷新页面后重新填写"
    for target in target_set.targets:
        typed = data.values.get(target.position, ValueInput())
        key = f"v{target.position}"
        allow_negative = may_be_negative(target)
        value = year_value = None
        done: bool | None = None
        if target.kind in ("cumulative", "level"):
            read = read_value(typed.value, target.unit, allow_negative=allow_negative)
            if read.error:
                errors[f"{key}_value"] = f"{target.metric}：{read.error}"
            value = read.value
        if progress_model.is_per_year(target.unit, target.kind):
            read = read_value(typed.year_value, target.unit, allow_negative=allow_negative)
            if read.error:
                errors[f"{key}_year_value"] = f"{target.metric}（本项目年度）：{read.error}"
            year_value = read.value
        if target.kind == "deliverable":
            if typed.done not in ("", "0", "1"):
                errors[f"{key}_done"] = f"{target.metric}：请选择是否已完成"
            done = None if typed.done == "" else typed.done == "1"
        explanation = typed.explanation.strip()
        if len(explanation) > MAX_TEXT or len(typed.note) > MAX_TEXT:
            errors[f"{key}_explanation"] = f"说明不能超过{MAX_TEXT}个字符"
        before = baseline.get(target.position)
        if (target.kind == "cumulative" and value is not None and before is not None and before.current is not None
                and value < before.current and not explanation):
            errors[f"{key}_explanation"] = (f"{target.metric}是累计值，上期审核通过为{to_plain(before.current)}，"
                                            f"本期填{to_plain(value)}，减少时必须说明原因")
        clean.values[target.position] = (value, year_value, done, explanation, typed.note.strip())


def may_be_negative(target: ProjectTarget) -> bool:
    """A measured value below zero makes sense: a temperature, a level in dB (相位噪声 -145 dBc/Hz), or any level
    target whose own value is negative."""
    unit = target.unit or ""
    return target.kind == "level" and (unit in SIGNED_UNITS or unit.startswith("dB")
                                       or (target.value is not None and target.value < 0))


def _known_files(db: Session, project: Project, data: ReportInput) -> set[int]:
    """Which of the files the evidence names are the project's own."""
    return {f.id for f in db.scalars(select(EvidenceFile).where(
        EvidenceFile.project_id == project.id,
        EvidenceFile.id.in_([e.file_id for e in data.evidence if e.file_id is not None] or [-1])))}


def _check_evidence(known_files: set[int], target_set: TargetSet, data: ReportInput, errors: dict[str, str],
                    clean: _Clean, today: date) -> None:
    """The evidence rows; `known_files` are the project's files among those they name (`_known_files`)."""
    if len(data.evidence) > MAX_EVIDENCE:
        errors["evidence"] = f"一份报告最多{MAX_EVIDENCE}项佐证材料"
        return
    positions = {t.position for t in target_set.targets}
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(data.evidence):
        key = f"e{i}"
        if item.kind not in EVIDENCE_KINDS:
            errors[f"{key}_kind"] = "请选择材料类型"
            continue
        has_file = item.new_file is not None or item.file_id is not None
        checked = check_identifier(item.kind, item.identifier, today=today)
        identifier = checked.value or ""
        if checked.error and not (item.kind == "file" and has_file):
            errors[f"{key}_identifier"] = checked.error
        if item.kind == "file" and not has_file:
            errors[f"{key}_file"] = "“其他材料”需要上传文件"
        if item.file_id is not None and item.file_id not in known_files:
            errors[f"{key}_file"] = "所选文件不存在，请重新上传"
        target_position: int | None = None
        if item.target.strip():
            try:
                target_position = int(item.target)
            except ValueError:
                target_position = -1
            if target_position not in positions:
                errors[f"{key}_target"] = "所选考核指标不在任务书中"
        if len(item.description) > 500:
            errors[f"{key}_description"] = "说明不能超过500个字符"
        if identifier:
            twin = seen.get((item.kind, identifier))
            if twin is not None:
                errors[f"{key}_identifier"] = f"与第{twin + 1}项材料重复：{identifier}"
            seen[(item.kind, identifier)] = i
        clean.evidence.append((item, identifier, item.description.strip(), target_position))


def _check(db: Session, project: Project, target_set: TargetSet, period_index: int, data: ReportInput,
           today: date) -> _Clean:
    errors: dict[str, str] = {}
    clean = _Clean()
    reports = reports_of(db, project)
    baseline = project_progress(db, project, before=period_index, reports=reports)
    _check_text(data, errors)
    _check_values(target_set, data, baseline, errors, clean)
    _check_evidence(_known_files(db, project, data), target_set, data, errors, clean, today)
    _check_funds(project, data, accepted_funds(db, project, before=period_index, reports=reports), errors, clean)
    if errors:
        raise ReportProblems(errors)
    return clean


def _completeness(version: ReportVersion) -> dict[str, str]:
    """What a draft still lacks before it can be submitted."""
    errors: dict[str, str] = {}
    by_target = {v.target_id: v for v in version.values}
    evidenced = {e.target_id for e in version.evidence}
    for target in version.target_set.targets:
        value = by_target.get(target.id)
        key = f"v{target.position}"
        if target.kind == "cumulative" and not progress_model.is_per_year(target.unit, target.kind) and (
                value is None or value.value is None):
            errors[f"{key}_value"] = f"{target.metric}：请填写截至本期末的累计值（没有进展填0）"
        if progress_model.is_per_year(target.unit, target.kind) and (value is None or value.year_value is None):
            errors[f"{key}_year_value"] = f"{target.metric}：请填写本项目年度的数值"
        if target.kind == "deliverable" and value is not None and value.done and target.id not in evidenced:
            errors[f"{key}_done"] = f"{target.metric}：标记为已完成时，请至少附一项佐证材料"
    if len(version.narrative.strip()) < 10:
        errors["narrative"] = "请填写项目进展情况（至少10个字）"
    if version.fiscal_received is None or version.fiscal_spent is None:
        errors.setdefault("fiscal_received" if version.fiscal_received is None else "fiscal_spent",
                          "请填写财政资金的累计到位和支出（万元，没有填0）")
    return errors


# --- the workflow -------------------------------------------------------------------------------


def _new_report(db: Session, project: Project, period: ReportingPeriod, now: datetime) -> Report:
    report = Report(project=project, period_index=period.index, period_start=period.start, period_end=period.end,
                    is_final=period.is_final, status=ReportStatus.DRAFT, created_at=now, updated_at=now)
    db.add(report)
    return report


def _new_version(db: Session, report: Report, target_set: TargetSet, number: int, actor: Actor,
                 now: datetime) -> ReportVersion:
    version = ReportVersion(report=report, number=number, target_set=target_set, created_at=now,
                            created_by_id=actor.user_id, saved_at=now, saved_by_id=actor.user_id)
    db.add(version)
    return version


def store_file(db: Session, project: Project, checked: CheckedFile, store: EvidenceStore, actor: Actor,
                now: datetime) -> EvidenceFile:
    """One row per distinct file of a project: the same file uploaded twice is the same evidence file."""
    existing = db.scalar(select(EvidenceFile).where(EvidenceFile.project_id == project.id,
                                                    EvidenceFile.sha256 == checked.sha256))
    if existing is not None:
        return existing
    row = EvidenceFile(project_id=project.id, sha256=checked.sha256, storage_name=store.put(checked),
                       display_name=checked.display_name, media_type=checked.media_type, size=checked.size,
                       uploaded_by_id=actor.user_id, uploaded_at=now)
    db.add(row)
    db.flush()
    return row


def save_draft(db: Session, project: Project, period: ReportingPeriod, data: ReportInput, *, actor: Actor,
               now: datetime, today: date, open_days: int, store: EvidenceStore, channel: str = "form",
               final_open_days: int = 0) -> Report:
    """Create or update the draft of this period's report; raises ReportProblems (nothing written)."""
    closed = period_is_open(project, period, today, open_days, final_open_days)
    if closed:
        raise ReportProblems({"form": closed})
    report = reports_of(db, project).get(period.index)
    if report is None:
        if data.edit_lock is not None:
            raise ReportProblems({"lock": CONFLICT})
        target_set = current_targets(project)
    else:
        if not report.latest.is_draft:
            raise ReportProblems({"form": _not_editable(report)})
        if data.edit_lock is None or data.edit_lock != report.latest.edit_lock:
            raise ReportProblems({"lock": CONFLICT})
        target_set = report.latest.target_set
    # Everything is checked before the first row is added, so a refusal leaves the session untouched.
    clean = _check(db, project, target_set, period.index, data, today)
    before = _summary(report.latest) if report is not None else None
    with _one_step(db, {"lock": CONFLICT}):  # another editor may have saved (or opened this period) first
        if report is None:
            report = _new_report(db, project, period, now)
            version = _new_version(db, report, target_set, 1, actor, now)
        else:
            version = report.latest
        _write(db, project, version, target_set, clean, data, actor=actor, now=now, store=store)
        version.channel = channel
        report.updated_at = now
    audit.record(db, actor, "report_save", now=now, object_type="report", object_id=report.id, before=before,
                 after=_summary(version))
    return report


def save_and_submit(db: Session, project: Project, period: ReportingPeriod, data: ReportInput, *, actor: Actor,
                    now: datetime, today: date, open_days: int, store: EvidenceStore, channel: str = "form",
                    final_open_days: int = 0) -> Report:
    """Save the draft and submit it in one step: when the submission is refused (the draft is incomplete), the
    save is undone too, so the grantee's click changes nothing and the form comes back with their input."""
    with db.begin_nested():
        report = save_draft(db, project, period, data, actor=actor, now=now, today=today, open_days=open_days,
                            store=store, channel=channel, final_open_days=final_open_days)
        return submit(db, project, period, edit_lock=report.latest.edit_lock, actor=actor, now=now, today=today,
                      open_days=open_days, final_open_days=final_open_days)


@contextmanager
def _one_step(db: Session, conflict: dict[str, str]) -> Iterator[None]:
    """The changes made inside are one SAVEPOINT. A refusal raised inside, or a lost race found when they are
    flushed (a stale lock or a duplicate row: another editor got there first, refused as `conflict`), undoes
    them and leaves the caller's transaction usable, so the page that shows the refusal reads what is stored."""
    try:
        with db.begin_nested():
            yield
    except (StaleDataError, IntegrityError) as exc:
        raise ReportProblems(conflict) from exc


def _not_editable(report: Report) -> str:
    if report.status == ReportStatus.SUBMITTED:
        return "该报告已提交，正在等待审核，不能修改"
    return "该报告版本已提交，不能修改；如需修改，请先点击“修改并重新提交”或“更正”建立新版本"


def _write(db: Session, project: Project, version: ReportVersion, target_set: TargetSet, clean: _Clean,
           data: ReportInput, *, actor: Actor, now: datetime, store: EvidenceStore) -> None:
    by_position = {t.position: t for t in target_set.targets}
    version.saved_at = now
    version.saved_by_id = actor.user_id
    if version.id is not None:
        # The version row first: its edit lock is checked (and bumped) before any value or evidence row is
        # touched, so a stale editor fails here having changed nothing. Every save bumps it.
        flag_modified(version, "saved_at")
        db.flush()
    version.values.clear()
    version.evidence.clear()
    db.flush()  # the old rows go before the new ones arrive (unique per version and target)
    for position, (value, year_value, done, explanation, note) in clean.values.items():
        version.values.append(ReportValue(target=by_position[position], value=value, year_value=year_value,
                                          done=done, explanation=explanation, note=note[:MAX_TEXT]))
    for i, (item, identifier, description, target_position) in enumerate(clean.evidence):
        file_id = item.file_id
        if item.new_file is not None:
            file_id = store_file(db, project, item.new_file, store, actor, now).id
        version.evidence.append(ReportEvidence(
            position=i, kind=item.kind, identifier=identifier[:120], description=description[:500],
            target=by_position.get(target_position) if target_position is not None else None, file_id=file_id))
    for name in FUND_FIELDS:
        setattr(version, name, clean.funds.get(name))
    version.narrative = data.narrative.strip()
    version.problems = data.problems.strip()
    version.next_steps = data.next_steps.strip()


def submit(db: Session, project: Project, period: ReportingPeriod, *, edit_lock: int | None, actor: Actor,
           now: datetime, today: date, open_days: int, final_open_days: int = 0) -> Report:
    """Freeze the draft: its content can never change again. A second submit of the same version is refused."""
    closed = period_is_open(project, period, today, open_days, final_open_days)
    if closed:
        raise ReportProblems({"form": closed})
    report = reports_of(db, project).get(period.index)
    if report is None:
        raise ReportProblems({"form": "还没有填写本期报告，请先填写并保存"})
    version = report.latest
    if not version.is_draft:
        raise ReportProblems({"form": "该版本已提交，不能重复提交"})
    if edit_lock is None or edit_lock != version.edit_lock:
        raise ReportProblems({"lock": CONFLICT})
    load_versions(db, [version])
    missing = _completeness(version)
    if missing:
        raise ReportProblems(missing)
    with _one_step(db, {"lock": CONFLICT}):
        version.content_sha256 = content_hash(version)
        version.submitted_at = now
        version.submitted_by_id = actor.user_id
        report.status = ReportStatus.SUBMITTED
        report.first_submitted_at = report.first_submitted_at or now
        report.last_submitted_at = now
        report.updated_at = now
    audit.record(db, actor, "report_submit", now=now, object_type="report", object_id=report.id,
                 after={"version": version.number, "sha256": version.content_sha256})
    reminders.cancel_period_reminders(db, project.id, report.period_index)
    # The period is no longer overdue and counts for the reporting rate: the pages say so at once.
    monitoring.refresh_project(db, project, now=now)
    return report


def review(db: Session, report: Report, *, decision: str, comment: str, lock: int | None, actor: Actor,
           now: datetime) -> ReportReview:
    """The officer accepts the submitted version, or returns it with a comment (required)."""
    errors: dict[str, str] = {}
    if decision not in (ReviewDecision.ACCEPTED, ReviewDecision.RETURNED):
        errors["decision"] = "请选择审核结论（通过或退回）"
    comment = comment.strip()
    if decision == ReviewDecision.RETURNED and len(comment) < 2:
        errors["comment"] = "退回报告时必须填写审核意见，说明需要修改什么"
    if len(comment) > MAX_TEXT:
        errors["comment"] = f"审核意见不能超过{MAX_TEXT}个字符"
    if report.status != ReportStatus.SUBMITTED:
        errors["form"] = f"该报告当前为“{report.status_label}”，不在待审核状态"
    elif lock is None or lock != report.lock:
        errors["lock"] = "该报告已被他人处理（审核或重新提交），您的意见仍在下方，请刷新页面后再决定"
    if errors:
        raise ReportProblems(errors)
    version = report.latest
    with _one_step(db, {"lock": "该报告已被他人处理，请刷新页面"}):
        row = ReportReview(report=report, version=version, decision=decision, comment=comment,
                           decided_by_id=actor.user_id, decided_at=now)
        db.add(row)
        report.status = decision
        if decision == ReviewDecision.ACCEPTED:
            report.accepted_number = version.number
        report.updated_at = now
    audit.record(db, actor, f"report_{decision}", now=now, object_type="report", object_id=report.id,
                 after={"version": version.number, "comment": comment[:200]})
    if decision == ReviewDecision.RETURNED:
        _mail_returned(db, report, version, comment, now)
    # Accepted figures move the assessment, and a return is a concern of its own: recompute in this transaction.
    monitoring.refresh_project(db, report.project, now=now)
    return row


def _mail_returned(db: Session, report: Report, version: ReportVersion, comment: str, now: datetime) -> None:
    """The grantees of the project learn at once that their report came back, and why."""
    project = report.project
    for to in reminders.recipients_of(project):
        outbox.queue_mail(db, dedupe_key=f"returned:{version.id}:to:{to.key}", template="report_returned",
                          recipient=to.address, user=to.user, now=now, project_id=project.id,
                          context={"name": to.name, "project_code": project.code, "project_title": project.title,
                                   "period": quarter_label(report.period_start, final=report.is_final),
                                   "version": version.number, "comment": comment,
                                   "path": f"/projects/{project.id}/reports/{report.period_index}"})


def start_revision(db: Session, project: Project, report: Report, *, lock: int | None, actor: Actor,
                   now: datetime, today: date, open_days: int) -> ReportVersion:
    """A new draft version from the latest one: after a return (to resubmit) or to correct an accepted report."""
    if report.status not in (ReportStatus.RETURNED, ReportStatus.ACCEPTED):
        raise ReportProblems({"form": "只有已退回或已审核通过的报告可以建立新版本"})
    if project.status not in REPORTING_STATUSES:
        raise ReportProblems({"form": f"项目状态为“{project.status_label}”，不能再修改报告"})
    if lock is None or lock != report.lock:
        raise ReportProblems({"lock": "该报告已有新的变化，请刷新页面"})
    latest = report.latest
    load_versions(db, [latest])
    target_set = current_targets(project)
    by_position = {t.position: t for t in target_set.targets}
    with _one_step(db, {"lock": "该报告已有新的变化，请刷新页面"}):
        version = _new_version(db, report, target_set, latest.number + 1, actor, now)
        # Values follow their target by position into the current task book (a raised target keeps its value).
        for old in latest.values:
            target = by_position.get(old.target.position)
            if target is not None:
                version.values.append(ReportValue(target=target, value=old.value, year_value=old.year_value,
                                                  done=old.done, explanation=old.explanation, note=old.note))
        for old in latest.evidence:
            target = by_position.get(old.target.position) if old.target is not None else None
            version.evidence.append(ReportEvidence(position=old.position, kind=old.kind, identifier=old.identifier,
                                                   description=old.description, target=target,
                                                   file_id=old.file_id))
        for name in (*FUND_FIELDS, *TEXT_FIELDS):
            setattr(version, name, getattr(latest, name))
        report.status = ReportStatus.DRAFT
        report.updated_at = now
    audit.record(db, actor, "report_revise", now=now, object_type="report", object_id=report.id,
                 after={"version": version.number, "from": latest.number})
    return version


# --- reading --------------------------------------------------------------------------------------


def content_hash(version: ReportVersion) -> str:
    """SHA-256 of the canonical JSON of a version's content, evidence files by their own SHA-256."""
    payload = {
        "report": version.report_id, "number": version.number, "target_set": version.target_set_id,
        "narrative": version.narrative, "problems": version.problems, "next_steps": version.next_steps,
        "funds": {name: _text(getattr(version, name)) for name in FUND_FIELDS},
        "values": sorted(([v.target_id, _text(v.value), _text(v.year_value), v.done, v.explanation, v.note]
                          for v in version.values), key=lambda row: row[0]),
        "evidence": [[e.position, e.kind, e.identifier, e.description, e.target_id,
                      e.file.sha256 if e.file is not None else None] for e in version.evidence],
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(to_plain(value))


def _summary(version: ReportVersion) -> dict[str, object]:
    return {"version": version.number, "values": len(version.values), "evidence": len(version.evidence),
            "funds": {name: _text(getattr(version, name)) for name in FUND_FIELDS}}


def report_for(db: Session, user: User, report_id: int) -> Report | None:
    """The report if its project is within the user's scope; a foreign one is None like a missing one."""
    projects = scoped_projects(user).with_only_columns(Project.id)
    return db.scalar(select(Report).where(Report.id == report_id, Report.project_id.in_(projects)))


def _waiting(user: User):
    # Each waiting report's project checked by its key, rather than listing every visible project first.
    visible = scoped_projects(user).with_only_columns(literal(1)).where(Project.id == Report.project_id).exists()
    return select(Report).where(Report.status == ReportStatus.SUBMITTED, visible)


def review_queue(db: Session, user: User, *, offset: int = 0, limit: int = 200) -> list[Report]:
    """Submitted reports across the user's projects, the longest waiting first (with project and organisation)."""
    # Only what the queue shows of each project (its rules are JSON, decoded for nothing if loaded whole).
    project = selectinload(Report.project).load_only(Project.code, Project.title, Project.start_date,
                                                     Project.end_date, Project.organisation_id)
    return list(db.scalars(_waiting(user).options(project.selectinload(Project.organisation).load_only(
        Organisation.name)).order_by(Report.last_submitted_at, Report.id).offset(offset).limit(limit)))


def review_queue_size(db: Session, user: User) -> int:
    return db.scalar(select(func.count()).select_from(_waiting(user).subquery())) or 0


def version_counts(db: Session, reports: Sequence[Report]) -> dict[int, int]:
    """Report id → number of versions, in one query (a list shows "第3版" without loading every version)."""
    if not reports:
        return {}
    return dict(db.execute(select(ReportVersion.report_id, func.count()).where(
        ReportVersion.report_id.in_([r.id for r in reports])).group_by(ReportVersion.report_id)).all())


def periods_of(db: Session, reports: Sequence[Report], due_days: int) -> dict[int, ReportingPeriod | None]:
    """Report id → its reporting period, for a list of reports: one calendar read for all of them."""
    projects = {r.project_id: r.project for r in reports}
    periods = {pid: {q.index: q for q in found}
               for pid, found in reporting_calendars(db, projects.values(), due_days).items()}
    return {r.id: periods[r.project_id].get(r.period_index) for r in reports}


def evidence_file_for(db: Session, user: User, file_id: int) -> EvidenceFile | None:
    """The file if this user may download it, else None exactly like a missing one (DESIGN §4).

    Within the projects the user sees, the project's grantee (who uploads and edits the reports) gets every file
    of it, drafts included; anyone else only a file that something they may read refers to: a submitted report
    version, an acceptance application or a milestone check. Sequential ids are easy to guess, so being in the
    project is not enough: a draft's file stays as private as the draft."""
    projects = scoped_projects(user).with_only_columns(Project.id)
    query = select(EvidenceFile).where(EvidenceFile.id == file_id, EvidenceFile.project_id.in_(projects))
    if user.role != Role.GRANTEE.value:
        query = query.where(_shown_to_readers())
    return db.scalar(query)


def _shown_to_readers():
    """EXISTS: a row that readers of the file's project see refers to the file. Each goes through the file's
    project (indexed) rather than the referring file_id (not indexed)."""
    # A version counts once submitted (submitted_at is fixed then); whether accepted or returned later does not
    # matter. A draft, a first one or a correction being prepared, never does.
    in_report = (select(literal(1)).select_from(ReportEvidence)
                 .join(ReportVersion, ReportVersion.id == ReportEvidence.version_id)
                 .join(Report, Report.id == ReportVersion.report_id)
                 .where(Report.project_id == EvidenceFile.project_id, ReportEvidence.file_id == EvidenceFile.id,
                        ReportVersion.submitted_at.is_not(None)).exists())
    # An application is submitted in the one step that makes it: it has no draft.
    in_application = (select(literal(1)).select_from(ApplicationEvidence)
                      .join(AcceptanceApplication, AcceptanceApplication.id == ApplicationEvidence.application_id)
                      .where(AcceptanceApplication.project_id == EvidenceFile.project_id,
                             ApplicationEvidence.file_id == EvidenceFile.id).exists())
    in_milestone_check = (select(literal(1)).where(MilestoneCheck.project_id == EvidenceFile.project_id,
                                                   MilestoneCheck.file_id == EvidenceFile.id).exists())
    return or_(in_report, in_application, in_milestone_check)


# --- comparing a version with what was accepted before --------------------------------------------


@dataclass(frozen=True)
class ValueChange:
    target: ProjectTarget
    accepted: Decimal | None  # the last accepted value (this report's accepted version, else earlier periods)
    reported: ReportValue | None

    @property
    def delta(self) -> Decimal | None:
        if self.reported is None or self.reported.value is None or self.accepted is None:
            return None
        return self.reported.value - self.accepted


@dataclass(frozen=True)
class VersionComparison:
    values: list[ValueChange]
    evidence_added: list[ReportEvidence]
    evidence_removed: list[ReportEvidence]
    funds: list[tuple[str, Decimal | None, Decimal | None]]  # label, accepted, this version (yuan)
    against: str  # what the comparison is against, in words


def compare(db: Session, project: Project, report: Report, version: ReportVersion, *,
            reports: dict[int, Report] | None = None) -> VersionComparison:
    """What changed in `version` since the last accepted state: this report's accepted version if it has one
    (a correction), else the accepted reports of the earlier periods."""
    reports = reports_of(db, project) if reports is None else reports
    accepted = report.accepted if report.accepted is not None and report.accepted.id != version.id else None
    load_versions(db, [v for v in (version, accepted) if v is not None])
    baseline = project_progress(db, project, before=report.period_index, reports=reports)
    old_values: dict[int, Decimal | None]
    if accepted is not None:
        old_values = {v.target.position: v.value for v in accepted.values}
        old_funds = {name: getattr(accepted, name) for name in FUND_FIELDS}
        old_evidence = list(accepted.evidence)
        against = f"本期已审核通过的第{accepted.number}版"
    else:
        old_values = {position: p.current for position, p in baseline.items()}
        old_funds = accepted_funds(db, project, before=report.period_index, reports=reports)
        old_evidence = []
        against = "此前各期审核通过的数据"
    by_target = {v.target_id: v for v in version.values}
    changes = [ValueChange(t, old_values.get(t.position), by_target.get(t.id)) for t in version.target_set.targets]

    def key(e: ReportEvidence) -> tuple[str, str, str | None]:
        return e.kind, e.identifier, e.file.sha256 if e.file is not None else None

    old_keys = {key(e) for e in old_evidence}
    new_keys = {key(e) for e in version.evidence}
    return VersionComparison(
        values=changes,
        evidence_added=[e for e in version.evidence if key(e) not in old_keys],
        evidence_removed=[e for e in old_evidence if key(e) not in new_keys],
        funds=[(FUND_LABELS[name], old_funds.get(name), getattr(version, name)) for name in FUND_FIELDS],
        against=against,
    )
