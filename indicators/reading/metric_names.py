"""Metric names a grantee can read: the noun phrase for the thing counted or measured (issue #24).

The reader cuts a name out of the words around a value; left alone, that cut keeps the verb that governs
the thing (`申请发明专利`, `培养研究生`, `制订出…新技术`), framing before it (`项目实施期内`, `项目承担单位`),
particles after it (`合成反应转化率均`, `产值或销售收入应`) and fragments of a cut word (`心期刊…`).
`noun_phrase` turns such a cut into a name:

- framing and subjects at the head are dropped (`项目`, `在…中`, `其`);
- a status verb that tells which count is meant moves behind the noun: `申请发明专利` → `发明专利申请`,
  `获得软件著作权` → `软件著作权（获得）`, `培养研究生` → `研究生（培养）`; `获得授权发明专利` → `授权发明专利`;
- other governing verbs are dropped (`开发`, `形成`, `制订出`, `实现`, `取得`…): the category says what is
  done with the thing;
- a change named by a verb becomes the size of the change: `降低生产过程能耗` → `生产过程能耗降幅`;
- particles and dangling function words at either end are dropped; a long name is cut at a word boundary.

`readable` says whether a name is good enough to show; the reader flags the clause when it is not.
"""

from __future__ import annotations

import re

from indicators.reading.comparators import comparator_words

# Framing and subjects before the thing named (`项目实施期内`, `项目承担单位`, `经济指标`).
_FRAMING = re.compile(
    r"^(?:在?(?:项目)?(?:实施|执行|研发|研究|筹备和实施)(?:期限|期|过程)?(?:内|间|中|期间)|项目承担单位|项目|经济指标|"
    r"技术指标|其中|其(?!他)|在(?!职|线|役|研|建)|以(?!上|下)|并|且|同时|另外|此外|要求|分别)"
)
# Status verbs kept as a note, because they say which count is meant.
_STATUS_NOTE = (
    (re.compile(r"^(?:申请或获得|申请或授权|申请（授权）|申请/授权)"), "（申请或获得）"),
    (re.compile(r"^(?:获得)?(?:立项或发布|发布或立项)"), "（立项或发布）"),
    (re.compile(r"^(?:获得|获|取得)(?=授权)"), ""),
    (re.compile(r"^(?:全职引进或培养|引进或培养|培养或引进|全职引进|新引进|引进|培养|培育|吸纳|吸收)"), None),
)
_APPLY = re.compile(r"^(?:申请|申报)(?!书)")
_OBTAIN = re.compile(r"^(?:获得|获批|获)(?!批准|得)")
# Governing verbs dropped: what is done with the thing is said by the category.
_GOVERNING = re.compile(
    r"^(?:组织开展|研究开发|联合开发|开展|实现|完成|取得|形成|建立|建成|建设|构建|搭建|打造|开发|研发|研制|"
    r"制订出|制定出|研制出|开发出|制订|制定|编制|发表|提供|推出|推动|突破|达到|解决|帮助|帮扶|支撑|育成|选育|"
    r"提交|出具|设立|组建|升级|采用|利用|拥有|具备|发布|新获得|获得|获)"
)
_ANY_VERB = re.compile(_GOVERNING.pattern[1:] + r"|申请|培养|引进|吸纳")
_CHANGE_AFTER = re.compile(r"(?:进一步)?(?:降低|下降|减少|节约|节省)$|(?:进一步)?(?:提升|提高|增加|增长)$")
_CHANGE_BEFORE = re.compile(r"^(?:进一步)?(?:降低|下降|减少|节约|节省|提升|提高|增加|增长)")
_LEADING_JUNK = re.compile(r"^[的了和及与或并等出、，,：:；;/\s]+")
# Comparator words left at the end of a cut (`硫不大于25ppm` → `硫不大于`), and the verbs of a bound.
_COMPARATOR_TAIL = "|".join(sorted((re.escape(w) for w in comparator_words()), key=len, reverse=True))
_TRAILING_JUNK = re.compile(
    r"(?:" + _COMPARATOR_TAIL + r"|更是|最高|最低|最大|最小|控制在|控在|稳定在|保持在|控制|突破|实现|"
    r"(?<![最提升增身])高|的|了|均|应|共|在|(?<=[量率度值])可|为|约|将|得以|得|之|并|及|和|与|或|其|从|由|要|需|须|是|计|至|到)+$|"
    r"[、，,：:；;/\s]+$"
)
_BOUNDARY = "、，,或及和与的"
MAX_LENGTH = 40

