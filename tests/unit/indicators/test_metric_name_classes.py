"""Classes of metric naming (issue #24, item 2: names right on 90% of the matched targets of the frozen sample).

Each rule is tested on seed clauses of at least two directions, taken from the development sample or from
directions outside the frozen sample where the seeds have them (the seed line is given as `000 L609`)."""

from __future__ import annotations

import pytest

from indicators.reading import interpret_clause
from indicators.reading.metric_names import noun_phrase, topic_object


def names(text: str) -> list[str]:
    return [t.metric for r in interpret_clause(text) for t in r.targets]


def has(text: str, *expected: str) -> None:
    got = names(text)
    for name in expected:
        assert name in got, (name, got)


# -- the object of a measure ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    # a bare measure after a measure of a named thing measures the same thing (000 L609, 000 L194)
    ("板材室温抗拉强度≥500MPa、屈服强度≥400MPa、纵向延伸率≥30%", ("板材室温屈服强度", "纵向延伸率")),
    ("铝液处理量≥10t/h、温降≤50℃", ("铝液温降",)),
    # a purpose modifier is dropped when the object is said again (001 L178)
    ("其中稀土永磁材料用原料纯铁圆棒纯度≥99.9%，碳含量≤0.005%", ("原料纯铁圆棒纯度", "原料纯铁圆棒碳含量")),
])
def test_a_bare_measure_takes_the_object_of_the_measure_before_it(text, expected):
    has(text, *expected)


def test_a_generic_object_is_not_carried():
    # `产品抗拉强度…，断后伸长率≥10%` (001 L248): `产品` says nothing the second name needs
    has("产品抗拉强度1300-1700MPa，断后伸长率≥10%", "断后伸长率")


@pytest.mark.parametrize(("text", "expected"), [
    # a colon label names the thing measured (000 L110 dev, 001 L187, 000 L415)
    ("电光器件指标：响应时间300ns，插入损耗1.0dB；磁光器件指标：响应时间100us",
     ("电光器件响应时间", "电光器件插入损耗", "磁光器件响应时间")),
    ("钢材1：碳含量≥0.37%，抗拉强度≥590MPa，延伸率≥17", ("钢材1碳含量", "钢材1抗拉强度", "钢材1延伸率")),
    # a condition label (`一周内检测时：`) keeps the topic
    ("铝箔成品：厚度13μ，一周内检测时：抗拉强度≥230MPa，延伸率≥4%", ("铝箔成品抗拉强度", "铝箔成品延伸率")),
])
def test_a_topic_label_names_the_thing_measured(text, expected):
    has(text, *expected)


def test_the_run_under_a_topic_ends_at_a_name_with_its_own_object():
    # 000 L184 (dev): `强度焊接系数` names its own object, so `冲击韧度` after it is not the key parts' any more
    got = names("关键部位性能满足：抗拉强度≥320MPa，屈服强度≥180MPa，强度焊接系数≥0.8，冲击韧度≥8.0J/cm2")
    assert got[:2] == ["关键部位抗拉强度", "关键部位屈服强度"] and got[3] == "冲击韧度"


@pytest.mark.parametrize(("label", "thing"), [
    ("电光器件指标", "电光器件"), ("关键部位性能满足", "关键部位"), ("一周内检测时", ""), ("大吨位生产指标", None),
    ("全方位AOI检测", None), ("性能指标达到", None),
])
def test_topic_object(label, thing):
    assert topic_object(label) == thing


def test_a_sentence_topic_before_a_comma_names_its_parameters():
    # README-frozen convention 1 (000 L20): `主题＋参数`; the topic word shared with the parameter is said once
    has("多源数据融合，数据接入延迟≤1秒，融合误差率＜3%", "多源数据接入延迟", "多源数据融合误差率")
    has("风险预警模型，风险预测提前量≥2小时", "风险预警模型风险预测提前量")
    assert "板型良好下榻量" not in names("板型良好，下榻量≤2mm")  # a state, not a thing (000 L437)


