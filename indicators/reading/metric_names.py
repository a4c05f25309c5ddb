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
- particles and dangling function words at either end are dropped; a long name is cut at a word boundary;
- a name is written as a labeller writes it: the levels of one standard said once (`团体、地方或国家标准`), `的`
  after a noun modifier left out (`碱洗次氧化锌粉生产线`), an applicant subtype at the head made a note
  (`…（仅信息化管理项目）`), outcomes named by their act kept whole (`解决本企业技术问题`, `育成新品种`).

A name that is only a measure (`温降`, `延伸率`) gets the thing it measures back from a topic label or from the
measure named before it (`with_object`, used by the reader with the clause around the value).

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
_GRANTED_COPYRIGHT = re.compile(r"^授权(?=(?:计算机)?软件著作权|著作权)")
# Governing verbs dropped: what is done with the thing is said by the category.
_GOVERNING = re.compile(
    r"^(?:组织开展|研究开发|联合开发|开展|实现|完成|取得|形成|建立|建成|建设|构建|搭建|打造|开发|研发|研制|"
    r"制订出|制定出|研制出|开发出|制订|制定|编制|发表|提供|推出|推动|突破|达到|解决|帮助|帮扶|支撑|育成|选育|"
    r"提交|出具|设立|组建|升级|采用|利用|拥有|具备|发布|新获得|获得|获|"
    r"完善(?=[^，,；;]*(?:平台|中心|基地|体系|机制|网络)$))"  # `建立完善公共服务平台`: the platform is the thing
)
_ANY_VERB = re.compile(_GOVERNING.pattern[1:] + r"|申请|培养|引进|吸纳")
_CHANGE_WORDS = r"降低|下降|减少|节约|节省|延长|缩短|减重|减轻|提升|提高|增加|增长"
_CHANGE_AFTER = re.compile(r"(?:实现)?(?:进一步)?(?:" + _CHANGE_WORDS + r")$")
_CHANGE_BEFORE = re.compile(r"^(?:进一步)?(?:" + _CHANGE_WORDS + r")")
# The size of a change is named after the verb that states it (`降低` → `降幅`, `减少` → `减少幅度`, `节约能耗` →
# `能耗节约幅度`, `寿命延长` → `寿命延长幅度`); a rise is a `提升幅度` whichever verb says it.
_CHANGE_SIZE = {"降低": "降幅", "下降": "降幅", "减少": "减少幅度", "节约": "节约幅度", "节省": "节省幅度",
                "延长": "延长幅度", "缩短": "缩短幅度", "减重": "减重幅度", "减轻": "减轻幅度"}
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
    r"等(?!级|离|效)|在(?!职|线|役|研|建)|对(?!外|比|接|标|照)|以(?!上|下)|从(?!业)|由|其(?!他|中..)|将|被|为(?!主)|是|也|"
    r"都|均(?!匀|值|质|衡)|共(?!性|识|享|建)|应(?!用|届|急|力|变)|可(?!见|靠|控|再|视|调|编|溶|燃|降|回|行|信|用)|"
    r"项目实施|项目承担)"
)
BAD_END = re.compile(r"(?:的|了|着|过|均|各|(?<![反响效供适对感])应|共|在|可|为|达|约|及|和|与|或|并|之|其|将|得以|"
                     r"分别|从|由|不)$")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
