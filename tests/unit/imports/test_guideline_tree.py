"""The node tree of the five seeds: leaf counts, paths, fields, inheritance and flags
(shared/research/seeds-structure.md §0 and §7)."""

from __future__ import annotations

from collections import Counter

import pytest

from imports.guidelines import FieldKind, FlagKind, ParsedGuideline, tree_records

LEAVES = {"000": 98, "001": 67, "002": 101, "003": 40, "004": 17}
OWN_INDICATORS = {"000": 98, "001": 52, "002": 87, "003": 0, "004": 16}
P002 = "重点研发计划（标题缺失）"


def _leaf(parsed: ParsedGuideline, *path: str):
    node = parsed.node(tuple(path))
    assert node.leaf, path
    return node


def test_leaf_counts_per_seed(parsed):
    counts = {prefix: len(doc.leaves) for prefix, doc in parsed.items()}
    assert counts == LEAVES
    assert sum(counts.values()) == 323


def test_leaves_with_their_own_indicator_block(parsed):
    own = {prefix: sum(1 for n in doc.leaves if n.has_own_indicators) for prefix, doc in parsed.items()}
    assert own == OWN_INDICATORS
    assert sum(own.values()) == 253


def test_every_leaf_has_clauses_or_is_flagged(parsed):
    for doc in parsed.values():
        for leaf in doc.leaves:
            kinds = {f.kind for f in leaf.flags}
            assert bool(leaf.clauses) != (FlagKind.NO_INDICATOR_BLOCK in kinds), leaf.path


def test_leaves_without_indicators_per_seed(parsed):
    missing = {p: sum(1 for n in d.leaves if not n.has_indicators) for p, d in parsed.items()}
    assert missing == {"000": 0, "001": 15, "002": 14, "003": 0, "004": 1}


def test_003_shares_its_global_block_with_all_forty_directions(parsed):
    doc = parsed["003"]
    assert [c.line for c in doc.clauses] == [65, 65, 65, 69, 71, 71, 71, 71, 71]
    for leaf in doc.leaves:
        assert leaf.inherited_from == ()
        assert leaf.clauses == doc.clauses
        assert leaf.direction == "支持方向"
    first = _leaf(doc, "支持方向", "超高清显示、液晶触显领域关键技术")
    assert (first.line, first.number, first.marker) == (15, 1, "1.")
    last = "白度适当的文化用纸、环保型健康型高档生活用纸、高强度的高档包装用纸和纸板、高技术含量特种纸生产技术"
    assert _leaf(doc, "支持方向", last).line == 60
    assert [r.text for r in first.rules] == ["考核指标包含技术指标和效益指标"]  # taxonomy S4, 003 L62
    assert {c.group for c in doc.clauses} == {"技术指标", "效益指标"}
    assert doc.title == "2024年中国—东盟产业合作区建设专项项目申报指南"


GUILIN = ("区市科技创新联动类", "桂林市")
PARKS = ("产业园区创新发展类",)
LIUZHOU_SOCIAL = ("柳州市社会发展领域科技专项",)
XIETONG = ("“协同”行动计划（广西区域创新能力提升计划）",)
ZHIGUO = ("“智果”行动计划（广西科技成果转化计划）",)
HANGJI = ("“夯基”行动计划（广西基础研究计划）",)
JIANFENG, ZHUJI = ("百色市“科技尖峰”行动专项",), ("百色市“科技筑基”行动专项",)


