"""Scoring of clause records against a labelled set, by the definition of `shared/tools/score_indicators.py`.

Per source line `(seed, line)`, the labelled targets and the predicted targets are compared as multisets
of `(category, op, value, unit)` (strict) and of `(op, value, unit)` (loose). Predicted records are first
de-duplicated by `(seed file name, line, text, label)`, since a block shared by many directions is printed
once per direction. Only lines present in the labels are scored. Values compare at 6 significant digits.
The clause-text match counts labelled texts found among the predicted texts of the same line.

On top of the official figures, `Score.per_category` gives true positives, false positives and false
negatives per category (strict keys), to see where the errors are.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Key = tuple[Any, ...]


def norm_value(value: object) -> object:
    """As the official scorer: a float rounded to 6 significant digits, or the string, or None."""
    if value is None:
        return None
    try:
        return float(f"{float(value):.6g}")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def target_key(target: Mapping[str, Any], with_category: bool = True) -> Key:
    k = (target.get("op"), norm_value(target.get("value")), (target.get("unit") or None))
    return ((target.get("category"),) + k) if with_category else k


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    tp: int
    predicted: int
    gold: int


@dataclass(frozen=True)
class CategoryCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0


@dataclass(frozen=True)
class Score:
    strict: PRF
    loose: PRF
    lines: int
    texts_found: int
    texts_total: int
    per_category: dict[str, CategoryCounts] = field(default_factory=dict)

    @property
    def f1(self) -> float:
        return self.strict.f1

    def summary(self) -> str:
        """The three lines the official scorer prints."""
        return (
            f"lines={self.lines} clause_text_match={self.texts_found}/{self.texts_total}\n"
            f"loose (no category): P={self.loose.precision:.3f} R={self.loose.recall:.3f} F1={self.loose.f1:.3f}\n"
            f"F1={self.strict.f1:.3f} P={self.strict.precision:.3f} R={self.strict.recall:.3f}"
        )

    def table(self) -> str:
        """Per-category error table, worst F1 first."""
        rows = ["category               tp   fp   fn    F1"]
        for name, c in sorted(self.per_category.items(), key=lambda kv: (kv[1].f1, kv[0])):
            rows.append(f"{name:<20} {c.tp:>4} {c.fp:>4} {c.fn:>4}  {c.f1:.3f}")
        return "\n".join(rows)


def _prf(gold_by_line: Mapping[Key, list[Mapping[str, Any]]], pred_by_line: Mapping[Key, list[Mapping[str, Any]]],
         with_category: bool) -> PRF:
    tp = npred = ngold = 0
    for line, gold in gold_by_line.items():
        g = Counter(target_key(t, with_category) for t in gold)
        p = Counter(target_key(t, with_category) for t in pred_by_line.get(line, []))
        tp += sum((g & p).values())
        npred += sum(p.values())
        ngold += sum(g.values())
    precision = tp / npred if npred else 0.0
    recall = tp / ngold if ngold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1, tp, npred, ngold)


def score(labels: Iterable[Mapping[str, Any]], predicted: Iterable[Mapping[str, Any]]) -> Score:
    """Score predicted records against labelled records (both in the `guidelines parse` shape)."""
    seen: set[Key] = set()
    pred_by_line: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    pred_texts: dict[Key, set[Any]] = defaultdict(set)
    for r in predicted:
        try:
            k = (r["seed"].split("/")[-1], int(r["line"]), r.get("text"), r.get("label"))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if k in seen:
            continue
        seen.add(k)
        pred_by_line[k[:2]].extend(r.get("targets") or [])
        pred_texts[k[:2]].add(r.get("text"))
    gold_by_line: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    gold_texts: dict[Key, set[Any]] = defaultdict(set)
    for r in labels:
        gold_by_line[(r["seed"], r["line"])].extend(r["targets"])
        gold_texts[(r["seed"], r["line"])].add(r["text"])

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line, gold in gold_by_line.items():
        g = Counter(target_key(t) for t in gold)
        p = Counter(target_key(t) for t in pred_by_line.get(line, []))
        for key, n in (g & p).items():
            counts[str(key[0])][0] += n
        for key, n in (p - g).items():
            counts[str(key[0])][1] += n
        for key, n in (g - p).items():
            counts[str(key[0])][2] += n

    texts = sum(len(v) for v in gold_texts.values())
    found = sum(len(v & pred_texts.get(line, set())) for line, v in gold_texts.items())
    return Score(
        strict=_prf(gold_by_line, pred_by_line, True),
        loose=_prf(gold_by_line, pred_by_line, False),
        lines=len(gold_by_line),
        texts_found=found,
        texts_total=texts,
        per_category={k: CategoryCounts(*v) for k, v in counts.items()},
    )


# -- metric names ----------------------------------------------------------------------------------------
# Not part of the official scorer (it ignores `metric`): for the targets that match by their strict key,
# does the reader name the thing as the labeller did? Exact, and after normalising the ways of writing one
# name (spaces, punctuation, a bracketed note such as `（获得）` or `（预计）`, a trailing `数`/`数量`/`总数`).

_NAME_NOISE = re.compile(r"[（(][^）)]*[）)]|[\s，,、：:；;。“”‘’\"'《》/·\-—]")
_NAME_TAIL = re.compile(r"(?:总数量|数量|总数|总量|数)$")


# Status and governing verbs: where a name puts them (`培养研究生`, `研究生（培养）`; `申请发明专利`, `发明专利申请`)
# does not change what is named, and the category already carries the status.
_NAME_VERBS = re.compile(r"^(?:全职|新)?(?:引进或培养|培养或引进|引进|培养|吸纳|吸收|获得|获|取得|实现|形成|开发|研发|制定|制订|"
                         r"发表|提供|组织开展|开展|完成|建立|建成|推动|突破)")
_NAME_STATUS = re.compile(r"申请|获得|获")


def norm_metric(name: object) -> str:
    text = _NAME_NOISE.sub("", str(name or ""))
    text = _NAME_STATUS.sub("", _NAME_VERBS.sub("", text))
    return _NAME_TAIL.sub("", text) or text


@dataclass(frozen=True)
class MetricScore:
    matched: int  # targets matched by their strict key
    exact: int
    normalised: int
    misses: tuple[tuple[Key, str, str], ...] = ()  # (line, gold name, predicted name), normalised misses
    contained: int = 0  # normalised names of which one contains the other (`抗拉强度` for `铝箔坯料抗拉强度`)

    @property
    def exact_rate(self) -> float:
        return self.exact / self.matched if self.matched else 0.0

    @property
    def normalised_rate(self) -> float:
        return self.normalised / self.matched if self.matched else 0.0

    @property
    def contained_rate(self) -> float:
        return self.contained / self.matched if self.matched else 0.0

    def summary(self) -> str:
        return (f"metric names on {self.matched} matched targets: exact {self.exact_rate:.3f}, "
                f"normalised {self.normalised_rate:.3f}, one containing the other {self.contained_rate:.3f}")


def metric_score(labels: Iterable[Mapping[str, Any]], predicted: Iterable[Mapping[str, Any]]) -> MetricScore:
    """Pairs gold and predicted targets of a line by strict key (the best-named pairs first) and compares
    their metric names."""
    seen: set[Key] = set()
    pred_by_line: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    for r in predicted:
        try:
            k = (r["seed"].split("/")[-1], int(r["line"]), r.get("text"), r.get("label"))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if k in seen:
            continue
        seen.add(k)
        pred_by_line[k[:2]].extend(r.get("targets") or [])
    gold_by_line: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    for r in labels:
        gold_by_line[(r["seed"], r["line"])].extend(r["targets"])
    matched = exact = normalised = contained = 0
    misses: list[tuple[Key, str, str]] = []
    for line, gold in gold_by_line.items():
        pool = list(pred_by_line.get(line, []))
        for g in gold:
            candidates = [p for p in pool if target_key(p) == target_key(g)]
            if not candidates:
                continue
            best = max(candidates, key=lambda p: (p.get("metric") == g.get("metric"),
                                                  norm_metric(p.get("metric")) == norm_metric(g.get("metric"))))
            pool.remove(best)
            matched += 1
            if best.get("metric") == g.get("metric"):
                exact += 1
            ng, np_ = norm_metric(g.get("metric")), norm_metric(best.get("metric"))
            if ng and np_ and (ng in np_ or np_ in ng):
                contained += 1
            if np_ == ng:
                normalised += 1
            else:
                misses.append((line, str(g.get("metric")), str(best.get("metric"))))
    return MetricScore(matched, exact, normalised, tuple(misses), contained)