# Names that are only a verb, a status or a generic word: they say nothing about what is counted.
BARE = frozenset({
    "授权", "申请", "获得", "支持", "处理", "筛选", "帮助", "吸纳", "吸收", "构建", "全职引进", "引进", "培养", "新建",
    "改造或新建", "全职引进或培养", "引进或培养", "批准", "目标", "销售", "年产", "年产能", "产能", "降幅", "提升幅度",
    "面积", "种类", "报告", "样件", "指标", "参数", "数量", "要求", "情况", "水平", "效果", "实施",
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


# `团体标准、地方标准、行业标准或国家标准`: the levels of a standard modify one noun, which a name says once
# (`团体、地方、行业或国家标准`). Slash lists (`国家标准/行业标准`) are left as written.
_LEVEL = r"(?:国际|国家|行业|地方|团体|企业)"
_STANDARD_LEVELS = re.compile(_LEVEL + r"标准(?:(?:、|或者|或|和|及|与)+" + _LEVEL + r"标准)+")


def _factor_standard_levels(text: str) -> str:
    def factor(m: re.Match[str]) -> str:
        k = m.group().rfind("标准")
        return m.group()[:k].replace("标准", "") + m.group()[k:]
    return _STANDARD_LEVELS.sub(factor, text)


# `的` after a noun modifier is optional in a name and left out (`失能人群护理场景的智能护理机器人`,
# `碱洗次氧化锌粉的生产线`); after a verb phrase (`具有自主知识产权的新技术`, `基于EMB系统的…`) or a gradable
# adjective (`稳定的基础研究团队`, `不同的酶`) it is part of the name and stays.
_RELATIVE_VERB = re.compile(
    r"具有|具备|拥有|带动|满足|符合|达到|(?<![失功性效智产技动热电节储体潜赋核光风])能|可|制备|解决|部署|运行|建设|提升|"
    r"提高|降低|实现|形成|支撑|服务|用于|适用|适合|面向|基于|颁发|生产(?!线)|开发|研发|研制|采用|利用|引进|培养|产生|推动|促进|包含|含有|覆盖|涉及|认定|通过|获得|承担|参与|"
    r"开展|发表|出版|完成|依托|围绕|针对|提出|建立|构建|打造|突破|掌握|申请|授权|登记|指定|保留|影响|吸引|导致|造成"
)
_GRADABLE = re.compile(r"(?:不同|稳定|完整|一定|较好|良好|显著|较大|较高|较强|明显|重要|突出|典型|优良|优异|先进|独特|"
                       r"丰富|可靠|安全|完善|成熟|积极|广泛|深远|有效|新)$")
_DE_SEGMENT = re.compile(r"[^、，,或和及与的（）()]+的(?=[^的])")


def _drop_attributive_de(text: str) -> str:
    def drop(m: re.Match[str]) -> str:
        modifier = m.group()[:-1]
        if m.start() == 0 and len(modifier) < 2 or _RELATIVE_VERB.search(modifier) or _GRADABLE.search(modifier):
            return m.group()
        return modifier
    return _DE_SEGMENT.sub(drop, text)


# A bare verb with `的` at the head (`生产的乙酸乙酯产品纯度`, `开发的…技术`) is the tail of a cut relative clause;
# determiners (`整个循环溶液`) add nothing to a name.
_HEAD_FRAGMENT = re.compile(r"^(?:(?:生产|开发|研发|研制|制备|获得|形成|建成|实现|完成)的|整个|所有|相应的)")
# A heading inside a cut (`T74511状态的室温力学性能满足屈服强度`): the thing before it and the measure after it name
# the value; the heading words do not.
_INNER_HEADING = re.compile(r"(?:力学|物理|化学|技术|工艺|主要|产品|综合)?(?:性能|指标|参数)(?:达到|满足)[：:]?")
# `在国际知名学术期刊发表论文`: the venue qualifies the paper; the verb between them is not part of the name.
_PUBLISHED_IN = re.compile(r"(?<=..)(?:上)?发表(?=[^，、]{0,12}(?:论文|文章|报告)$)")
# `4-氯乙酰乙酸乙酯色度指标`: `指标` after a measure repeats that it is one.
_MEASURE_INDICATOR = re.compile(r"(?<=[度率量值性])指标$")


# An applicant subtype at the head of a clause (`整机研发项目在实施期限内应实现…`, `信息化管理项目开发…`,
# `调查评价项目应形成…`) is a condition on the target, not its name: it becomes a note (taxonomy §8.1). A `项目库`
# (`概念验证项目库`) is a thing and `技术交易项目数量` a count of projects, not a subtype.
_SUBTYPE_HEAD = re.compile(
    r"^([^，,；;。、（()）]{2,16}?项目)(?![库池数])(?:（课题）|\(课题\))?(?:在?(?:项目)?实施期(?:限)?(?:内|间)|在项目实施期间)?"
    r"(?:应当|应|须|需)?"
)
_NOT_SUBTYPE = re.compile(r"开展|承担|孵化|服务|实施|申报|立项|获得|新获|引进|建设|完成|组织|参与|支持|资助|争取|"
                          r"示范|中试|科技|科研|重点|重大|储备|培育|入库|该|本|各|每")


def split_condition(text: str) -> tuple[str, str]:
    """(`开发相关软件…`, `（仅信息化管理项目）`) from `信息化管理项目开发相关软件…`; (text, "") without a subtype."""
    m = _SUBTYPE_HEAD.match(text)
    if not m or _NOT_SUBTYPE.search(m.group(1)) or m.group(1).startswith("项目"):
        return text, ""
    return text[m.end():], f"（仅{m.group(1)}）"


# The subject and modal before the requirement (`企业应具备…`) are not part of the name; alternative verbs
# (`具备或建设形成相应试验能力`) say how the thing may be obtained and become a note, like `申请或获得`.
_VERB = (r"(?:具备|完善|建设|形成|建立|建成|构建|搭建|打造|开发|研发|研制|制定|制订|编制|提供|取得|获得|实现|完成|"
         r"组建|设立|升级|改造|新建)")
_MODAL_SUBJECT = re.compile(r"^(?:企业|申报单位|承担单位|项目承担单位|依托单位)?(?:应当|应|须|需|必须)"
                            r"(?=" + _VERB + ")")
_VERB_PAIR = re.compile(r"^" + _VERB + r"+(?:或|或者|和|及|并)?" + _VERB + r"+(?=..)")
# The means before the verb that makes the thing (`采用…工艺生产`, `升级优化双乙烯酮工艺形成…新技术`) is not its name.
_MEANS = (r"(?:采用|利用|通过|运用|借助|依托|优化|改进)[^，,；;]{2,30}?"
          r"(?:形成|开发出?|研发出?|研制出?|生产出?|制备出?|制得)")
_MEANS_HEAD = re.compile("^" + _MEANS + "(?=.{4})")


def means_only(text: str) -> bool:
    """The words are a means and a making verb with no object (`采用…短流程工艺生产`): the object follows."""
    return bool(re.fullmatch(_MEANS, text))
# Outcomes named by the act that makes them: problems solved (`解决本企业技术问题`, `帮助企业解决技术问题`), varieties
# bred (`育成新品种`), enterprises cultivated or incubated (`培育高新技术企业`): the verb is part of the name.
_OUTCOME_ACT = re.compile(r"^(?:(?:解决|帮助)[^，,；;]*(?:问题|难题)|育成.{2,}|(?:培育|孵化)[^，,；;]*(?:企业|项目))$")


def noun_phrase(raw: str, improvement: bool = False) -> str:
    """The name of what is counted or measured, from the words the reader cut around a value.
    ``improvement``: the value is a relative change (`降低20%`), so a change verb names its size."""
    text, condition = split_condition(raw.strip())
    note = ""
    for _ in range(4):  # framing, status and verbs can stack: `项目实施期内，全职引进或培养…`
        before = text
        text = _MODAL_SUBJECT.sub("", _LEADING_JUNK.sub("", _FRAMING.sub("", text)))
        if _OUTCOME_ACT.match(text):
            break
        text = _MEANS_HEAD.sub("", text)
        m = _VERB_PAIR.match(text)
        if m:
            text = text[m.end():]
            note = note or f"（{m.group()}）"
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
        m = _GRANTED_COPYRIGHT.match(text)  # `授权软件著作权` → `软件著作权（授权）`; `授权发明专利` keeps its word
        if m:
            text = text[m.end():]
            note = note or "（授权）"
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
    # …and so does a place said again inside it (`授权专利或在国内外核心学术期刊论文`)
    text = re.sub(r"(?<=或)在(?=.{4})", "", text)
    if improvement:
        m = _CHANGE_BEFORE.match(text)
        if m and len(text) > m.end() + 1:
            text = text[m.end():] + m.group()  # `进一步降低运行费用` → `运行费用进一步降幅`: a further change
        text = re.sub(r"分别(?=(?:进一步)?(?:" + _CHANGE_WORDS + r")$)", "", text)
        m = _CHANGE_AFTER.search(text)
        if m:
            further = "进一步" if "进一步" in m.group() else ""
            word = re.sub("^(?:实现)?(?:进一步)?", "", m.group())
            text = text[:m.start()] + further + _CHANGE_SIZE.get(word, "提升幅度")
    text = _TRAILING_JUNK.sub("", _LEADING_JUNK.sub("", text))
    text = _MEASURE_INDICATOR.sub("", _HEAD_FRAGMENT.sub("", text)) or text
    m = _INNER_HEADING.search(text)
    if m and m.start() >= 2 and is_bare_measure(text[m.end():]):
        text = text[:m.start()] + text[m.end():]
    text = _PUBLISHED_IN.sub("", text)
    act = re.match(r"(?:解决|帮助|育成|培育|孵化)(?=.{2})", text) if _OUTCOME_ACT.match(text) else None
    k = act.end() if act else 0  # `解决产业发展的关键技术难题`: the verb governs the whole phrase, not a modifier
    text = text[:k] + _drop_attributive_de(_factor_standard_levels(text[k:]))
    if re.fullmatch(r"[A-Z][a-z]?\d?(?:[A-Z][a-z]?\d?)?", text):  # `Mn≤0.5%`: an element or formula names a content
        text += "含量"
    text = _shorten(text)
    text = _TRAILING_JUNK.sub("", _LEADING_JUNK.sub("", text))
    return text + note + condition if text else ""


def readable(name: str) -> bool:
    """A name a grantee can read: at least two characters of content, no verb or function word at the head,
    no particle at the end (a bracketed note at the end is not part of the check)."""
    core = re.sub(r"[（(][^）)]*[）)]$", "", name).strip()
    if len(_CONTENT.findall(core)) < 2 or core in BARE or re.fullmatch(r"不.", core):  # `不起`: half a predicate
        return False
    return not BAD_START.match(core) and not BAD_END.search(core)


# -- the object a measure belongs to ---------------------------------------------------------------
# A list of measures often names the measured thing once: `铝液处理量≥10t/h、温降≤50℃`, `AlSi12Cu铝铸件本体抗拉强度
# ≥230MPa、屈服强度≥170MPa`, or under a topic label: `铝箔坯料：抗拉强度170-200MPa，延伸率≥5%`, `电光器件指标：
# 响应时间300ns，插入损耗1.0dB`. A name that is only a measure gets that thing back (`铝液温降`, `铝箔坯料延伸率`).

_ELEMENT = r"[碳硅锰磷硫铬镍钼铜铝钛钒铌氮氢氧铁锌铅镉汞砷钙镁钠钾氯氟硼钨钴]"
_MEASURE_WORDS = (
    r"(?:抗拉|屈服|抗压|抗弯|抗剪|冲击|疲劳|拉伸|剥离)?强度|(?:断后)?伸长率|延伸率|断面收缩率|"
    r"(?:" + _ELEMENT + r"|酸溶铝|全氧|全铁)含量|含[A-Za-z]+量|纯度|密度|硬度|温降|处理量|选择性|转化率|收率|电导率|"
    r"热导率|响应时间|插入损耗|(?:温度)?稳定性|电阻率|粘度|黏度|粒径|色度|厚度|壁厚|精度|(?:[A-Z][、A-Z]*类)?夹杂物等级"
)
_BARE_MEASURE = re.compile(r"(?:" + _MEASURE_WORDS + r")|[A-Z][A-Za-z0-9、/]*")
_MEASURE_TAIL = re.compile(r"(?:" + _MEASURE_WORDS + r")$")
MEASURE_TAIL = _MEASURE_TAIL
# Objects too generic to carry (`产品抗拉强度…，断后伸长率≥10%`: the second name stays as written).
_GENERIC_OBJECT = re.compile(r"(?:产品|零件|零部件|部件|材料|成品|样品|设备|系统|装置|整机|项目|其中)$")
# A purpose modifier (`稀土永磁材料用原料纯铁圆棒` → `原料纯铁圆棒`) is dropped when the object is said again.
_PURPOSE = re.compile(r"^[^、，,用]{2,12}(?<![许使应适通专试作利采运食药医家商民军实])用(?=.{2})")
_NOTE = re.compile(r"(?:（[^（）]*）)+$")


def split_note(name: str) -> tuple[str, str]:
    """(`铝箔成品抗拉强度`, `（一周内检测）`) from `铝箔成品抗拉强度（一周内检测）`."""
    m = _NOTE.search(name)
    return (name[:m.start()], m.group()) if m and m.start() else (name, "")


def is_bare_measure(name: str) -> bool:
    """A name that says only what is measured, not of what (`温降`, `抗拉强度`, `碳含量`, `TRE`)."""
    return bool(_BARE_MEASURE.fullmatch(split_note(name)[0]))


def measured_object(name: str) -> str:
    """The thing a measure name measures, to carry to the bare measures after it (`铝液氢含量` → `铝液`), or ""."""
    core = split_note(name)[0]
    m = _MEASURE_TAIL.search(core)
    if not m or m.start() < 2:
        return ""
    obj = core[:m.start()]
    if _GENERIC_OBJECT.search(obj) or not readable(obj):
        return ""
    return _PURPOSE.sub("", obj)


def without_purpose(name: str) -> str:
    """A measure of a thing named with its purpose (`稀土永磁材料用原料纯铁圆棒纯度`) names the thing alone."""
    core, note = split_note(name)
    m = _MEASURE_TAIL.search(core)
    if not m or not _PURPOSE.match(core[:m.start()]):
        return name
    return _PURPOSE.sub("", core) + note


def with_object(name: str, obj: str, inside: bool = False) -> str:
    """``obj`` put before a measure name, merged where they overlap (`光伏玻璃` + `玻璃厚度` → `光伏玻璃厚度`)."""
    core, note = split_note(name)
    if not obj or core.startswith(obj):
        return name
    for k in range(min(len(obj), len(core) - 1), 1, -1):
        if obj.endswith(core[:k]):
            return obj + core[k:] + note
    k = obj.find(core[:2])
    if inside and k > 0:  # `多源数据融合，数据接入延迟≤1秒` → `多源数据接入延迟`: the same word in the topic
        return obj[:k] + core + note
    return obj + core + note


def overlaps(name: str, obj: str) -> bool:
    """The name starts with the end of the object (`玻璃厚度` under `光伏玻璃`)."""
    core = split_note(name)[0]
    return any(obj.endswith(core[:k]) for k in range(min(len(obj), len(core) - 1), 1, -1))


# A topic label before a colon names the thing measured (`铝箔坯料：`, `电光器件指标：`, `关键部位性能满足：`); a
# label that ends in a time or test condition (`一周内检测时：`) does not change it; a process or a heading
# (`大吨位生产指标：`, `全方位AOI检测：`, `性能指标达到：`) ends it.
_TOPIC_HEAD = re.compile(r"^(?:其中|使|另外|同时|此外|且|并)")
_TOPIC_TAIL = re.compile(r"(?:(?:的)?(?:产品|工艺|力学|技术|主要|室温|质量)?(?:性能|指标|参数)"
                         r"(?:达到|满足|要求|如下|为)?)+$")
_TOPIC_CONDITION = re.compile(r"(?:时|下|后|前|条件)$")
_TOPIC_PROCESS = re.compile(r"(?:检测|测试|试验|生产|制造|加工|方面|要求|情况|"
                            r"良好|优良|优异|稳定|合格|正常|完整|平整|明显|显著)$")  # a process or a state


def topic_object(label: str) -> str | None:
    """The thing a colon label names, "" for a condition (the topic goes on), None for no thing (it ends)."""
    label = re.sub(r"[（(][^）)]*[）)]", "", label).strip()
    if _TOPIC_CONDITION.search(label):
        return ""
    obj = _TOPIC_TAIL.sub("", _TOPIC_HEAD.sub("", label))
    if len(obj) < 2 or _TOPIC_PROCESS.search(obj) or _MEASURE_TAIL.search(obj) or not readable(obj):
        return None
    return obj


# `A和B各N种`: the things a distributive 各 counts one by one. A head noun written once after the last item belongs
# to every item (`光源及光放大设备样机` → 光源样机, 光放大设备样机), as does a quality modifier written once before the
# first (`高性能电光陶瓷和磁光材料` → 高性能电光陶瓷, 高性能磁光材料).
_SHARED_HEAD = re.compile(r"(?:样机|样品|样件|原型机|装置|设备|系统|平台|产品|软件|数据库|生产线|示范线|中试线|基地)$")
_SHARED_MODIFIER = re.compile(r"^(?:高性能|高精度|高效|高端|高品质|新型|新一代|大型|智能化?)")
_EACH_SPLIT = re.compile(r"和|及|与|、")


def each_names(name: str, count: int) -> list[str]:
    """The `count` names of a `各` list, or the name `count` times when the list does not split into that many."""
    stem = name[:-1] if name.endswith("各") else name
    parts = [p for p in _EACH_SPLIT.split(stem) if p]
    if len(parts) != count:
        return [stem] * count
    head = _SHARED_HEAD.search(parts[-1])
    if head:
        parts = [p if _SHARED_HEAD.search(p) else p + head.group() for p in parts]
    modifier = _SHARED_MODIFIER.match(parts[0])
    if modifier:
        parts = [p if _SHARED_MODIFIER.match(p) else modifier.group() + p for p in parts]
    return parts
