"""Classes of reading errors fixed for issue #24 (directions nobody tuned the reader on). Each test names the linguistic
pattern and reads clauses from at least two directions. Clauses come from the seeds outside the frozen sample where the
seeds have them (indicator clauses of other directions, or the research-content wording of other directions); a few
patterns occur once in the seeds, and their second clause is a plain variant of it, marked `variant`."""

from __future__ import annotations

import pytest

from indicators.reading import interpret_clause


def _targets(text: str) -> list[tuple]:
    return [(t.category, t.op, None if t.value is None else float(t.value), t.unit)
            for r in interpret_clause(text) for t in r.targets]


def _metrics(text: str) -> list[str]:
    return [t.metric for r in interpret_clause(text) for t in r.targets]


# -- units ------------------------------------------------------------------------------------------------

# A mass fraction keeps `wt%` however it is written (`wt%`, `wt.%`, `%wt`), like `%IACS` (README-frozen #6).
@pytest.mark.parametrize(("text", "expected"), [
    ("开发偏析提纯高纯铝用的中间电解铝原料，含铝纯度超过99.85%wt，关键杂质元素Fe≤0.1wt%",  # 000 L466
     [("performance_metric", ">", 99.85, "wt%"), ("performance_metric", "<=", 0.1, "wt%")]),
    ("灼烧减量（800℃/2h）0wt.%", [("performance_metric", "==", 0.0, "wt%")]),  # 000 L427 氧化铝纤维
])
def test_a_mass_fraction_keeps_wt_percent(text, expected):
    assert _targets(text) == expected


# Energy per ton in coal equivalent is a unit as written (`kgce/t`, `tce/t`).
@pytest.mark.parametrize(("text", "unit"), [
    ("粗铜冶炼能耗≤85kgce/t（原料→粗铜）", "kgce/t"),  # 000 L936 复杂铜基原料
    ("综合能耗≤0.35tce/t", "tce/t"),  # variant
])
def test_coal_equivalent_energy_units(text, unit):
    assert _targets(text) == [("performance_metric", "<=", float(text.split("≤")[1][:4].rstrip("kgcet")), unit)]


# `13μ`: microns with the `m` dropped, read with a typo flag.
@pytest.mark.parametrize("text", ["铝箔成品：厚度13μ", "铝箔厚度6μ"])  # 000 L415; variant
def test_a_bare_micro_sign_is_microns(text):
    readings = interpret_clause(text)
    assert [t.unit for r in readings for t in r.targets] == ["μm"]
    assert any(f.kind == "typo" for r in readings for f in r.flags)


# -- comparators and ranges -----------------------------------------------------------------------------

# A value right after `实现`/`完成` is reached at least (§4), so a parameter is no longer a nominal `==`.
@pytest.mark.parametrize(("text", "name"), [
    ("最高实现90Hz刷新率", "最高刷新率"),  # 000 L373 显示驱动芯片
    ("单机最高实现120kW输出功率", "单机最高输出功率"),  # variant
])
def test_a_value_reached_after_shixian_is_a_floor(text, name):
    assert _targets(text)[0][:2] == ("performance_metric", ">=")
    assert _metrics(text) == [name]


# An adjustable range (`…可控`, `…可调`) is a band to cover (C4), named as the labels name a band.
@pytest.mark.parametrize(("text", "low", "high", "name"), [
    ("压延成型厚度1.5-4.0mm可控", 1.5, 4.0, "压延成型可控厚度范围下限"),  # 000 L560 光伏玻璃压延
    ("电极消耗功率5—50kW可调", 5.0, 50.0, "电极消耗功率范围下限"),  # 000 L918 wording (`电极消耗功率可调`), variant
])
def test_an_adjustable_range_is_a_band_to_cover(text, low, high, name):
    targets = _targets(text)
    assert [t[:3] for t in targets] == [("performance_metric", "<=", low), ("performance_metric", ">=", high)]
    assert _metrics(text)[0] == name


