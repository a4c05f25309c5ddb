"""Business settings (DESIGN §3): the rules an office tunes without a deployment, edited by the admin on
`/admin/settings` (validated, audited), with their defaults here in code. The `settings` table holds only the keys
the admin has changed, as the text typed on the page.

Every request, command and job reads them once with `load(db)` and passes the values on, so that services stay
plain functions of their arguments.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from indicators.assessment.monitoring import CURVE_LABELS
from indicators.reading.categories import CATEGORIES
from tracker.models import Project, SettingValue
from tracker.services import audit
from tracker.services.accounts import StaleEdit
from tracker.services.audit import Actor

log = logging.getLogger("tracker.settings")


@dataclass(frozen=True)
class BusinessSettings:
    # Reporting calendar (DESIGN §2)
    report_due_days: int = 15  # a report is due this many days after its quarter ends (next working day)
    report_open_days: int = 15  # a period's report can be filled from this many days before the quarter ends
    # Reminders
    reminder_stages: tuple[int, ...] = (-7, -1, 0, 3, 7)  # days from the due date (negative: before it)
    reminder_repeat_days: int = 7  # after the last stage, again every this many days while overdue (0: never)
    send_window_start: time = time(8, 0)  # Asia/Shanghai: reminders leave only inside the window
    send_window_end: time = time(20, 0)
    digest_time: time = time(8, 0)  # the officers' daily digest
    extension_reminder_days: int = 14  # the grantee is reminded this long before the extension deadline
    # Project changes and acceptance (DESIGN §2)
    extension_notice_months: int = 3  # an extension is requested no later than this before the end date
    extension_max_months: int = 12
    acceptance_open_days: int = 30  # the acceptance application opens this many days before the end date
    acceptance_close_months: int = 6  # … and closes this many months after it
    # Monitoring (DESIGN §2): when a target turns amber or red, and the shape of progress per category
    monitoring_amber_percent: int = 90  # amber below this share of the expected value, or a forecast short
    monitoring_red_percent: int = 60  # red below this share of the expected value …
    monitoring_red_forecast_percent: int = 80  # … with a forecast below this share of the target
    monitoring_low_spend_percent: int = 30  # fiscal money spent below this share of received, after half the period
    monitoring_curves: tuple[tuple[str, str], ...] = (("profit_tax", "back_loaded"), ("revenue", "back_loaded"))
    # Links in mails
    site_url: str = "http://127.0.0.1:8000"


class SettingsProblems(ValueError):
    """Field → Chinese message; nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


# --- one definition per key: how the page shows it, how its text is read -----------------------------------------


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"-?\d{1,6}", text.strip()):
            raise ValueError("请填写整数")
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"应在 {low} 到 {high} 之间")
        return value

    return parse


def _clock_time(text: str) -> time:
    found = re.fullmatch(r"(\d{1,2})[:：](\d{2})", text.strip())
    if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59:
        raise ValueError("请按“08:00”的格式填写时间")
    return time(int(found.group(1)), int(found.group(2)))


def _stages(text: str) -> tuple[int, ...]:
    parts = [p for p in re.split(r"[,，、\s]+", text.strip().replace("−", "-")) if p]
    if not parts:
        raise ValueError("至少填写一个提醒时间")
    if len(parts) > 12:
        raise ValueError("提醒时间不能超过12个")
    values = []
    for part in parts:
        if not re.fullmatch(r"[-+]?\d{1,3}", part):
            raise ValueError(f"“{part[:10]}”不是整数天数")
        value = int(part)
        if not -90 <= value <= 90:
            raise ValueError("提醒时间应在截止日前90天到逾期90天之间")
        values.append(value)
    if len(set(values)) != len(values):
        raise ValueError("提醒时间有重复")
    return tuple(sorted(values))


