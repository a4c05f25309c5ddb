"""Rules added for directions nobody tuned the reader on (issue #24). Each names the linguistic pattern it covers
and is tested on clauses of at least two directions, taken from the seeds outside the frozen sample where the
seeds have them (tests/data/indicators-frozen.jsonl stays an honest measure)."""

from __future__ import annotations

import pytest

from indicators.reading import interpret_clause


def _targets(text: str) -> list[tuple]:
    return [(t.category, t.op, None if t.value is None else float(t.value), t.unit)
            for r in interpret_clause(text) for t in r.targets]


def _metrics(text: str) -> list[str]:
    return [t.metric for r in interpret_clause(text) for t in r.targets]


# Compliance with a named standard is a requirement without a number (000 L235, L405, L670; 001 L104 is the dev
# precedent `…达到QCT 743或GB/T 31485标准要求`); a purpose `满足…的要求` is not.
@pytest.mark.parametrize("text", [
    "型材尺寸精度满足ANSI H35.2标准要求",  # 000 L405 空天铝材三级时效淬火装备
    "耐腐蚀性能符合国家标准（GB/T 19292.1-2018）C5或C4级",  # 000 L235 高强耐蚀端板
])
def test_compliance_with_a_named_standard_is_a_qualitative_parameter(text):
    assert ("performance_metric", None, None, None) in _targets(text)


def test_a_purpose_is_not_a_standard_to_comply_with():
    text = "满足半导体制造工艺对高精度贴片的要求，符合半导体制造行业对无尘环境的严苛标准"  # dev 000-052's wording
    assert _targets(text) == []


# Functions realised, listed by name: `实现/具备/具有…功能` (000 L149, L509).
@pytest.mark.parametrize("text", [
    "研制的焊接质量检测系统具有外观质量视觉检测的算法和功能",  # 000 L509 工程机械焊接
    "实现辅助用餐、大小便护理、智能翻身、智能助动、便捷式洗浴等功能",  # 000 L149 智能护理机器人
])
def test_functions_named_without_a_number_are_qualitative_parameters(text):
    assert _targets(text) == [("performance_metric", None, None, None)]
    assert "功能" in _metrics(text)[0] and not _metrics(text)[0].startswith("实现")


# A cost or duration lowered without a figure (000 L551, L822).
@pytest.mark.parametrize("text", [
    "实现光伏玻璃的低能耗熔化与绿色生产，降低企业的生产成本，提高生产效率",  # 000 L551 光伏玻璃
    "实现特色院内制剂产品应用病例在3000例以上，降低患者整体诊疗费用",  # 000 L822 院内制剂
])
def test_a_reduction_named_without_a_figure_is_a_qualitative_parameter(text):
    assert ("performance_metric", None, None, None) in _targets(text)


# A thing to deliver named at the end of a piece wins over a predicate inside its modifier (001 L595, L619).
@pytest.mark.parametrize("text", [
    "提供新技术提高疾病防治效果后节省成本情况分析研究报告",  # 001 L595, L619, 002 L41 (same wording, three directions)
    "形成完整的乙酸酯绿色高效合成制备技术产业化应用方案",  # 000 L680
])
def test_a_report_or_plan_named_at_the_end_is_the_implied_deliverable(text):
    assert _targets(text) == [("deliverable", ">=", 1.0, "份")]


# A base built and then measured: the area is not a count of the base, so the implied one stays (001 L687, L732).
@pytest.mark.parametrize("text", [
    "建立绿色高效种植示范基地，种植面积达500亩以上",  # 001 L687 粮油作物
    "建立绿色高效种植示范基地，面积达500亩以上",  # 001 L732 茶树
])
def test_a_base_built_keeps_its_implied_one_when_its_area_follows(text):
    assert _targets(text) == [("demonstration", ">=", 1.0, "个"), ("demonstration", ">=", 500.0, "亩")]
    assert _metrics(text)[1].endswith("面积") and len(_metrics(text)[1]) > 2


def test_a_counted_thing_named_before_is_still_not_counted_twice():
    # dev precedent: `形成相关的技术规程，发布…标准1项及以上` is one standard
    text = "解决产业发展的1个或某几个关键技术难题，并形成相关的技术规程，发布团体标准或行业标准1项及以上"
    assert [t for t in _targets(text) if t[0] == "standard"] == [("standard", ">=", 1.0, "项")]


# `实现产业化示范应用`: industrialisation reached is the outcome (002 L525, L540).
@pytest.mark.parametrize("text", [
    "实现产业化示范应用，项目实施期间实现销售收入1000万元以上",  # 002 L525
    "实现产业化示范应用，项目实施期间实现销售收入500万元以上",  # 002 L540
])
def test_industrialised_demonstration_is_an_impact(text):
    assert ("impact", None, None, None) in _targets(text)
    assert ("demonstration", None, None, None) not in _targets(text)
