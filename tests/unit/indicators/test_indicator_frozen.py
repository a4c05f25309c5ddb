"""The reader on directions it was not tuned on: the frozen sample (tests/data/indicators-frozen.jsonl, see
tests/data/README-frozen.md), scored on the full parse of the seeds as the shared scorer scores it.

Goals of issue #24: F1 >= 0.95 with the category, >= 0.97 without; metric names right on at least 90% of the
matched targets (normalised: spaces, punctuation, bracketed notes and status words aside; see the floors below);
and the dev sample, scored the same way, no worse than 0.99. Run with `-s` to see the figures.
"""

from __future__ import annotations

import pytest

from tests.unit.indicators.indicator_eval import FROZEN, LABELS, load_jsonl, parse_seeds
from tests.unit.indicators.scoring import metric_score, score


@pytest.fixture(scope="module")
def predicted() -> list[dict]:
    return parse_seeds()


def test_frozen_sample_meets_the_goals(predicted):
    labels = load_jsonl(FROZEN)
    s = score(labels, predicted)
    names = metric_score(labels, predicted)
    print()
    print(s.summary())
    print(names.summary())
    print(s.table())
    assert s.texts_found >= s.texts_total - 2, s.summary()
    # goal 0.95 with the category, 0.97 without; 0.988 and 0.988 (P 0.992, R 0.985) after the reading classes of
    # test_indicator_reading_classes.py (before: 0.964 and 0.970; 0.962 before `工法` was read as a standard)
    assert s.f1 >= 0.985, s.summary()
    assert s.loose.f1 >= 0.985, s.summary()
    # The names goal (90% right) is reached: 0.904 normalised-equal, 0.954 one containing the other (before the name
    # classes of test_metric_name_classes.py: 0.732 and 0.877). 0.904 is 534 of 591: three more misses fail the floor,
    # which is the goal itself. Most misses left are labels that shorten or reword the text (`真空精炼生产线年产能`,
    # `香辛料加工时间显著缩短`) or keep a verb only some labels keep (`联合开发或引进…`, `以许可、转让…`).
    assert names.normalised_rate >= 0.90, names.summary()
    assert names.contained_rate >= 0.95, names.summary()


def test_dev_sample_on_the_full_parse(predicted):
    labels = load_jsonl(LABELS)
    s = score(labels, predicted)
    print()
    print(s.summary())
    assert s.f1 >= 0.99, s.summary()
