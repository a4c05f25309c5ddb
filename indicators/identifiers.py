"""Identifiers with check characters that the domain validates (pure functions, no database)."""

from __future__ import annotations

# GB 32100-2015 统一社会信用代码: 18 characters from this 31-symbol alphabet (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """None when `code` is a valid 统一社会信用代码, else the reason in Chinese."""
    code = code.strip().upper()
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际为{len(code)}位"
    bad = sorted({ch for ch in code if ch not in USCC_ALPHABET})
    if bad:
        return f"统一社会信用代码含有非法字符：{''.join(bad)}"
    if not code[2:8].isdigit():
        return "统一社会信用代码第3–8位应为行政区划代码（数字）"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误（应为 {expected}）"
    return None


def uscc_division_code(code: str) -> str:
    """Characters 3–8: the administrative division code of the registering authority (DESIGN §2)."""
    return code.strip().upper()[2:8]
