"""Indicator clauses: segmentation (taxonomy S1, S2, S4) against the labelled sample, and the record shape."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from imports.guideline_clauses import BlockLine, segment_block
from imports.guidelines import FlagKind, clause_records

SEPARATORS = "。；;，,"


def _records_by_line(parsed) -> dict[tuple[str, int], list[dict]]:
    found: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for doc in parsed.values():
        for record in clause_records(doc):
            found[(record["seed"], record["line"])].append(record)
    return found


def test_labelled_sample_clause_texts(parsed, labelled):
    """Every labelled clause is one of ours (exact) or a run of one of ours on the same line with the same label
    (the sample also splits mixed AND/OR clauses into runs, taxonomy S3, which is the interpreter's job)."""
    ours = _records_by_line(parsed)
    exact = substring = 0
    missing = []
    runs_of: dict[tuple, list[str]] = defaultdict(list)
    for gold in labelled:
        candidates = [r for r in ours[(gold["seed"], gold["line"])] if r["label"] == gold["label"]]
        if any(r["text"] == gold["text"] for r in candidates):
            exact += 1
            substring += 1
            continue
        containing = [r["text"] for r in candidates if gold["text"] in r["text"]]
        if containing:
            substring += 1
            runs_of[(gold["seed"], gold["line"], gold["label"], containing[0])].append(gold["text"])
        else:
            missing.append((gold["id"], gold["text"]))
    total = len(labelled)
    print(f"\nclause text match: exact {exact}/{total} ({exact / total:.1%}), "
          f"substring {substring}/{total} ({substring / total:.1%})")
    assert not missing
    assert substring == total == 290
    assert exact == 270
    # a labelled clause that is only a substring is one of two or more runs of the same clause (S3)
    assert all(len(runs) >= 2 for runs in runs_of.values())


def test_labelled_directions_are_reproduced(parsed, labelled):
    ours = _records_by_line(parsed)
    for gold in labelled:
        assert gold["direction"] in {r["direction"] for r in ours[(gold["seed"], gold["line"])]}, gold["id"]


def test_clause_texts_are_verbatim_and_trimmed(parsed, sources):
    for prefix, doc in parsed.items():
        lines = sources[prefix].lines
        for node in doc.nodes:
            for clause in node.clauses:
                assert clause.text, clause
                assert clause.text in lines[clause.line - 1], clause
                assert clause.text[-1] not in SEPARATORS and clause.text[0] not in SEPARATORS, clause
                assert not clause.flags, clause


def test_record_shape_and_shared_block_printed_per_leaf(parsed):
    records = clause_records(parsed["003"])
    assert len(records) == 40 * 9
    first = records[0]
    text = "形成新技术、新工艺、新材料、新产品和新服务1项以上，以及其不少5项性能参数、质量等的指标值/状态变化情况"
    assert first == {"seed": "003_66db897801e56ec6.txt", "line": 65, "direction": "支持方向", "label": None,
                     "text": text, "targets": [], "combine": "all", "quantitative": False,
                     "path": ["支持方向", "超高清显示、液晶触显领域关键技术"], "flags": []}
    assert len({tuple(r["path"]) for r in records}) == 40
    counts = {prefix: len(clause_records(doc)) for prefix, doc in parsed.items()}
    assert counts == {"000": 608, "001": 234, "002": 360, "003": 360, "004": 32}


def test_interpreter_runs_become_records_with_the_parent_label_and_line(parsed):
    calls: list[str] = []

    def interpret(text: str) -> list[dict]:
        calls.append(text)
        if "或" in text:
            return [{"text": part, "targets": [{"category": "x"}], "combine": "any", "quantitative": True,
                     "kind": "cumulative", "flags": [{"kind": "s3", "line": None, "message": "拆分"}]}
                    for part in text.split("，")]
        return [{"targets": [], "combine": "all", "quantitative": False}]

    records = clause_records(parsed["004"], interpret)
    plain = clause_records(parsed["004"])
    assert len(calls) == len(plain)
    split = [r for r in records if r["combine"] == "any"]
    assert split and all(r["kind"] == "cumulative" and r["flags"][-1]["kind"] == "s3" for r in split)
    by_line = {(r["line"], r["label"]) for r in plain}
    assert {(r["line"], r["label"]) for r in records} == by_line
    assert all(set(r) >= {"seed", "line", "direction", "label", "text", "targets", "combine", "quantitative",
                          "path", "flags"} for r in records)


def _segment(*values: str):
    return segment_block([BlockLine(n, v, v) for n, v in enumerate(values, 1)])


def test_numbered_items_split_only_at_markers_after_separators():
    result = _segment("（1）数据总量（1TB）;比例（50%）。（2）目标99.9%以上，（3）抗拉强度1.5GPa以上；（4）培养2人")
    assert [(c.label, c.text) for c in result.clauses] == [
        ("（1）", "数据总量（1TB）;比例（50%）"), ("（2）", "目标99.9%以上"), ("（3）", "抗拉强度1.5GPa以上"),
        ("（4）", "培养2人")]


def test_selection_sentences_become_rules():
    result = _segment("①开发新产品1项；②获得专利1项。每个项目满足考核指标①或②即可。",
                      "考核指标包含技术指标和效益指标。")
    assert [(c.label, c.text) for c in result.clauses] == [("①", "开发新产品1项；"[:-1]), ("②", "获得专利1项")]
    assert [r.text for r in result.rules] == ["每个项目满足考核指标①或②即可", "考核指标包含技术指标和效益指标"]


def test_groups_and_dot_items():
    result = _segment("（一）技术指标。", "形成新技术1项；申请专利2件。", "1.企业类：（1）项目2项；（2）人才5人。",
                      "考核：1.建立平台。2.推动转化3项")
    assert [(c.group, c.label, c.text) for c in result.clauses] == [
        ("技术指标", None, "形成新技术1项"), ("技术指标", None, "申请专利2件"), ("企业类", "（1）", "项目2项"),
        ("企业类", "（2）", "人才5人"), ("企业类", None, "考核"), ("企业类", "1.", "建立平台"),
        ("企业类", "2.", "推动转化3项")]


def test_unclosed_bracket_falls_back_and_is_flagged():
    result = _segment("形成（新技术1项；申请专利2件")
    assert [c.text for c in result.clauses] == ["形成（新技术1项", "申请专利2件"]
    assert {f.kind for f in result.flags} == {FlagKind.UNBALANCED_BRACKETS}


_FRAGMENTS = st.sampled_from(["申请发明专利2件", "（含3年）", "（1TB）", "1.5GPa", "①", "（2）", "3.", "。", "；", "，",
                              ";", " ", "满足考核指标①或②即可", "（", "）", "≥90%", "“", "”", "项目实施期内"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, min_size=1, max_size=30).map("".join))
def test_any_line_gives_verbatim_trimmed_clauses(value):
    result = _segment(value)
    for clause in result.clauses:
        assert clause.text and clause.text in value
        assert clause.text[-1] not in SEPARATORS + " "
