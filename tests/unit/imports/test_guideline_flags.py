"""Doubts are flagged, never guessed silently: small made-up documents, one doubt each."""

from __future__ import annotations

from imports.guidelines import FieldKind, FlagKind, SourceText, parse_guideline


def _parse(text: str):
    return parse_guideline(SourceText("doc.txt", tuple(text.split("\n"))))


def _kinds(doc) -> list[tuple[FlagKind, int | None]]:
    return [(f.kind, f.line) for f in doc.flags]


def test_a_clean_document_has_no_flags():
    doc = _parse("一、类别\n方向1：甲\n考核指标：（1）申请专利2件。（2）发表论文1篇。\n实施期限：3年。\n"
                 "方向2：乙\n考核要求：形成新技术1项；培养人才2名。")
    assert doc.flags == ()
    assert [(n.path, n.leaf) for n in doc.nodes] == [(("类别",), False), (("类别", "甲"), True), (("类别", "乙"), True)]
    assert [(c.label, c.text) for c in doc.leaves[1].clauses] == [(None, "形成新技术1项"), (None, "培养人才2名")]


def test_heading_numbering_gaps_and_repeats():
    doc = _parse("方向1：甲\n考核指标：完成1项。\n方向3：乙\n考核指标：完成1项。\n方向3：丙\n考核指标：完成1项。")
    assert _kinds(doc) == [(FlagKind.NUMBERING_GAP, 3), (FlagKind.NUMBERING_DUPLICATE, 5)]
    first = _parse("方向2：甲\n考核指标：完成1项。")
    assert _kinds(first) == [(FlagKind.NUMBERING_GAP, 1)]
    assert "不是1" in first.flags[0].message


def test_duplicate_sibling_titles_keep_unique_paths():
    doc = _parse("方向1：甲\n考核指标：完成1项。\n方向2：甲\n考核指标：完成2项。")
    assert [n.path for n in doc.leaves] == [("甲",), ("甲（第3行）",)]
    assert _kinds(doc) == [(FlagKind.NUMBERING_DUPLICATE, 3)]


def test_indicator_item_numbering():
    doc = _parse("方向1：甲\n考核指标：（1）申请专利2件；（3）发表论文1篇；（3）培养2人。")
    assert _kinds(doc) == [(FlagKind.NUMBERING_GAP, 2), (FlagKind.NUMBERING_DUPLICATE, 2)]


def test_leaf_without_indicators_and_empty_field():
    doc = _parse("方向1：甲\n研究内容：开展研究。\n考核指标：\n方向2：乙\n研究内容：具体申报通知另行发布。")
    assert _kinds(doc) == [(FlagKind.EMPTY_FIELD, 3), (FlagKind.NO_INDICATOR_BLOCK, 4)]
    assert "另行" in doc.flags[1].message
    assert doc.leaves[0].has_own_indicators and not doc.leaves[0].clauses


def test_fields_on_a_container_and_repeated_labels():
    doc = _parse("一、类别\n资助经费：100万元。\n方向1：甲\n考核指标：完成1项。\n考核指标：完成2项。")
    assert sorted(_kinds(doc), key=str) == sorted([(FlagKind.UNEXPECTED_FIELD, 2), (FlagKind.UNEXPECTED_FIELD, 5)],
                                                  key=str)
    assert [c.text for c in doc.leaves[0].clauses] == ["完成1项", "完成2项"]


def test_a_shared_block_on_a_container_is_inherited_without_a_flag():
    doc = _parse("一、类别\n考核要求：申请专利1件。\n方向1：甲\n研究内容：开展研究。\n方向2：乙\n研究内容：开展应用。")
    assert doc.flags == ()
    assert all(leaf.inherited_from == ("类别",) and leaf.direction == "类别" for leaf in doc.leaves)


def test_unknown_numbering_forms():
    doc = _parse("第一章 总则\n方向1：甲\n考核指标：完成1项。\nA. 附则说明")
    assert (FlagKind.UNKNOWN_NUMBERING, 1) in _kinds(doc)
    assert (FlagKind.UNKNOWN_NUMBERING, 4) not in _kinds(doc)  # inside an open field it is just text


def test_unnumbered_heading_on_weak_evidence():
    doc = _parse("一、类别\n方向1：甲\n考核指标：完成1项。\n二、类别二\n重点方面\n方向1：乙\n考核指标：完成2项。")
    assert _kinds(doc) == [(FlagKind.UNNUMBERED_HEADING, 5)]
    assert doc.node(("类别二", "重点方面", "乙")).leaf


def test_an_indented_paragraph_after_a_numbered_leaf_is_its_lost_sibling():
    lines = ["方向1：甲", "考核指标：完成1项。"] + [f"方向{n}：乙{n}\n考核指标：完成{n}项。" for n in range(2, 12)]
    lines += [" 这一段缩进开头，又不紧接标题：前面的标题丢了。", "考核指标：完成12项。"]
    doc = _parse("\n".join(lines))
    assert _kinds(doc) == [(FlagKind.LOST_HEADING, 23)]
    assert doc.leaves[-1].title == "方向12（标题缺失）" and doc.leaves[-1].indicator_line == 24


def test_an_indented_paragraph_without_evidence_is_only_suspected():
    lines = ["一、类别"] + [f"方向：乙{n}\n考核指标：完成{n}项。" for n in range(1, 12)]
    lines += [" 这一段缩进开头，又不紧接标题，但看不出缺了什么标题。"]
    doc = _parse("\n".join(lines))
    assert _kinds(doc) == [(FlagKind.LOST_HEADING, 24)]
    assert "疑似" in doc.flags[0].message
    last = doc.leaves[-1]
    assert len(doc.leaves) == 11 and "看不出" not in last.text_of(FieldKind.INDICATORS)
    assert [f.label for f in last.fields] == ["考核指标", None]  # kept as unlabelled text, not as an indicator


def test_indentation_as_layout_is_not_a_lost_heading():
    long_note = "　　这是一段缩进的说明文字，" + "很长" * 20 + "。"
    lines = ["方向1：甲", "　　考核指标：完成1项。", long_note]
    assert _parse("\n".join(lines)).flags == ()


def test_unbalanced_brackets_are_flagged_on_the_node():
    doc = _parse("方向1：甲\n考核指标：形成（新技术1项；申请专利2件。")
    assert _kinds(doc) == [(FlagKind.UNBALANCED_BRACKETS, 2)]
    assert doc.leaves[0].flags[0].kind is FlagKind.UNBALANCED_BRACKETS


def test_a_label_before_any_heading_applies_to_the_document_and_is_flagged():
    doc = _parse("考核要求：申请专利1件。\n方向1：甲\n研究内容：开展研究。")
    assert _kinds(doc) == [(FlagKind.UNEXPECTED_FIELD, 1)]
    assert doc.leaves[0].inherited_from == () and doc.leaves[0].clauses[0].text == "申请专利1件"