# A value changed *to* another right after it is the current value, with or without `从` (§9 #10).
@pytest.mark.parametrize(("text", "kept"), [
    ("镨钕金属电解单耗从8500kwh/t.REO降低到7500kwh/t.REO以下，阳极消耗210kg/t.REO降低到170kg/t.REO以下",  # 000 L349
     [("performance_metric", "<=", 7500.0, "kWh/t.REO"), ("performance_metric", "<=", 170.0, "kg/t.REO")]),
    ("单位电耗13500kWh/t降低至12800kWh/t", [("performance_metric", "<=", 12800.0, "kWh/t")]),  # variant
])
def test_a_value_before_a_change_to_another_is_a_baseline(text, kept):
    assert _targets(text) == kept


# -- categories of counted things ----------------------------------------------------------------------

# Counts of kinds, records or vehicles describing the system the sentence builds (its modalities, the records of
# its data set, the vehicles in its database) are parameters of that system; the system built is still one thing.
@pytest.mark.parametrize(("text", "expected"), [
    ("建立电动装载机运行数据库，实现不少于10项电池数据、500辆车辆运行数据入库，构建不少于3类典型工作曲线",  # 001 L158
     [("platform", ">=", 1.0, "个"), ("performance_metric", ">=", 10.0, "项"),
      ("performance_metric", ">=", 500.0, "辆"), ("performance_metric", ">=", 3.0, "类")]),
    ("研制的基于Transformer的工业焊接领域多模态大模型，实现焊枪角度等多模态的结合决策及实施，信息模态数量不少于5种，"
     "训练数据集≧100万份",  # 000 L509 工程机械焊接
     [("deliverable", ">=", 1.0, "个"), ("performance_metric", ">=", 5.0, "种"),
      ("performance_metric", ">=", 1000000.0, "份")]),
    ("研制的焊接质量检测系统具有外观质量视觉检测的算法和功能，能够对气孔、裂纹、偏焊、漏焊不少于4种缺陷进行检测",  # 000 L509
     [("performance_metric", None, None, None), ("performance_metric", ">=", 4.0, "种")]),
    ("建立概念验证项目库，入库项目的数量不少于100项",  # 002 L909 概念验证中心
     [("platform", ">=", 1.0, "个"), ("performance_metric", ">=", 100.0, "项")]),
])
def test_counts_describing_the_system_built_are_parameters(text, expected):
    assert _targets(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # dev 000-156: the enzymes obtained are products, not records of the library
    ("设计合适的酶结构，建立酶库，取得不少10个不同的酶", [("platform", ">=", 1.0, "个"), ("product", ">=", 10.0, "个")]),
    # a new thing developed is counted for itself even after a system is built
    ("建立质量追溯系统，开发新产品2项", [("deliverable", ">=", 1.0, "套"), ("product", ">=", 2.0, "项")]),
])
def test_things_made_after_a_system_keep_their_category(text, expected):
    assert _targets(text) == expected


# A mass or volume per day is a daily throughput (yield, `>=` when bare) unless it is a rated size of equipment.
@pytest.mark.parametrize(("text", "expected"), [
    ("大吨位生产指标：熔窑日熔化量≥1600t/d", ("yield", ">=", 1600.0, "t/d")),  # 000 L587 光伏玻璃
    ("建立一条500m3/d铜渣脱氯生产系统", ("yield", ">=", 500.0, "m³/d")),  # 000 L863 湿法炼锌
])
def test_a_daily_throughput_is_a_yield(text, expected):
    assert expected in _targets(text)


def test_a_rated_size_per_day_stays_a_parameter():
    assert ("performance_metric", "==", 2600.0, "t/d") in _targets("焙烧炉规格：2600t/d")  # dev 000-102


def test_a_production_system_counted_in_lines_is_a_line():
    text = "建立一条500m3/d铜渣脱氯生产系统"  # 000 L863
    assert ("demonstration", ">=", 1.0, "条") in _targets(text)
    assert "铜渣脱氯生产系统处理能力" in _metrics(text)