@pytest.mark.parametrize(("text", "expected"), [
    # an element listed after a content of it (000 L863); a grade of inclusions (000 L649, 001 L178)
    ("碱洗后次氧化锌含氯≤0.1%，氟≤0.1%", ("碱洗后次氧化锌含氯", "碱洗后次氧化锌含氟")),
    ("电缆钢盘条纯度≥99.9%，碳含量≤0.005%，A、C类夹杂物≤1级", ("电缆钢盘条碳含量", "电缆钢盘条A、C类夹杂物等级")),
    # a substance with a concentration is its content (000 L751, 000 L863)
    ("副产物2-氯乙酰乙酸乙酯≤0.15%", ("副产物2-氯乙酰乙酸乙酯含量",)),
    ("整个循环溶液中氯≤300mg/L", ("循环溶液中氯含量",)),
])
def test_contents_and_grades(text, expected):
    has(text, *expected)


# -- words a name leaves out or keeps ------------------------------------------------------------------------

@pytest.mark.parametrize(("cut", "name"), [
    # the levels of one standard are said once (000 L1021 dev, 002 L832 dev)
    ("获得立项或发布团体标准、行业标准、地方标准或国家标准", "团体、行业、地方或国家标准（立项或发布）"),
    ("获得立项或发布地方标准、行业标准或国家标准", "地方、行业或国家标准（立项或发布）"),
    ("国家标准/行业标准/企业标准", "国家标准/行业标准/企业标准"),  # a slash list stays as written
    # `的` after a noun modifier goes (001 L670 dev, 000 L529 dev); after a verb phrase or an adjective it stays
    ("获得中药饮片或中药配方颗粒品种的生产技术和质量标准备案", "中药饮片或中药配方颗粒品种生产技术和质量标准备案"),
    ("开发封闭管梁结构的高强钢汽车零部件", "封闭管梁结构高强钢汽车零部件"),
    ("形成具有自主知识产权的新技术", "具有自主知识产权的新技术"),
    ("取得不少10个不同的酶", "不少10个不同的酶"),
    ("失能人群护理场景的智能护理机器人产品", "失能人群护理场景智能护理机器人产品"),  # `失能` is no modal
    # a heading inside a cut (000 L395 dev); `指标` after a measure (000 L751)
    ("T74511状态的室温力学性能满足屈服强度", "T74511状态室温屈服强度"),
    ("4-氯乙酰乙酸乙酯色度指标", "4-氯乙酰乙酸乙酯色度"),
    ("产品性能达到相关国家标准要求", "产品性能达到相关国家标准要求"),  # not a heading: no measure follows
    # the venue of a paper qualifies it; the verb between does not (000 L110 dev, 002 L611 dev)
    ("在国际知名学术期刊发表论文", "国际知名学术期刊论文"),
    ("在国内外核心学术期刊发表论文", "国内外核心学术期刊论文"),
    # a copyright granted: the status is a note (000 L10 dev, 002 L603 dev); a granted patent keeps its word
    ("授权软件著作权", "软件著作权（授权）"),
    ("获得授权发明专利", "授权发明专利"),
    # outcomes named by the act (002 L627 dev, 000 L1001 dev, 001 L748)
    ("解决关键核心问题", "解决关键核心问题"),
    ("每年培育科技型中小企业", "每年培育科技型中小企业"),
    # subject, modal and alternative verbs (001 L35 dev, 001 L46 dev): the verbs are a note
    ("企业应具备或建设形成相应试验能力", "相应试验能力（具备或建设形成）"),
    ("应届高校毕业生", "应届高校毕业生"),  # `应届` is no modal
    # the means before the making verb is not the name (000 L253, 000 L751)
    ("升级优化双乙烯酮工艺形成具有自主知识产权的新技术", "具有自主知识产权的新技术"),
    ("通过优化工艺开发出低成本复合材料", "低成本复合材料"),
    # a platform completed is the platform (002 L961)
    ("完善公共服务平台", "公共服务平台"),
    ("完善中试试验及检验检测设备", "完善中试试验及检验检测设备"),
])
def test_noun_phrase_classes(cut, name):
    assert noun_phrase(cut) == name


@pytest.mark.parametrize(("cut", "name"), [
    # the size of a change is named after its verb (000 L80 dev, 000 L881 dev, 000 L784)
    ("工艺时间减少", "工艺时间减少幅度"), ("节约能耗", "能耗节约幅度"), ("电池寿命延长", "电池寿命延长幅度"),
    ("降低生产过程能耗", "生产过程能耗降幅"), ("进一步降低运行费用", "运行费用进一步降幅"), ("无人机机身实现减重", "无人机机身减重幅度"),
])
def test_a_change_is_named_by_its_verb(cut, name):
    assert noun_phrase(cut, improvement=True) == name


