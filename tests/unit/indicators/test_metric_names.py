"""Metric names a grantee can read (issue #24, item 2): every target of the five seeds is named by a noun phrase,
never by a verb, a particle or a fragment; a name that cannot be made good is flagged for the officer."""

from __future__ import annotations

import pytest

from indicators.reading.metric_names import BAD_END, BAD_START, noun_phrase, readable
from tests.unit.indicators.indicator_eval import parse_seeds

UNNAMED = "指标名称待定"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return parse_seeds()


def test_every_metric_of_the_five_seeds_is_readable_or_flagged(records):
    bad = set()
    for record in records:
        flagged = any(f["kind"] == "metric_name" for f in record["flags"])
        for target in record["targets"]:
            name = target["metric"]
            if name.startswith(UNNAMED):
                assert flagged, record["text"]
                continue
            if not readable(name):
                bad.add(name)
    assert not bad, sorted(bad)


def test_few_names_are_left_to_the_officer(records):
    names = {t["metric"] for r in records for t in r["targets"]}
    unnamed = {n for n in names if n.startswith(UNNAMED)}
    assert len(names) > 1000 and len(unnamed) <= 20, sorted(unnamed)


@pytest.mark.parametrize(("name", "ok"), [
    ("发明专利申请", True), ("授权发明专利", True), ("研究生（培养）", True), ("可见光透过率", True),
    ("应用示范点或示范应用场景", True), ("在职博士", True), ("不起", False), ("授权", False), ("支持", False),
    ("为核心期刊及以上", False), ("高级工程师、在职硕士、在职博士共", False), ("出疾病的预防", False),
    ("合成反应转化率均", False), ("V", False),
])
def test_readable(name, ok):
    assert readable(name) is ok


@pytest.mark.parametrize(("cut", "name"), [
    ("申请发明专利", "发明专利申请"),
    ("获得授权发明专利", "授权发明专利"),
    ("获得软件著作权", "软件著作权（获得）"),
    ("申请或获得发明专利、实用新型专利、软件著作权等知识产权", "发明专利、实用新型专利、软件著作权等知识产权（申请或获得）"),
    ("培养高级工程师、在职硕士、在职博士共", "高级工程师、在职硕士、在职博士（培养）"),
    ("制订出疾病的预防、诊断、治疗相关新技术", "疾病预防、诊断、治疗相关新技术"),  # `的` after a noun modifier goes
    ("项目实施期内，全职引进或培养博士", "博士（全职引进或培养）"),
    ("获得立项或发布团体标准、地方标准", "团体、地方标准（立项或发布）"),  # the levels of one standard, said once
    ("合成反应转化率均", "合成反应转化率"),
    ("硫不大于", "硫"),
    ("最高承载能力高达", "最高承载能力"),
    ("新增产值或销售收入", "新增产值或销售收入"),
    ("Mn", "Mn含量"),
])
def test_noun_phrase(cut, name):
    assert noun_phrase(cut) == name


def test_a_change_verb_names_the_size_of_the_change():
    assert noun_phrase("降低生产过程能耗", improvement=True) == "生产过程能耗降幅"
    assert noun_phrase("测试效率提升", improvement=True) == "测试效率提升幅度"


def test_a_long_name_is_cut_at_a_word_boundary():
    long = "第一作者或通讯作者在核心期刊或SCI、SSCI、EI等收录的期刊上发表卫生研究相关的学术论文或研究报告"
    cut = noun_phrase(long)
    # (the cut is a tail of the name as written, less the `的` after a noun modifier: `收录的期刊` → `收录期刊`)
    assert len(cut) <= 40 and long.replace("收录的期刊", "收录期刊").endswith(cut) and cut[0] not in "心、或"


def test_bad_start_and_end_lists_name_verbs_and_particles():
    assert BAD_START.match("获得授权") and BAD_START.match("的新技术") and BAD_END.search("转化率均")