def _curves(text: str) -> tuple[tuple[str, str], ...]:
    """"收入/产值=后期集中，利润/利税=后期集中": categories by their label (or key), shapes by theirs."""
    categories = {**{k: k for k in CATEGORIES}, **{label: k for k, label in CATEGORIES.items()}}
    shapes = {**{k: k for k in CURVE_LABELS}, **{label: k for k, label in CURVE_LABELS.items()}}
    found: dict[str, str] = {}
    for part in (p.strip() for p in re.split(r"[,，、;；\n]+", text) if p.strip()):
        name, _, shape = (s.strip() for s in part.replace("＝", "=").partition("="))
        if name not in categories:
            raise ValueError(f"“{name[:20]}”不是指标类别（如 收入/产值、专利申请）")
        if shape not in shapes:
            raise ValueError(f"“{shape[:20]}”不是进度曲线，可选：{'、'.join(CURVE_LABELS.values())}")
        found[categories[name]] = shapes[shape]
    return tuple(sorted(found.items()))


def _site_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/[\w\-./]*)?", url):
        raise ValueError("请填写以 http:// 或 https:// 开头的网址，例如 https://kjxm.example.gov.cn")
    return url


def _show(value: Any) -> str:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, tuple) and all(isinstance(v, tuple) for v in value):  # category curves
        return "，".join(f"{CATEGORIES.get(k, k)}={CURVE_LABELS.get(c, c)}" for k, c in value)
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Definition:
    key: str
    section: str
    label: str
    help: str
    parse: Callable[[str], Any]
    unit: str = ""


DEFINITIONS = (
    Definition("report_due_days", "进展报告", "报告截止（季度结束后）",
               "季度结束后第几天截止，遇节假日顺延到下一个工作日", _integer(0, 60), "天"),
    Definition("report_open_days", "进展报告", "开始填报（季度结束前）",
               "季度结束前多少天起可以填报本期报告", _integer(0, 90), "天"),
    Definition("reminder_stages", "提醒", "催报时间",
               "相对截止日的天数，负数为截止日前，0 为截止当天，逗号分隔", _stages, "天"),
    Definition("reminder_repeat_days", "提醒", "逾期后重复提醒",
               "最后一次催报之后仍未提交时，每隔多少天再提醒一次（0 为不再提醒）", _integer(0, 60), "天"),
    Definition("send_window_start", "提醒", "发信时段开始", "提醒邮件只在发信时段内发出（北京时间）", _clock_time),
    Definition("send_window_end", "提醒", "发信时段结束", "", _clock_time),
    Definition("digest_time", "提醒", "专员每日汇总时间", "每天这个时间给项目管理专员发送一封汇总邮件", _clock_time),
    Definition("extension_reminder_days", "提醒", "延期申请截止提醒",
               "延期申请截止日前多少天提醒承担单位", _integer(1, 90), "天"),
    Definition("extension_notice_months", "项目变更与验收", "延期申请截止（结束日前）",
               "最迟在项目结束日前多少个月申请延期", _integer(0, 24), "个月"),
    Definition("extension_max_months", "项目变更与验收", "最长延期",
               "一个项目最多延期多少个月（只能延期一次）", _integer(1, 36), "个月"),
    Definition("acceptance_open_days", "项目变更与验收", "验收申请开始（结束日前）",
               "项目结束日前多少天起可以申请验收", _integer(0, 180), "天"),
    Definition("acceptance_close_months", "项目变更与验收", "验收申请截止（结束日后）",
               "项目结束日后多少个月内必须申请验收", _integer(0, 24), "个月"),
    Definition("monitoring_amber_percent", "监测预警", "关注（黄）线",
               "实际值低于按进度应达值的这个百分比，或预计期末达不到目标时，指标标为“关注”", _integer(1, 100), "%"),
    Definition("monitoring_red_percent", "监测预警", "预警（红）线",
               "实际值低于按进度应达值的这个百分比，且预计期末低于下一项时，指标标为“预警”", _integer(1, 100), "%"),
    Definition("monitoring_red_forecast_percent", "监测预警", "预警的预计期末值",
               "预计期末值低于目标的这个百分比（与上一项同时满足）时为“预警”", _integer(1, 100), "%"),
    Definition("monitoring_low_spend_percent", "监测预警", "财政资金支出偏低",
               "实施期过半后，财政资金支出低于到位资金的这个百分比时提示", _integer(0, 100), "%"),
    Definition("monitoring_curves", "监测预警", "各类指标的进度曲线",
               "未列出的类别按线性进度；可选：" + "、".join(CURVE_LABELS.values()) + "，例如 收入/产值=后期集中",
               _curves),
    Definition("site_url", "系统", "系统访问地址", "邮件中的链接以此开头，例如 https://kjxm.example.gov.cn", _site_url),
)
BY_KEY = {d.key: d for d in DEFINITIONS}
assert set(BY_KEY) == {f.name for f in fields(BusinessSettings)}, "every setting needs a definition"

