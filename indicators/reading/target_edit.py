"""Checking a target typed by an officer (a correction of a parsed one, or a task-book target).

Same rules as the parser: categories from the taxonomy, comparators, numbers (Chinese numerals and 万/亿
multipliers accepted), units the taxonomy knows (money converted to 万元). Every problem is returned per field
in Chinese; nothing raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from indicators.reading.categories import CATEGORIES, KINDS
from indicators.reading.numbers import normalize_width, parse_number, to_plain
from indicators.reading.units import read_unit

OPS = (">=", ">", "<=", "<", "==")
OP_LABELS = {">=": "不少于（≥）", ">": "超过（>）", "<=": "不超过（≤）", "<": "低于（<）", "==": "等于（=）"}
KIND_LABELS = {"cumulative": "累计型", "level": "水平型（测量值）", "deliverable": "交付型", "qualitative": "定性"}
MAX_VALUE = Decimal(10) ** 12


@dataclass(frozen=True)
class TargetEdit:
    target: dict[str, Any] | None
    errors: dict[str, str] = field(default_factory=dict)


SIGNED_UNITS = frozenset({"℃", "°"})


def signed_unit(unit: str | None) -> bool:
    """A measured level in this unit can lie below zero: a temperature, or a level in dB (`-145 dBc/Hz`)."""
    return bool(unit) and (unit in SIGNED_UNITS or unit.startswith("dB"))


def normalize_unit(raw: str) -> tuple[str | None, Decimal, str | None]:
    """(unit, scale, error): `亿元` → (`万元`, 10000, None); an unknown unit gives an error."""
    text = normalize_width(raw).strip()
    if not text:
        return None, Decimal(1), None
    match = read_unit(text, 0)
    if match is None or match.unknown or match.end != len(text) or match.unit is None:
        return None, Decimal(1), f"无法识别的单位“{raw.strip()}”"
    return match.unit, match.scale, None


def check_target(raw: Mapping[str, str]) -> TargetEdit:
    errors: dict[str, str] = {}
    category = (raw.get("category") or "").strip()
    if category not in CATEGORIES:
        errors["category"] = "请选择指标类别"
    metric = (raw.get("metric") or "").strip()
    if not metric:
        errors["metric"] = "请填写指标名称"
    elif len(metric) > 200:
        errors["metric"] = "指标名称不能超过200个字符"
    op = (raw.get("op") or "").strip() or None
    if op is not None and op not in OPS:
        errors["op"] = "比较方式无效"
    value_text = (raw.get("value") or "").strip()
    unit, scale, unit_error = normalize_unit(raw.get("unit") or "")
    if unit_error:
        errors["unit"] = unit_error
    value: Decimal | None = None
    if value_text:
        negative = value_text.startswith(("-", "－", "−"))
        parsed = parse_number(value_text.lstrip("-－−") if negative else value_text)
        parsed = -parsed if parsed is not None and negative else parsed
        level = (raw.get("kind") or "").strip() == "level"
        if parsed is None:
            errors["value"] = f"“{value_text[:20]}”不是数字"
        elif parsed < 0 and not (level and signed_unit(unit)):
            errors["value"] = "目标值不能为负数"
        else:
            value = parsed * scale
            if abs(value) > MAX_VALUE:
                errors["value"] = "目标值大得不合理，请检查单位和数字"
    if op is None and value is not None and "value" not in errors:
        errors["op"] = "填写了目标值时，请选择比较方式"
    if op is not None and value is None and "value" not in errors:
        errors["value"] = "选择了比较方式时，请填写目标值"
    kind = (raw.get("kind") or "").strip()
    if kind not in KINDS:
        errors["kind"] = "请选择考核方式"
    elif kind == "qualitative" and op is not None:
        errors["kind"] = "定性指标不设目标值"
    if errors:
        return TargetEdit(None, errors)
    better = None
    if kind == "level":
        better = {">=": "higher", ">": "higher", "<=": "lower", "<": "lower"}.get(op or "")
    return TargetEdit({"category": category, "metric": metric, "op": op,
                       "value": to_plain(value) if value is not None else None, "unit": unit, "kind": kind,
                       "better": better})
