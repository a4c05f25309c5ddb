"""A lost heading is flagged for the officer but never shown to grantees as a placeholder (issue #24, item 3):
pages show the nearest real title; the stored path, which identifies a node, keeps the placeholder."""

from __future__ import annotations

from imports.guideline_builder import LOST
from imports.guidelines import tree_records
from tracker.templating import LOST_HEADING, environment, shown_path, shown_title


def test_the_page_filter_knows_the_readers_placeholder():
    assert LOST_HEADING == LOST


def test_a_lost_heading_shows_as_the_nearest_real_title():
    assert shown_path(["重点研发计划（标题缺失）", "一、高端装备", "方向1：数控机床"]) == ["重点研发计划", "一、高端装备",
                                                                            "方向1：数控机床"]
    assert shown_path(["重点研发计划", "方向17（标题缺失）"]) == ["重点研发计划"]  # nothing real: the parent names it
    assert shown_path(["（三）（标题缺失）"]) == ["（三）"]  # a lone placeholder still shows without the marker
    assert shown_title("“尖锋”行动计划（标题缺失）") == "“尖锋”行动计划"
    assert shown_path(["科技创新联动类", "桂林市"]) == ["科技创新联动类", "桂林市"]


def test_seed_002_paths_keep_the_placeholder_in_the_tree_but_not_on_pages(parsed):
    records = tree_records(parsed["002"])
    lost = [r for r in records if any(LOST in t for t in r["path"])]
    assert lost and all(any(f["kind"] == "lost_heading" for f in r["flags"]) for r in lost if LOST in r["title"])
    for r in lost:
        assert not any(LOST in t for t in shown_path(r["path"]))
    rendered = environment().from_string('{{ path|shown_path|join(" › ") }}').render(path=lost[0]["path"])
    assert LOST not in rendered and rendered
