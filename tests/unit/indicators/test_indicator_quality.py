"""Quality of `interpret_clause`, measured against the labelled sample (tests/data/indicators-dev.jsonl).

Each labelled clause text is interpreted (the records of one (seed, line, label) that S3 split out of one
clause are joined back into that clause first, so the split is tested too) and the readings are scored
by the official definition (`tests.unit.indicators.scoring`). Run with `-s` to see the figures.
"""

from __future__ import annotations

from tests.unit.indicators.indicator_eval import LABELS, direction_split, load_jsonl, predict_from_gold
from tests.unit.indicators.scoring import score

MIN_F1 = 0.90


def test_f1_on_the_labelled_sample():
    labels = load_jsonl(LABELS)
    predicted = predict_from_gold(labels)
    s = score(labels, predicted)
    _, held = direction_split(labels)
    held_score = score(held, predict_from_gold(held))
    print()
    print(s.summary())
    print(f"held-out directions (every 5th): F1={held_score.f1:.3f} loose F1={held_score.loose.f1:.3f}")
    print(s.table())
    assert s.f1 >= MIN_F1, s.summary()
    assert s.texts_found / s.texts_total >= 0.95, "S3 splitting should reproduce the labelled clause texts"


def test_every_reading_text_is_a_substring_of_its_clause():
    labels = load_jsonl(LABELS)
    by_text = {r["text"] for r in labels}
    for record in predict_from_gold(labels):
        assert any(record["text"] in t or t in record["text"] for t in by_text)
