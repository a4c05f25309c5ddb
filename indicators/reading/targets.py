"""Indicator clause → targets (DESIGN §2, indicator-taxonomy §3–§9).

`interpret_clause(text)` reads one clause as the structure parser segments it and returns one
`ClauseReading` per record: usually one; several when the clause mixes AND and OR and is split into the
fewest pure runs at depth-0 commas (S3). Every doubt becomes a `Flag` with a Chinese message; nothing is
guessed silently, and no input string makes it raise.

How a clause is read:

1. The text is width-folded (same length, so every span maps back to a verbatim substring), cut into
   sentences at depth-0 `。；;` and into pieces at depth-0 commas.
2. Every number is scanned (`quantities`); numbers that are names, conditions of a test (`在…条件下`,
   `工况(…)下`, `-20℃横向冲击功KV2=20J`), calculation bases (`以年产200吨计算`), baselines (`从48.8%提升至`,
   parenthesised values before `目标`) or asides (`（满分100分）`) are set aside, with a flag.
3. Each remaining value becomes one target, or two for a parameter range or tolerance (C4), with its
   comparator (C1, C2, C3, C5, C6), unit (`/年` for per-year scopes) and category (`categories`).
4. Pieces without a value may state an implied-one deliverable, a qualitative requirement, or nothing
   (framing, non-binding wording) (`qualitative`).
5. `或` between separately counted requirements makes them alternatives; commas and `、` join; a clause
   with both is split into pure runs (S3).

Modules: `units` (unit normalisation), `comparators` (wording → op), `quantities` (numbers in a clause),
`categories` (the 23 keys, cue words, kinds), `qualitative` (requirements without a number), `spans`
(bracket depth and splitting), `scoring` (the official score). The rules are general ones from the
taxonomy; seed lines appear in comments only as examples.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from decimal import Decimal

from indicators.reading import categories as cat
from indicators.reading import units as u
from indicators.reading.comparators import EQ, GE, LE, LT, has_improvement
from indicators.reading.flags import Flag
from indicators.reading.metric_names import (
    MEASURE_TAIL,
    each_names,
    is_bare_measure,
    means_only,
    measured_object,
    noun_phrase,
    overlaps,
    readable,
    split_condition,
    split_note,
    topic_object,
    with_object,
    without_purpose,
)
from indicators.reading.numbers import normalize_width, to_plain
from indicators.reading.qualitative import (
    APPLICANT_DEFINED,
    Requirement,
    head_object,
    implied_one,
    is_framing,
    is_non_binding,
    predicates,
)
from indicators.reading.quantities import Quantity, attach_prefix, scan
from indicators.reading.spans import (
    CLOSING,
    COMMAS,
    OPENING,
    SENTENCE_SEPARATORS,
    closers,
    depths,
    openers,
    split_at,
    strip_brackets,
    trim,
)

ALL, ANY = "all", "any"

#: Every flag kind `interpret_clause` can raise, with what it asks of the officer.
FLAG_KINDS: dict[str, str] = {
    "typo": "a typo read through (`1亿元万元`, `不少5项`, `以上以上`, `540-720MP`); the value is the obvious one",
    "absurd_value": "a value above 10^12: check the source",
    "garbage_number": "a comparator symbol with no readable number after it (`≥abc项`, `≤λ/63`)",
    "unknown_unit": "a number with a comparator whose unit is not known; no target was made from it",
    "comparator_conflict": "the words before and after a number disagree (`不超过…以上`); the first is used",
    "ignored_number": "a number read as a test condition, calculation basis, baseline or aside, not a target",
    "nominal": "a bare technical parameter read as `==` (C2): the better direction is to be confirmed",
    "implied_one": "a single thing named without a number, read as `>= 1` (§7)",
    "qualitative_guess": "a requirement with no number and no clear category; its category is a guess",
    "metric_name": "no readable name could be cut out for a value: the officer names the metric",
    "duplicate": "a verbatim repeat of the previous requirement, counted once (§9 #23)",
    "split": "the clause mixes AND and OR and was split into pure runs (S3)",
    "mixed_connectives": "AND and OR inside one comma-piece: read as AND",
    "non_binding": "encouragement, framing or an optional menu: no target (S5)",
    "no_target": "nothing could be read: a person must look at the clause",
    "empty": "the clause is empty",
    "internal_error": "the reader failed on this text (should not happen); enter the targets by hand",
}


@dataclass(frozen=True)
class Target:
    """One requirement: `category metric op value unit`, plus the kind of target and, for level targets,
    which direction is better (`==` is a declared nominal value: direction to be confirmed)."""

    category: str
    metric: str
    op: str | None
    value: Decimal | None
    unit: str | None
    kind: str
    better: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "category": self.category,
            "metric": self.metric,
            "op": self.op,
            "value": None if self.value is None else to_plain(self.value),
            "unit": self.unit,
            "kind": self.kind,
            "better": self.better,
        }


@dataclass(frozen=True)
class ClauseReading:
    """One record: a verbatim clause text, its targets and how they combine."""

    text: str
    targets: tuple[Target, ...]
    combine: str
    quantitative: bool
    flags: tuple[Flag, ...] = ()

    def as_record(self) -> dict[str, object]:
        return {
            "text": self.text,
            "targets": [t.as_dict() for t in self.targets],
            "combine": self.combine,
            "quantitative": self.quantitative,
            "flags": [f.as_dict() for f in self.flags],
        }


# ---------------------------------------------------------------------------------------------------
# Working structures.


@dataclass
class _Item:
    target: Target
    pos: int
    written: bool  # from a number written in the clause (not implied)
    link: str = "and"  # relation to the previous item of the same piece
    flags: list[Flag] = field(default_factory=list)
    group: str | None = None


@dataclass
class _Piece:
    lo: int
    hi: int
    sentence: int
    items: list[_Item] = field(default_factory=list)
    link: str = "and"  # relation to the previous piece
    non_binding: bool = False
    residual: bool = False  # states something, but nothing we could read as a target
    flags: list[Flag] = field(default_factory=list)


# A metric the reader could not name; the clause is flagged (`metric_name`) for the officer to name it.
_UNNAMED = "指标名称待定"
# Words further than this from a number do not name it (and bound the work on pathological input).
_CONTEXT_REACH = 100
_CONJUNCTION = re.compile(r"以及|或者|[、，,；;或和及与并]")
_AND_MARK = re.compile(r"[、，,；;和及与并]|以及")
_PER_YEAR = re.compile(
    r"每年|年均|(?<![0-9一二三四五六七八九十全当今明去同上下本首近前后该])年(?=新增|创|销售|营收|营业|工业|利润|"
    r"总产值|产值|吸纳|培育|服务|推出|培养|引进|收入|接待|种植|利税|税)"
)
# `年产`, `年处理`: the annual scope of a production volume; it does not make the line that produces it annual
_PER_YEAR_PRODUCTION = re.compile(
    r"(?<![0-9一二三四五六七八九十全当今明去同上下本首近前后该])年(?=产|处理|处置|出栏|加工|回收|生产)"
)
_PER_BATCH = re.compile(r"每批")
_PER_TON = re.compile(r"吨钢|每吨|吨产品")
_PER_SECOND = re.compile(r"每秒")
# a band to cover: an operating range, or an adjustable one (`压延成型厚度1.5-4.0mm可控`, `功率0-100%可调`)
_OPERATING = re.compile(r"工作|覆盖|范围|适用|使用|调谐|调节|可调|可控|带宽")
_DETECTION = re.compile(r"[ \t]*(?:尺寸|粒径|大小|直径)")
_ENDURANCE = re.compile(r"[ \t]*无(?:破损|腐蚀|故障|裂纹|泄漏|损坏|失效|异常)")
_SERVICE_TERM = cat.SERVICE_TERM
_PAREN_ASIDE = re.compile(
    r"为例|满分|搭配|测试|当前|现有|目前|基准|参考|原有|即可|如|例如|约|左右|相当于|折合|国内水平|国际水平"
)
_CONDITION_SPAN = re.compile(
    r"在[^；;。]{0,40}?(?:条件|情况|工况|环境|状态)下|(?:工况|条件|状态)[ \t]*[（(][^）)]*[）)][ \t]*下"
)
_BASIS_SPAN = re.compile(r"以[^，,；;。]{0,30}?(?:计算|计)(?!划)|按[^，,；;。]{0,30}?(?:测算|计算|计)(?!划)")
_BASELINE_AFTER = re.compile(r"[^，,；;。\d]{0,10}?(?:提升|提高|增加|增长|降低|减少|下降|降|缩短|延长)(?:至|到)")
# a value changed *to* another one right after it is the current value, with or without `从`
_BASELINE_THEN_TARGET = re.compile(r"[ \t]*(?:提升|提高|增加|增长|降低|减少|下降|缩短|延长)(?:至|到)[ \t]*[-−]?\d")
_CONDITION_BEFORE_VALUE = re.compile(r"[^、，,；;。]{1,20}?(?:≥|≤|>|<|=|〈|≧)[ \t]*[-±\d]")
_METRIC_TRIM = re.compile(
    r"^(?:[，、,：:；;\s]|或者|或|以及|及|和|并|其中|项目实施期内|项目实施期间|实施期内|项目执行期内|在项目研发过程中|预计|"
    r"实现|完成|开展|取得|形成|建立|建成|研发|开发|发表|制定|制订|达到|达|不少于|不低于|至少)+"
)
_METRIC_TAIL = re.compile(
    r"(?:[≥≤<>=〈≧≦±]|不少于|不低于|不小于|不超过|不高于|超过|高于|低于|小于|大于|达到|达|实现|至少|为|：|:|\s|"
    r"(?:从|由)?(?:提升|提高|降低|减少|下降|增加|降)(?:至|到)|从|由)+$"
)
_VERB_CARRY = re.compile(r"^(?:或者|或)")
_VAGUE_COUNT = re.compile(r"^(?:或|至)?(?:某几|几|多|若干)(?:个|项|种)")
_OUTCOME_VERB = re.compile(r"(?:育成|解决|培育|孵化)$")
_CHANGE_VERB_ONLY = re.compile(r"(?:进一步)?(?:降低|下降|减少|节约|节省|延长|缩短|提升|提高|增加|增长)")
# `（零部件及系统项目500万元以上）`: a subtype's own threshold for the value named just before (§8.1)
_SUBTYPE_OVERRIDE = re.compile(r"[^，,；;。（(]{2,16}项目")
_NEW_THING = r"新(?:产品|品系|品种|工艺|技术|材料|设备|装备|方法)"
_NEW_THINGS = re.compile(r"(?:" + _NEW_THING + r"(?:或|、|和|及)?)+")
_OF_NEW_THING = re.compile(r"^(?:.*的)?(.{2,12}?)" + _NEW_THING + r"$")
_ELEMENT = "[碳硅锰磷硫铬镍钼铜铝钛钒铌氮氢氧铁锌铅镉汞砷钙镁钠钾氯氟硼钨钴]"
_PERSON_OUTPUT = re.compile(r"(项目负责人(?:及核心成员)?|课题负责人)(?:在[^，,；;。]{0,12}?(?:期间|期内))?"
                            r"(?:产出|发表)")
_LINE = re.compile(r"(?:生产线|产线|示范线|中试线|生产系统|示范基地|生产基地)$")
_PROPERTY_BEFORE = re.compile(r"(?:[数率比度值]|指数|系数)[：:为]?[ \t]*$")
_VALUE_AFTER_BRACKET = re.compile(r"[ \t]*(?:[≥≤<>=〈≧≦]|[-−]?\d)")
# `…的情况` names a dimension to report on; it is a target only for counted outputs (qualitative.predicates)
_REPORTING_DIMENSION = re.compile(r"情况$")
_SUBSET = re.compile(r"^[（(]?\s*其中")
_BOUND_SYMBOL = re.compile(r">=|<=|≥|≧|≤|≦")
_REQUIREMENT_VERB = re.compile(r"构建|建设|建立|推动|促进|实现|形成|完成|开展|提升|提高|取得|达到|具备|确保|发现|提出|"
                               r"研发|开发|研制|揭示|阐明|解析|建成|打造|推出|获得")


# Numbers that are part of a name (`T2`, `AlSi12Cu`, `4-氯乙酰乙酸乙酯`, `304材质`) stay in a metric name.
_NAME_NUMBERS = frozenset({"identifier", "class", "quoted", "dimension", "bare"})


def _delegated(text: str) -> str:
    """What an applicant-defined clause delegates, as it says it: `围绕品种选育环节设置项目考核指标` → `品种选育环节
    考核指标`, `按获批复建设方案中的建设目标与指标执行` → `建设目标与指标`, `技术指标由申报单位…` → `技术指标`."""
    m = re.search(r"(?:围绕|针对)([^，,；;。]{2,12}?)(?:设置|设定|确定)(?:项目)?((?:考核|技术|经济)?指标)", text)
    if m:
        return m.group(1) + m.group(2)
    m = re.search(r"中的([^，,；;。]{2,12}(?:指标|目标))", text)
    if m:
        return m.group(1)
    m = re.match(r"^(.{0,10}?指标)", text)
    return m.group(1) if m else "考核指标"


def _part_of_name(s: str, q: Quantity) -> bool:
    """A number set aside as part of a name: an identifier or quoted name, or a bare number glued to letters,
    a hyphen or a material word (`304材质`, `4-氯乙酰乙酸乙酯`, `7xxx系`)."""
    if q.prefix is not None or q.ignored not in _NAME_NUMBERS:
        return False
    if q.ignored in ("identifier", "quoted", "dimension"):
        return True
    nxt = s[q.end:q.end + 1]
    glued = nxt != "" and (nxt in "-材系号型" or nxt.isascii() and nxt.isalpha())
    return bool(re.search(r"[A-Za-z]", q.raw)) or glued


def _plain_span(s: str, lo: int, hi: int, quantities: list[Quantity], ends: list[int], names: bool = False) -> str:
    """Text of ``s[lo:hi]`` with the quantities inside it removed (``quantities`` in text order, ``ends``
    their end positions); with ``names``, numbers that are part of a name are kept."""
    out = []
    i = lo
    first = bisect.bisect_left(ends, lo + 1)
    for q in quantities[first:]:
        if q.start >= hi:
            break
        if q.end <= lo:
            continue
        if names and _part_of_name(s, q):
            continue
        out.append(s[i:max(i, q.start)])
        i = max(i, q.end)
    out.append(s[i:hi])
    return "".join(out)


def _first_conjunction(text: str) -> re.Match[str] | None:
    """The first conjunction at bracket depth 0 of ``text``."""
    level = 0
    last = 0
    for m in _CONJUNCTION.finditer(text):
        for ch in text[last:m.start()]:
            if ch in OPENING:
                level += 1
            elif ch in CLOSING:
                level -= 1
        last = m.start()
        if level <= 0:
            return m
    return None


def _is_or(between: str) -> bool:
    """`或` between two separately counted requirements makes them alternatives; `、或` and `，或` too,
    but `、新材料或新工艺` is an AND followed by a basket."""
    t = strip_brackets(between) if not re.match(r"^\s*[（(]\s*或", between) else between
    t = re.sub(r"[、，,]\s*(?=或)", "", t)
    k = t.find("或")
    if k == -1:
        return False
    return not _AND_MARK.search(t[:k].replace("及以上", ""))


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.s = normalize_width(text)
        self.depth = depths(self.s)
        self._openers = openers(self.s)
        self._closers = closers(self.s)
        self.quantities = scan(self.s)
        self._ends = [q.end for q in self.quantities]
        self._starts = [q.num_start for q in self.quantities]
        self.previous_category: str | None = None
        self.patent_status: str | None = None
        self._flag_items: list[Flag] = []
        self._rank: dict[int, int] = {}  # a value's rank among the values at its bracket level
        self.previous_unit: str | None = None
        self._named: list[tuple[str, str]] = []
        self._topics = self._topic_labels()
        self._ended_topics: set[int] = set()
        self._last_measure: tuple[int, str] | None = None  # (sentence, name) of the value named just before
        self._respective: list[str] = []  # names still to give to the values of a `分别` list

    def _topic_labels(self) -> list[tuple[int, str | None, int, bool]]:
        """(position, thing, end of scope) for each topic label, in order. A depth-0 colon label followed by a name
        (`铝箔坯料：抗拉强度…`) holds to the end of the clause; its thing is "" for a condition label and None for a
        label that names no thing (`metric_names.topic_object`). A colon followed by its value (`工作频率：0.8GHz`)
        names a measure, not a topic. A sentence that opens with a bare noun phrase and a comma before its
        parameters (`多源数据融合，数据接入延迟≤1秒…`, README-frozen #1) has that phrase as topic to its end."""
        out: list[tuple[int, str | None, int, bool]] = []
        start = 0
        sentence_start = True
        for i, ch in enumerate(self.s):
            if self.depth[i]:
                continue
            if ch in "，,":
                head = self.s[start:i].strip()
                nxt = re.match(r"[^，,；;。]*", self.s[i + 1:]).group()
                if (sentence_start and 2 <= len(head) <= 8 and not re.search(r"\d", head)
                        and not _REQUIREMENT_VERB.search(head) and _BOUND_SYMBOL.search(nxt)):
                    end = min([k for k in (self.s.find(c, i) for c in SENTENCE_SEPARATORS) if k != -1] or [len(self.s)])
                    out.append((i, topic_object(head), end, True))
                start, sentence_start = i + 1, False
            elif ch in SENTENCE_SEPARATORS:
                start, sentence_start = i + 1, True
            elif ch in "：:":
                if not re.match(r"\s*[-−±≥≤<>=〈≧≦\d]", self.s[i + 1:i + 3]):
                    out.append((i, topic_object(self.s[start:i]), len(self.s), False))
                start = i + 1
        return out

    def _carry_object(self, metric: str, q: Quantity, piece: _Piece, category: str, unit: str | None) -> str:
        """A name that is only a measure (`温降`, `延伸率`) gets the thing it measures from the topic label it sits
        under or from the measure named just before it in the sentence (`metric_names`, the object of a measure)."""
        previous, self._last_measure = self._last_measure, None
        if category != "performance_metric":
            return metric
        if metric.startswith(_UNNAMED) and previous and previous[0] == piece.sentence:
            # `含氯≤0.1%，氟≤0.1%`: an element listed after a content names the same content of it
            m = re.match(r"(.{2,}含)" + _ELEMENT + "$", split_note(previous[1])[0])
            element = self._name_context[0].strip(" ≥≤<>=＜＞")
            if m and re.fullmatch(_ELEMENT, element):
                metric = m.group(1) + element
        if metric.startswith(_UNNAMED):
            return metric
        if unit == "级" and re.search(r"(?:夹杂物|组织)$", metric):
            metric += "等级"  # `A、C类夹杂物≤1级`: the grade of the inclusions
        metric = without_purpose(metric)
        topic = next((t for t in reversed(self._topics) if t[0] < q.start < t[2] and t[1] != ""), None)
        if topic and topic[1] and topic[3]:  # a sentence topic names every parameter after it
            if not metric.startswith(topic[1]):
                metric = with_object(metric, topic[1], inside=True)
        elif topic and topic[1] and topic[0] not in self._ended_topics:
            if is_bare_measure(metric) or overlaps(metric, topic[1]):
                metric = with_object(metric, topic[1])
            else:
                self._ended_topics.add(topic[0])  # a name with its own object ends the run under the topic
        elif is_bare_measure(metric) and previous and previous[0] == piece.sentence:
            metric = with_object(metric, measured_object(previous[1]))
        self._last_measure = (piece.sentence, metric)
        return metric

    def _scoped_name(self, metric: str, q: Quantity, piece: _Piece, category: str, before: str, unit: str | None,
                     named: list[tuple[str, str]]) -> str:
        """What the words around a value say about the scope of its name: a subtype's own threshold, a part of the
        count before it, a team's size, a content, a new thing of the kind named just before, a line's capacity."""
        core, note = split_note(metric)
        pending, self._respective = self._respective, []
        if pending and not strip_brackets(before).strip(" 、，,和及与"):
            self._respective = pending[1:]  # the next value of a `分别` list
            return pending[0]
        items = core.split("、")
        if "分别" in self.s[piece.lo:q.start] and len(items) > 1 and len({len(i) for i in items[:-1]}) == 1:
            # `废水、废气排放量分别减少30%、25%`: the list before `分别` takes the values after it in turn
            shared = items[-1][len(items[0]):]
            if len(shared) >= 2:
                names = [i + shared + note for i in items[:-1]] + [items[-1] + note]
                self._respective = names[1:]
                return names[0]
        previous = split_note(named[-1][1])[0] if named else ""
        ob = self._open(q.start, piece.lo)
        inside = strip_brackets(self.s[ob + 1:q.start]).strip() if ob is not None else ""
        if ob is not None and previous and _SUBTYPE_OVERRIDE.fullmatch(inside):
            return f"{previous}（{inside}）"  # `销售收入1000万元以上（零部件及系统项目500万元以上）`
        if metric.startswith(_UNNAMED):
            return metric
        same_count = named and (named[-1][0] == category or {named[-1][0], category} <= cat.PATENT_FAMILY)
        if (_SUBSET.match(before) or ob is not None and inside.startswith("至少")) and previous and same_count:
            # `申请专利4件及以上，其中发明专利不少于1件`, `申请发明专利3件（至少授权1件）`: part of the count before
            status = {"patent_application": "申请", "patent_grant": "授权"}.get(category, "")
            core = re.sub(r"^其中", "", core)
            if status and not core.endswith(status):
                core = re.sub(r"（[^）]*）$", "", core) + status
            return "其中" + core + note.replace("（申请）", "").replace("（获得）", "")
        m = _PERSON_OUTPUT.match(self.s, piece.lo, q.start)
        if category == "paper" and m:
            # `项目负责人在项目实施期间产出3篇具有较大学术贡献的论文或科技报告等`: whose output it is stays in the name
            return m.group(1) + "产出的" + re.sub(r"^具有|的(?=[^的]*$)|等$", "", core) + note
        if category == "talent" and unit == "年" and not core.endswith(("年限", "期限")):
            return core + "年限" + note  # `到企业服务不少于3年`: the term of service
        if category == "talent" and unit in ("人", "名") and core.endswith("团队"):
            return core + "规模"  # `培育建设…研发人才团队5人以上`: the team's size
        if (category == "performance_metric" and unit in ("%", "ppm", "ppb", "mg/L", "g/L", "mg/kg")
                and re.search(r"(?<!含)(?:" + _ELEMENT + r"|[酯醇酮醛烷烯苯酚胺])$", core)):
            return core + "含量" + note  # `副产物2-氯乙酰乙酸乙酯≤0.15%`, `循环溶液中氯≤300mg/L`: a content
        if category == "product" and _NEW_THINGS.fullmatch(core) and named and named[-1][0] == "product":
            m = _OF_NEW_THING.match(previous)  # `…实验动物新技术1项，新品系或新产品1个`: of the same kind
            if m:
                return m.group(1) + core + note
        if category in ("demonstration", "platform"):
            # `建成年产3000吨…产线`: the capacity is a target of its own, not part of the line's name
            core = re.sub(r"^年产能?|(?<=.)年产能?(?=.)", "", core)
        elif category == "yield" and _LINE.search(core) and unit and unit.endswith("/年"):
            core += "年产能"  # `建成一条5万吨/a…生产线`: the line's capacity
        elif category == "yield" and _LINE.search(core) and unit and unit.endswith("/d"):
            core += "处理能力"  # `建立一条500m3/d铜渣脱氯生产系统`: the system's daily throughput
        return core + note

    # -- segmentation ---------------------------------------------------------------------------
    def pieces(self) -> list[_Piece]:
        out: list[_Piece] = []
        self._sentence_lo: dict[int, int] = {}
        for n, (slo, shi) in enumerate(split_at(self.s, SENTENCE_SEPARATORS, depth=self.depth)):
            self._sentence_lo[n] = slo
            for plo, phi in split_at(self.s, COMMAS, slo, shi, depth=self.depth):
                lo, hi = trim(self.s, plo, phi)
                if lo < hi:
                    out.append(_Piece(lo, hi, n))
        return out

    # -- ignoring numbers by context ------------------------------------------------------------
    def _set_aside(self, pieces: list[_Piece]) -> None:
        s = self.s
        piece_lo = [0] * (len(s) + 1)
        for p in pieces:
            for i in range(p.lo, p.hi):
                piece_lo[i] = p.lo
        separator_after = [0] * (len(s) + 1)  # index after the last `：`, `:` or `、` before each position
        for i, ch in enumerate(s):
            separator_after[i + 1] = i + 1 if ch in "：:、" else separator_after[i]
        last_end = 0
        for q in self.quantities:
            boundary = max(piece_lo[min(q.num_start, len(s))], separator_after[q.start])
            attach_prefix(s, q, max(boundary, last_end))
            # names and codes read by the scanner (`JB/T 7946.3`) do not end a comparator's reach
            if q.ignored is None:
                last_end = q.end
        physical_ends = {p.unit_end for p in self.quantities if p.family == u.PHYSICAL}
        for q in self.quantities:
            if q.ignored:
                continue
            ob = self._open(q.start, 0)
            if ob is not None:
                close = self._close(ob, len(s))
                content = s[ob + 1:close]
                if _PAREN_ASIDE.search(content):
                    q.ignored = "aside"
                elif ob in physical_ends and not _CONJUNCTION.search(content) and q.family == u.PHYSICAL:
                    q.ignored = "qualifier"  # `-135dBc/Hz@100Hz(0.5GHz)`: a condition of the value before
            if q.start > 0 and s[q.start - 1] == "@":
                q.ignored = "condition"
        for q in self.quantities:
            if (q.ignored is None and q.family == u.NONE and q.prefix is None and q.suffix is None
                    and q.reversed_op is None and not _PROPERTY_BEFORE.search(s[max(0, q.start - 3):q.start])):
                q.ignored = "bare"  # `304材质`, `24-bit`: a number with no unit and no comparator is a name
            ob = self._open(q.start, 0)
            if q.ignored is None and ob is not None and q.family in (u.PHYSICAL, u.PERCENT):
                close = self._close(ob, len(s))
                if _VALUE_AFTER_BRACKET.match(s, close + 1):
                    q.ignored = "condition"  # `水溶性（22℃）<1200ppm`: the test condition of the value after it
        for m in _CONDITION_SPAN.finditer(s):
            for q in self._inside(m.start(), m.end()):
                if q.prefix is None:
                    q.ignored = "condition"
        for m in _BASIS_SPAN.finditer(s):
            for q in self._inside(m.start(), m.end()):
                q.ignored = "basis"
        for q in self.quantities:
            if q.ignored:
                continue
            before = s[max(0, q.start - 2):q.start]
            if before.endswith(("从", "由")) and _BASELINE_AFTER.match(s, q.end):
                q.ignored = "baseline"
            elif _BASELINE_THEN_TARGET.match(s, q.end):
                q.ignored = "baseline"  # `阳极消耗210kg/t.REO降低到170kg/t.REO以下`: the same value before and after
            elif (q.family == u.PHYSICAL and q.prefix is None and q.shape == "single"
                  and _CONDITION_BEFORE_VALUE.match(s, q.end)):
                q.ignored = "condition"  # `-20℃横向冲击功KV2=20J`: the test temperature
            elif q.ignored is None and q.family == u.DURATION:
                q.ignored = "period"
        # `（99.99%），目标99.9%以上` (§9 #10): values in brackets before `目标` are references.
        sentence_lo = 0
        last = 0
        for m in re.finditer("目标", s):
            for i in range(last, m.start()):
                if s[i] in SENTENCE_SEPARATORS:
                    sentence_lo = i + 1
            last = m.start()
            for q in self._inside(sentence_lo, m.start()):
                if self._open(q.start, sentence_lo) is not None:
                    q.ignored = "baseline"
        # A time scope is a target only as a lifetime with a comparator (`使用寿命≥10年`), or as a term of service
        # (`到企业服务不少于3年（含3年）`).
        for q in self.quantities:
            if q.ignored == "period" and q.prefix is not None:
                lo = max(0, q.start - 12)
                lifetime = re.search(r"寿命|保质期|有效期|贮存期|质保期", s[lo:q.start])
                if lifetime or _SERVICE_TERM.search(s, lo, q.start):
                    q.ignored = None

    def _open(self, pos: int, lo: int) -> int | None:
        """The innermost bracket open at ``pos``, if it opens at or after ``lo``."""
        ob = self._openers[pos]
        return ob if ob is not None and ob >= lo else None

    def _close(self, ob: int, hi: int) -> int:
        return min(self._closers.get(ob, hi), hi)

    def _inside(self, lo: int, hi: int) -> list[Quantity]:
        """The quantities whose number starts in ``[lo, hi)``."""
        a = bisect.bisect_left(self._starts, lo)
        b = bisect.bisect_left(self._starts, hi)
        return self.quantities[a:b]

    # -- contexts -------------------------------------------------------------------------------
    def _contexts(self, piece: _Piece, levels: dict[int | None, list[Quantity]], q: Quantity) -> tuple[str, str]:
        s = self.s
        ob = self._open(q.start, piece.lo)
        lo = ob + 1 if ob is not None else piece.lo
        hi = self._close(ob, piece.hi) if ob is not None else piece.hi
        same_level = levels[ob]
        k = self._rank[id(q)]
        if k > 0:
            prev = same_level[k - 1]
            between = s[prev.end:q.start]
            m = _first_conjunction(between)
            lo = max(lo, prev.end + (m.end() if m else 0))
        lo = max(lo, q.start - _CONTEXT_REACH)
        before = _plain_span(s, lo, q.start, self.quantities, self._ends)
        after_hi = min(hi, q.end + _CONTEXT_REACH)
        tail = s[q.end:after_hi]
        m = _first_conjunction(tail)
        if m and k + 1 < len(same_level):  # the noun after a number runs to the conjunction before the next value
            after_hi = min(after_hi, q.end + m.start())
        after = _plain_span(s, q.end, after_hi, self.quantities, self._ends)
        named_before = _plain_span(s, lo, q.start, self.quantities, self._ends, names=True)
        named_after = _plain_span(s, q.end, after_hi, self.quantities, self._ends, names=True)
        self._name_context = (named_before.strip(" ，、：:"), named_after.strip(" ，、：:"))
        return before.strip(" ，、：:"), after.strip(" ，、：:")

    # -- targets from one value -----------------------------------------------------------------
    def _bounds(self, q: Quantity, before: str, after: str, output: bool = False) -> list[tuple[str, Decimal, str]]:
        """(op, value, metric note) for a value: C1–C6. ``output``: the value is a production volume (a daily
        throughput `t/d` has a physical unit, yet accumulates like `吨/年`)."""
        s = self.s
        prefix = q.prefix.op if q.prefix else None
        suffix = q.suffix.op if q.suffix else None
        if q.reversed_op:
            op = q.reversed_op
        elif prefix and suffix and prefix != suffix and not (prefix in (GE, ">") and suffix == GE):
            message = f"“{q.raw}”前后比较词矛盾，按前者“{q.prefix.word}”读取"
            self._flag_items.append(Flag("comparator_conflict", message))
            op = prefix
        else:
            op = prefix or suffix
        low = q.low
        if low is None:
            return []
        if q.suffix is not None and _DETECTION.match(s, q.suffix.end) and suffix == GE:
            return [(LE, low, "（可检出尺寸下限）")]  # C6
        if q.shape == "bound":
            return [(LT if op == LT else LE, abs(low), "")]  # C5: `±d` is an error bound
        if q.shape == "tolerance" and q.high is not None:
            return [(GE, low - abs(q.high), "（下限）"), (LE, low + abs(q.high), "（上限）")]
        # C1 lists 亩 with the counts
        cumulative = q.family in u.CUMULATIVE_FAMILIES or q.unit in ("亩", "公顷") or output
        improvement = has_improvement(before)
        if q.shape == "range" and q.high is not None:
            if suffix == GE and prefix is None:
                return [(GE, low, "")]
            if suffix == LE and prefix is None:
                return [(LE, q.high, "")]
            if cumulative or improvement or q.family in (u.POINTS, u.MULTIPLE):
                return [(GE, low, "")]  # C3: count ranges keep the lower bound
            if _OPERATING.search(before) or _OPERATING.search(after):
                # C4, a band to cover; named as the labels name it (`工作频率范围下限`)
                return [(LE, low, "范围下限"), (GE, q.high, "范围上限")]
            return [(GE, low, "（下限）"), (LE, q.high, "（上限）")]  # C4, a specification window
        if op is None:
            if cumulative or improvement or _ENDURANCE.match(s, q.end):
                op = GE  # C1
            else:
                op = EQ  # C2
        return [(op, low, "")]

    def _unit(self, q: Quantity, before: str, category: str) -> str | None:
        unit = q.unit
        if category == "yield" and _PER_YEAR_PRODUCTION.search(before):
            return u.with_suffix(unit, "/年")
        if q.family in (u.MONEY, u.COUNT, u.MASS):
            if _PER_YEAR.search(before):
                unit = u.with_suffix(unit, "/年")
            elif _PER_BATCH.search(before):
                unit = u.with_suffix(unit, "/批")
            elif q.family == u.MONEY and _PER_TON.search(before):
                unit = u.with_suffix(unit, "/吨")
            elif q.family == u.COUNT and _PER_SECOND.search(before):
                unit = u.with_suffix(unit, "/s")
        return unit

    def _metric(self, before: str, after: str, decision: cat.Decision, note: str, improvement: bool = False) -> str:
        """A short name for what is counted or measured (not scored; shown to the officer): the noun phrase
        (`metric_names`), or "" when none could be cut out."""
        before, after = self._name_context
        b = strip_brackets(before)
        label, _, rest = b.replace(":", "：").rpartition("：")
        if label:  # `性能指标达到：屈服强度`: the name after the colon, else the label before it
            b = rest if len(rest.strip(" ≥≤<>=±")) >= 2 else label
        b = _METRIC_TAIL.sub("", _METRIC_TRIM.sub("", b)).strip(" /±、，")
        b = b.removesuffix("各")  # `A和B各1种`: one of each (named one by one in `each_names`)
        a = _METRIC_TRIM.sub("", strip_brackets(after)).strip(" ，、：:的")
        # `…商用车并实现产业化应用`: the outcome is a target of its own
        a = re.sub(r"(?<=..)并(?:实现|取得|形成).*$", "", a)
        if not b or (decision.cue and decision.cue not in b and a and decision.cue in a):
            text = a or b
        else:
            text = b
        b_rest, condition = split_condition(b)
        if condition and a and not readable(noun_phrase(b_rest)):
            # `整机研发项目在实施期限内应实现2000万元以上新产品产值`: the subtype before, the thing after the value
            return noun_phrase(a) + condition + note
        if a and means_only(b):
            text = a  # `采用…工艺生产一种预应力混凝土用钢棒`: the thing made, not the means
        elif improvement and a and _CHANGE_VERB_ONLY.fullmatch(b):
            text = b + a  # `降低≥5%的综合生产成本`: the change before the value, what changes after it
        elif b.endswith("的") and a:
            # `突破产业发展的1个或某几个关键技术难题`: the count sits inside the noun phrase it counts
            text = b + _VAGUE_COUNT.sub("", a)
        elif text == a and _OUTCOME_VERB.search(b):
            text = _OUTCOME_VERB.search(b).group() + a  # `至少育成1个新品种`: the act names the outcome
        elif a and b.endswith(("最高", "最大", "最低", "最小")):
            text = b + a  # `最高实现90Hz刷新率`: the extreme is part of what is measured
        text = noun_phrase(text, improvement)
        if note.startswith("范围"):
            adjustable = re.match(r"(可控|可调)", after)
            m = MEASURE_TAIL.search(text)
            if adjustable and m and m.start() > 0:  # `压延成型厚度1.5-4.0mm可控` → `压延成型可控厚度范围下限`
                text = text[:m.start()] + adjustable.group() + text[m.start():]
        if text in ("年产", "年产能", "产能", "年处理", "年处置") and readable(noun_phrase(a)):
            text = noun_phrase(a) + ("产能" if text == "产能" else "年产能" if "产" in text else "年处理能力")
        if not readable(text) and a and text != noun_phrase(a):
            text = noun_phrase(a) if readable(noun_phrase(a)) else text
        return text + note if text else ""

    def _value_items(self, piece: _Piece, valued: list[Quantity]) -> list[_Item]:
        items: list[_Item] = []
        prev_q: Quantity | None = None
        prev_before = ""
        levels: dict[int | None, list[Quantity]] = {}
        for q in valued:
            level = levels.setdefault(self._open(q.start, piece.lo), [])
            self._rank[id(q)] = len(level)
            level.append(q)
        item_names = self._named  # (category, metric) of the values read so far in this clause
        for q in valued:
            self._flag_items = []
            before, after = self._contexts(piece, levels, q)
            family = u.PHYSICAL if q.family == u.COUNT and _PER_SECOND.search(before) else q.family  # a rate
            decision = cat.categorize(before, after, q.unit, family, self.previous_category, self.patent_status,
                                      self.previous_unit)
            if (_SUBSET.match(before) and self.previous_category and q.unit == self.previous_unit
                    and not cat.ip_decision(strip_brackets(before))):
                decision = cat.Decision((self.previous_category,), None)  # `（其中…1项）`: part of the count before
            if decision.from_unit and self.previous_category in cat.PATENT_FAMILY | {"ip_any", "ip_other"}:
                if re.search(r"授权|获得", before + after):
                    decision = cat.Decision(("patent_grant",), "专利")
                elif re.search(r"申请", before + after):
                    decision = cat.Decision(("patent_application",), "专利")
            earlier = self.s[self._sentence_lo.get(piece.sentence, piece.lo):piece.lo]
            if cat.system_component(earlier, before + after, q.unit, decision.categories[0]):
                decision = cat.Decision(("performance_metric",), None)
            op_before = before
            if prev_q is not None and not strip_brackets(before).strip(" 、，,和及与"):
                op_before = prev_before
                if q.prefix is None and prev_q.prefix is not None:
                    q.prefix = prev_q.prefix
            bounds = self._bounds(q, op_before, after, decision.categories[0] == "yield")
            unit = self._unit(q, before, decision.categories[0])
            copies = 1
            if before.endswith("各"):
                head = cat.head_phrase(before[:-1])
                copies = max(1, len(re.split(r"和|及|与|、", head)))
            link = "and"
            if prev_q is not None:
                link = "or" if _is_or(self.s[prev_q.end:q.start]) else "and"
            qflags = [Flag("typo", f"原文“{q.raw}”：{n}") for n in q.notes if not n.startswith("数值过大")]
            qflags += [Flag("absurd_value", n) for n in q.notes if n.startswith("数值过大")]
            qflags += self._flag_items
            first = True
            for category in decision.categories:
                for copy in range(copies):
                    for op, value, note in bounds:
                        metric = self._metric(before, after, decision, note,
                                              has_improvement(before) and q.family in (u.PERCENT, u.MULTIPLE))
                        metric = self._readable_metric(metric, category, item_names)
                        metric = self._carry_object(metric, q, piece, category, unit)
                        metric = self._scoped_name(metric, q, piece, category, before, unit, item_names)
                        if copies > 1:
                            metric = each_names(metric, copies)[copy]
                        if "预计" in self.s[piece.lo:q.start]:
                            metric += "（预计）"
                        item_names.append((category, metric))
                        kind = cat.kind_of(category, unit, op, value)
                        better = cat.better_of(kind, op)
                        target = Target(category, metric, op, value, unit, kind, better)
                        item_flags = list(qflags) if first else []
                        if metric.startswith(_UNNAMED):
                            item_flags += self._name_flags(metric, self.text[q.start:q.end])
                        if op == EQ and kind == "level":
                            item_flags.append(Flag("nominal", f"“{metric}”为标称值（未写比较词），方向待确认"))
                        items.append(_Item(target, q.num_start, True, link if first else "and", item_flags))
                        first = False
            if decision.categories:
                self.previous_category = decision.categories[-1]
                self.previous_unit = q.unit
                if decision.categories[-1] in cat.PATENT_FAMILY:
                    self.patent_status = decision.categories[0]
            prev_q = q
            prev_before = op_before
        return items

    def _readable_metric(self, metric: str, category: str, named: list[tuple[str, str]]) -> str:
        """A name that reads, or a placeholder the clause is flagged for. A bare status after a counted IP
        (`申请发明专利4—6件，获得授权2件`) names the same thing as the value before it."""
        if readable(metric):
            return metric
        if metric in ("面积", "产能", "年产能", "规模") and named and readable(named[-1][1]):
            # `建立…示范基地，面积达500亩以上`: the measure of the thing just named
            return re.sub(r"（[^）]*）$", "", named[-1][1]) + metric
        status = {"patent_grant": "授权", "patent_application": "申请"}.get(category)
        if status and named and named[-1][0] in cat.PATENT_FAMILY | {"ip_other", "ip_any"}:
            noun = re.sub(r"（[^）]*）$|申请$", "", named[-1][1])
            noun = noun[2:] if noun.startswith("授权") else noun
            if readable(noun):
                return noun + status
        return f"{_UNNAMED}（{cat.CATEGORIES[category]}）"

    # -- pieces without values ------------------------------------------------------------------
    def _null_items(self, piece: _Piece, text: str, has_values: bool, carried: bool) -> list[_Item]:
        out = []
        # `形成完整的…产业化应用方案`: a thing to deliver named at the end of the piece is the requirement; a
        # predicate inside its modifier (`产业化应用`) only describes it.
        reqs = [] if has_values else implied_one(text, verb_carried=carried)
        if reqs and not APPLICANT_DEFINED.search(text):
            return [self._requirement_item(piece, req, text) for req in reqs]
        for req in predicates(text, has_values):
            out.append(self._requirement_item(piece, req, text))
        if not out and not has_values:
            for req in implied_one(text, verb_carried=carried):
                out.append(self._requirement_item(piece, req, text))
        return out

    def _requirement_item(self, piece: _Piece, req: Requirement, text: str) -> _Item:
        # implied objects by the object; a requirement by its whole piece (`支持…` needs its object), unless the
        # piece also states values
        valued = any(q.ignored is None for q in self._inside(piece.lo, piece.hi))
        source = req.cue if req.implied_unit or valued else text
        metric = noun_phrase(strip_brackets(source or text))
        if not readable(metric):
            metric = noun_phrase(strip_brackets(text))
        if not readable(metric) and re.fullmatch(r"对.{2,30}有.{0,8}(?:贡献|作用|影响)", strip_brackets(text)):
            metric = strip_brackets(text)  # `对产业发展有较大学术贡献`: what it is a contribution to is the name
        elif not readable(metric) and req.cue:
            metric = noun_phrase(strip_brackets(req.cue))
        if metric.count("及其增长") > 1:  # `产值及其增长、销售收入及其增长…等经济指标情况`: each growth, said once
            metric = metric.replace("及其增长", "") + "及其增长"
        if req.category == "applicant_defined":  # `技术指标由申报单位…设置`: what is delegated, and to whom
            sentence = re.match(r"[^。；;]*", self.s[piece.lo:]).group()  # what is delegated may follow the piece
            metric = f"{_delegated(strip_brackets(sentence))}（由申报单位设定）"
        elif not readable(metric):
            metric = f"{_UNNAMED}（{cat.CATEGORIES[req.category]}）"
        if req.implied_unit:
            self._named.append((req.category, metric))
            target = Target(req.category, metric, GE, Decimal(1), req.implied_unit,
                            cat.kind_of(req.category, req.implied_unit, GE, 1), None)
            flag = Flag("implied_one", f"“{metric}”未写数量，按隐含数量1{req.implied_unit}计")
            return _Item(target, piece.lo, False, "and", [flag, *self._name_flags(metric, text)], group=req.group)
        target = Target(req.category, metric, None, None, None, "qualitative", None)
        return _Item(target, piece.lo, False, "and", self._name_flags(metric, text), group=req.group)

    @staticmethod
    def _name_flags(metric: str, text: str) -> list[Flag]:
        if metric.startswith(_UNNAMED):
            return [Flag("metric_name", f"“{text[:30]}”未能得出可读的指标名称，请核对并填写指标名称")]
        return []

    # -- the clause -----------------------------------------------------------------------------
    def read(self) -> list[ClauseReading]:
        text, s = self.text, self.s
        if not text.strip():
            return [ClauseReading(text, (), ALL, False, (Flag("empty", "条款为空"),))]
        pieces = self.pieces()
        self._set_aside(pieces)
        previous_text = None
        last_implied = False
        for piece in pieces:
            piece_text = s[piece.lo:piece.hi]
            if _VERB_CARRY.match(piece_text):
                piece.link = "or"
            if previous_text is not None and piece_text == previous_text:
                piece.non_binding = True  # a verbatim copy of the previous piece (§9 #23)
                piece.flags.append(Flag("duplicate", f"“{text[piece.lo:piece.hi]}”与前文重复，只计一次"))
                previous_text = piece_text
                continue
            previous_text = piece_text
            valued = [q for q in self._inside(piece.lo, piece.hi) if q.ignored is None]
            if is_non_binding(piece_text):
                piece.non_binding = True
                continue
            if valued:
                piece.items = self._value_items(piece, valued)
                piece.items += self._null_items(piece, piece_text, True, False)
                # `开发2款及以上的高安全性商用车并实现产业化应用`: an outcome joined by `并` after the counted thing
                joined = re.search(r"并(?=实现|取得|形成)([^，,；;。]+)$", self.s[valued[-1].end:piece.hi])
                if joined:
                    piece.items += [self._requirement_item(piece, req, joined.group(1))
                                    for req in predicates(joined.group(1), False)]
                head = head_object(piece_text, self.s[valued[-1].end:piece.hi])
                if head and all(it.target.category != head.category for it in piece.items):
                    piece.items.append(self._requirement_item(piece, head, piece_text))
                last_implied = False
            elif is_framing(piece_text):
                continue
            else:
                piece.items = self._null_items(piece, piece_text, False, carried=last_implied and piece.link == "or")
                last_implied = any(it.target.value is not None for it in piece.items)
                if not piece.items and not _REPORTING_DIMENSION.search(piece_text):
                    piece.residual = True
        self._drop_counted_implied(pieces)
        self._sentence_fallback(pieces)
        self._dedupe_groups(pieces)
        return self._runs(pieces)

    def _drop_counted_implied(self, pieces: list[_Piece]) -> None:
        """`形成相关的技术规程，发布…标准1项及以上`: the thing named without a number is the one counted by the
        number that follows, so an implied one of a category that the clause also counts is dropped."""
        for p, nxt in zip(pieces, pieces[1:], strict=False):
            if nxt.sentence != p.sentence or nxt.link != "and":
                continue
            # only a count names the same thing again: `建立…示范基地，面积达500亩以上` measures the base it builds
            # …and in the measure word of the implied thing: `建立概念验证项目库，入库项目的数量不少于100项` counts
            # projects, not libraries
            counted = {(it.target.category, (it.target.unit or "").split("/")[0]) for it in nxt.items
                       if it.written and cat.unit_family(it.target.unit) in (u.COUNT, u.NONE)}
            p.items = [it for it in p.items
                       if it.written or it.group != "implied" or (it.target.category, it.target.unit) not in counted]

    def _sentence_fallback(self, pieces: list[_Piece]) -> None:
        """A sentence that states requirements but gave no target gets one qualitative target (§7)."""
        by_sentence: dict[int, list[_Piece]] = {}
        for p in pieces:
            by_sentence.setdefault(p.sentence, []).append(p)
        for group in by_sentence.values():
            if any(p.items for p in group) or not any(p.residual for p in group):
                continue
            if any(p.non_binding for p in group):
                continue  # vague words around an encouragement belong to it (S5)
            text = "，".join(self.s[p.lo:p.hi] for p in group if p.residual)
            if not _REQUIREMENT_VERB.search(text):
                continue
            first = next(p for p in group if p.residual)
            category = cat.qualitative_category(text)
            name = noun_phrase(strip_brackets(text)[:60])
            name = name if readable(name) else f"{_UNNAMED}（{cat.CATEGORIES[category]}）"
            target = Target(category, name, None, None, None, "qualitative", None)
            message = f"未找到可量化指标，按定性要求（{cat.CATEGORIES[category]}）记录，需专家判断"
            flags = [Flag("qualitative_guess", message), *self._name_flags(name, text)]
            first.items.append(_Item(target, first.lo, False, "and", flags))

    def _dedupe_groups(self, pieces: list[_Piece]) -> None:
        """The same qualitative requirement said twice in a clause counts once (`产业化生产，…实现工业化生产`)."""
        seen: set[tuple[str, str]] = set()
        for p in pieces:
            kept = []
            for it in p.items:
                if it.group and it.group not in ("implied", "spec", "talent", "reporting", "finding"):
                    key = (it.target.category, it.group)
                    if key in seen:
                        continue
                    seen.add(key)
                kept.append(it)
            p.items = kept

    def _runs(self, pieces: list[_Piece]) -> list[ClauseReading]:
        """Fewest pure runs at depth-0 commas (S3): greedy left to right, which is optimal because any part
        of a pure run is pure. Pieces without targets travel with the run that follows them."""
        runs: list[list[_Piece]] = []
        current: list[_Piece] = []
        connective: str | None = None
        count = 0
        for p in pieces:
            if not p.items:
                current.append(p)
                continue
            inner = {it.link for it in p.items[1:]}
            links = set(inner)
            if count:
                links.add(p.link)
            if connective:
                links.add(connective)
            if len(links) > 1 and count:
                trailing: list[_Piece] = []
                while current and not current[-1].items:
                    trailing.insert(0, current.pop())
                runs.append(current)
                current, connective, count = trailing, None, 0
                links = set(inner)
            current.append(p)
            count += len(p.items)
            if len(links) == 1:
                connective = next(iter(links))
        if current or not runs:
            runs.append(current)
        n = len(runs)
        readings = []
        for k, run in enumerate(runs):
            if n == 1:
                lo, hi = trim(self.s, 0, len(self.s))
            else:
                lo, hi = trim(self.s, min(p.lo for p in run), max(p.hi for p in run))
            readings.append(self._reading(run, lo, hi, k, n))
        return readings

    def _ungoverned_symbols(self, lo: int, hi: int) -> list[tuple[int, str]]:
        """`≥abc项`, `≤λ/63`: a comparator symbol that governs no value we could read."""
        out = []
        governed = {q.prefix.start for q in self.quantities if q.prefix is not None and q.ignored is None}
        for m in _BOUND_SYMBOL.finditer(self.s, lo, hi):
            pos = m.start()
            if pos in governed:
                continue
            end = pos + 1
            while end < hi and end - pos < 10 and self.s[end] not in "，,；;。、":
                end += 1
            out.append((pos, self.text[pos:end]))
        return out

    def _reading(self, run: list[_Piece], lo: int, hi: int, k: int, n: int) -> ClauseReading:
        if lo >= hi:  # nothing but separators
            return ClauseReading(self.text, (), ALL, False, (Flag("empty", "条款为空"),))
        items = [it for p in run for it in p.items]
        links = {it.link for p in run for it in p.items[1:]}
        piece_links = set()
        seen_item = False
        for p in run:
            if p.items and seen_item:
                piece_links.add(p.link)
            seen_item = seen_item or bool(p.items)
        combine = ANY if (links | piece_links) == {"or"} else ALL
        flags: list[Flag] = []
        if len(links | piece_links) > 1:
            flags.append(Flag("mixed_connectives", "同一分句内“且”“或”混用，无法按逗号拆分，按“且”读取，请核对"))
        for p in run:
            flags += p.flags
            for it in p.items:
                flags += it.flags
        for q in self._inside(lo, hi):
            if q.ignored in ("condition", "basis", "baseline", "aside", "qualifier"):
                reason = {"condition": "试验/工况条件", "basis": "测算依据", "baseline": "基准或现状值",
                          "aside": "括号内的说明", "qualifier": "测试条件"}[q.ignored]
                flags.append(Flag("ignored_number", f"“{q.raw}”视为{reason}，未作为指标"))
            elif q.ignored == "class" and q.notes and q.prefix is not None:
                flags.append(Flag("unknown_unit", f"“{q.raw}”的单位无法识别，未作为指标"))
        for _pos, snippet in self._ungoverned_symbols(lo, hi):
            flags.append(Flag("garbage_number", f"“{snippet}”比较符后没有可读的数值"))
        if n > 1:
            flags.append(Flag("split", f"条款同时含“且”与“或”，按S3拆分：第{k + 1}段（共{n}段）"))
        if not items:
            if any(p.non_binding for p in run) and not any(p.residual for p in run):
                flags.append(Flag("non_binding", "鼓励性、框架性或可选表述，不设考核指标"))
            else:
                flags.append(Flag("no_target", "未能识别出考核指标，请人工核对"))
        quantitative = any(it.written for it in items)
        targets = tuple(it.target for it in items)
        unique_flags = tuple(dict.fromkeys(flags))
        return ClauseReading(self.text[lo:hi], targets, combine, quantitative, unique_flags)


def analyse(text: str) -> list[ClauseReading]:
    """`interpret_clause` without the safety net (for tests that hunt for crashes)."""
    return _Reader(text).read()


def interpret_clause(text: str) -> list[ClauseReading]:
    """Targets of one indicator clause; never raises."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    try:
        readings = analyse(text)
    except Exception as exc:  # the importer must get a reading for any text; the tests hunt crashes in analyse
        flag = Flag("internal_error", f"解析失败（{type(exc).__name__}），请人工录入")
        return [ClauseReading(text, (), ALL, False, (flag,))]
    return readings or [ClauseReading(text, (), ALL, False, (Flag("no_target", "未能识别出考核指标，请人工核对"),))]