@pytest.mark.parametrize(("prefix", "path", "line"), [
    ("000", (*GUILIN, "人工智能+文旅", "泛在感知驱动的数智景区全域协同管控平台研发及示范应用"), 6),
    ("000", (*GUILIN, "新一代信息技术", "相干合成光纤激光系统研发与应用"), 165),
    ("000", (*PARKS, "沿边临港产业园区、中国—东盟产业合作区新质生产力培育"), 961),
    ("000", (*PARKS, "高新区发展水平提升", "自治区级高新区特色产业发展"), 1015),
    ("001", ("人工智能技术研发与应用", "“人工智能+”创新技术和创新应用场景研究"), 4),
    ("001", ("新质生产力科技重大专项", "新能源与智能网联汽车专项", "纯电动汽车整车研发"), 32),
    ("001", ("高新技术企业培育专项", "高新技术企业培育"), 370),
    ("001", (*LIUZHOU_SOCIAL, "医疗材料技术研究与民族医药产品开发",
             "医疗器械、诊断试剂等医用材料技术研究与产品开发"), 652),
    ("001", ("柳州市科技支撑乡村振兴专项", "柳州特色农林作物及禽畜发展专项", "新品种选育"), 745),
    ("002", (P002, "疾病防治关键技术研发与应用示范", "常见多发病防治及健康管理关键技术研发与应用示范"), 20),
    ("002", (P002, "方向17（标题缺失）"), 459),
    ("002", (P002, "深海空天领域产业技术研究与应用示范", "低空经济产业技术研究与应用示范",
             "通用型无人机关键技术研究及应用示范"), 555),
    ("002", (*XIETONG, "高新区发展水平提升", "高新区科技成果转移转化能力提升。"), 690),
    ("002", (*ZHIGUO, "支持一批重大科技成果转化", "重大科技成果接续转化应用示范"), 812),
    ("002", (*HANGJI, "广西自然科学基金项目", "面上项目"), 990),
    ("002", (*HANGJI, "广西自然科学基金项目", "国家自然科学基金区域创新发展联合基金（广西）项目"), 1147),
    ("002", (*HANGJI, "科技基础资源利用与开发项目", "实验动物资源利用关键技术研发"), 1170),
    ("004", (*JIANFENG, "高水平研发平台培育建设项目（具体申报事项另行通知）", "培育建设自治区实验室"), 34),
    ("004", (*ZHUJI, "自然科学探索项目"), 110),
    ("004", (*ZHUJI, "经费“包干制”试点项目（具体申报事项另行通知）"), 124),
])
def test_paths_of_sample_leaves(parsed, prefix, path, line):
    assert _leaf(parsed[prefix], *path).line == line


def test_paths_are_unique_identities(parsed):
    for doc in parsed.values():
        paths = [n.path for n in doc.nodes]
        assert len(paths) == len(set(paths))
        for node in doc.nodes:
            assert node.title == node.path[-1]


def test_002_lost_headings_are_rebuilt_and_flagged(parsed):
    doc = parsed["002"]
    lost = {f.line: f.message for f in doc.flags if f.kind is FlagKind.LOST_HEADING}
    assert sorted(lost) == [1, 2, 17, 18, 459]
    titles = {n.line: n.path for n in doc.nodes if n.line in lost}
    assert titles == {
        1: ("“尖锋”行动计划（标题缺失）",),
        2: ("“尖锋”行动计划（标题缺失）", "一、（标题缺失）"),
        17: ("“尖锋”行动计划（标题缺失）", "九、（标题缺失）"),
        18: (P002,),
        459: (P002, "方向17（标题缺失）"),
    }
    assert all("标题" in message for message in lost.values())
    # 方向1–36 do not hang under 八、海洋经济, and 方向17's fields are not 方向16's
    assert parsed["002"].node((P002, "方向17（标题缺失）")).indicator_line == 460
    sixteen = doc.node((P002, "科技惠民技术集成与应用示范"))
    assert [f.line for f in sixteen.fields_of(FieldKind.INDICATORS)] == [455]
    jianfeng = [n for n in doc.nodes if n.path[0] == "“尖锋”行动计划（标题缺失）"]
    assert len(jianfeng) == 10 and not any(n.leaf for n in jianfeng)


