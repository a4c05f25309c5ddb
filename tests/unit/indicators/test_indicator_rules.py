"""One test per rule of the taxonomy (indicator-taxonomy §3–§9), on short clauses written for the test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from indicators.reading import ClauseReading, Target, interpret_clause
from indicators.reading.comparators import find_prefix, find_suffix
from indicators.reading.numbers import normalize_width
from indicators.reading.units import read_unit


def _keys(text: str) -> list[tuple]:
    readings = interpret_clause(text)
    assert len(readings) == 1, [r.as_record() for r in readings]
    return [(t.category, t.op, None if t.value is None else float(t.value), t.unit) for t in readings[0].targets]


def _one(text: str) -> ClauseReading:
    readings = interpret_clause(text)
    assert len(readings) == 1
    return readings[0]


def _flag_kinds(text: str) -> set[str]:
    return {f.kind for r in interpret_clause(text) for f in r.flags}


# -- comparators (Civil Code art. 1259) ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "op"), [
    ("发表论文3篇以上", ">="),
    ("发表论文3篇及以上", ">="),
    ("发表论文3篇（含）以上", ">="),
    ("发表论文不少于3篇", ">="),
    ("合格率不低于90%", ">="),
    ("合格率达到90%", ">="),
    ("销售收入超过8000万元", ">"),
    ("强度高于300MPa", ">"),
    ("误报率低于5%", "<"),
    ("误报率不超过5%", "<="),
    ("漏检率控制在0.1%以内", "<="),
    ("温度降低至950℃及以下", "<="),
    ("功率≥5W", ">="),
    ("功率≧5W", ">="),
    ("功率＞5W", ">"),
    ("损耗＜0.3dB", "<"),
    ("均匀性〈10纳米", "<"),
    ("冲击功KV2=20J", "=="),
])
def test_comparator_wording(text, op):
    (target,) = _one(text).targets
    assert target.op == op


def test_inclusive_and_exclusive_words_do_not_shadow_each_other():
    s = normalize_width("热阻不高于2℃/W")
    assert find_prefix(s, 0, s.index("2")).op == "<="  # not `高于` (>)
    s = normalize_width("不超过3年")
    assert find_prefix(s, 0, s.index("3")).op == "<="
    assert find_suffix("3件以上以上", 2).typo  # `以上以上` is read, and noted


def test_c1_bare_counts_and_amounts_are_minimums():
    assert _keys("发表学术论文3篇") == [("paper", ">=", 3.0, "篇")]
    assert _keys("新增就业岗位30个") == [("talent", ">=", 30.0, "个")]
    assert _keys("降低人工巡检成本40%") == [("performance_metric", ">=", 40.0, "%")]


def test_c2_bare_technical_parameters_are_nominal():
    reading = _one("响应时间300ns，插入损耗1.0dB")
    assert [(t.op, float(t.value), t.unit) for t in reading.targets] == [("==", 300.0, "ns"), ("==", 1.0, "dB")]
    assert all(t.kind == "level" and t.better is None for t in reading.targets)
    assert "nominal" in {f.kind for f in reading.flags}


def test_c3_count_ranges_keep_the_lower_bound():
    assert _keys("申请发明专利5—7件") == [("patent_application", ">=", 5.0, "件")]
    assert _keys("培养高级职称人才1～2名") == [("talent", ">=", 1.0, "名")]
    assert _keys("主金属回收率提高2—3个百分点") == [("performance_metric", ">=", 2.0, "百分点")]


def test_c4_parameter_ranges_become_two_targets():
    assert _keys("屈服强度(Rel):315-355MPa") == [
        ("performance_metric", ">=", 315.0, "MPa"), ("performance_metric", "<=", 355.0, "MPa")]
    # an operating band must be covered: the bounds open outwards
    assert _keys("工作频率：0.8GHz～18GHz") == [
        ("performance_metric", "<=", 0.8, "GHz"), ("performance_metric", ">=", 18.0, "GHz")]
    assert _keys("工作温度：-55℃～70℃") == [
        ("performance_metric", "<=", -55.0, "℃"), ("performance_metric", ">=", 70.0, "℃")]


def test_c4_tolerances_become_a_window():
    assert _keys("工作波长：1310nm±10nm") == [
        ("performance_metric", ">=", 1300.0, "nm"), ("performance_metric", "<=", 1320.0, "nm")]
    assert _keys("激射波长 450±10纳米") == [
        ("performance_metric", ">=", 440.0, "nm"), ("performance_metric", "<=", 460.0, "nm")]


def test_c5_plus_minus_is_an_error_bound_even_after_da_dao():
    assert _keys("设备贴片精度达到±10μm") == [("performance_metric", "<=", 10.0, "μm")]
    assert _keys("带内增益平坦度：≤±1.5dB") == [("performance_metric", "<=", 1.5, "dB")]


def test_c6_detection_limits_invert():
    assert _keys("实现对晶圆表面10μm及以上尺寸的缺陷的精准识别") == [("performance_metric", "<=", 10.0, "μm")]


def test_mixed_interval():
    assert _keys("直径50＜Φ≤127的圆棒") == [
        ("performance_metric", ">", 50.0, None), ("performance_metric", "<=", 127.0, None)]


# -- values and units (§5) ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value", "unit"), [
    ("实现新增产值超过1亿元", 10000, "万元"),
    ("实现新增产值超过2.4亿元", 24000, "万元"),
    ("实现销售收入8000万元", 8000, "万元"),
    ("综合收益不少于200万/年", 200, "万元/年"),
    ("新增利税500万以上", 500, "万元"),
    ("吨钢创效200元以上", Decimal("0.02"), "万元/吨"),
])
def test_money_is_in_wan_yuan(text, value, unit):
    (target,) = _one(text).targets
    assert (target.value, target.unit) == (Decimal(value), unit)


def test_profit_and_tax_are_their_own_category():
    assert _keys("新增利税500万以上") == [("profit_tax", ">=", 500.0, "万元")]


def test_numeral_multipliers_go_into_the_value():
    assert _keys("服务游客数量达350万人次") == [("users_served", ">=", 3500000.0, "人次")]
    assert _keys("受惠人口数量1万人及以上") == [("users_served", ">=", 10000.0, "人")]
    assert _keys("年产5万吨以上") == [("yield", ">=", 50000.0, "吨/年")]


def test_chinese_numerals_are_values():
    assert _keys("开发一款检测系统应用产品") == [("product", ">=", 1.0, "款")]
    assert _keys("形成两处绿色智能矿山示范工程") == [("demonstration", ">=", 2.0, "处")]
    assert _keys("开发三种牌号无取向硅钢") == [("product", ">=", 3.0, "种")]
    # but not inside words, names or quotes
    assert _keys("开发出“一控两槽”自动化电解系统") == [("product", ">=", 1.0, "套")]  # implied one, no numeral
    assert not _one("开发出“一控两槽”自动化电解系统").quantitative


def test_full_width_numbers_and_symbols():
    assert _keys("发表论文３篇，合格率≥９０％") == [("paper", ">=", 3.0, "篇"), ("performance_metric", ">=", 90.0, "%")]


@pytest.mark.parametrize(("written", "unit"), [
    ("5瓦", "W"), ("10纳米", "nm"), ("200 小时", "h"), ("45°C", "℃"), ("100us", "μs"), ("35Mpa", "MPa"),
    ("40W/cm3", "W/cm³"), ("1.8瓦/安培", "W/A"), ("20000条/秒", "条/s"), ("2.5W/CC", "W/cc"),
    ("2.93Gj/t.ao", "GJ/t.ao"), ("1000平方米", "m²"), ("50人/次", "人次"), ("39%IACS", "%IACS"),
])
def test_si_symbols_and_compound_units(written, unit):
    s = normalize_width(written)
    i = 0
    while i < len(s) and (s[i].isdigit() or s[i] == "."):
        i += 1
    assert read_unit(s, i).unit == unit


def test_per_year_units():
    assert _keys("每年吸纳应届高校毕业生就业50人以上") == [("talent", ">=", 50.0, "人/年")]
    assert _keys("年均服务游客≥5000人次") == [("users_served", ">=", 5000.0, "人次/年")]
    assert _keys("年新增营收3500万元以上") == [("revenue", ">=", 3500.0, "万元/年")]
    # `年产` scopes the volume, not the line that produces it
    assert _keys("建成年产1万吨铝铸件的生产示范线") == [
        ("yield", ">=", 10000.0, "吨/年"), ("demonstration", ">=", 1.0, "条")]


def test_no_unit_is_not_invented():
    assert _keys("延伸率≥6") == [("performance_metric", ">=", 6.0, None)]


# -- categories (§3, §9) ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "category"), [
    ("申请发明专利2件", "patent_application"),
    ("获得授权发明专利5件以上", "patent_grant"),
    ("获得发明专利≥2件", "patent_grant"),
    ("申请（授权）发明专利2件以上", "patent_application"),
    ("实用新型专利2件", "ip_other"),
    ("获得软件著作权2项", "ip_other"),
    ("获得授权发明专利、软件著作权等知识产权1件及以上", "ip_any"),
    ("形成自主知识产权1项以上", "ip_any"),
    ("形成具有自主知识产权的新技术2项及以上", "product"),
    ("制定企业标准2项", "standard"),
    ("提供养殖技术规程1套", "standard"),
    ("培养高级工程师3人以上", "talent"),
    ("新增就业岗位20个以上", "talent"),
    ("举办培训班4次", "event"),
    ("培训技术人员1000人以上", "event"),
    ("服务高新技术企业10家以上", "users_served"),
    ("新增高新技术企业10家以上", "enterprise"),
    ("完成成果转移转化5项以上", "tech_transfer"),
    ("新获得省部级及以上科技项目10项以上", "research_grant"),
    ("新增自治区级及以上研发机构2个以上", "platform"),
    ("联合实验室场地面积≥1000平方米", "platform"),
    ("种植面积达500亩以上", "demonstration"),
    ("建成中试产线1条以上", "demonstration"),
    ("研发智慧景区综合管控平台1套", "deliverable"),
    ("研发GaN快充协同设计平台1个", "platform"),
    ("获得新医疗器械注册证1个", "approval_certificate"),
    ("获得中药饮片或中药配方颗粒品种的生产技术和质量标准备案5个及以上", "approval_certificate"),
    ("销售不少于500台", "yield"),
    ("门票收入同比增长不低于15%", "revenue"),
    ("游客数量同比增长不低于20%", "users_served"),
])
def test_category(text, category):
    reading = _one(text)
    assert [t.category for t in reading.targets] == [category]


def test_first_named_item_of_a_basket_decides():
    assert _keys("制订出疾病的预防、诊断、治疗相关新技术、方法、操作规程或临床决策系统1项及以上") == [
        ("product", ">=", 1.0, "项")]
    assert _keys("开发相关诊疗软件、移动端应用软件或智慧医疗系统1项及以上") == [("deliverable", ">=", 1.0, "项")]


def test_apply_and_grant_on_one_count_gives_two_targets():
    assert _keys("申请及授权国家发明专利2件") == [
        ("patent_application", ">=", 2.0, "件"), ("patent_grant", ">=", 2.0, "件")]


def test_status_carries_over_a_list():
    assert _keys("申请专利4件及以上，其中发明专利不少于1件") == [
        ("patent_application", ">=", 4.0, "件"), ("patent_application", ">=", 1.0, "件")]
    assert _keys("申请发明专利3件以上，获得授权1件") == [
        ("patent_application", ">=", 3.0, "件"), ("patent_grant", ">=", 1.0, "件")]


def test_each_item_gets_its_own_target():
    assert _keys("开发高性能电光陶瓷和磁光材料各1种") == [("product", ">=", 1.0, "种")] * 2


def test_a_verbatim_repeat_counts_once():
    reading = _one("国内外核心期刊发表论文2篇，国内外核心期刊发表论文2篇")
    assert [t.category for t in reading.targets] == ["paper"]
    assert "duplicate" in {f.kind for f in reading.flags}


# -- numbers that are not targets (§9 #10, #17, #20) ---------------------------------------------------

def test_baseline_in_brackets_before_target_is_dropped():
    assert _keys("全年无故障运行时间占比（99.99%），目标99.9%以上") == [("performance_metric", ">=", 99.9, "%")]
    assert _keys("用户请求到系统响应的平均时长（4秒），目标小于2秒") == [("performance_metric", "<", 2.0, "s")]


def test_test_conditions_are_not_targets():
    reading = _one("在额定压力30MPa，转速1850rpm条件下，回转马达噪声≤98dB")
    assert [(t.op, float(t.value), t.unit) for t in reading.targets] == [("<=", 98.0, "dB")]
    assert "ignored_number" in {f.kind for f in reading.flags}
    assert _keys("台架耐久时间2000h后，回转马达容积效率≥92%") == [("performance_metric", ">=", 92.0, "%")]
    assert _keys("-20℃横向冲击功KV2=20J") == [("performance_metric", "==", 20.0, "J")]


def test_calculation_bases_and_standard_codes_are_not_targets():
    assert _keys("中厚板吨钢创效200元以上，以年产200吨计算，年创效4亿元") == [
        ("revenue", ">=", 0.02, "万元/吨"), ("revenue", ">=", 40000.0, "万元/年")]
    reading = _one("针刺后安全性能达到QCT 743或GB/T 31485标准要求")
    assert [(t.category, t.op) for t in reading.targets] == [("performance_metric", None)]
    assert not reading.quantitative


def test_project_period_in_an_indicator_is_not_a_target():
    reading = _one("项目实施期为2年，发表SCI论文1篇")
    assert [t.category for t in reading.targets] == ["paper"]


# -- qualitative, implied one, applicant-defined, non-binding (§7, S5) ------------------------------------

def test_qualitative_targets():
    reading = _one("实现产业化应用，取得良好经济效益")
    assert [(t.category, t.op, t.value, t.kind) for t in reading.targets] == [
        ("impact", None, None, "qualitative"), ("impact", None, None, "qualitative")]
    assert not reading.quantitative
    assert _keys("棒材低倍组织不允许有裂纹、缩尾、气孔等") == [("performance_metric", None, None, None)]


def test_implied_one_deliverables():
    reading = _one("提供新技术提高疾病防治效果后节省成本情况分析研究报告")
    assert [(t.category, t.op, float(t.value), t.unit) for t in reading.targets] == [("deliverable", ">=", 1.0, "份")]
    assert not reading.quantitative
    assert "implied_one" in {f.kind for f in reading.flags}
    assert _keys("获得临床研究批准、临床试验默示许可或生产批件") == [("approval_certificate", ">=", 1.0, "项")]
    assert _keys("形成自治区实验室建设方案") == [("deliverable", ">=", 1.0, "份")]


def test_plural_or_capability_is_not_implied_one():
    assert _keys("实现产品小试") == [("product", None, None, None)]
    assert _keys("企业应具备或建设形成相应试验能力") == [("platform", None, None, None)]


def test_applicant_defined():
    reading = _one("技术指标由申报单位根据项目实际情况设置，技术参数应有先进性；经济指标应实现1亿元以上新产品产值")
    assert [(t.category, t.op, None if t.value is None else float(t.value)) for t in reading.targets] == [
        ("applicant_defined", None, None), ("revenue", ">=", 10000.0)]
    assert _keys("按获批复建设方案中的建设目标与指标执行") == [("applicant_defined", None, None, None)]


def test_non_binding_sentences_have_no_target():
    reading = _one("鼓励申报或获得国家或省部级科学技术奖")
    assert reading.targets == () and reading.combine == "all" and not reading.quantitative
    assert "non_binding" in {f.kind for f in reading.flags}
    assert _keys("项目负责人在项目实施期间产出2篇论文或科技报告等，鼓励在国内外优秀期刊公开发表论文") == [
        ("paper", ">=", 2.0, "篇")]


# -- combine and S3 ------------------------------------------------------------------------------------

def test_or_between_counted_requirements_is_any():
    reading = _one("引进或培养1名博士或2名硕士或1名副高级职称以上人才")
    assert reading.combine == "any" and len(reading.targets) == 3
    reading = _one("获得授权发明专利1项（或获得授权实用新型专利或软件著作权2项）及以上")
    assert reading.combine == "any"
    assert [t.category for t in reading.targets] == ["patent_grant", "ip_other"]


def test_or_inside_a_metric_is_one_target():
    reading = _one("项目实施期内，实现新增产值或销售收入超过8000万元")
    assert reading.combine == "all"
    assert [(t.category, t.op, float(t.value), t.unit) for t in reading.targets] == [("revenue", ">", 8000.0, "万元")]


def test_s3_mixed_and_or_is_split_into_the_fewest_pure_runs():
    text = ("开发新产品、新工艺或新材料1项以上，形成具有自主知识产权的新技术1项以上，申请发明专利2项以上或获得知识产权"
            "（发明专利、实用新型专利、软件著作权等）授权专利1项以上，实现产业化应用，经济效益金额500万元以上")
    readings = interpret_clause(text)
    assert [r.combine for r in readings] == ["all", "any", "all"]
    assert [len(r.targets) for r in readings] == [2, 2, 2]
    assert readings[1].text.startswith("申请发明专利2项以上或获得知识产权")
    assert readings[1].text.endswith("授权专利1项以上")
    for r in readings:
        assert r.text in text
        assert "split" in {f.kind for f in r.flags}


def test_leading_words_without_target_stay_with_the_next_run():
    text = ("以科技企业孵化器为依托的，吸引2家及以上科技型中小企业入驻，引进高层次人才3人或创新团队1个以上，"
            "成功孵化科技项目2个及以上")
    readings = interpret_clause(text)
    assert [r.combine for r in readings] == ["all", "any", "all"]
    assert readings[0].text.startswith("以科技企业孵化器为依托的")


# -- kinds ---------------------------------------------------------------------------------------------

def test_kinds_of_target():
    by_text = {
        "申请发明专利2件": ("cumulative", None),
        "抗拉强度≥1400MPa": ("level", "higher"),
        "误报率<5%": ("level", "lower"),
        "研发管控平台1套": ("deliverable", None),
        "取得显著经济效益": ("qualitative", None),
    }
    for text, (kind, better) in by_text.items():
        (target,) = _one(text).targets
        assert (target.kind, target.better) == (kind, better), text


# -- flags ---------------------------------------------------------------------------------------------

def test_duplicated_money_unit_is_read_and_flagged():
    reading = _one("经济指标在项目实施期限内应实现1亿元万元以上新产品产值")
    assert [(t.category, float(t.value), t.unit) for t in reading.targets] == [("revenue", 10000.0, "万元")]
    assert "typo" in {f.kind for f in reading.flags}


def test_bu_shao_typo_is_read_as_bu_shao_yu_and_flagged():
    reading = _one("取得不少10个不同的酶")
    assert [(t.op, float(t.value)) for t in reading.targets] == [(">=", 10.0)]
    assert any("不少" in f.message for f in reading.flags if f.kind == "typo")


def test_garbage_after_a_comparator_is_flagged():
    assert "garbage_number" in _flag_kinds("发表论文≥abc篇")
    assert "garbage_number" in _flag_kinds("锁相精度：≤λ/63")


def test_absurd_value_is_flagged():
    assert "absurd_value" in _flag_kinds("实现销售收入99999999999999999万元")


def test_unknown_unit_is_flagged():
    assert "unknown_unit" in _flag_kinds("色度指标≤40Hazzen")


def test_nothing_matched_is_flagged():
    reading = _one("其他")
    assert reading.targets == () and "no_target" in {f.kind for f in reading.flags}
    assert "empty" in _flag_kinds("   ")


def test_record_shape():
    record = _one("申请发明专利2件，合格率≥99.5%").as_record()
    assert set(record) == {"text", "targets", "combine", "quantitative", "flags"}
    assert record["targets"][0] == {"category": "patent_application", "metric": record["targets"][0]["metric"],
                                    "op": ">=", "value": 2, "unit": "件", "kind": "cumulative", "better": None}
    assert record["targets"][1]["value"] == 99.5 and isinstance(record["targets"][1]["value"], float)
    assert isinstance(_one("申请发明专利2件").targets[0], Target)
