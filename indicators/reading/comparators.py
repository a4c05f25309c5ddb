"""Comparator wording → op, by the Civil Code art. 1259 (indicator-taxonomy §4).

以上/以下/以内/不少于/不低于/达到 include the stated number (`>=`, `<=`); 超过/高于 and 低于/不满/少于 exclude it
(`>`, `<`). Symbols: ≥ ≧ > ＞ ≤ < ＜ and `〈` (a bracket used as `<`, 001 L198). `=` is `==`.

A comparator is found either right before the number (`≥5`, `不少于3种`, `不低于项目总投入的10%`, with a bounded
gap of words in between) or right after its unit (`3件以上`, `0.1%以内`). Text is width-folded first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GE, GT, LE, LT, EQ = ">=", ">", "<=", "<", "=="


@dataclass(frozen=True)
class Comparator:
    op: str
    word: str
    start: int
    end: int
    typo: str | None = None  # a note when the wording is a known typo (`不少5项`, `以上以上`)


# Symbols must touch the number (spaces and a ± allowed).
# `≤总厚度的2%`: a symbol, a short reference quantity ending in 的, then the number
_SYMBOL = re.compile(r"(>=|<=|≥|≧|≤|≦|>|<|〈|=)[ \t]*(?:[^\d，；。,;、<>=≤≥]{1,8}的[ \t]*)?$")
_SYMBOL_OPS = {">=": GE, "≥": GE, "≧": GE, ">": GT, "<=": LE, "≤": LE, "≦": LE, "<": LT, "〈": LT, "=": EQ}

# Word comparators with the largest gap of other words allowed before the number. Longer words first so
# that `不超过` is never read as `超过`, nor `不低于` as `低于`.
_WORDS: tuple[tuple[str, str, int], ...] = (
    ("大于或等于", GE, 12), ("大于等于", GE, 12), ("小于或等于", LE, 12), ("小于等于", LE, 12),
    ("不少于", GE, 12), ("不低于", GE, 12), ("不小于", GE, 12), ("不短于", GE, 12), ("不差于", GE, 12),
    ("不超过", LE, 12), ("不高于", LE, 12), ("不大于", LE, 12), ("不多于", LE, 12), ("不长于", LE, 12),
    ("降低至", LE, 4), ("降低到", LE, 4), ("下降至", LE, 4), ("下降到", LE, 4), ("减薄至", LE, 4),
    ("减薄到", LE, 4), ("缩短至", LE, 4), ("缩短到", LE, 4), ("压缩至", LE, 4), ("减小至", LE, 4),
    ("升高至", GE, 2), ("延长至", GE, 2), ("扩大至", GE, 2), ("突破到", GE, 2), ("突破", GE, 0),
    ("减少至", LE, 4), ("减少到", LE, 4), ("控制在", LE, 4),
    ("提升至", GE, 2), ("提高至", GE, 2), ("提升到", GE, 2), ("提高到", GE, 2), ("增加至", GE, 2),
    ("增长至", GE, 2), ("增至", GE, 2), ("降至", LE, 4), ("降到", LE, 4), ("减至", LE, 4), ("低至", LE, 2),
    ("至少", GE, 8), ("最少", GE, 8), ("最低", GE, 2), ("达到", GE, 8), ("高达", GE, 8), ("达", GE, 0),
    # `最高实现90Hz刷新率`, `完成2件…`: a value reached right after the verb is a floor (§4: 完成/实现 X)
    ("实现", GE, 0), ("完成", GE, 0),
    ("超过", GT, 12), ("超出", GT, 12), ("高于", GT, 12), ("大于", GT, 12), ("多于", GT, 12),
    ("低于", LT, 12), ("少于", LT, 12), ("小于", LT, 12), ("不满", LT, 12), ("不足", LT, 12),
)
_ASCII = re.compile(r"[\x00-\x7f]+")
_WORD_RE = re.compile("|".join(re.escape(w) for w, _, _ in _WORDS))
_WORD_INFO = {w: (op, gap) for w, op, gap in _WORDS}
# `不少5项` (003 L65), `不少10个` (000 L741): 不少 not followed by 于 is read as 不少于, with a flag.
_TYPO_BUSHAO = re.compile(r"不少(?!于)")

# After the unit: `以上`, `及以上`, `（含）以上`, `以下`, `及以下`, `以内`; `以上以上` is a typo (002 L768).
_SUFFIX = re.compile(r"[ \t]*(?:（含）|\(含\))?(?:及|或)?(以上以上|以上|以下|以内)")
_SUFFIX_OPS = {"以上": GE, "以上以上": GE, "以下": LE, "以内": LE}

# A stated improvement is a minimum (C1): `降低人工巡检成本40%以上`, `提升2倍`, `减少30%`.
IMPROVEMENT = re.compile(
    r"提升|提高|增加|增长|延长|降低|减少|下降|缩短|节约|节省|减重|减轻|减排|压缩"
)


def find_prefix(text: str, lo: int, num_start: int) -> Comparator | None:
    """The comparator that governs the number starting at ``num_start``; search no earlier than ``lo``."""
    window = text[lo:num_start]
    m = _SYMBOL.search(window)
    if m:
        return Comparator(_SYMBOL_OPS[m.group(1)], m.group(1), lo + m.start(1), lo + m.end(1))
    best: Comparator | None = None
    for m in _WORD_RE.finditer(window):
        op, max_gap = _WORD_INFO[m.group()]
        # Latin names and codes in between (`低于JB/T 7946.3标准的1级`) do not count as words
        gap = len(_ASCII.sub("", window[m.end():]))
        if gap <= max_gap:
            best = Comparator(op, m.group(), lo + m.start(), lo + m.end())
    for m in _TYPO_BUSHAO.finditer(window):
        gap = len(window[m.end():].replace(" ", ""))
        if gap == 0 and (best is None or best.end <= lo + m.start()):
            best = Comparator(GE, "不少", lo + m.start(), lo + m.end(), typo="“不少”应为“不少于”")
    return best


def find_suffix(text: str, pos: int) -> Comparator | None:
    """A comparator written right after the unit (`以上`, `以内`…)."""
    m = _SUFFIX.match(text, pos)
    if not m:
        return None
    word = m.group(1)
    typo = "“以上以上”重复" if word == "以上以上" else None
    return Comparator(_SUFFIX_OPS[word], word, m.start(1), m.end(), typo=typo)


def has_improvement(text: str) -> bool:
    """True when the words before a number state a change (`降低…`, `提升…`): a minimum (C1)."""
    return bool(IMPROVEMENT.search(text))


def comparator_words() -> tuple[str, ...]:
    """Every comparator word, for cutting them off the end of a metric name."""
    return tuple(w for w, _, _ in _WORDS)