# One count over `A或B` where the measure word belongs to B: the first-named item decides (§9 #41, README-frozen #11).
@pytest.mark.parametrize(("text", "category"), [
    ("获授权专利或在国内外核心学术期刊发表论文10篇以上", "patent_grant"),  # 002 L732 应用数学中心
    ("获得授权发明专利或在核心期刊发表论文5篇以上", "patent_grant"),  # variant
])
def test_an_ip_or_paper_basket_with_one_count_takes_the_first_item(text, category):
    assert [t[0] for t in _targets(text)] == [category]


def test_separately_counted_alternatives_keep_their_own_categories():
    text = "获授权专利10件以上或在国内外核心学术期刊发表论文50篇以上"  # 002 L712
    assert [t[0] for t in _targets(text)] == ["patent_grant", "paper"]


# A technology deal is a technology transfer.
@pytest.mark.parametrize("text", [
    "促成广西创新主体与区外（含境外、国外）的技术交易项目数量5项以上",  # 002 L767
    "促成广西创新主体与东盟国家的技术交易项目数量5项以上",  # 002 L803
])
def test_technology_deals_are_technology_transfer(text):
    assert _targets(text) == [("tech_transfer", ">=", 5.0, "项")]
    assert _metrics(text)[0].endswith("技术交易项目数量")


# A term of service (`到企业服务不少于3年`) is a talent target in years (README-frozen #14).
@pytest.mark.parametrize("text", [
    "区内高校从区外新引进理工类博士1名以上，并到企业服务不少于3年（含3年）",  # 002 L643
    "区外高校新引进的博士到企业工作不少于2年",  # variant
])
def test_a_term_of_service_is_a_talent_target(text):
    targets = _targets(text)
    assert targets[-1][0] == "talent" and targets[-1][1:2] == (">=",) and targets[-1][3] == "年"
    assert _metrics(text)[-1].endswith("年限")


# -- implied ones ----------------------------------------------------------------------------------------

# An agreement signed (`签署/签订…协议`) is one agreement delivered (§7).
@pytest.mark.parametrize("text", [
    "企业与区外高校签署企业人才培养长期稳定合作协议，培养企业人才工程博士1名以上",  # 002 L643
    "企业与区内高校签订校企联合创新合作协议，共建联合创新中心1个",  # 001 L(校企联合创新中心) wording, variant
])
def test_an_agreement_signed_is_an_implied_one(text):
    assert _targets(text)[0] == ("deliverable", ">=", 1.0, "份")


# An app upgraded, IP formed, a cultural IP or a scene built, with no number: one of each (§7, README-frozen #7).
@pytest.mark.parametrize(("text", "expected"), [
    ("升级AI导游小程序", ("deliverable", ">=", 1.0, "个")),  # 000 L48
    ("开发景区移动端APP", ("deliverable", ">=", 1.0, "个")),  # variant
    ("形成自主知识产权", ("ip_any", ">=", 1.0, "项")),  # 004 L112 wording (`培育具有核心自主知识产权`), variant
    ("打造“桂林故事”IP", ("product", ">=", 1.0, "个")),  # 000 L48
    ("实现利用全息投影、AR技术打造山水实景街区", ("demonstration", ">=", 1.0, "个")),  # 000 L48
    ("打造沉浸式夜游消费场景", ("demonstration", ">=", 1.0, "个")),  # variant
])
def test_single_things_named_without_a_number(text, expected):
    assert _targets(text) == [expected]


# A database or library built keeps its implied one when the sentence also counts what goes into it (the number
# counts projects or records, not libraries); a thing counted again in the same measure is still counted once.
def test_a_library_built_keeps_its_implied_one_next_to_a_count_of_its_contents():
    assert ("platform", ">=", 1.0, "个") in _targets("建立概念验证项目库，入库项目的数量不少于100项")  # 002 L909
    text = "解决产业发展的1个或某几个关键技术难题，并形成相关的技术规程，发布团体标准或行业标准1项及以上"  # dev
    assert [t for t in _targets(text) if t[0] == "standard"] == [("standard", ">=", 1.0, "项")]


# -- qualitative outcomes --------------------------------------------------------------------------------