DEFAULTS = BusinessSettings()


def _check(values: BusinessSettings) -> dict[str, str]:
    """Rules between keys."""
    errors = {}
    if values.send_window_start >= values.send_window_end:
        errors["send_window_end"] = "发信时段的结束时间应晚于开始时间"
    if not values.send_window_start <= values.digest_time < values.send_window_end:
        errors["digest_time"] = "汇总时间应在发信时段内"
    if values.monitoring_red_percent >= values.monitoring_amber_percent:
        errors["monitoring_red_percent"] = "预警线应低于关注线"
    return errors


# --- reading and writing -----------------------------------------------------------------------------------------


def load(db: Session) -> BusinessSettings:
    """The settings in force: the stored changes over the defaults (a stored value that no longer reads is ignored,
    and logged, rather than stopping every page)."""
    values: dict[str, Any] = {}
    for row in db.scalars(select(SettingValue)):
        definition = BY_KEY.get(row.key)
        if definition is None:
            continue
        try:
            values[row.key] = definition.parse(row.value)
        except ValueError:
            log.warning("setting %s: stored value %r no longer reads; using the default", row.key, row.value)
    return replace(DEFAULTS, **values)


def as_text(settings: BusinessSettings) -> dict[str, str]:
    """Each key as the page shows it."""
    return {d.key: _show(getattr(settings, d.key)) for d in DEFINITIONS}


def fingerprint(settings: BusinessSettings) -> str:
    """What the admin saw when the form was opened: a save over someone else's newer one is refused (G25)."""
    return hashlib.sha256(repr(sorted(as_text(settings).items())).encode()).hexdigest()[:16]


def update(db: Session, typed: dict[str, str], *, seen: str, actor: Actor, now: datetime) -> BusinessSettings:
    """Save the typed values (every key of the page). Raises SettingsProblems (nothing saved) or StaleEdit."""
    current = load(db)
    if seen != fingerprint(current):
        raise StaleEdit("设置已被其他人修改，请查看最新内容后再保存")
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for definition in DEFINITIONS:
        text = typed.get(definition.key, "")
        try:
            parsed[definition.key] = definition.parse(text)
        except ValueError as exc:
            errors[definition.key] = str(exc)
    if errors:
        raise SettingsProblems(errors)
    wanted = replace(current, **parsed)
    errors = _check(wanted)
    if errors:
        raise SettingsProblems(errors)
    before, after = as_text(current), as_text(wanted)
    changed = {key: after[key] for key in after if after[key] != before[key]}
    if not changed:
        return current
    rows = {row.key: row for row in db.scalars(select(SettingValue).where(SettingValue.key.in_(changed)))}
    for key, text in changed.items():
        row = rows.get(key)
        if row is None:
            db.add(SettingValue(key=key, value=text, updated_at=now, updated_by_id=actor.user_id, version=1))
        else:
            row.value, row.updated_at, row.updated_by_id = text, now, actor.user_id
            row.version += 1
    # Stages, due days and windows decide when each project is looked at next: the reminders sweep looks again.
    db.execute(sql_update(Project).values(next_reminder_at=None))
    db.flush()
    audit.record(db, actor, "settings_changed", now=now, object_type="settings", object_id="business",
                 before={k: before[k] for k in changed}, after=changed)
    return wanted
