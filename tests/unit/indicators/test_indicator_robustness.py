"""`interpret_clause` never raises, and reads every clause of the seed documents sensibly.

The property tests call `analyse` (the reader without its safety net), so that a crash is found rather
than hidden; `interpret_clause` adds the net for production input.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.reading import interpret_clause
from indicators.reading.targets import analyse
from tests.unit.indicators.indicator_eval import seed_clauses

_ALPHABET = (
    "0123456789０１２３４５６７８９.．,，、；;。：:（）()【】“”《》+-—–~～〜±×x/%％‰≥≧≤≦<>＜＞〈=@ "
    "一二两三四五六七八九十百千万亿零第统"
    "件项个篇套条人名家次场份台种款处颗羽吨亩年月天元万元亿元人次百分点倍级分"
    "以上以下以内及或和不少于低于高于超过达到至少含目标条件下在计算按测算从提升至降低"
    "申请授权发明专利软件著作权知识产权标准论文培养引进服务示范平台报告系统产品技术收入利税产值"
    "鼓励积极实现产业化效益由申报单位设置情况各其中预计"
    "nmμmMPaGHzdBWhkgTBsAVJNλΦ"
)

_FRAGMENTS = st.sampled_from([
    "申请发明专利2件", "获得授权发明专利1项（或获得授权实用新型专利或软件著作权2项）及以上", "超过1亿元",
    "工作频率：0.8GHz～18GHz", "1310nm±10nm", "≤±1.5dB", "（99.99%），目标99.9%以上", "在额定压力30MPa条件下",
    "以年产200吨计算", "1亿元万元", "不少5项", "≥abc项", "50＜Φ≤127", "开发一款", "“一控两槽”", "实现产业化应用",
    "鼓励发表论文", "由申报单位根据项目实际情况设置", "或", "，", "；", "。", "（", "）", "各1种", "其中", "1×10-3S/cm",
    "99999999999999999999万元", "-", "—", "~", "2024年", "λ/63", "A221%", "±", "@100Hz(0.5GHz)",
])


def _check(text: str) -> None:
    readings = analyse(text)
    assert readings, "at least one reading"
    for r in readings:
        assert r.text in text
        assert r.combine in ("all", "any")
        for t in r.targets:
            assert (t.op is None) == (t.value is None)
            assert t.kind in ("cumulative", "level", "deliverable", "qualitative")
        r.as_record()


@pytest.mark.slow  # fuzzing
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_never_raises_on_any_text(text):
    _check(text)


@pytest.mark.slow  # fuzzing
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=160))
def test_never_raises_on_clause_like_text(text):
    _check(text)


@pytest.mark.slow  # fuzzing
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, min_size=1, max_size=12).map("".join))
def test_never_raises_on_recombined_fragments(text):
    _check(text)


def test_public_function_survives_odd_input():
    for value in ("", "\x00", "（（（（", "））））", "1" * 500, "≥" * 50, None, 12):
        readings = interpret_clause(value)  # type: ignore[arg-type]
        assert readings and isinstance(readings[0].text, str)


def test_every_seed_clause_is_read_without_error():
    """Smoke check on all clauses of the five seeds (a crude test-only segmenter finds them)."""
    clauses = list(seed_clauses())
    assert len(clauses) > 700
    kinds: Counter[str] = Counter()
    with_targets = 0
    for _seed, _line, text in clauses:
        readings = interpret_clause(text)
        for r in readings:
            assert r.text in text
            kinds.update(f.kind for f in r.flags)
            assert not (r.targets and "no_target" in {f.kind for f in r.flags})
            with_targets += bool(r.targets)
            for f in r.flags:
                assert f.message and not f.message.isascii(), "flag messages are in Chinese"
    assert "internal_error" not in kinds
    # nearly every clause yields targets; the rest are flagged for a person to look at
    assert with_targets / len(clauses) > 0.95
    assert kinds["no_target"] + kinds["non_binding"] < 0.05 * len(clauses)
    print(f"\n{len(clauses)} seed clauses; flags: {dict(kinds.most_common())}")
