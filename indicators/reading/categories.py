"""The 23 indicator categories (indicator-taxonomy §3), their cue words, and the kind of target each makes.

Deciding the category of a value:

1. The unit family narrows the candidates: money is `revenue` or `profit_tax`; a rate, a percentage or a
   physical unit is a `performance_metric` unless a cue says it is an area of a platform, a planted area,
   a production volume, or a growth of revenue or of users; counts can be anything else.
2. Of several alternatives each led by its own verb (`制订出…或获得…注册证…1项`), the first decides.
3. *Strong* cues decide first, in a fixed order, because their wording overrides the noun they govern:
   approvals (`备案`, `批件`, `许可`) before standards (`质量标准备案` is a filing), service (`服务企业…`),
   technology transfer (`引进…技术`), events (`培训`, `参加`), enterprises (`孵化`, `入驻`), competitive
   projects; then `篇` is a paper, people are talent, and the intellectual-property rules (§9 #3–#9) apply.
4. Otherwise the noun phrase decides: the noun after the unit for number-first wording (`培养1名…人才`),
   else the words before it; after the last `的` (the head), in the *first-named* item of a basket
   (`A、B或C`, §9 #41), the cue that ends last (the head noun of that item; `转化基地` beats `基地`).
5. Otherwise the previous value's category carries on (`申请…4件，实用新型专利2件`), else the measure word
   gives a default (`人` talent, `家` enterprise, `套` deliverable, `项` product…).
6. The reader then makes a count of kinds, records or vehicles a parameter when an earlier piece of its sentence
   builds the system they belong to (`system_component`: `建立…运行数据库，实现…500辆车辆运行数据入库`).

Kinds (DESIGN §2): a value with no number is *qualitative*; a `performance_metric`, or any value whose
unit is a rate, a percentage, a physical unit or none, is a *level* (the best measurement counts);
reports, platforms, demonstration sites and approvals are *deliverables*; everything else that is
counted (patents, papers, people, money, products…) is *cumulative*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indicators.reading import units as u
from indicators.reading.comparators import GE, GT, LE, LT
from indicators.reading.spans import strip_brackets

#: The 23 keys with a short Chinese label (for tables and messages).
CATEGORIES: dict[str, str] = {
    "patent_application": "专利申请",
    "patent_grant": "专利授权",
    "ip_other": "其他知识产权",
    "ip_any": "知识产权（合计）",
    "standard": "标准",
    "paper": "论文",
    "talent": "人才",
    "revenue": "收入/产值",
    "profit_tax": "利润/利税",
    "yield": "产量/产能",
    "product": "新产品/新技术",
    "platform": "平台/机构",
    "demonstration": "示范",
    "users_served": "服务对象",
    "performance_metric": "技术/绩效参数",
    "approval_certificate": "审批/认证",
    "deliverable": "报告/系统等交付物",
    "event": "活动",
    "tech_transfer": "技术转移/成果转化",
    "enterprise": "企业",
    "research_grant": "科技项目",
    "impact": "定性成效",
    "applicant_defined": "由申报单位设定",
}

KINDS = ("cumulative", "level", "deliverable", "qualitative")
DELIVERABLE_CATEGORIES = frozenset({"deliverable", "platform", "demonstration", "approval_certificate"})
_LEVEL_FAMILIES = frozenset({u.PERCENT, u.POINTS, u.MULTIPLE, u.SCORE, u.GRADE, u.PHYSICAL, u.NONE,
                             u.AREA, u.DURATION})
PATENT_FAMILY = frozenset({"patent_application", "patent_grant"})


def kind_of(category: str, unit: str | None, op: str | None, value: object) -> str:
    """The kind of target (see the module docstring); ``op`` is part of the signature because a bound
    without a number is qualitative whatever its category."""
    if value is None or op is None:
        return "qualitative"
    if category == "performance_metric":
        return "level"
    family = unit_family(unit)
    if family in _LEVEL_FAMILIES:
        return "level"
    if category in DELIVERABLE_CATEGORIES:
        return "deliverable"
    return "cumulative"


def better_of(kind: str, op: str | None) -> str | None:
    """For level targets: which way is better. `==` is a declared nominal value: direction unknown."""
    if kind != "level":
        return None
    if op in (GE, GT):
        return "higher"
    if op in (LE, LT):
        return "lower"
    return None


def unit_family(unit: str | None) -> str:
    """The family of a normalised unit (as written in a target)."""
    if unit is None:
        return u.NONE
    base = unit.split("/")[0]
    per = unit[len(base):]
    if base == "万元":
        return u.MONEY if per in ("", "/年") else u.PHYSICAL  # `万元/吨` is a rate
    if base in ("%", "%IACS", "wt%", "‰"):
        return u.PERCENT
    if base == "百分点":
        return u.POINTS
    if base == "倍":
        return u.MULTIPLE
    if base == "分":
        return u.SCORE
    if base == "级":
        return u.GRADE
    if base in ("m²", "km²", "亩", "公顷"):
        return u.AREA
    if base in ("年", "月", "周"):
        return u.DURATION
    if base in ("吨", "kg", "t"):
        return u.MASS if per in ("", "/年", "/批") else u.PHYSICAL
    if base in ("TB", "GB", "PB", "MB"):
        return u.AMOUNT
    if base in u.COUNT_WORDS or base == "人次":
        return u.COUNT if per in ("", "/年", "/批") else u.PHYSICAL
    return u.PHYSICAL


# ---------------------------------------------------------------------------------------------------
# Cues. Each is matched on bracket-stripped text.

_PROFIT = re.compile(r"利税|利润|税收|纳税|净利|税金")
_REVENUE_RATIO = re.compile(r"收入|产值|营收|销售额|营业额|收益|创效|效益")
_USERS_RATIO = re.compile(r"(?:游客|用户|客户|服务对象|患者|受众|访客)(?:数量|人数|量|数)")
_PLATFORM_AREA = re.compile(r"实验室|场地|基地|中心|平台|机构|园区|孵化器|空间|楼|场所|长廊|展厅|展馆|馆")
_DEMO_AREA = re.compile(r"种植|示范|推广|应用|栽培|养殖|覆盖")
_YIELD = re.compile(r"年产|产能|产量|出栏|量产|生产能力|处理能力|处理量|年处理|销量|"
                    r"销售[^，；。]{0,4}(?:台|套|吨|辆|件)|产出|生产规模|规模达到")
# `引进博士…并到企业服务不少于3年`: how long a person serves is a talent target (README-frozen #14)
SERVICE_TERM = re.compile(r"(?:服务|工作|任职|驻(?:企|村|点))[^，,；;。、]{0,4}$")
_MASS_PARAMETER = re.compile(r"承载|载重|重量|自重|质量|容量|吨位")
# `熔窑日熔化量≥1600t/d`, `500m3/d铜渣脱氯生产系统`: a mass or volume per day is a daily throughput (yield), unless
# it is a rated size of equipment (`焙烧炉规格：2600t/d`)
_PER_DAY_THROUGHPUT = re.compile(r"^(?:t|吨|kg|m³)/d$")

_APPROVAL = re.compile(r"批件|批准文号|准字|许可|注册证|注册批件|备案|受理号|审定|登记新品种|新品种登记|认证|准入|"
                       r"获批|批准|登记号|注册申报|注册受理|上市许可|生产批件|临床批件|审批")
_USERS = re.compile(r"用户(?!满意)|病例|患者|病人|受试者|带动(?!就业)|"
                    r"(?<!新)服务(?!机构|平台|中心|体系|站|能力|模式|功能|型|业|器|质量|水平|网络|化)|"
                    r"受惠|受益|惠及|覆盖|辐射带动")
# a technology deal (`技术交易项目数量5项以上`, `技术合同`) transfers technology too
_TECH_TRANSFER = re.compile(r"成果转化|成果转移|技术转移|转移转化|技术转让|技术许可|技术交易|技术合同|"
                            r"成果[^，；。]{0,4}转化|"
                            r"引进[^，；。、或]{0,16}?技术(?!人|骨|团|职|专|员)|技术[^，；。]{0,2}引进|引进（输出）|"
                            r"输出[^，；。]{0,6}技术|技术输出|转化[^，；。]{0,6}成果")
_EVENT = re.compile(r"培训(?!基地|中心|机构)|举办|召开|参加(?!制定|起草|编制)|参与(?!制定|起草|编制)|活动|会议|论坛|"
                    r"研讨|交流|展会|展览|大赛|竞赛|对接会|科普|讲座|沙龙|路演")
_ENTERPRISE = re.compile(r"孵化|入驻|落户|高新技术企业|科技型中小企业|专精特新|瞪羚|独角兽|"
                         r"(?:新增|培育|引进|吸引|创办|创建|新创|设立|招引|引育)[^，；。]{0,12}企业")
_RESEARCH_GRANT = re.compile(r"(?:获得|承担|获批|新获|争取|立项)[^，；。]{0,12}(?:科技|科研|研究)(?:项目|课题|计划)|"
                             r"(?:科技|科研)项目")
_PAPER = re.compile(r"论文|SCI|SSCI|CSSCI|EI收录|期刊|专著|著作(?!权)|科技报告|学术报告|发表")
_PM_COUNT = re.compile(r"(?<!高)性能|参数|指标值|语言|类型|种类|模式|循环|寿命|次数|阵列|路数|通道|档位|精度|误差|"
                       r"准确率")
# A capability counted right before the number: `可处理不少于3种语言`, `筛选至少10种`.
_PM_VERB = re.compile(r"(?:可处理|处理|支持|兼容|筛选|切换|识别|检测|覆盖)(?:不少于|至少|不低于|达到|≥|多于|超过)?$")
_SALES = re.compile(r"销售|销量|出货|装机")

# Noun cues for the object families; the head noun of the first basket item decides.
_OBJECT_CUES: tuple[tuple[str, str], ...] = (
    # demonstration
    # a production system counted in lines (`建立一条500m3/d铜渣脱氯生产系统`) is a production line
    ("应用案例|案例|示范点|示范基地|示范线|示范工程|示范应用|应用示范|示范场景|应用场景|示范区|示范园|示范|场景|产线|生产线|中试线|生产系统|"
     r"试验线|种植基地|养殖基地|繁育基地|生产基地|基地|部署|景点|种植面积|推广面积|应用点|试点|车间", "demonstration"),
    # platform
    ("平台|实验室|研发机构|创新机构|服务机构|机构|研究院|研究所|工程中心|技术中心|中心|分中心|工作站|数据库|资源库|"
     "种质库|基因库|菌种库|项目库|酶库|库|研究网络|网络|场地面积|转化基地|培训基地|研发基地|创新基地|孵化器|"
     "众创空间|联盟|设计平台|测试平台|设施|观测场|监测点|监测站|观测站|站点|场所|展馆", "platform"),
    # deliverable
    ("报告|方案|规划|系统|软件|APP|App|app|小程序|数据集|数据|模型|协议|制度|管控平台|管理平台|信息平台|"
     "监测平台|数据平台|云平台|种质资源|地图|图谱|手册|白皮书|监测|对话系统|应用软件|信息化", "deliverable"),
    # product
    ("新产品|新工艺|新材料|新技术|新装备|新设备|新品种|新系统|新软件|新车型|新机型|新药|新制剂|新方法|新服务|"
     "产品|工艺|材料|装备|设备|装置|仪器|样机|机器人|品种|良种|种质|车型|机型|问题|制剂|药物|试剂|试剂盒|疫苗|"
     "菌株|配方|马达|电机|合金|零部件|部件|器件|组件|模块|芯片|传感器|催化剂|酶|方法|技术体系|整机|机身|"
     "电解系统|冶炼系统|焊接系统|制备系统|动力系统|驱动系统|制动系统|传动系统|液压系统|储能系统|"
     "成套技术|集成技术|关键技术|核心技术|技术(?=$|[、或和及与等])|药材|中药|化妆品|食品|饲料|肥料", "product"),
    # standard (a 工法, a construction method document, is a normative document like a 技术规程; README-frozen #15)
    (r"标准(?!化|要求)|规程|规范(?!化)|指南|专家共识|共识|工法", "standard"),
    # paper
    ("论文|专著|科技报告", "paper"),
    # talent (teams, posts)
    ("团队|岗位|就业岗位|人才|工作站", "talent"),
    # performance (counts of a capability)
    ("性能参数|参数|指标值|语言|类型|种类|模式|阵列|路数|通道|档位", "performance_metric"),
)
_OBJECT_RE = [(re.compile(p), c) for p, c in _OBJECT_CUES]

# Intellectual property (§9 #3–#9).
_IP_MODIFIER = re.compile(r"具有(?:自主)?知识产权(?:的)?|自主知识产权的")
_INV = re.compile(r"发明专利")
_UM = re.compile(r"实用新型|实用专利")
_DES = re.compile(r"外观设计")
_SW = re.compile(r"软件著作权|软著|著作权|版权|软件登记|集成电路布图")
_PV = re.compile(r"植物新品种权|品种权")
_IPR = re.compile(r"知识产权")
_PATENT = re.compile(r"专利")
_GENERIC_PATENT = re.compile(r"(?<!发明)(?<!新型)(?<!设计)(?<!实用)专利")
_APPLY = re.compile(r"申请|申报|提交|受理")
_GRANT = re.compile(r"授权|获得|获|取得|拥有")
_APPLY_AND_GRANT = re.compile(r"申请(?:及|和|与|并)(?:获得)?授权")

# Default by measure word when no cue decides.
_BY_UNIT = {
    "篇": "paper", "人": "talent", "名": "talent", "位": "talent", "人次": "event", "家": "enterprise",
    "户": "users_served", "次": "event", "场": "event", "场次": "event", "期": "event", "届": "event",
    "件": "product", "项": "product", "个": "product", "套": "deliverable", "台": "product", "款": "product",
    "种": "product", "部": "product", "类": "product", "份": "deliverable", "条": "demonstration",
    "处": "demonstration", "点": "demonstration", "座": "demonstration", "所": "platform", "通道": "performance_metric",
    "路": "performance_metric", "档": "performance_metric", "颗": "yield", "羽": "yield", "头": "yield", "只": "yield",
    "株": "yield", "辆": "yield", "例": "users_served", "批": "product",
}
_PERSON_UNITS = frozenset({"人", "名", "位", "人次"})
_TALENT_OK_UNITS = frozenset({"人", "名", "位", "个", "支", "人次"})
_EVENT_OK_UNITS = frozenset({"人次", "次", "场", "场次", "期", "届", "人", "名", "个"})


@dataclass(frozen=True)
class Decision:
    categories: tuple[str, ...]  # usually one; two for `申请及授权…` (§9 #6)
    cue: str | None  # the phrase that decided, for the metric
    from_unit: bool = False  # decided by the measure word alone (weak; may be overridden by inheritance)


def _base_unit(unit: str | None) -> str:
    return (unit or "").split("/")[0]


def ip_decision(context: str, inherited_status: str | None = None) -> Decision | None:
    """The IP rules on a noun phrase (already bracket-stripped); None when no IP is named."""
    text = _IP_MODIFIER.sub("", context)
    inv, um, des = bool(_INV.search(text)), bool(_UM.search(text)), bool(_DES.search(text))
    sw, pv, ipr = bool(_SW.search(text)), bool(_PV.search(text)), bool(_IPR.search(text))
    generic = bool(_GENERIC_PATENT.search(text))
    patent = inv or generic
    other = um or sw or des or pv
    if not (patent or other or ipr):
        return None
    if patent and (other or ipr):
        return Decision(("ip_any",), "知识产权")
    if other:
        return Decision(("ip_other",), "知识产权")
    if ipr:
        return Decision(("ip_any",), "知识产权")
    if _APPLY_AND_GRANT.search(text):
        return Decision(("patent_application", "patent_grant"), "专利")
    if _APPLY.search(text):
        return Decision(("patent_application",), "专利")
    if _GRANT.search(text):
        return Decision(("patent_grant",), "专利")
    return Decision((inherited_status or "patent_application",), "专利")


def head_phrase(text: str) -> str:
    """The head of a noun phrase: what follows the last `的` when something with a cue follows it."""
    text = strip_brackets(text)
    if "的" in text:
        tail = text.rsplit("的", 1)[1]
        if any(rx.search(tail) for rx, _ in _OBJECT_RE):
            return tail
    return text


_BASKET_OR = re.compile(r"或(?:者)?(?:在|于)?(?=[^，；。]{0,30}(?:发表|论文))")
_BASKET_SPLIT = re.compile(r"、|或者|或|以及|和|及|与|并|/|，|,")


def object_category(text: str) -> tuple[str, str] | None:
    """(category, cue) from the object-family nouns: first basket item with a cue, its last-ending cue."""
    head = head_phrase(text)
    for item in _BASKET_SPLIT.split(head):
        best: tuple[int, int, str, str] | None = None
        for rx, category in _OBJECT_RE:
            for m in rx.finditer(item):
                key = (m.end(), m.end() - m.start())
                if best is None or key > best[:2]:
                    best = (key[0], key[1], category, m.group())
        if best is not None:
            return best[2], best[3]
    return None


# `制订出…临床决策系统或获得新医疗器械注册证…1项`: alternatives led by their own verb; the first decides (§9 #41)
_VERB_ALTERNATIVE = re.compile(
    r"或(?:者)?(?=获得|获批|开发|研发|研制|制订|制定|建立|建成|形成|申请|发表|取得|完成|实施|引进|培养)"
)


def first_alternative(text: str) -> str:
    """The first of several verb-led alternatives, when it names something; else the whole text."""
    parts = _VERB_ALTERNATIVE.split(text)
    if len(parts) > 1 and (object_category(parts[0]) or _APPROVAL.search(parts[0]) or _has_ip(parts[0])):
        return parts[0]
    return text


def categorize(before: str, after: str, unit: str | None, family: str,
               previous: str | None = None, patent_status: str | None = None,
               previous_unit: str | None = None) -> Decision:
    """The category of a value from the words before it (``before``) and the noun phrase after it
    (``after``: number-first wording such as `培养1名副高级职称人才`), its unit and family, and the previous
    target's category in the same clause (a verb or noun that distributes over a list, §9 #9)."""
    before_s, after_s = first_alternative(strip_brackets(before)), strip_brackets(after)
    both = before_s + "，" + after_s
    base = _base_unit(unit)

    if family == u.MONEY:
        if _PROFIT.search(both):
            return Decision(("profit_tax",), "利润/利税")
        return Decision(("revenue",), "收入")
    if family == u.NONE and after_s:
        glued = object_category(after_s[:8])
        if glued is not None and glued[0] != "performance_metric":
            return Decision((glued[0],), glued[1])
    if family == u.DURATION and SERVICE_TERM.search(re.sub(r"(?:不少于|不低于|至少|≥|>=)\s*$", "", before_s)):
        return Decision(("talent",), "服务期限")
    if family == u.PHYSICAL and _PER_DAY_THROUGHPUT.match(unit or "") and "规格" not in before_s:
        return Decision(("yield",), "产能")
    if family in (u.PERCENT, u.POINTS, u.MULTIPLE, u.SCORE, u.GRADE, u.PHYSICAL, u.NONE, u.AMOUNT, u.DURATION,
                  u.AREA):
        if family == u.AREA:
            if _YIELD.search(before_s):
                return Decision(("yield",), "产能")
            if _DEMO_AREA.search(before_s) or base == "亩":
                return Decision(("demonstration",), "面积")
            if _PLATFORM_AREA.search(before_s):
                return Decision(("platform",), "面积")
        if family == u.PERCENT and not re.search(r"成本|损失|能耗|消耗", before_s):
            if _USERS_RATIO.search(before_s):
                return Decision(("users_served",), "增长")
            if _REVENUE_RATIO.search(before_s):
                return Decision(("revenue",), "增长")
        return Decision(("performance_metric",), None)
    if family == u.MASS:
        if _MASS_PARAMETER.search(before_s) and not _YIELD.search(before_s):
            return Decision(("performance_metric",), None)
        return Decision(("yield",), "产量")

    # Counts.
    person = base in _PERSON_UNITS
    if _APPROVAL.search(both) and not person:
        return Decision(("approval_certificate",), _APPROVAL.search(both).group())
    serves = _USERS.search(before_s) or (not _has_object(before_s) and _USERS.search(after_s))
    if serves and (not _TECH_TRANSFER.search(both) or person):
        return Decision(("users_served",), "服务")
    if _TECH_TRANSFER.search(both) and not person:
        return Decision(("tech_transfer",), "技术转移/成果转化")
    event = _EVENT.search(both)
    if (base in _EVENT_OK_UNITS and event and not re.search(r"团队|岗位", both)
            and (person or _EVENT.search(before_s))):
        return Decision(("event",), event.group())
    if base in ("家", "个", "户") and _ENTERPRISE.search(both):
        return Decision(("enterprise",), "企业")
    if not person and base in ("项", "个") and _RESEARCH_GRANT.search(both) and not _USERS.search(both):
        return Decision(("research_grant",), "科技项目")
    if base == "篇":
        # `获授权专利或在…期刊发表论文10篇以上`: one count over `A或B`; the first-named item decides (§9 #41,
        # README-frozen #11), even when the measure word belongs to the second
        first = _BASKET_OR.split(before_s, 1)[0]
        if len(first) < len(before_s) and _has_ip(first):
            return ip_decision(first, patent_status) or Decision(("paper",), "论文")
        return Decision(("paper",), "论文")
    if base in ("次", "场", "场次", "期", "届"):
        if _USERS.search(both) or re.search(r"咨询|服务|诊疗|检测", both):
            return Decision(("users_served",), "服务")
        if _PM_COUNT.search(before_s) or re.search(r"循环|测试|试验|寿命", before_s):
            return Decision(("performance_metric",), None)
        return Decision(("event",), "活动")
    if person:
        return Decision(("talent",), "人才")
    ip = ip_decision(before_s if _has_ip(before_s) else both, patent_status)
    if ip is not None:
        return ip
    if _PAPER.search(both) and base in ("部", "本", "册"):
        return Decision(("paper",), "论文")
    if base not in ("件", "篇", "项") and (_PM_COUNT.search(before_s) or _PM_VERB.search(before_s)):
        return Decision(("performance_metric",), None)
    if base in ("台", "套", "辆", "件", "吨", "头", "只", "羽", "颗", "株") and _SALES.search(before_s):
        return Decision(("yield",), "销量")
    if base in ("颗", "羽", "头", "只", "株", "台", "套", "辆", "件", "吨") and _YIELD.search(before_s):
        return Decision(("yield",), "产量")
    # number-first wording (`培养1名…人才`, `开发一种…材料`, `5—7种…质量标准`): the noun after the unit decides
    chosen = object_category(after_s) or object_category(before_s)
    if chosen is not None:
        return Decision((chosen[0],), chosen[1])
    if _PAPER.search(both):
        return Decision(("paper",), "论文")
    if previous is not None and (_base_unit(previous_unit) == base or not before_s.strip()):
        return Decision((previous,), None, from_unit=True)  # `申请…4件，实用新型专利2件`: the list goes on
    return Decision((_BY_UNIT.get(base, "product"),), None, from_unit=True)