# R&D work on a prototype completed (`完成…样件研发`) is a milestone: a null product (README-frozen #7); a technology
# developed (`完成…制备技术开发`, dev 000-094) is still one thing delivered.
@pytest.mark.parametrize("text", [
    "完成基于EMB系统的智能底盘域控制器的样件研发",  # 000 L518
    "完成智能POCT电化学发光检测仪样机研发",  # 000 L139
])
def test_prototype_work_completed_is_a_milestone(text):
    assert _targets(text) == [("product", None, None, None)]


def test_a_technology_developed_is_still_an_implied_one():
    assert _targets("完成飞行汽车锻造用7xxx系铝合金挤压圆棒制备技术开发") == [("product", ">=", 1.0, "项")]


# Outcomes stated without a figure: batch production (README-frozen #8), stable operation achieved, no discharge,
# services provided, a contribution, a research finding (mechanism, target, active ingredient).
@pytest.mark.parametrize(("text", "category"), [
    ("形成批量生产和销售", "impact"),  # 000 L149
    ("在生产中实现稳定批量生产", "impact"),  # 000 L405 research content
    ("年处理含铟锡浮渣2000吨，实现长周期连续稳定运行", "performance_metric"),  # 000 L204
    ("实现生产线连续稳定运行", "performance_metric"),  # variant
    ("碳回收率不低于95%，无废渣排放", "performance_metric"),  # 000 L457
    ("确保污染物近零排放", "performance_metric"),  # 000 L711 research content
    ("建立完善公共（技术）服务平台，提供创业辅导、技术创新、投融资和资源对接等服务", "users_served"),  # 002 L961
    ("提供检验检测、技术咨询等服务", "users_served"),  # variant
    ("项目成果以科技报告、论文等形式为主，对产业发展有较大学术贡献", "impact"),  # 002 L1088
    ("对地方经济有重要贡献", "impact"),  # 001 L(申报条件 `对地方经济贡献大`), variant
    ("提出天然活性成分的作用机制或靶点", "product"),  # 002 L156
    ("阐明益气养血颗粒调节骨代谢的作用机制", "product"),  # 000 L822 research content
])
def test_outcomes_without_a_figure_are_null_targets(text, category):
    assert (category, None, None, None) in _targets(text)


def test_stable_operation_as_a_purpose_is_not_a_target():
    # dev 000-052: `确保设备在…环境中稳定运行` says why, it is not an outcome to verify
    assert ("performance_metric", None, None, None) not in _targets("确保设备在CLASS100级无尘车间环境中稳定运行")


def test_a_finding_and_a_discovery_are_two_requirements():
    text = "发现具有新功能特征的活性成分，提出天然活性成分的作用机制或靶点"  # 002 L156
    assert _targets(text) == [("product", None, None, None), ("product", None, None, None)]


# Economic indicators listed by name for reporting (`…利润及其增长、税收等经济指标情况`) are a money outcome.
@pytest.mark.parametrize("text", [
    "项目实施期内产量产值及其增长、销售收入及其增长、利润及其增长、税收等经济指标情况，其中实现产值或销售收入应不少于2000万元",
    "项目实施期内产值、销售收入、利润等经济指标情况",  # variant
])
def test_economic_indicators_listed_by_name_are_a_revenue_outcome(text):
    assert _targets(text)[0] == ("revenue", None, None, None)


# Compliance with a named regulation (Latin capitals name it) is a requirement with no number, like a named standard.
@pytest.mark.parametrize("text", [
    "开发基于多源异构感知的整车主动安全系统，整车满足欧盟ECE R152.01要求",  # 000 L477
    "整车满足欧盟ECE碰撞安全要求，实现正碰主驾胸压≤42mm",  # 000 L477
    "电池包满足GB 38031要求",  # variant
])
def test_compliance_with_a_named_regulation(text):
    assert ("performance_metric", None, None, None) in _targets(text)


# An outcome joined by `并` after a counted thing is a target of its own, and not part of the thing's name.
@pytest.mark.parametrize("text", [
    "开发2款及以上的高安全性商用车并实现产业化应用",  # 000 L477
    "开发1款纯电动装载机并实现批量销售",  # variant
])
def test_an_outcome_joined_after_a_count(text):
    assert ("impact", None, None, None) in _targets(text)
    assert "实现" not in _metrics(text)[0]