def test_no_lost_headings_outside_002(parsed):
    for prefix in ("000", "001", "003", "004"):
        assert not [f for f in parsed[prefix].flags if f.kind is FlagKind.LOST_HEADING], prefix


def test_numbering_defects_of_001_are_flagged(parsed):
    flags = [(f.kind, f.line) for f in parsed["001"].flags if f.kind.value.startswith("numbering")]
    assert flags == [(FlagKind.NUMBERING_GAP, 169), (FlagKind.NUMBERING_DUPLICATE, 198)]


def test_004_untitled_directions_use_the_project_type(parsed):
    doc = parsed["004"]
    untitled = [f.line for f in doc.flags if f.kind is FlagKind.UNTITLED_DIRECTION]
    assert untitled == [112, 119, 125]
    leaf = _leaf(doc, "百色市“科技筑基”行动专项", "自然科学探索项目")
    assert leaf.direction == "自然科学探索项目"
    assert leaf.text_of(FieldKind.CONTENT).startswith("支持科技人员围绕数理科学")
    assert leaf.indicator_line == 114
    pending = _leaf(doc, "百色市“科技筑基”行动专项", "经费“包干制”试点项目（具体申报事项另行通知）")
    assert [f.kind for f in pending.flags] == [FlagKind.UNTITLED_DIRECTION, FlagKind.NO_INDICATOR_BLOCK]


def test_fields_of_a_000_leaf(parsed):
    leaf = parsed["000"].node(("区市科技创新联动类", "桂林市", "人工智能+文旅",
                               "泛在感知驱动的数智景区全域协同管控平台研发及示范应用"))
    assert [(f.kind, f.label, f.line) for f in leaf.fields] == [
        (FieldKind.CONTENT, "研究内容", 8), (FieldKind.INDICATORS, "考核指标", 10), (FieldKind.PERIOD, "实施期限", 12),
        (FieldKind.FUNDING, "资助经费", 14), (FieldKind.NOTES, "相关说明", 15)]
    assert leaf.text_of(FieldKind.PERIOD) == "3年。"
    assert leaf.text_of(FieldKind.FUNDING) == "100万元—300万元。"
    assert [c.label for c in leaf.clauses] == ["（1）", "（2）", "（3）", "（4）", "（5）", "（6）"]


def test_empty_labels_take_the_following_lines(parsed):
    leaf = parsed["000"].node(("产业园区创新发展类", "高新区发展水平提升", "自治区级高新区特色产业发展"))
    assert leaf.indicator_line == 1019 and {c.line for c in leaf.clauses} == {1021}
    lab = parsed["002"].node(("“垒台”行动计划（广西科技创新平台计划）", "广西重点实验室能力建设"))
    assert "新认定类" in lab.text_of(FieldKind.FUNDING)
    assert not [f for d in parsed.values() for f in d.flags if f.kind is FlagKind.EMPTY_FIELD]


def test_001_leaf_with_post_subsidy_fields(parsed):
    leaf = parsed["001"].node(("人工智能技术研发与应用", "AIGC在工程机械行业的应用及产业化"))
    assert leaf.text_of(FieldKind.PERIOD) == "不超过三年。"
    assert "后补助" in leaf.text_of(FieldKind.FUNDING) and "最高不超过50万元" in leaf.text_of(FieldKind.FUNDING)
    talent = parsed["001"].node(("柳州市高层次人才专项", "高层次人才及团队科技攻关项目"))
    assert talent.fields_of(FieldKind.PERIOD) == () and "柳州市" in talent.text_of(FieldKind.ELIGIBILITY)


def test_nsf_categories_read_their_heading_form_fields(parsed):
    leaf = parsed["002"].node((*HANGJI, "广西自然科学基金项目", "面上项目"))
    money_and_time = "单个项目资助经费为10万元，实施年限不超过3年。"
    assert leaf.text_of(FieldKind.PERIOD) == leaf.text_of(FieldKind.FUNDING) == money_and_time
    assert leaf.indicator_line == 999 and {c.line for c in leaf.clauses} == {1000}
    assert "年龄不超过57周岁" in leaf.text_of(FieldKind.ELIGIBILITY)


