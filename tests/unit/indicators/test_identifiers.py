from __future__ import annotations

import pytest

from indicators.identifiers import uscc_check_char, uscc_division_code, uscc_problem


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "12100000400000624D"])
def test_real_world_codes_are_valid(code):
    assert uscc_problem(code) is None


def test_wrong_check_character_names_the_right_one():
    body = "91450200MA5K0DEM0"
    good = body + uscc_check_char(body)
    bad = body + ("0" if good[-1] != "0" else "1")
    assert "校验位错误" in uscc_problem(bad)
    assert uscc_check_char(body) in uscc_problem(bad)


@pytest.mark.parametrize(("code", "words"), [("123", "18位"), ("91450200MA5K0DEM0I", "非法字符"),
                                             ("91AB0200MA5K0DEM0K", "行政区划")])
def test_malformed_codes(code, words):
    assert words in uscc_problem(code)


def test_division_code_gives_the_city():
    assert uscc_division_code("91450200MA5K0DEM0K") == "450200"