#: Words a readable name must not start with (verbs and function words), and particles it must not end with.
BAD_START = re.compile(
    r"^(?:申请|获得|获(?!奖)|取得|实现|完成|形成|建立|建成|开发|研发|研制|制定|制订|发表|提供|组织|开展|培养|引进|推出|"
    r"打造|达到|提升|提高|降低|减少|达(?!标)|出(?!口|生|租|版|行)|的(?!确)|了|和|及(?!时)|与|或|并(?!网|联|行)|"
    r"等(?!级|离|效)|在(?!职|线|役|研|建)|对(?!外|比|接|标|照)|以(?!上|下)|从(?!业)|由|其(?!他)|将|被|为(?!主)|是|也|"
    r"都|均(?!匀|值|质|衡)|共(?!性|识|享|建)|应(?!用|届|急|力|变)|可(?!见|靠|控|再|视|调|编|溶|燃|降|回|行|信|用)|"
    r"项目实施|项目承担)"
)
BAD_END = re.compile(r"(?:的|了|着|过|均|应|共|在|可|为|达|约|及|和|与|或|并|之|其|将|得以|分别|从|由|不)$")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
# Names that are only a verb, a status or a generic word: they say nothing about what is counted.
BARE = frozenset({
    "授权", "申请", "获得", "支持", "处理", "筛选", "帮助", "吸纳", "吸收", "构建", "全职引进", "引进", "培养", "新建",
    "改造或新建", "全职引进或培养", "引进或培养", "批准", "目标", "销售", "年产", "年产能", "产能", "降幅", "提升幅度",
    "面积", "种类", "标准", "报告", "样件", "指标", "参数", "数量", "要求", "情况", "水平", "效果", "实施",
})


def _shorten(text: str) -> str:
    """The last MAX_LENGTH characters, starting after a word boundary rather than inside a word."""
    if len(text) <= MAX_LENGTH:
        return text
    cut = len(text) - MAX_LENGTH
    for i in range(cut, len(text) - 4):
        if text[i] in _BOUNDARY:
            return text[i + 1:]
    while cut < len(text) - 4 and text[cut].isascii() and text[cut].isalnum():  # not inside a Latin word
        cut += 1
    return text[cut:]


def noun_phrase(raw: str, improvement: bool = False) -> str:
    """The name of what is counted or measured, from the words the reader cut around a value.
    ``improvement``: the value is a relative change (`降低20%`), so a change verb names its size."""
    text = raw.strip()
    note = ""
    for _ in range(4):  # framing, status and verbs can stack: `项目实施期内，全职引进或培养…`
        before = text
        text = _LEADING_JUNK.sub("", _FRAMING.sub("", text))
        for rx, fixed in _STATUS_NOTE:
            m = rx.match(text)
            if m and len(text) > m.end() + 1:
                text = text[m.end():]
                note = note or (fixed if fixed is not None else f"（{m.group()}）")
        m = _APPLY.match(text)
        if m and len(text) > m.end() + 1:
            text = text[m.end():] + ("申请" if re.search(r"专利|著作权|知识产权|PCT$", text) else "")
            if not text.endswith("申请"):
                note = note or "（申请）"
        m = _OBTAIN.match(text)
        if m and len(text) > m.end() + 1:
            text = text[m.end():]
            if re.search(r"专利|著作权|知识产权", text) and not text.startswith("授权"):
                note = note or "（获得）"
        m = _GOVERNING.match(text)
        if m and len(text) > m.end() + 1 and not _CHANGE_BEFORE.match(text):
            text = text[m.end():]
        if text == before:
            break
    # a verb repeated inside a basket (`新设备或形成具有自主知识产权新技术`) governs its item the same way
    text = re.sub(r"(?<=[或、])(?:形成|开发|研发|研制|获得|建立|制定|制订)(?=..)", "", text)
    if improvement:
        m = _CHANGE_BEFORE.match(text)
        if m and len(text) > m.end() + 1:
            text = text[m.end():] + m.group().replace("进一步", "")
        text = re.sub(r"分别(?=(?:进一步)?(?:降低|下降|减少|节约|节省|提升|提高|增加|增长)$)", "", text)
        m = _CHANGE_AFTER.search(text)
        if m:
            word = m.group().replace("进一步", "")
            size = "降幅" if word in ("降低", "下降", "减少", "节约", "节省") else "提升幅度"
            text = text[:m.start()] + size
    text = _TRAILING_JUNK.sub("", _LEADING_JUNK.sub("", text))
    if re.fullmatch(r"[A-Z][a-z]?\d?(?:[A-Z][a-z]?\d?)?", text):  # `Mn≤0.5%`: an element or formula names a content
        text += "含量"
    text = _shorten(text)
    text = _TRAILING_JUNK.sub("", _LEADING_JUNK.sub("", text))
    return text + note if text else ""


def readable(name: str) -> bool:
    """A name a grantee can read: at least two characters of content, no verb or function word at the head,
    no particle at the end (a bracketed note at the end is not part of the check)."""
    core = re.sub(r"[（(][^）)]*[）)]$", "", name).strip()
    if len(_CONTENT.findall(core)) < 2 or core in BARE or re.fullmatch(r"不.", core):  # `不起`: half a predicate
        return False
    return not BAD_START.match(core) and not BAD_END.search(core)