@pytest.mark.parametrize(("text", "expected"), [
    # a variety bred is named by the act (001 L687, 001 L748)
    ("要求至少育成1个新品种（良种）", "育成新品种"),
    ("要求至少育成1个植物新品种（良种）或动物新品种（系）", "育成植物新品种或动物新品种"),
])
def test_a_bred_variety_keeps_the_act(text, expected):
    has(text, expected)


# -- scope of a name -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    # an applicant subtype at the head is a note (004 L89 dev, 001 L209, 002 L307)
    ("数字化医疗康养项目（课题）开发相关诊疗软件、APP或智慧医疗系统1项以上", ("相关诊疗软件、APP或智慧医疗系统（仅数字化医疗康养项目）",)),
    ("整机研发项目在实施期限内应实现2000万元以上新产品产值，部件研发项目在实施期限内应实现1000万元以上新产品产值",
     ("新产品产值（仅整机研发项目）", "新产品产值（仅部件研发项目）")),
    ("调查评价项目应形成相应研究报告、图集或数据库1份", ("相应研究报告、图集或数据库（仅调查评价项目）",)),
    # a subtype's own threshold in brackets (002 L516 dev, 002 L532)
    ("项目实施期间实现销售收入1000万元以上（氢能及深海能源项目500万元以上）", ("销售收入（氢能及深海能源项目）",)),
    ("项目实施期间实现销售收入1000万元以上（零部件及系统项目500万元以上）", ("销售收入（零部件及系统项目）",)),
])
def test_a_subtype_condition_is_a_note(text, expected):
    has(text, *expected)


def test_service_projects_are_not_a_subtype():
    assert "服务企业开展中试项目" in "".join(names("服务企业开展中试项目30项以上"))


@pytest.mark.parametrize(("text", "expected"), [
    # a part of the count before it (000 L599 dev, 000 L619 dev, 001 L104 dev, 000 L639)
    ("申请专利4件及以上，其中发明专利不少于1件", ("专利申请", "其中发明专利申请")),
    ("申请专利3件及以上，其中发明专利不少于1件", ("其中发明专利申请",)),
    ("申请/授权发明专利3项（至少授权 1 件）", ("其中发明专利授权",)),
])
def test_a_subset_count_says_so(text, expected):
    has(text, *expected)


@pytest.mark.parametrize(("text", "expected"), [
    # a team counted in persons is the team's size (002 L1136 dev, 002 L1164, 002 L1172)
    ("建成稳定的基础研究团队10人以上", "稳定的基础研究团队规模"),
    ("培育建设相应的质量检测技术标准研究人才团队5人以上", "质量检测技术标准研究人才团队规模"),
    ("培育建成相应的实验动物资源研发人才团队5人（含）以上", "实验动物资源研发人才团队规模"),
])
def test_a_team_in_persons_is_its_size(text, expected):
    has(text, expected)


@pytest.mark.parametrize(("text", "expected"), [
    # whose output a paper is (002 L1000 dev, 002 L1136 dev)
    ("项目负责人在项目实施期间产出2篇具有较高学术质量的论文或科技报告等，鼓励在国内外优秀期刊公开发表论文",
     "项目负责人产出的较高学术质量论文或科技报告"),
    ("项目负责人及核心成员在项目实施期间产出8篇具有较大学术贡献的论文或学术报告等，鼓励在国内外优秀期刊公开发表论文",
     "项目负责人及核心成员产出的较大学术贡献论文或学术报告"),
])
def test_a_person_subject_of_papers_stays(text, expected):
    has(text, expected)


@pytest.mark.parametrize(("text", "expected"), [
    # what an applicant-defined clause delegates (002 L692 dev, 001 L687, 001 L748)
    ("按获批复建设方案中的建设目标与指标执行", "建设目标与指标（由申报单位设定）"),
    ("申报单位依据研究物种的特点，围绕品种选育环节设置项目考核指标内容", "品种选育环节考核指标（由申报单位设定）"),
    ("技术指标由申报单位根据项目实际情况设置，技术参数应有先进性", "技术指标（由申报单位设定）"),
])
def test_what_is_delegated_is_named(text, expected):
    has(text, expected)


@pytest.mark.parametrize(("text", "expected"), [
    # a compliance requirement keeps its subject (001 L104 dev, 000 L405, 000 L225)
    ("针刺后安全性能达到QC/T 743或GB/T 31485标准要求", "针刺后安全性能达到QC/T 743或GB/T 31485标准要求"),
    ("型材尺寸精度满足ANSI H35.2标准要求", "型材尺寸精度满足ANSI H35.2标准要求"),
])
def test_a_compliance_requirement_keeps_its_subject(text, expected):
    has(text, expected)