# Counts that describe a system the sentence builds (issue #24): `建立电动装载机运行数据库，实现不少于10项电池数据、
# 500辆车辆运行数据入库，构建不少于3类典型工作曲线`, `研制的…多模态大模型，…信息模态数量不少于5种，训练数据集≧100万份`,
# `研制的焊接质量检测系统…，能够对气孔、裂纹…不少于4种缺陷进行检测`. Its modalities, records and kinds are parameters
# of that system, not deliverables of their own.
_BUILT_SYSTEM = re.compile(r"(?:建立|构建|研制|开发|建设|搭建|建成)[^。；;]{0,40}?"
                           r"(?:数据库|资源库|项目库|场景库|大模型|模型|系统|平台)")
_COMPONENT_UNITS = frozenset({"种", "份", "辆", "项", "类"})
_COMPONENT_CATEGORIES = frozenset({"product", "deliverable", "platform", "demonstration", "yield"})
# a new thing developed is counted for itself, even inside such a sentence
_NEW_OUTPUT = re.compile(r"新(?:产品|技术|工艺|材料|装备|设备|品种|方法)|关键技术|标准|专利|论文")


def system_component(earlier: str, noun: str, unit: str | None, category: str) -> bool:
    """True when a count of kinds, records or vehicles describes the system that an earlier piece of its sentence
    (``earlier``) builds; ``noun`` is the wording around the count."""
    if _base_unit(unit) not in _COMPONENT_UNITS or category not in _COMPONENT_CATEGORIES:
        return False
    return bool(_BUILT_SYSTEM.search(strip_brackets(earlier))) and not _NEW_OUTPUT.search(noun)


