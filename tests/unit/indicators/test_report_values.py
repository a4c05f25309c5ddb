"""Reported values (indicators/assessment/report_values.py): numbers as grantees write them, read into the target's unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicators.assessment.report_values import ValueReading, convert, read_value

D = Decimal


def value_of(text: str, unit: str | None, **kwargs: bool) -> Decimal:
    result = read_value(text, unit, **kwargs)
    assert result.error is None, result.error
    assert result.value is not None
    return result.value


def error_of(text: str, unit: str | None, **kwargs: bool) -> str:
    result = read_value(text, unit, **kwargs)
    assert result.value is None
    assert result.error
    return result.error


def assert_plain(value: Decimal) -> None:
    """No exponent form for whole numbers: 12000, not 1.2E+4."""
    assert value.as_tuple().exponent <= 0
    assert "E" not in str(value) or abs(value) < 1


# --- numbers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", D(3)), (" 3 ", D(3)), ("3.50", D("3.5")), ("1,200", D(1200)), ("1,234,567.5", D("1234567.5")),
     ("１２００", D(1200)), ("８５．５", D("85.5")), (".5", D("0.5")), ("+7", D(7)), ("0", D(0)), ("0.000", D(0)),
     ("三", D(3)), ("十二", D(12)), ("两万三千", D(23000)), ("12000", D(12000)), ("1000000", D(1000000))],
)
def test_bare_numbers_are_in_the_target_unit(text: str, expected: Decimal) -> None:
    value = value_of(text, "件")
    assert value == expected
    assert_plain(value)


def test_whole_numbers_keep_their_zeros() -> None:
    assert str(value_of("1.2亿元", "万元")) == "12000"
    assert str(value_of("1200.00", "件")) == "1200"
    assert str(value_of("0.50", "%")) == "0.5"


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_empty_is_no_value_and_no_error(text: str) -> None:
    assert read_value(text, "件") == ValueReading(None, None)
    assert read_value(text, None) == ValueReading(None, None)


def test_none_text_is_empty() -> None:
    assert read_value(None, "件") == ValueReading(None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["abc", "1.2.3", "1,20", "1,2345", "1 200", "1e5", "约5", "≥5", "万元", "千瓦", "-", "--5"])
def test_not_a_number(text: str) -> None:
    assert error_of(text, "件") == f"“{text}”不是数字"


def test_not_a_number_message_is_short() -> None:
    assert error_of("x" * 50, "件") == f"“{'x' * 20}”不是数字"


# --- negatives and bounds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["-5", "−5", "－5", "-0.1", "- 3"])
def test_negative_refused(text: str) -> None:
    assert error_of(text, "件") == "不能为负数"


def test_negative_allowed_for_levels() -> None:
    assert value_of("-5", "℃", allow_negative=True) == D(-5)
    assert value_of("−40℃", "℃", allow_negative=True) == D(-40)
    assert value_of("-1.5亿元", "万元", allow_negative=True) == D(-15000)


def test_negative_zero_is_zero() -> None:
    assert str(value_of("-0", "件", allow_negative=True)) == "0"


def test_too_large() -> None:
    assert value_of("1000000000000", "件") == D(10) ** 12
    assert error_of("1000000000001", "件") == "数值大得不合理，请检查单位和数字"
    assert error_of("200000000万人次", "人次") == "数值大得不合理，请检查单位和数字"
    assert error_of("-2000000000000", "℃", allow_negative=True) == "数值大得不合理，请检查单位和数字"
    # the bound is on the value in the target's unit: 10**12 元 is 10**8 万元
    assert value_of("1000000000000元", "万元") == D(10) ** 8


# --- money -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2亿元", D(12000)), ("1.2亿", D(12000)), ("50000元", D(5)), ("1,200万元", D(1200)), ("300万", D(300)),
     ("12000", D(12000)), ("1.2 亿元", D(12000)), ("１．２亿元", D(12000)), ("5000元", D("0.5")), ("1元", D("0.0001")),
     ("十万", D(10)), ("三千万元", D(3000)), ("一亿元", D(10000)), ("3百万元", D(300)), ("1.2万亿元", D(120_000_000))],
)
def test_money_converted_to_wan(text: str, expected: Decimal) -> None:
    assert value_of(text, "万元") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2亿元/年", D(12000)), ("1.2亿元", D(12000)), ("200万/年", D(200)), ("800", D(800)), ("50000元/年", D(5))],
)
def test_per_year_money(text: str, expected: Decimal) -> None:
    assert value_of(text, "万元/年") == expected


def test_per_year_value_against_a_cumulative_target_refused() -> None:
    assert error_of("1.2亿元/年", "万元") == "单位“亿元/年”不能换算为“万元”"


def test_other_family_names_both_units() -> None:
    assert error_of("5吨", "万元") == "单位“吨”不能换算为“万元”"
    assert error_of("3件", "万元") == "单位“件”不能换算为“万元”"
    assert error_of("1.2亿元", "件") == "单位“亿元”不能换算为“件”"
    assert error_of("50%", "万元") == "单位“%”不能换算为“万元”"


# --- counts, masses, percentages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [("1.2万人次", "人次", D(12000)), ("350万人次", "人次", D(3_500_000)), ("1.2万", "人次", D(12000)),
     ("3件", "件", D(3)), ("三件", "件", D(3)), ("1万人", "人", D(10000)), ("100万份", "份", D(1_000_000)),
     ("2万", None, D(20000)), ("3万/年", "人次/年", D(30000)), ("12人/次", "人次", D(12)), ("5家/年", "家/年", D(5)),
     ("5家", "家/年", D(5))],
)
def test_counts_take_the_multiplier(text: str, unit: str | None, expected: Decimal) -> None:
    assert value_of(text, unit) == expected


def test_different_measure_words_are_not_converted() -> None:
    assert error_of("3项", "件") == "单位“项”不能换算为“件”"
    assert error_of("3人次", "人") == "单位“人次”不能换算为“人”"
    assert error_of("3万/年", "人次") == "单位“万/年”不能换算为“人次”"


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [("5万吨", "吨", D(50000)), ("3t", "吨", D(3)), ("3吨", "t", D(3)), ("500kg", "吨", D("0.5")),
     ("2吨", "kg", D(2000)), ("500g", "kg", D("0.5")), ("5千克", "kg", D(5)), ("5万吨/年", "吨/年", D(50000))],
)
def test_masses(text: str, unit: str, expected: Decimal) -> None:
    assert value_of(text, unit) == expected


def test_percent_stays_percent() -> None:
    assert value_of("50%", "%") == D(50)
    assert value_of("50％", "%") == D(50)
    assert value_of("0.5", "%") == D("0.5")
    assert value_of("5‰", "%") == D("0.5")
    assert error_of("5%", "百分点") == "单位“%”不能换算为“百分点”"
    assert value_of("2个百分点", "百分点") == D(2)


# --- physical units ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [("5mm", "m", D("0.005")), ("1.5m", "mm", D(1500)), ("20纳米", "nm", D(20)), ("0.02μm", "nm", D(20)),
     ("2km", "m", D(2000)), ("30分钟", "h", D("0.5")), ("2小时", "min", D(120)), ("500ms", "s", D("0.5")),
     ("3us", "μs", D(3)), ("2d", "h", D(48)), ("2年", "月", D(24)), ("18个月", "年", D("1.5")),
     ("1.2GHz", "MHz", D(1200)), ("1500W", "kW", D("1.5")), ("2kWh", "Wh", D(2000)), ("3.6MJ", "kWh", D(1)),
     ("1400 MPa", "MPa", D(1400)), ("1.4GPa", "MPa", D(1400)), ("10Gbps", "Mbps", D(10000)),
     ("300Wh/kg", "Wh/kg", D(300)), ("0.3kWh/kg", "Wh/kg", D(300)), ("2L", "ml", D(2000)), ("1m³", "L", D(1000)),
     ("2公顷", "m²", D(20000)), ("5dBm", "dBm", D(5)), ("85℃", "℃", D(85)), ("3000mAh", "Ah", D(3))],
)
def test_physical_units(text: str, unit: str, expected: Decimal) -> None:
    value = value_of(text, unit)
    assert value == expected
    assert_plain(value)


def test_physical_units_of_other_kinds_refused() -> None:
    assert error_of("5mm", "s") == "单位“mm”不能换算为“s”"
    assert error_of("2年", "d") == "单位“年”不能换算为“d”"  # calendar years do not mix with days
    assert error_of("300Wh/kg", "Wh/L") == "单位“Wh/kg”不能换算为“Wh/L”"
    assert error_of("5TB", "GB") == "单位“TB”不能换算为“GB”"  # 1000 or 1024: not guessed


def test_unit_spelled_like_the_target_is_accepted() -> None:
    # units the reader keeps as written compare by text
    assert value_of("6 ml/100g.Al", "ml/100g.Al") == D(6)
    assert value_of("55%IACS", "%IACS") == D(55)


def test_unknown_unit() -> None:
    assert error_of("5 foo", "件") == "无法识别的单位“foo”"
    assert error_of("5件（已授权）", "件") == "无法识别的单位“件（已授权）”"


def test_target_without_unit() -> None:
    assert value_of("6", None) == D(6)
    assert value_of("6", "") == D(6)
    assert error_of("6%", None) == "该指标没有单位，请只填写数字（填写了“%”）"


# --- convert -----------------------------------------------------------------------------------------------------


def test_convert() -> None:
    assert convert(D(1), "m", "mm") == D(1000)
    assert str(convert(D(1), "m", "mm")) == "1000"
    assert convert(D("1.2"), "亿元", "万元") == D(12000)
    assert convert(D(50000), "元", "万元") == D(5)
    assert convert(D(5), "万元", "元") == D(50000)
    assert convert(D(5), "万元", "万元/年") == D(5)
    assert convert(D(5), "万元/年", "万元") is None
    assert convert(D(5), "元/吨", "万元/吨") == D("0.0005")
    assert convert(D(5), "万元/吨", "万元/年") is None
    assert convert(D(3), "件", "件") == D(3)
    assert convert(D(3), None, None) == D(3)
    assert convert(D(3), None, "件") is None
    assert convert(D(3), "件", None) is None
    assert convert(D(3), "件", "项") is None
    assert convert(D(3), "m", "kg") is None
    assert convert(D(3), "foo", "bar") is None


def test_convert_returns_plain_decimals() -> None:
    for value in (convert(D("1.2"), "亿元", "万元"), convert(D(3), "km", "m"), convert(D("0.5"), "GHz", "Hz")):
        assert value is not None
        assert_plain(value)


# --- properties --------------------------------------------------------------------------------------------------

plain_decimals = st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False)


@given(number=plain_decimals, unit=st.sampled_from(["件", "万元", "%", "MPa", "人次/年", None]))
def test_property_plain_text_round_trips(number: Decimal, unit: str | None) -> None:
    result = read_value(format(number, "f"), unit)
    assert result.error is None
    assert result.value == number
    assert result.value is not None
    assert_plain(result.value)


@given(number=plain_decimals.filter(lambda d: d <= 10**8))
def test_property_yuan_and_wan_agree(number: Decimal) -> None:
    assert value_of(f"{format(number, 'f')}亿元", "万元") == value_of(f"{format(number * 10000, 'f')}万元", "万元")
