"""The password policy (G6): 12 to 128 characters, not a common password, not the user's own name.

Characters are counted as the user sees them, so a CJK passphrase of 12 characters is accepted.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 128
_COMMON_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
# Words of this product that a user is tempted to build a password on.
_CONTEXT_WORDS = ("tracker", "password", "passw0rd", "科技", "项目", "验收")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text("utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str, *, username: str = "", display_name: str = "") -> list[str]:
    """Every reason the password is refused, in Chinese; an empty list means it is accepted."""
    normalized = unicodedata.normalize("NFC", password)
    problems = []
    if len(normalized) < MIN_LENGTH:
        problems.append(f"密码至少需要 {MIN_LENGTH} 个字符（当前 {len(normalized)} 个）")
    if len(normalized) > MAX_LENGTH:
        problems.append(f"密码不能超过 {MAX_LENGTH} 个字符")
    if any(unicodedata.category(ch) == "Cc" for ch in normalized):
        problems.append("密码不能包含控制字符")
    lowered = normalized.casefold()
    if lowered in common_passwords() or lowered.strip("0123456789!@#$%^&*.") in common_passwords():
        problems.append("这是常见密码，容易被猜中，请换一个")
    for word in (username, display_name):
        if word and len(word) >= 3 and word.casefold() in lowered:
            problems.append("密码不能包含用户名或姓名")
            break
    if not problems and len(set(lowered)) <= 2:
        problems.append("密码过于单一（重复字符），请换一个")
    if not problems and any(lowered == w * (len(lowered) // len(w)) for w in _CONTEXT_WORDS if len(w) > 0):
        problems.append("密码不能只由系统名称等常见词构成")
    return problems
