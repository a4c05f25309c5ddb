"""Implementation periods (indicators/rules/period.py): the seeds' forms, end dates, the task-book checks."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicators.rules.period import (
    PeriodError,
    PeriodKind,
    PeriodOverride,
    PeriodRule,
    add_period,
    describe,
    from_dict,
    parse_period,
    project_end,
    to_dict,
)

SAMPLES = Path(__file__).resolve().parents[3] / "tracker" / "demo" / "samples"


@cache
def seed_lines(prefix: str) -> list[str]:
    path = next(SAMPLES.glob(f"{prefix}_*.txt"), None)
    if path is None:
        pytest.skip(f"seed {prefix} not found under {SAMPLES}")
    return path.read_text(encoding="utf-8").splitlines()


def line(prefix: str, number: int) -> str:
    return seed_lines(prefix)[number - 1]


# --- the seeds' forms ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "number", "kind", "months"),
    [
        ("000", 12, PeriodKind.FIXED, 36),  # 000 L12 `3. 实施期限：3年。` (×94)
        ("000", 966, PeriodKind.AT_MOST, 36),  # 000 L966 `实施年限：不超过3年。`
        ("000", 981, PeriodKind.FIXED, 36),  # 000 L981 `实施年限：3年。`
        ("001", 10, PeriodKind.AT_MOST, 36),  # 001 L10 `3.实施期限：不超过3年。`
        ("001", 23, PeriodKind.AT_MOST, 36),  # 001 L23 `3.实施期限：不超过三年。` (Chinese numeral)
        ("001", 373, PeriodKind.FIXED, 24),  # 001 L373 `3.实施期限：2年。`
        ("001", 396, PeriodKind.FIXED, 24),  # 001 L396 `2.考核指标：项目实施期为2年，研发新产品…`
        ("001", 390, PeriodKind.AT_MOST, 36),  # 001 L390 申报要求 `…（3）项目实施年限不超过3年。`
        ("002", 195, PeriodKind.AT_MOST, 24),  # 002 L195 `实施年限：不超过2年。`
        ("002", 652, PeriodKind.FIXED, 24),  # 002 L652 `实施年限：2年。`
        ("002", 998, PeriodKind.AT_MOST, 36),  # 002 L998 `单个项目资助经费为10万元，实施年限不超过3年。`
        ("002", 1086, PeriodKind.AT_MOST, 48),  # 002 L1086 `单个项目资助经费30万元，实施年限不超过4年。`
    ],
)
def test_simple_forms(prefix: str, number: int, kind: PeriodKind, months: int) -> None:
    rule = parse_period(line(prefix, number))
    assert (rule.kind, rule.months, rule.hedged, rule.flags) == (kind, months, False, ())


def test_range_002_l604() -> None:
    # 002 L604 `实施年限：2—3年。`
    rule = parse_period(line("002", 604))
    assert (rule.kind, rule.min_months, rule.months) == (PeriodKind.RANGE, 24, 36)
    assert describe(rule) == "2年至3年"


def test_per_content_item_002_l342() -> None:
    # 002 L342 `实施年限：主要内容中1、3不超过5年，其他不超过3年。` (the line starts with bookmarks)
    rule = parse_period(line("002", 342))
    assert (rule.kind, rule.months) == (PeriodKind.AT_MOST, 36)
    assert rule.overrides == (PeriodOverride("主要内容1", PeriodKind.AT_MOST, 60),
                              PeriodOverride("主要内容3", PeriodKind.AT_MOST, 60))
    assert describe(rule) == "主要内容1：不超过5年；主要内容3：不超过5年；其他：不超过3年"


def test_per_subtype_002_l644() -> None:
    # 002 L644 `实施年限：培养工程博士4年；引进博士服务企业3年。`
    rule = parse_period(line("002", 644))
    assert rule.kind is PeriodKind.BY_CATEGORY and rule.months is None
    assert rule.overrides == (PeriodOverride("培养工程博士", PeriodKind.FIXED, 48),
                              PeriodOverride("引进博士服务企业", PeriodKind.FIXED, 36))
    assert describe(rule) == "培养工程博士：4年；引进博士服务企业：3年"


def test_rolling_extension_002_l833() -> None:
    # 002 L833 `实施年限：不超过3年，对国家科技重大专项、重点研发计划取得的重大成果在我区产业化成效突出的，
    # 最长可滚动支持5年。`
    rule = parse_period(line("002", 833))
    assert (rule.kind, rule.months, rule.extension_months) == (PeriodKind.AT_MOST, 36, 60)
    assert rule.extension_condition == "国家科技重大专项、重点研发计划取得的重大成果在我区产业化成效突出"
    assert describe(rule) == "不超过3年；符合条件的最长可至5年"


def test_in_principle_is_hedged() -> None:
    # The brief's `原则上不超过` (no seed uses it; 003 L12 says `一般不超过`).
    rule = parse_period("实施期限：原则上不超过3年。")
    assert (rule.kind, rule.months, rule.hedged) == (PeriodKind.AT_MOST, 36, True)


def test_hedged_with_start_rule_003_l12() -> None:
    # 003 L12 `…实施周期一般不超过3年，项目实施周期从签订项目任务书之日算起。`
    rule = parse_period(line("003", 12))
    assert (rule.kind, rule.months, rule.hedged, rule.start_stated) == (PeriodKind.AT_MOST, 36, True, True)
    assert rule.start_rule == "task_book_signing"
    assert describe(rule) == "一般不超过3年"


@pytest.mark.parametrize(
    "text",
    [
        # 001 L35
        "2.考核指标：（5）技术指标由申报单位根据项目实际情况设置；经济指标在项目实施期限内应实现1亿元以上新产品产值。",
        "③区内高校从区外新引进理工类博士1名以上，并到企业服务不少于3年（含3年）。",  # 002 L643
        "保证孵化场地自申报之日起正常运营3年以上",  # 002 L965
        "",
    ],
)
def test_no_period_in_time_scopes(text: str) -> None:
    assert parse_period(text).kind is None


def test_months_form_not_in_seeds() -> None:
    # No seed states months; the form is accepted for task books and later guidelines.
    assert (parse_period("实施期限：18个月").kind, parse_period("实施期限：18个月").months) == (PeriodKind.FIXED, 18)
    assert parse_period("实施期限：不超过24个月。").months == 24
    assert parse_period("实施期限：1.5年").months == 18


def test_unreadable_label_is_flagged() -> None:
    rule = parse_period("实施期限：另行约定")
    assert rule.kind is None
    assert [f.kind for f in rule.flags] == ["unparsed"]


def test_reversed_range_is_swapped_and_flagged() -> None:
    rule = parse_period("实施年限：3—2年。")
    assert (rule.min_months, rule.months) == (24, 36)
    assert [f.kind for f in rule.flags] == ["range_reversed"]


# --- calendar --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2025, 3, 1), 36, date(2028, 2, 29)),  # the brief's example: ends on a leap day
        (date(2025, 1, 1), 36, date(2027, 12, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # no 2025-02-29: the month's last day
        (date(2024, 2, 29), 48, date(2028, 2, 28)),  # 2028-02-29 exists: the day before it
        (date(2024, 2, 28), 12, date(2025, 2, 27)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 1, 30), 1, date(2025, 2, 28)),
        (date(2025, 12, 15), 18, date(2027, 6, 14)),
    ],
)
def test_add_period(start: date, months: int, end: date) -> None:
    assert add_period(start, months) == end


def test_add_period_rejects_nonsense() -> None:
    with pytest.raises(PeriodError):
        add_period(date(2025, 1, 1), 0)
    with pytest.raises(PeriodError):
        add_period(date(9999, 6, 1), 12)


# --- project_end: the task book's period against the guideline ------------------------------------------------

AT_MOST_3 = PeriodRule(PeriodKind.AT_MOST, 36)
FIXED_3 = PeriodRule(PeriodKind.FIXED, 36)


def test_at_most_uses_the_maximum_by_default() -> None:
    assert project_end(AT_MOST_3, date(2025, 3, 1)) == date(2028, 2, 29)


def test_at_most_accepts_a_shorter_task_book() -> None:
    assert project_end(AT_MOST_3, date(2025, 3, 1), 2) == date(2027, 2, 28)


def test_at_most_refuses_a_longer_task_book() -> None:
    with pytest.raises(PeriodError, match="实施期限不超过3年，任务书填写4年超出"):
        project_end(AT_MOST_3, date(2025, 3, 1), 4)


def test_fixed_must_match() -> None:
    assert project_end(FIXED_3, date(2025, 3, 1), 3) == date(2028, 2, 29)
    with pytest.raises(PeriodError, match="实施期限为3年，任务书填写2年不符"):
        project_end(FIXED_3, date(2025, 3, 1), 2)


def test_range_bounds() -> None:
    rule = parse_period("实施年限：2—3年。")  # 002 L604
    assert project_end(rule, date(2025, 1, 1), 2) == date(2026, 12, 31)
    with pytest.raises(PeriodError, match="过短"):
        project_end(rule, date(2025, 1, 1), months=18)
    with pytest.raises(PeriodError):
        project_end(rule, date(2025, 1, 1), 4)


def test_subtype_needs_a_category() -> None:
    rule = parse_period("实施年限：培养工程博士4年；引进博士服务企业3年。")  # 002 L644
    with pytest.raises(PeriodError, match="请指定项目类型"):
        project_end(rule, date(2025, 1, 1))
    assert project_end(rule, date(2025, 1, 1), category="培养工程博士") == date(2028, 12, 31)
    with pytest.raises(PeriodError, match="不在实施期限的类型中"):
        project_end(rule, date(2025, 1, 1), category="其他")


def test_content_item_override() -> None:
    rule = parse_period("实施年限：主要内容中1、3不超过5年，其他不超过3年。")  # 002 L342
    assert project_end(rule, date(2025, 1, 1), 5, category="主要内容3") == date(2029, 12, 31)
    with pytest.raises(PeriodError, match="主要内容2|不超过3年"):
        project_end(rule, date(2025, 1, 1), 5, category="主要内容2")  # other items: the general ≤3
    with pytest.raises(PeriodError):
        project_end(rule, date(2025, 1, 1), 5)


def test_extension_needs_approval() -> None:
    rule = parse_period("实施年限：不超过3年，对…成效突出的，最长可滚动支持5年。")  # 002 L833
    with pytest.raises(PeriodError, match="最长可至5年"):
        project_end(rule, date(2025, 1, 1), 5)
    assert project_end(rule, date(2025, 1, 1), 5, approved_exception=True) == date(2029, 12, 31)
    with pytest.raises(PeriodError):
        project_end(rule, date(2025, 1, 1), 6, approved_exception=True)


def test_hedged_rule_allows_an_approved_exception() -> None:
    rule = parse_period("实施周期一般不超过3年")  # 003 L12
    with pytest.raises(PeriodError, match="如经批准可例外"):
        project_end(rule, date(2025, 1, 1), 4)
    assert project_end(rule, date(2025, 1, 1), 4, approved_exception=True) == date(2028, 12, 31)


def test_no_rule_needs_the_task_book_period() -> None:
    # 004 states no period at all (seeds-structure §5.2).
    with pytest.raises(PeriodError, match="指南未规定实施期限"):
        project_end(PeriodRule(), date(2025, 1, 1))
    assert project_end(PeriodRule(), date(2025, 1, 1), 2) == date(2026, 12, 31)


def test_bad_task_book_values() -> None:
    with pytest.raises(PeriodError):
        project_end(AT_MOST_3, date(2025, 1, 1), 0)
    with pytest.raises(PeriodError):
        project_end(AT_MOST_3, date(2025, 1, 1), 2, months=24)
    assert project_end(AT_MOST_3, date(2025, 1, 1), months=30) == date(2027, 6, 30)


# --- serialisation and properties --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["实施年限：不超过3年。", "实施年限：2—3年。", "实施年限：主要内容中1、3不超过5年，其他不超过3年。",
     "实施年限：培养工程博士4年；引进博士服务企业3年。", "实施周期一般不超过3年，项目实施周期从签订项目任务书之日算起",
     "实施年限：不超过3年，对重大成果成效突出的，最长可滚动支持5年。", "无关文本"],
)
def test_round_trip(text: str) -> None:
    rule = parse_period(text)
    assert from_dict(json.loads(json.dumps(to_dict(rule), ensure_ascii=False))) == rule


def test_from_dict_rejects_malformed() -> None:
    with pytest.raises(ValueError):
        from_dict({"kind": "forever"})
    with pytest.raises(ValueError):
        from_dict({"overrides": [{"label": "x"}]})


@pytest.mark.slow  # fuzzing
@given(st.text())
def test_parser_never_raises_on_arbitrary_text(text: str) -> None:
    rule = parse_period(text)
    assert from_dict(to_dict(rule)) == rule
    describe(rule)


PERIOD_ALPHABET = st.sampled_from(
    list("0123456789.一二三四五十半—-~至年月个，。；：:、")
    + ["实施期限：", "实施年限", "实施周期", "不超过", "一般", "原则上", "主要内容中", "其他", "最长可滚动支持", "对",
       "的，", "以内", "从签订项目任务书之日算起", "项目实施期为", "[bookmark: x]"]
)


@pytest.mark.slow  # fuzzing
@given(st.lists(PERIOD_ALPHABET, max_size=30).map("".join), st.dates(date(2000, 1, 1), date(2100, 12, 31)),
       st.none() | st.integers(1, 10))
def test_parser_and_end_never_crash_on_period_like_text(text: str, start: date, years: int | None) -> None:
    rule = parse_period(text)
    try:
        end = project_end(rule, start, years)
    except PeriodError as exc:
        assert str(exc)  # a Chinese message, never a crash of another type
    else:
        assert end >= start


@given(st.dates(date(1990, 1, 1), date(2200, 12, 31)), st.integers(1, 600))
def test_add_period_properties(start: date, months: int) -> None:
    end = add_period(start, months)
    assert start <= end < start + timedelta(days=31 * months)
    following = end + timedelta(days=1)
    # The day after the end is the same day of the month as the start, or the 1st when that day does not exist.
    assert following.day == start.day or (following.day == 1 and start.day > end.day)
    # Month arithmetic: the end falls in the month `months` after the start, or the month before it.
    offset = (following.year * 12 + following.month) - (start.year * 12 + start.month)
    assert offset in (months, months + 1)


@given(st.dates(date(1990, 1, 1), date(2200, 12, 30)), st.integers(1, 120))
def test_add_period_is_monotone(start: date, months: int) -> None:
    assert add_period(start, months) <= add_period(start + timedelta(days=1), months)


@pytest.mark.parametrize("piece", ["9", "一", "不超过三年", "培养博士4年；", "主要内容中1、"])
def test_long_pathological_input(piece: str) -> None:
    # Not timed: a quadratic regex on a long run of numerals would take minutes here.
    parse_period("实施期限：" + piece * 5000)
    assert parse_period("实施期限：" + "9" * 5000 + "年").kind is None  # beyond int()'s digit limit


# --- smoke over the five seeds ---------------------------------------------------------------------------------


def test_smoke_every_line_of_the_seeds() -> None:
    found: dict[tuple[str, str | None, int | None], int] = {}
    for prefix in ("000", "001", "002", "003", "004"):
        for raw in seed_lines(prefix):
            rule = parse_period(raw)
            assert from_dict(to_dict(rule)) == rule
            if rule.kind is not None:
                key = (prefix, rule.kind.value, rule.months)
                found[key] = found.get(key, 0) + 1
                project_end(rule, date(2025, 3, 1), category=rule.overrides[0].label if rule.overrides else None)
    # seeds-structure §1.5, §2.5, §3.5, §4.2: 94 + 1 fixed 3 years in 000; 61 + 1 + L390 at-most in 001 …
    assert found[("000", "fixed", 36)] == 95
    assert found[("000", "at_most", 36)] == 3
    assert found[("001", "at_most", 36)] == 63
    assert found[("001", "fixed", 24)] == 4  # L373 and `项目实施期为2年` ×3
    assert found[("002", "at_most", 48)] == 4  # NSF 重点, 青年A, 青年A延续, 创新团队
    assert found[("003", "at_most", 36)] == 1
    assert not any(key[0] == "004" for key in found)


def test_seed_lines_have_no_unparsed_period_labels() -> None:
    label = re.compile(r"(?:实施期限|实施年限)[：:]")
    for prefix in ("000", "001", "002"):
        for raw in seed_lines(prefix):
            if label.search(raw):
                rule = parse_period(raw)
                assert rule.kind is not None, raw