@pytest.mark.parametrize(("text", "expected"), [
    # the count sits inside the phrase it counts (001 L703, 001 L788 and their sibling directions 001 L661, L830)
    ("高效栽培关键技术方面：解决产业发展的1个或某几个关键技术难题", "解决产业发展关键技术难题"),
    ("突破产业发展的1个或某几个关键技术难题", "产业发展关键技术难题"),
    # the thing made, not the means (000 L230 area, 000 L253)
    ("采用电炉废钢短流程生产高洁净预应力合金钢热轧盘条1种", "高洁净预应力合金钢热轧盘条"),
    ("采用电炉—精炼—连铸连轧短流程+超高速感应淬回火工艺生产一种预应力混凝土用钢棒", "预应力混凝土用钢棒"),
    # a change before the value, what changes after it (000 L784)
    ("与传统干燥方法相比，降低≥5%的综合生产成本", "综合生产成本降幅"),
])
def test_the_name_around_the_number(text, expected):
    has(text, expected)


def test_respective_values_take_the_items_of_the_list_in_turn():
    # `分别` (000 L680): each value names its own item; without `分别` the list is one name
    assert names("废水、废气排放量分别减少30%、25%") == ["废水排放量减少幅度", "废气排放量减少幅度"]
    assert names("废水、废气排放总量分别降低10%、20%") == ["废水排放总量降幅", "废气排放总量降幅"]


@pytest.mark.parametrize(("text", "expected"), [
    # a new thing listed after a new thing of a named kind is of that kind (002 L1172, two clauses)
    ("研究开发具有自主知识产权的实验动物新技术1项，新品系或新产品1个", "实验动物新品系或新产品"),
    ("研究开发具有自主知识产权的实验动物新技术1项，或新产品1个", "实验动物新产品"),
])
def test_a_new_thing_of_the_kind_named_before(text, expected):
    has(text, expected)


def test_a_new_thing_after_a_key_technology_stays_bare():
    # 000 L253: `关键技术` names no kind for `新产品`
    has("突破高品质管桩用钢棒制备关键技术3项，开发新产品1个，新工艺3种", "新产品", "新工艺")


@pytest.mark.parametrize(("text", "expected"), [
    # a line's capacity is its own target; the line is named without it (000 L225, 000 L900, 000 L184 dev)
    ("建成年产不锈钢高速轧制示范产线1条", ("不锈钢高速轧制示范产线",)),
    ("建成一条年产3000吨高导铝新材料产线", ("高导铝新材料产线",)),
    ("项目实施期间，建成一条5万吨/a碱洗次氧化锌粉的生产线", ("碱洗次氧化锌粉生产线", "碱洗次氧化锌粉生产线年产能")),
])
def test_a_line_and_its_capacity(text, expected):
    has(text, *expected)


@pytest.mark.parametrize(("text", "category"), [
    # a 工法 is a normative document like a 技术规程 (002 L260, README-frozen #15); so is a 技术指南
    ("形成工法或技术指南1项及以上", "standard"),
    ("形成施工工法2项", "standard"),
])
def test_a_construction_method_is_a_standard(text, category):
    assert [t.category for r in interpret_clause(text) for t in r.targets] == [category]


def test_a_bare_standard_is_a_name():
    # `或形成标准1项以上` (004 L96), `或获得标准1项以上` (002 L611 dev): the clause says no more
    has("申请或获得发明专利、实用新型专利、软件著作权等知识产权1件以上，或形成标准1项以上", "标准")
    has("获授权发明专利≥3件以上或获得标准1项以上", "标准")


# -- a distributive 各 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    # a head noun written once after the last item (000 L90)
    ("光源及光放大设备样机各一套", ["光源样机", "光放大设备样机"]),
    # a quality modifier written once before the first item (dev sample)
    ("开发高性能电光陶瓷和磁光材料各1种", ["高性能电光陶瓷", "高性能磁光材料"]),
    # items that each carry their own noun (variant)
    ("建设中试线和示范线各1条", ["中试线", "示范线"]),
])
def test_each_item_of_a_distributive_list_is_named_for_itself(text, expected):
    assert names(text) == expected
