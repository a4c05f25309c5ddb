"""`tests.unit.indicators.scoring` follows the official scorer (`shared/tools/score_indicators.py`) exactly.

Two small fixtures exercise its rules: de-duplication of predicted records by (seed, line, text, label),
the seed's file name taken from a path, a line number given as a string, values compared at 6
significant digits, an empty unit equal to none, predicted lines absent from the labels ignored, and a
record without a seed skipped. The official outputs for both fixtures are copied below, so the test runs
without `../shared`; when the official script is present it is also run and must print the same lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.indicators.scoring import CategoryCounts, score

_GOLD_A = [
    {"seed": "000_x.txt", "line": 10, "label": "（1）", "text": "研发管控平台1套",
     "targets": [{"category": "deliverable", "metric": "平台", "op": ">=", "value": 1, "unit": "套"}]},
    {"seed": "000_x.txt", "line": 10, "label": "（2）", "text": "申请发明专利2件，授权1件",
     "targets": [{"category": "patent_application", "metric": "专利", "op": ">=", "value": 2, "unit": "件"},
                 {"category": "patent_grant", "metric": "专利", "op": ">=", "value": 1, "unit": "件"}]},
    {"seed": "000_x.txt", "line": 12, "label": None, "text": "实现新增产值超过2亿元",
     "targets": [{"category": "revenue", "metric": "产值", "op": ">", "value": 20000, "unit": "万元"}]},
    {"seed": "001_y.txt", "line": 5, "label": "①", "text": "取得显著经济效益",
     "targets": [{"category": "impact", "metric": "效益", "op": None, "value": None, "unit": None}]},
    {"seed": "001_y.txt", "line": 7, "label": "②", "text": "抗拉强度≥1400MPa，延伸率≥6",
     "targets": [{"category": "performance_metric", "metric": "抗拉强度", "op": ">=", "value": 1400, "unit": "MPa"},
                 {"category": "performance_metric", "metric": "延伸率", "op": ">=", "value": 6, "unit": None}]},
]
_PRED_A = [
    {"seed": "samples/000_x.txt", "line": 10, "label": "（1）", "text": "研发管控平台1套",
     "targets": [{"category": "platform", "op": ">=", "value": 1, "unit": "套"}]},
    {"seed": "samples/000_x.txt", "line": 10, "label": "（1）", "text": "研发管控平台1套",
     "targets": [{"category": "platform", "op": ">=", "value": 1, "unit": "套"}]},
    {"seed": "000_x.txt", "line": 10, "label": "（2）", "text": "申请发明专利2件，授权1件",
     "targets": [{"category": "patent_application", "op": ">=", "value": 2.0, "unit": "件"}]},
    {"seed": "000_x.txt", "line": "12", "label": None, "text": "实现新增产值超过2亿元",
     "targets": [{"category": "revenue", "op": ">=", "value": 20000, "unit": "万元"},
                 {"category": "impact", "op": None, "value": None, "unit": ""}]},
    {"seed": "001_y.txt", "line": 7, "label": "②", "text": "抗拉强度≥1400MPa",
     "targets": [{"category": "performance_metric", "op": ">=", "value": 1400.0000001, "unit": "MPa"},
                 {"category": "performance_metric", "op": ">=", "value": 6, "unit": ""}]},
    {"seed": "001_y.txt", "line": 99, "label": None, "text": "不在标注中",
     "targets": [{"category": "paper", "op": ">=", "value": 3, "unit": "篇"}]},
    {"line": 5, "text": "缺少seed", "targets": []},
]
# `python score_indicators.py gold_a.jsonl pred_a.jsonl`, copied verbatim.
_OFFICIAL_A = """lines=4 clause_text_match=3/5
loose (no category): P=0.667 R=0.571 F1=0.615
F1=0.462 P=0.500 R=0.429"""

_GOLD_B = [
    {"seed": "002_z.txt", "line": 31, "label": "③", "text": "获得立项或发布标准1项及以上或专家共识1项及以上",
     "targets": [{"category": "standard", "metric": "标准", "op": ">=", "value": 1, "unit": "项"},
                 {"category": "standard", "metric": "共识", "op": ">=", "value": 1, "unit": "项"}]},
    {"seed": "002_z.txt", "line": 31, "label": "④", "text": "项目成果以论文等形式为主", "targets": []},
    {"seed": "002_z.txt", "line": 40, "label": None, "text": "吨钢创效200元以上",
     "targets": [{"category": "revenue", "metric": "创效", "op": ">=", "value": 0.02, "unit": "万元/吨"}]},
]
_PRED_B = [
    {"seed": "002_z.txt", "line": 31, "label": "③", "text": "获得立项或发布标准1项及以上或专家共识1项及以上",
     "targets": [{"category": "standard", "op": ">=", "value": 1, "unit": "项"}] * 3},
    {"seed": "002_z.txt", "line": 40, "label": None, "text": "吨钢创效200元以上",
     "targets": [{"category": "revenue", "op": ">=", "value": 0.0200000001, "unit": "万元/吨"}]},
]
_OFFICIAL_B = """lines=2 clause_text_match=2/3
loose (no category): P=0.750 R=1.000 F1=0.857
F1=0.857 P=0.750 R=1.000"""

_FIXTURES = [("a", _GOLD_A, _PRED_A, _OFFICIAL_A), ("b", _GOLD_B, _PRED_B, _OFFICIAL_B)]


def _official_script() -> Path | None:
    here = Path(__file__).resolve()
    for candidate in (Path("/tmp/score_indicators.py"), here.parents[4] / "shared" / "tools" / "score_indicators.py"):
        if candidate.exists():
            return candidate
    return None


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@pytest.mark.parametrize(("name", "gold", "pred", "official"), _FIXTURES, ids=[f[0] for f in _FIXTURES])
def test_matches_the_official_output_copied_here(name, gold, pred, official):
    assert score(gold, pred).summary() == official


@pytest.mark.parametrize(("name", "gold", "pred", "official"), _FIXTURES, ids=[f[0] for f in _FIXTURES])
def test_matches_the_official_script_when_present(tmp_path, name, gold, pred, official):
    script = _official_script()
    if script is None:
        pytest.skip("the official scorer is not in this checkout; the copied outputs are checked above")
    _write(tmp_path / "gold.jsonl", gold)
    _write(tmp_path / "pred.jsonl", pred)
    run = subprocess.run([sys.executable, str(script), str(tmp_path / "gold.jsonl"), str(tmp_path / "pred.jsonl")],
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == score(gold, pred).summary() == official


def test_per_category_table_counts_by_hand():
    s = score(_GOLD_A, _PRED_A)
    # line 10: gold {deliverable, patent_application, patent_grant}, predicted once (deduplicated)
    # {platform, patent_application}; line 12: revenue `>` vs `>=` and an extra impact; line 7 both match
    # (6 significant digits, `""` unit is none); line 5 not predicted.
    assert s.per_category == {
        "deliverable": CategoryCounts(0, 0, 1),
        "platform": CategoryCounts(0, 1, 0),
        "patent_application": CategoryCounts(1, 0, 0),
        "patent_grant": CategoryCounts(0, 0, 1),
        "revenue": CategoryCounts(0, 1, 1),
        "impact": CategoryCounts(0, 1, 1),
        "performance_metric": CategoryCounts(2, 0, 0),
    }
    assert (s.strict.tp, s.strict.predicted, s.strict.gold) == (3, 6, 7)
    assert (s.loose.tp, s.loose.predicted, s.loose.gold) == (4, 6, 7)
    assert "deliverable" in s.table()


def test_an_empty_prediction_scores_zero_without_dividing_by_zero():
    s = score(_GOLD_B, [])
    assert (s.strict.precision, s.strict.recall, s.strict.f1) == (0.0, 0.0, 0.0)
    assert s.texts_found == 0 and s.texts_total == 3