def test_content_items_and_selection_rules(parsed):
    doc = parsed["002"]
    leaf = doc.node((P002, "疾病防治关键技术研发与应用示范", "常见多发病防治及健康管理关键技术研发与应用示范"))
    assert [i.label for i in leaf.content_items] == [f"{n}." for n in range(1, 10)]
    assert leaf.content_items[0].selection == "①②⑤⑥⑦或①③⑤⑥⑦"
    assert leaf.content_items[0].line == 22
    focus = doc.node((*ZHIGUO, "支持一批重大科技成果转化", "重大科技成果接续转化应用示范"))
    assert [i.label for i in focus.content_items] == [f"重点支持领域{n}" for n in range(1, 10)]
    either = doc.node((P002, "高新技术企业能力提升项目"))
    assert [r.text for r in either.rules] == ["每个项目满足考核指标①或②即可"]
    subtype = doc.node((P002, "产教协同科技创新应用型人才培养"))
    assert subtype.rules[0].text.startswith("（企业联合区外高水平大学培养工程博士项目须考核指标中的①②")
    k_of_n = parsed["001"].node((*LIUZHOU_SOCIAL, "智慧城市与公共应用", "智能化应用技术"))
    assert [r.text for r in k_of_n.rules] == ["满足考核指标中的3项及以上"]
    battery = parsed["001"].node(("新质生产力科技重大专项", "新能源与智能网联汽车专项",
                                  "长寿命高安全性高比能量动力电池体系研发及产业化"))
    assert [i.label for i in battery.content_items][:2] == ["（1）", "（2）"]


def test_document_titles(parsed):
    assert parsed["001"].title == "科技创新推动柳州国家创新型城市建设“科创中国”试点城市建设科技计划专项"
    assert parsed["000"].title is None and parsed["004"].title is None


def test_tree_records_shape(parsed):
    records = tree_records(parsed["004"])
    assert len(records) == len(parsed["004"].nodes)
    first = records[0]
    assert set(first) == {"seed", "line", "path", "title", "leaf", "has_indicators", "flags"}
    assert first == {"seed": "004_a88be7aaa3e07232.txt", "line": 6, "path": ["百色市“科技尖峰”行动专项"],
                     "title": "百色市“科技尖峰”行动专项", "leaf": False, "has_indicators": False, "flags": []}
    untitled = next(r for r in records if r["line"] == 110)
    assert untitled["leaf"] and untitled["has_indicators"]
    assert untitled["flags"][0] == {"kind": "untitled_direction", "line": 112,
                                    "message": untitled["flags"][0]["message"]}
    lost = next(r for r in tree_records(parsed["002"]) if r["line"] == 459)
    assert lost["title"] == "方向17（标题缺失）" and lost["flags"][0]["kind"] == "lost_heading"


def test_flag_kinds_per_seed(parsed):
    """The figures of the hand-back report; also pins the fixed set of kinds the seeds raise."""
    figures = {prefix: dict(Counter(str(f.kind) for f in doc.flags)) for prefix, doc in parsed.items()}
    print()
    for prefix, doc in parsed.items():
        clauses = sum(len(n.clauses) for n in doc.leaves)
        print(f"{prefix}: leaves={len(doc.leaves)} own_indicators={sum(n.has_own_indicators for n in doc.leaves)}"
              f" clauses={clauses} flags={figures[prefix]}")
    assert figures == {
        "000": {},
        "001": {"no_indicator_block": 15, "numbering_gap": 1, "numbering_duplicate": 1},
        "002": {"lost_heading": 5, "no_indicator_block": 14},
        "003": {},
        "004": {"untitled_direction": 3, "no_indicator_block": 1},
    }
