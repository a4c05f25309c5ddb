"""Evidence identifiers (indicators/evidence_ids.py): check digits, formats, prefixes, canonical forms."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicators.evidence_ids import EVIDENCE_KINDS, IdentifierCheck, check_identifier

TODAY = date(2026, 5, 1)
WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def check(kind: str, text: str, today: date = TODAY) -> IdentifierCheck:
    return check_identifier(kind, text, today=today)


def accepted(kind: str, text: str, today: date = TODAY) -> str:
    result = check(kind, text, today)
    assert result.error is None, result.error
    assert result.value is not None
    return result.value


def rejected(kind: str, text: str, today: date = TODAY) -> str:
    result = check(kind, text, today)
    assert result.value is None
    assert result.error
    return result.error


def application_check(digits: str) -> str:
    """The CNIPA check character, computed here independently of the module."""
    remainder = sum(int(d) * w for d, w in zip(digits, WEIGHTS, strict=False)) % 11
    return "X" if remainder == 10 else str(remainder)


# --- the kinds ----------------------------------------------------------------------------------------------------


def test_kinds_in_order_with_labels() -> None:
    assert list(EVIDENCE_KINDS) == ["patent_application", "patent_grant", "software_copyright", "standard", "doi",
                                    "issn", "invoice", "contract", "certificate", "file"]
    assert EVIDENCE_KINDS["patent_application"] == "专利申请号"
    assert EVIDENCE_KINDS["certificate"] == "证书/报告编号"
    assert EVIDENCE_KINDS["file"] == "其他材料"


def test_unknown_kind() -> None:
    assert check("paper", "10.1000/x") == IdentifierCheck(None, "未知的材料类型")


@pytest.mark.parametrize("kind", [k for k in EVIDENCE_KINDS if k != "file"])
@pytest.mark.parametrize("text", ["", "   ", "\u3000", "\t\n"])
def test_empty_names_the_kind(kind: str, text: str) -> None:
    assert check(kind, text) == IdentifierCheck(None, f"请填写{EVIDENCE_KINDS[kind]}")


def test_file_may_be_empty() -> None:
    assert check("file", "") == IdentifierCheck("", None)
    assert check("file", "  ") == IdentifierCheck("", None)


def test_default_today_is_used() -> None:
    assert check_identifier("patent_application", "202310123456.6").value == "202310123456.6"
    next_year = date.today().year + 1
    assert check_identifier("software_copyright", f"{next_year + 1}SR0123456").error


# --- patent applications -----------------------------------------------------------------------------------------


def test_the_briefed_example_is_valid() -> None:
    assert application_check("202310123456") == "6"
    assert accepted("patent_application", "202310123456.6") == "202310123456.6"


@pytest.mark.parametrize(
    ("digits", "check_char"),
    [
        ("202310123456", "6"),
        ("201910000001", "9"),  # 4 + 4 + 45 + 6 + 5 = 64 ≡ 9
        ("202120567890", "X"),  # 197 ≡ 10
        ("202310000002", "X"),
        ("200380012345", "9"),  # PCT invention entering China
        ("202230000008", "3"),  # design
        ("202490123456", "4"),  # PCT utility model
        ("201720100000", "8"),  # utility model
    ],
)
def test_valid_twelve_digit_numbers(digits: str, check_char: str) -> None:
    assert application_check(digits) == check_char
    assert accepted("patent_application", f"{digits}.{check_char}") == f"{digits}.{check_char}"


@pytest.mark.parametrize(
    "text",
    ["202310123456.6", "2023101234566", "CN202310123456.6", "ZL202310123456.6", "cn 202310123456.6",
     " zl2023 1012 3456.6 ", "２０２３１０１２３４５６．６", "ＣＮ２０２３１０１２３４５６．６", "CN2023101234566"],
)
def test_application_prefixes_spaces_and_width(text: str) -> None:
    assert accepted("patent_application", text) == "202310123456.6"


def test_lower_case_x_check() -> None:
    assert accepted("patent_application", "202120567890.x") == "202120567890.X"


def test_wrong_check_digit() -> None:
    assert rejected("patent_application", "202310123456.7") == "专利申请号校验位应为6，填写的是7"
    assert rejected("patent_application", "202120567890.0") == "专利申请号校验位应为X，填写的是0"
    assert rejected("patent_application", "202310000002.2") == "专利申请号校验位应为X，填写的是2"


def test_missing_check_digit_suggests_it() -> None:
    assert rejected("patent_application", "202310123456") == "专利申请号缺少校验位，应为 202310123456.6"


@pytest.mark.parametrize("type_digit", "04567")
def test_wrong_type_digit(type_digit: str) -> None:
    digits = f"2023{type_digit}0123456"
    error = rejected("patent_application", f"{digits}.{application_check(digits)}")
    assert "第5位是专利类型" in error
    assert error.endswith(f"填写的是{type_digit}")


@pytest.mark.parametrize("year", [1984, 2028, 2099])
def test_year_out_of_range(year: int) -> None:
    digits = f"{year}10123456"
    error = rejected("patent_application", f"{digits}.{application_check(digits)}")
    assert error == f"专利申请号前4位是申请年份，应在1985至2027之间，填写的是{year}"


def test_next_year_is_allowed() -> None:
    digits = "202710123456"
    assert accepted("patent_application", f"{digits}.{application_check(digits)}")


@pytest.mark.parametrize(
    ("digits", "check_char"),
    [("98123456", "9"), ("85100001", "0"), ("00100001", "2"), ("03212345", "0"), ("99100003", "X")],
)
def test_valid_old_eight_digit_numbers(digits: str, check_char: str) -> None:
    assert application_check(digits) == check_char
    assert accepted("patent_application", f"{digits}.{check_char}") == f"{digits}.{check_char}"
    assert accepted("patent_application", f"ZL{digits}{check_char}") == f"{digits}.{check_char}"


def test_old_form_rules() -> None:
    assert rejected("patent_application", "98123456.X") == "专利申请号校验位应为9，填写的是X"
    assert "2003年以前" in rejected("patent_application", f"05100001.{application_check('05100001')}")
    assert "第3位是专利类型" in rejected("patent_application", f"98423456.{application_check('98423456')}")
    assert rejected("patent_application", "98123456") == "专利申请号缺少校验位，应为 98123456.9"


@pytest.mark.parametrize(
    "text", ["2023101234", "20231012345678", "202310123456.66", "2023-1012-3456.6", "ZL", "CN112345678B", "专利"]
)
def test_application_format_errors(text: str) -> None:
    assert rejected("patent_application", text).startswith("专利申请号格式应为")


@given(
    year=st.integers(1985, 2027),
    type_digit=st.sampled_from("12389"),
    serial=st.integers(0, 9_999_999),
    other=st.sampled_from("0123456789X"),
)
def test_property_computed_check_accepted_others_rejected(year: int, type_digit: str, serial: int, other: str) -> None:
    digits = f"{year}{type_digit}{serial:07d}"
    good = application_check(digits)
    assert check("patent_application", f"{digits}.{good}") == IdentifierCheck(f"{digits}.{good}", None)
    assert check("patent_application", f"{digits}{good}").value == f"{digits}.{good}"
    if other != good:
        assert check("patent_application", f"{digits}.{other}").error == f"专利申请号校验位应为{good}，填写的是{other}"


# --- patent grants -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["ZL202310123456.6", "zl 202310123456.6", "ZL2023101234566", "202310123456.6", "CN202310123456.6",
             "ＺＬ２０２３１０１２３４５６．６"],
)
def test_grant_patent_number(text: str) -> None:
    assert accepted("patent_grant", text) == "ZL202310123456.6"


def test_grant_old_patent_number() -> None:
    assert accepted("patent_grant", "ZL98123456.9") == "ZL98123456.9"


def test_grant_number_check_digit() -> None:
    assert rejected("patent_grant", "ZL202310123456.5") == "授权专利号校验位应为6，填写的是5"
    assert "第5位是专利类型" in rejected("patent_grant", f"ZL202370123456.{application_check('202370123456')}")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("CN112345678B", "CN112345678B"), ("CN 112345678 B", "CN112345678B"), ("cn112345678b", "CN112345678B"),
     ("CN101234567C", "CN101234567C"), ("CN212345678U", "CN212345678U"), ("CN201234567Y", "CN201234567Y"),
     ("CN306543210S", "CN306543210S"), ("ＣＮ　１１２３４５６７８　Ｂ", "CN112345678B")],
)
def test_grant_publication_number(text: str, canonical: str) -> None:
    assert accepted("patent_grant", text) == canonical


def test_grant_publication_rejections() -> None:
    assert "申请公布号" in rejected("patent_grant", "CN112345678A")
    assert rejected("patent_grant", "CN112345678D") == "授权公告号的类型代码应为 B、C、U、Y 或 S，填写的是D"
    assert "缺少类型代码" in rejected("patent_grant", "CN112345678")
    for text in ("CN1123456B", "CN1123456789B", "US1234567B2", "授权"):
        assert rejected("patent_grant", text).startswith("授权专利号格式应为")


# --- software copyright ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("2023SR0123456", "2023SR0123456"), ("2023sr0123456", "2023SR0123456"), ("2015SR123456", "2015SR123456"),
     (" 2023 SR 0123456 ", "2023SR0123456"), ("软著登字第2023SR0123456号", "2023SR0123456"),
     ("２０２３ＳＲ０１２３４５６", "2023SR0123456"), ("1990SR000001", "1990SR000001")],
)
def test_software_copyright_valid(text: str, canonical: str) -> None:
    assert accepted("software_copyright", text) == canonical


@pytest.mark.parametrize("text", ["2023SR12345", "2023SR01234567", "23SR0123456", "2023RS0123456", "软件著作权"])
def test_software_copyright_format(text: str) -> None:
    assert rejected("software_copyright", text).startswith("软件著作权登记号格式应为")


def test_software_copyright_year() -> None:
    assert rejected("software_copyright", "1989SR0123456") == "软件著作权登记号的年份应在1990至2027之间，填写的是1989"
    assert rejected("software_copyright", "2028SR0123456").endswith("填写的是2028")
    assert accepted("software_copyright", "2027SR0123456")


# --- standards ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # national
        ("GB/T 12345-2020", "GB/T 12345-2020"),
        ("GB/T 12345.1-2020", "GB/T 12345.1-2020"),
        ("gb/t12345.1—2020", "GB/T 12345.1-2020"),
        ("GB 4943.1-2022", "GB 4943.1-2022"),
        ("GB/Z 41275.1–2022", "GB/Z 41275.1-2022"),
        ("ＧＢ／Ｔ　１２３４５－２０２０", "GB/T 12345-2020"),
        ("GB / T  12345 - 2020", "GB/T 12345-2020"),
        # sector
        ("JB/T 10001-1999", "JB/T 10001-1999"),
        ("YY/T 0287-2017", "YY/T 0287-2017"),
        ("HG/T 2521-2022", "HG/T 2521-2022"),
        ("NY/T 394-2021", "NY/T 394-2021"),
        ("SJ/T 11364-2014", "SJ/T 11364-2014"),
        ("QB/T 1333-2018", "QB/T 1333-2018"),
        ("YS/T 1234-2019", "YS/T 1234-2019"),
        ("DL/T 5210.1-2021", "DL/T 5210.1-2021"),
        ("JT/T 1178.2-2019", "JT/T 1178.2-2019"),
        ("CJ/T 3013-2020", "CJ/T 3013-2020"),
        ("JB 4732-1995", "JB 4732-1995"),
        # local
        ("DB45/T 1234-2023", "DB45/T 1234-2023"),
        ("DB45 1234—2023", "DB45 1234-2023"),
        ("db45/t1234-2023", "DB45/T 1234-2023"),
        ("DB4502/T 0012-2021", "DB4502/T 0012-2021"),
        # group
        ("T/CAS 123-2021", "T/CAS 123-2021"),
        ("T/GXAS 456—2023", "T/GXAS 456-2023"),
        ("T/CAS123-2021", "T/CAS 123-2021"),
        ("t/cecs 10001-2019", "T/CECS 10001-2019"),
        # enterprise
        ("Q/GDW 1234-2014", "Q/GDW 1234-2014"),
        ("Q/320500ABC 001-2020", "Q/320500ABC 001-2020"),
        # international
        ("ISO 9001:2015", "ISO 9001:2015"),
        ("ISO/IEC 27001:2022", "ISO/IEC 27001:2022"),
        ("iso/iec 27001：2022", "ISO/IEC 27001:2022"),
        ("IEC 60335-1:2020", "IEC 60335-1:2020"),
        ("ISO 9001 : 2015", "ISO 9001:2015"),
    ],
)
def test_standard_valid(text: str, canonical: str) -> None:
    assert accepted("standard", text) == canonical


@pytest.mark.parametrize(
    "text",
    ["国家标准", "GB/T 12345", "GB/T 12345-20", "GB/T-2020", "ABC/T 123-2020", "T/C 123-2021", "T/ABCDEFGHI 1-2020",
     "GB/T 12345-2020 信息技术", "12345-2020", "IEEE 802.11-2020", "GB/X 123-2020"],
)
def test_standard_format_rejected(text: str) -> None:
    assert rejected("standard", text) == "标准编号格式应为 GB/T 12345-2020 等"


def test_standard_specific_rejections() -> None:
    assert rejected("standard", "ISO 9001-2015") == "国际标准编号的年份用冒号分隔，例如 ISO 9001:2015"
    assert rejected("standard", "DB/T 1234-2023").startswith("地方标准编号应为 DB + 2位省级代码")
    assert rejected("standard", "DB99/T 1234-2023") == "地方标准的省级代码99不存在"
    assert rejected("standard", "GB/T 12345-1949") == "标准的年份应在1950至2027之间，填写的是1949"
    assert rejected("standard", "ISO 9001:2030").endswith("填写的是2030")


# --- DOI ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["10.1016/j.heares.2020.108000", "doi:10.1016/j.heares.2020.108000", "DOI: 10.1016/j.heares.2020.108000",
     "https://doi.org/10.1016/j.heares.2020.108000", "http://dx.doi.org/10.1016/j.heares.2020.108000",
     "HTTPS://DOI.ORG/10.1016/j.heares.2020.108000", "  doi.org/10.1016/j.heares.2020.108000 ",
     "ｄｏｉ：10.1016/j.heares.2020.108000"],
)
def test_doi_prefixes(text: str) -> None:
    assert accepted("doi", text) == "10.1016/j.heares.2020.108000"


def test_doi_suffix_kept_as_written() -> None:
    assert accepted("doi", "10.1038/NATURE12373") == "10.1038/NATURE12373"
    assert accepted("doi", "10.123456789/a(b)c-1") == "10.123456789/a(b)c-1"
    assert accepted("doi", "10.1000.10/xyz") == "10.1000.10/xyz"


@pytest.mark.parametrize(
    "text", ["10.1016/", "10.123/abc", "10.1234567890/abc", "11.1016/abc", "10.1016/a b", "10.1016", "doi:",
             "10.1016/a\u200bb", "https://example.org/10.1016/abc"],
)
def test_doi_rejected(text: str) -> None:
    assert rejected("doi", text).startswith("DOI格式应为")


def test_doi_too_long() -> None:
    assert rejected("doi", "10.1000/" + "a" * 200) == "DOI不能超过200个字符"


# --- ISSN --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("0378-5955", "0378-5955"), ("2049-3630", "2049-3630"), ("0317-8471", "0317-8471"), ("03785955", "0378-5955"),
     ("ISSN 0378-5955", "0378-5955"), ("issn:2049-3630", "2049-3630"), ("ＩＳＳＮ　０３１７－８４７１", "0317-8471"),
     ("2434-561x", "2434-561X"), ("ISSN：2434-561X", "2434-561X")],
)
def test_issn_valid(text: str, canonical: str) -> None:
    assert accepted("issn", text) == canonical


def test_issn_wrong_check_digit() -> None:
    assert rejected("issn", "0378-5954") == "ISSN校验位应为5，填写的是4"
    assert rejected("issn", "2434-5610") == "ISSN校验位应为X，填写的是0"
    assert rejected("issn", "0317-847X") == "ISSN校验位应为1，填写的是X"


@pytest.mark.parametrize("text", ["0378-595", "0378-59555", "CN 11-1234/N", "03785-955", "ISBN 0378-5955"])
def test_issn_format(text: str) -> None:
    assert rejected("issn", text).startswith("ISSN格式应为")


# --- free identifiers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["invoice", "contract", "certificate", "file"])
def test_free_identifiers(kind: str) -> None:
    assert accepted(kind, "  HT-2024-001  ") == "HT-2024-001"
    assert accepted(kind, "桂科合字〔2024〕第 12 号") == "桂科合字〔2024〕第 12 号"
    assert accepted(kind, "ＮＯ．１２３４５") == "NO.12345"
    assert accepted(kind, "a  \u3000 b") == "a b"
    assert accepted(kind, "x" * 60) == "x" * 60
    label = EVIDENCE_KINDS[kind]
    assert rejected(kind, "x" * 61) == f"{label}的编号不能超过60个字符"
    assert rejected(kind, "12\x0034") == f"{label}含有不可见的控制字符，请重新输入"
    assert rejected(kind, "12\t34") == f"{label}含有不可见的控制字符，请重新输入"
    assert rejected(kind, "12\u200b34") == f"{label}含有不可见的控制字符，请重新输入"


def test_twenty_digit_invoice_number() -> None:
    assert accepted("invoice", "24452000000012345678") == "24452000000012345678"


def test_none_text_is_empty() -> None:
    assert check_identifier("invoice", None).error == "请填写发票号码"  # type: ignore[arg-type]