def _has_object(text: str) -> bool:
    return any(rx.search(text) for rx, _ in _OBJECT_RE)


def _has_ip(text: str) -> bool:
    return bool(_PATENT.search(text) or _SW.search(text) or _IPR.search(text) or _UM.search(text))


# Null-target cues (a clause or sentence with no value): the earliest decides.
_QUALITATIVE_CUES: tuple[tuple[str, str], ...] = (
    (r"技术转移|成果转化|转移转化|技术转让", "tech_transfer"),
    (r"知识产权|专利|软件著作权", "ip_any"),
    (r"标准(?!化)|规程|规范(?!化)", "standard"),
    (r"人才|团队|骨干", "talent"),
    (r"示范", "demonstration"),
    (r"平台|实验室|试验能力|检测能力|研发能力|设备|设施", "platform"),
    (r"效益|产业化|影响|推动|促进|带动|高质量发展|竞争力|水平", "impact"),
    (r"性能|精度|参数|指标|效率|功能|逼真度|准确率|稳定性|可靠性|响应", "performance_metric"),
    (r"产品|工艺|技术|材料|品种|成分|靶点", "product"),
)
_QUALITATIVE_RE = [(re.compile(p), c) for p, c in _QUALITATIVE_CUES]


def qualitative_category(text: str, default: str = "impact") -> str:
    """Category of a requirement stated without a number: the cue that appears first in the text."""
    text = strip_brackets(text)
    best: tuple[int, str] | None = None
    for rx, category in _QUALITATIVE_RE:
        m = rx.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), category)
    return best[1] if best else default
