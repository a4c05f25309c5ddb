"""Identifiers of the evidence a grantee attaches to a quarterly progress report (DESIGN §2 "Progress report").

An officer checks a patent or a standard by its number, so a number with a wrong check digit or a made-up
format should be caught when the report is written, not at acceptance. Each kind is read leniently
(full-width characters, spaces, the usual prefixes `CN`, `ZL`, `ISSN`, `doi:`) and written back in one
canonical form, so that the same patent reported twice is recognised as the same. Nothing raises: a problem
comes back as a Chinese message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from indicators.reading.numbers import normalize_width

EVIDENCE_KINDS: dict[str, str] = {
    "patent_application": "专利申请号",
    "patent_grant": "授权专利号",
    "software_copyright": "软件著作权登记号",
    "standard": "标准编号",
    "doi": "DOI",
    "issn": "ISSN",
    "invoice": "发票号码",
    "contract": "合同编号",
    "certificate": "证书/报告编号",
    "file": "其他材料",
}

MAX_FREE_LENGTH = 60
FIRST_PATENT_YEAR = 1985  # the Chinese Patent Law took effect on 1 April 1985
FIRST_SOFTWARE_YEAR = 1990
FIRST_STANDARD_YEAR = 1950

# Punctuation `normalize_width` leaves alone (it keeps CJK punctuation for the clause parsers) but that
# identifiers are typed with.
_PUNCT = str.maketrans({"／": "/", "：": ":", "－": "-", "—": "-", "–": "-", "‐": "-", "‑": "-", "−": "-",
                        "﹣": "-", "―": "-"})


@dataclass(frozen=True)
class IdentifierCheck:
    value: str | None  # the canonical identifier; None when rejected
    error: str | None  # Chinese, for the form


def _ok(value: str) -> IdentifierCheck:
    return IdentifierCheck(value, None)


def _bad(message: str) -> IdentifierCheck:
    return IdentifierCheck(None, message)


def _fold(text: str) -> str:
    """Half-width letters, digits and separators; surrounding spaces dropped."""
    return normalize_width(text).translate(_PUNCT).strip()


def _compact(text: str) -> str:
    """Upper case and no spaces at all: patent and serial numbers are often typed in groups."""
    return "".join(text.split()).upper()


# ------------------------------------------------------------------------------------------------
# Patents
# ------------------------------------------------------------------------------------------------

_APPLICATION_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_APPLICATION = re.compile(r"(\d{12}|\d{8})\.?([0-9X])")
_APPLICATION_NO_CHECK = re.compile(r"(\d{12}|\d{8})\.?")
_PATENT_TYPES = "12389"  # invention, utility model, design, PCT invention, PCT utility model
_TYPE_NAMES = "1发明、2实用新型、3外观设计、8或9 PCT国际申请"
_PUBLICATION = re.compile(r"CN(\d{9})([A-Z])")
_GRANT_KINDS = "BCUYS"
_APPLICATION_FORMAT = "专利申请号格式应为 202310123456.6（12位数字、小数点、校验位）"
_GRANT_FORMAT = "授权专利号格式应为 ZL202310123456.6，或授权公告号 CN112345678B"


def _check_char(digits: str) -> str:
    """The check character of an application number (CNIPA): weighted sum mod 11, 10 written `X`."""
    total = sum(int(d) * w for d, w in zip(digits, _APPLICATION_WEIGHTS[: len(digits)], strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def _application_year(digits: str) -> int:
    """12 digits start with the year; the 8-digit form (before October 2003) with its last two digits."""
    if len(digits) == 12:
        return int(digits[:4])
    yy = int(digits[:2])
    return 1900 + yy if yy >= 85 else 2000 + yy


def _application(body: str, today: date, label: str, format_message: str) -> IdentifierCheck:
    """An application number without its prefix: format, year, type digit, then the check character."""
    m = _APPLICATION.fullmatch(body)
    if m is None:
        bare = _APPLICATION_NO_CHECK.fullmatch(body)
        if bare:
            digits = bare.group(1)
            return _bad(f"{label}缺少校验位，应为 {digits}.{_check_char(digits)}")
        return _bad(format_message)
    digits, check = m.groups()
    year = _application_year(digits)
    if len(digits) == 12:
        if not FIRST_PATENT_YEAR <= year <= today.year + 1:
            return _bad(f"{label}前4位是申请年份，应在{FIRST_PATENT_YEAR}至{today.year + 1}之间，填写的是{year}")
        kind_digit = digits[4]
        where = "第5位"
    else:
        if year > 2003:
            return _bad(f"8位的{label}只用于2003年以前（年份85—99、00—03），填写的是{digits[:2]}")
        kind_digit = digits[2]
        where = "第3位"
    if kind_digit not in _PATENT_TYPES:
        return _bad(f"{label}{where}是专利类型（{_TYPE_NAMES}），填写的是{kind_digit}")
    expected = _check_char(digits)
    if check != expected:
        return _bad(f"{label}校验位应为{expected}，填写的是{check}")
    return _ok(f"{digits}.{check}")


def _strip_prefix(text: str, *prefixes: str) -> str:
    for prefix in prefixes:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _patent_application(text: str, today: date) -> IdentifierCheck:
    body = _strip_prefix(_compact(text), "CN", "ZL")
    return _application(body, today, EVIDENCE_KINDS["patent_application"], _APPLICATION_FORMAT)


def _patent_grant(text: str, today: date) -> IdentifierCheck:
    """`ZL` + an application number, or a grant publication number `CN` + 9 digits + kind code."""
    compact = _compact(text)
    m = _PUBLICATION.fullmatch(compact)
    if m:
        number, kind = m.groups()
        if kind == "A":
            return _bad(f"CN{number}A 是申请公布号，不是授权公告号（类型代码应为 B、C、U、Y 或 S）")
        if kind not in _GRANT_KINDS:
            return _bad(f"授权公告号的类型代码应为 B、C、U、Y 或 S，填写的是{kind}")
        return _ok(f"CN{number}{kind}")
    if re.fullmatch(r"CN\d{9}", compact):
        return _bad("授权公告号缺少类型代码（B、C、U、Y 或 S），例如 CN112345678B")
    body = _strip_prefix(compact, "ZL", "CN")
    check = _application(body, today, EVIDENCE_KINDS["patent_grant"], _GRANT_FORMAT)
    return _ok("ZL" + check.value) if check.value is not None else check


# ------------------------------------------------------------------------------------------------
# Software copyright, standards
# ------------------------------------------------------------------------------------------------

# The certificate writes `软著登字第2023SR0123456号`; the registration number is the part inside.
_SOFTWARE = re.compile(r"(?:软著登字)?第?(\d{4})SR(\d{6,7})号?")


def _software_copyright(text: str, today: date) -> IdentifierCheck:
    m = _SOFTWARE.fullmatch(_compact(text))
    if m is None:
        return _bad("软件著作权登记号格式应为 2023SR0123456（年份、SR、6或7位数字）")
    year = int(m.group(1))
    if not FIRST_SOFTWARE_YEAR <= year <= today.year + 1:
        return _bad(f"软件著作权登记号的年份应在{FIRST_SOFTWARE_YEAR}至{today.year + 1}之间，填写的是{year}")
    return _ok(f"{year}SR{m.group(2)}")


# Chinese standard codes. A group or enterprise code glued to the number (`T/CAS123`) can only be read
# when it is letters; with a space it may hold digits too (`Q/320500ABC 001`). A city-level local standard
# (`DB3301/T`) is told from a province one by its `/T` or the space after it.
_CN_STANDARD = re.compile(
    r"(?P<code>GB(?:/[TZ])?"
    r"|DB(?P<province>\d{2})(?:\d{2}(?=/T| ))?(?:/T)?"
    r"|T/(?:[A-Z0-9]{2,8}(?= )|[A-Z]{2,8})"
    r"|Q/(?:[A-Z0-9]{1,20}(?= )|[A-Z]{1,20})"
    r"|[A-Z]{2}(?:/T)?)"
    r" ?(?P<number>\d+(?:\.\d+)*) ?- ?(?P<year>\d{4})"
)
_INTL_STANDARD = re.compile(r"(?P<code>ISO/IEC|ISO|IEC) ?(?P<number>\d+(?:-\d+)*) ?: ?(?P<year>\d{4})")
_PROVINCES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82]
)
_STANDARD_FORMAT = "标准编号格式应为 GB/T 12345-2020 等"


def _standard_text(text: str) -> str:
    """Upper case, one space at most, none around `/`."""
    text = " ".join(text.upper().split())
    return re.sub(r" ?/ ?", "/", text)


def _standard(text: str, today: date) -> IdentifierCheck:
    s = _standard_text(text)
    m = _INTL_STANDARD.fullmatch(s)
    separator = ":"
    if m is None:
        m = _CN_STANDARD.fullmatch(s)
        separator = "-"
        if m is None:
            if re.match(r"(?:ISO|IEC)(?![A-Z])", s):
                return _bad("国际标准编号的年份用冒号分隔，例如 ISO 9001:2015")
            return _bad(_STANDARD_FORMAT)
        code = m.group("code")
        if code.startswith("DB") and m.group("province") is None:
            return _bad("地方标准编号应为 DB + 2位省级代码，例如 DB45/T 1234-2023")
        if m.group("province") is not None and int(m.group("province")) not in _PROVINCES:
            return _bad(f"地方标准的省级代码{m.group('province')}不存在")
    year = int(m.group("year"))
    if not FIRST_STANDARD_YEAR <= year <= today.year + 1:
        return _bad(f"标准的年份应在{FIRST_STANDARD_YEAR}至{today.year + 1}之间，填写的是{year}")
    return _ok(f"{m.group('code')} {m.group('number')}{separator}{year}")


# ------------------------------------------------------------------------------------------------
# DOI, ISSN
# ------------------------------------------------------------------------------------------------

_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/",
                 "doi.org/", "dx.doi.org/", "doi:")
_DOI = re.compile(r"(10\.\d{4,9}(?:\.\d+)*)/(\S+)")
MAX_DOI_LENGTH = 200


def _doi(text: str, today: date) -> IdentifierCheck:
    s = text
    lowered = s.lower()
    for prefix in _DOI_PREFIXES:
        if lowered.startswith(prefix):
            s = s[len(prefix):].strip()
            break
    m = _DOI.fullmatch(s)
    if m is None or not s.isprintable():
        return _bad("DOI格式应为 10.1000/xyz123（可带 doi: 或 https://doi.org/ 前缀）")
    if len(s) > MAX_DOI_LENGTH:
        return _bad(f"DOI不能超过{MAX_DOI_LENGTH}个字符")
    return _ok(f"{m.group(1).lower()}/{m.group(2)}")


_ISSN = re.compile(r"(?:ISSN:?)?(\d{4})-?(\d{3})([0-9X])")


def _issn_check_char(digits: str) -> str:
    """ISO 3297: weights 8..2, the check makes the sum a multiple of 11; 10 is written `X`."""
    total = sum(int(d) * w for d, w in zip(digits, range(8, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _issn(text: str, today: date) -> IdentifierCheck:
    m = _ISSN.fullmatch(_compact(text))
    if m is None:
        return _bad("ISSN格式应为 1234-567X（8位，最后一位可为X）")
    head, tail, check = m.groups()
    expected = _issn_check_char(head + tail)
    if check != expected:
        return _bad(f"ISSN校验位应为{expected}，填写的是{check}")
    return _ok(f"{head}-{tail}{check}")


# ------------------------------------------------------------------------------------------------
# Free identifiers
# ------------------------------------------------------------------------------------------------


def _free(kind: str) -> Callable[[str, date], IdentifierCheck]:
    """Invoices, contracts, certificates and files are numbered by whoever issued them: only the length and
    invisible characters (pasted from a PDF) are checked."""
    label = EVIDENCE_KINDS[kind]

    def check(text: str, today: date) -> IdentifierCheck:
        if not text.isprintable():
            return _bad(f"{label}含有不可见的控制字符，请重新输入")
        text = " ".join(text.split())
        if len(text) > MAX_FREE_LENGTH:
            return _bad(f"{label}的编号不能超过{MAX_FREE_LENGTH}个字符")
        return _ok(text)

    return check


_CHECKERS: dict[str, Callable[[str, date], IdentifierCheck]] = {
    "patent_application": _patent_application,
    "patent_grant": _patent_grant,
    "software_copyright": _software_copyright,
    "standard": _standard,
    "doi": _doi,
    "issn": _issn,
    "invoice": _free("invoice"),
    "contract": _free("contract"),
    "certificate": _free("certificate"),
    "file": _free("file"),
}


def check_identifier(kind: str, text: str, *, today: date | None = None) -> IdentifierCheck:
    """Check and canonicalise one evidence identifier; ``today`` bounds the plausible years."""
    if kind not in EVIDENCE_KINDS:
        return _bad("未知的材料类型")
    folded = _fold(text or "")
    if not folded:
        # a file is evidence by itself; every other kind is its number
        return _ok("") if kind == "file" else _bad(f"请填写{EVIDENCE_KINDS[kind]}")
    return _CHECKERS[kind](folded, today or date.today())
