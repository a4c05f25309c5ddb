"""Requirements stated without a number (indicator-taxonomy §7, S5, §9 #30–#33).

- *Non-binding* wording sets no obligation (S5): framing (`以…等形式为主`), encouragement (`鼓励…`,
  `积极…`), optional menus (`也可以包含…`). No target.
- *Applicant-defined* targets (`由申报单位根据项目实际情况设置`, `按获批复建设方案…执行`): one null
  `applicant_defined` target; the tracker takes the targets from the task book.
- *Implied one*: a single, discrete, verifiable thing to deliver or obtain with no number (`提供…分析研究
  报告`, `建立酶库`, `获得临床研究批准…或生产批件`) → `>= 1` with its natural measure word. Plural or
  unspecified things (`推出数字藏品、文创盲盒等`), capabilities and milestones stay null.
- *Predicates* that state a requirement without a value (`实现产业化应用`, `取得显著经济效益`,
  `兼容…协议`, `不允许有裂纹`, `电极消耗功率可调`) → a null target of the category they name.
- *Framing* pieces (`项目实施期内`, `性能指标达到：`) carry no requirement of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indicators.reading.categories import qualitative_category
from indicators.reading.spans import strip_brackets

NON_BINDING = re.compile(
    r"鼓励|积极(?!作用)|倡导|提倡|注重|可以包含|也可|可选择|为主$|等形式为主|(?:的|和)(?:作用|影响)$|原则上"
)
# 003 L71: `对…产生的积极作用和影响` is an assessment dimension, not an obligation.
NON_BINDING_DIMENSION = re.compile(r"^对.{0,60}(?:作用|影响)$")

APPLICANT_DEFINED = re.compile(
    r"由申报单位|申报单位(?:根据|依据|结合|自行)|根据项目实际情况(?:设置|填写|确定)|按(?:获)?批复|"
    r"按照?[^，；。]{0,10}(?:任务书|合同书?|建设方案)[^，；。]{0,10}(?:执行|考核)|自行(?:设置|确定|设定)"
)

FRAMING = re.compile(
    r"^(?:在)?(?:项目)?(?:实施|执行|研究|研发|开展|资助|建设|筹备和实施|筹备及实施)(?:期|期间|期内|过程中|周期内)(?:内)?$|"
    r"^在项目.{0,12}(?:期间|期内|过程中|周期内)$|^项目实施(?:后|期内|期间)$|^系统上线后$|^对标.{0,10}水平$|"
    r"(?:性能|产品|技术|主要)?指标(?:达到|满足|要求)[：:]?$|性能满足[：:]?$|^其中$|^同时$|^此外$|^项目实施期为.{0,6}$|"
    r"^[^，；。]{0,12}(?:方面|指标)[：:]?$"
)


@dataclass(frozen=True)
class Requirement:
    category: str
    group: str  # predicates of one group in one reading are one requirement (`产业化生产，…实现工业化生产`)
    implied_unit: str | None = None  # set for implied-one targets
    cue: str = ""


FINDING = "finding"  # a placeholder category: the words of the finding decide it

# Predicates, in order; `also_with_values` ones fire even in a piece that states a value.
_PREDICATES: tuple[tuple[str, str, str, bool], ...] = (
    # `实现产业化示范应用`: industrialisation reached is the outcome; the demonstration describes how (before `demo`)
    (r"(?:实现|推动|推进)产业化示范", "impact", "industrialise", False),
    (r"示范化|产业化示范|示范推广|示范引领|实现产品配套|配套应用|(?:形成|开展|实现)[^，；。]{0,10}(?:应用示范|示范应用)",
     "demonstration", "demo", False),
    (r"实现[^，；。]{0,8}(?:小试|中试|试产|量产)|自主制造|国产化|进口替代", "product", "make", True),
    (r"(?:具备|形成)[^，；。]{0,30}(?:生产|制备|制造|加工)[^，；。]{0,30}能力", "product", "make", False),
    (r"具备[^，；。]{0,20}(?:试验|检测|研发|测试|验证)能力|(?:试验|检测|测试|研发)能力(?:建设)?|"
     r"完善[^，；。]{0,20}(?:设备|设施|条件)", "platform", "capability", False),
    # `形成批量生产和销售` reads as industrialisation reached (README-frozen #8)
    (r"(?:实现|推动|推进)[^，；。]{0,6}(?:产业化|工业化|规模化|商业化)|(?:产业化|工业化|规模化|商业化)(?:应用|生产|推广|发展)|"
     r"批量(?:生产|销售|供货|应用)", "impact", "industrialise", False),
    (r"取得[^，；。]{0,12}效益|(?:经济|社会|生态)效益", "impact", "benefit", False),
    (r"影响力|知名度|竞争力", "impact", "influence", False),
    # `对产业发展有较大学术贡献`: a contribution required without a measure
    (r"(?:较大|重大|重要|显著|突出)的?(?:学术|科学|社会)?贡献", "impact", "contribution", False),
    # `提供创业辅导、技术创新、投融资和资源对接等服务`: services to provide, with no count
    (r"提供[^，；。]{0,40}服务$", "users_served", "service", False),
    (r"(?:提升|提高)[^，；。]{0,16}水平", "impact", "level", False),
    (r"达到[^，；。]{0,20}(?:水平|要求|标准)|优于|支持|兼容|不允许|不得|不起|无(?:裂纹|破损|腐蚀|泄漏|缺陷)|"
     r"可调|可控|不上升|不下降|不增加|不降低|保持不变|"
     # `无废渣排放`, `实现长周期连续稳定运行`: an operating requirement with no figure (`确保…稳定运行` is a purpose)
     r"无[^，；。]{0,6}排放|零排放|实现[^，；。]{0,10}(?:稳定|连续|可靠)运行", "performance_metric", "spec", False),
    # Compliance with a named standard (`尺寸精度满足ANSI H35.2标准要求`, `表面光亮度达BA板标准`,
    # `检测符合…质量标准`): a requirement with no number; a bare `满足…的要求` states a purpose and is left out.
    (r"(?:满足|符合|达)[^，；。的]{0,30}标准", "performance_metric", "spec", False),
    # …or with a named regulation (`整车满足欧盟ECE R152.01要求`, `满足欧盟ECE碰撞安全要求`): Latin capitals name it
    (r"(?:满足|符合)[^，；。的]{0,12}[A-Z]{2,}[^，；。的]{0,20}要求", "performance_metric", "spec", False),
    # Functions realised, listed by name (`实现辅助用餐、大小便护理…等功能`).
    (r"(?:实现|具备|具有)[^，；。]{2,60}功能", "performance_metric", "function", False),
    # A cost or duration lowered without a figure (`降低患者整体诊疗费用`, `显著缩短…的加工时间`).
    (r"(?:降低|减少|节约|节省|缩短)[^，；。]{0,16}(?:成本|费用|时间|周期|能耗|损耗)", "performance_metric", "reduce",
     False),
    (r"(?:培养|引进|加强)[^，；。]{0,40}(?:高层次|领军|拔尖|骨干|青年|创新|认定)[^，；。]{0,20}人才",
     "talent", "talent", False),
    # A research finding stated as an outcome (`提出天然活性成分的作用机制或靶点`, `发现具有新功能特征的活性成分`,
    # `揭示…形成机理`): one null target each, of the category its words name (`categories.qualitative_category`)
    (r"(?:发现|提出|揭示|阐明|阐释)[^，；。]{0,30}(?:机制|机理|靶点|规律|成分)", FINDING, "finding", False),
    # `剥落腐蚀等级不低于EB级`: a bound on a grade that is not a number
    (r"(?:不低于|不高于|不少于|不超过|优于|达到)[ \t]*[A-Za-z]", "performance_metric", "grade", False),
)
_PREDICATE_RE = [(re.compile(p), c, g, w) for p, c, g, w in _PREDICATES]
# `完成基于EMB系统的智能底盘域控制器的样件研发`, `完成…样机研制`: R&D work on a prototype completed, a milestone with
# no count; a technology developed (`完成…制备技术开发`) is still a thing delivered
MILESTONE = re.compile(r"^(?:项目实施期内)?完成[^，；。]{2,60}?(?<!技术|工艺|方法|体系)(?:的)?"
                       r"(?:研发|研制|开发|试制|设计)(?:工作)?$")
_REPORTING = re.compile(r"情况$")
# `…销售收入及其增长、利润及其增长、税收等经济指标情况`: economic indicators listed by name are money outcomes
_REPORTING_CUES = ((re.compile(r"知识产权|专利|著作权"), "ip_any"), (re.compile(r"标准|规程|规范"), "standard"),
                   (re.compile(r"论文"), "paper"),
                   (re.compile(r"经济指标|产值|销售收入|营业收入|营收|利润|利税|税收"), "revenue"))

_IMPLIED_VERB = re.compile(
    r"提供|形成|建立|建成|建设|研发|研制|开发|完成|获得|获批(?!准)|取得|制定|制订|编制|构建|搭建|打造|出具|提交|育成|选育|"
    r"组建|设立|得到|推出|通过(?=[^，；。]{0,20}(?:审批|认证|审定|备案|验收|评价))|获|"
    # `签署…合作协议`, `签订…协议`: an agreement signed is delivered; `升级…小程序`: an app delivered in a new version
    r"签署|签订|升级"
)
_TRAILING = re.compile(r"(?:并(?:投入|投产|运行|使用)[^，；。]{0,4})?$")
_TRAILING_WORK = re.compile(r"(?:的)?(?:研发|开发|建设|研制|申报工作|申报|工作|编制|制定)$")
_PLURAL = re.compile(r"等$|等[^，；。]{0,2}$|一批|系列|若干|多个|多种|各类|各种|相关[^，；。]{0,4}等")
_IMPLIED_OBJECTS: tuple[tuple[str, str, str], ...] = (
    (r"(?:研究|分析|评估|评价|咨询|可行性)?报告$", "deliverable", "份"),
    (r"(?:方案|规划|计划书|路线图)$", "deliverable", "份"),
    (r"制度$", "deliverable", "项"),
    (r"协议$", "deliverable", "份"),
    (r"数据(?:集)?$", "deliverable", "份"),
    (r"模型$", "deliverable", "个"),
    (r"(?:管控|管理|信息|监测|数据|云|智慧[^，；。]{0,8})平台$", "deliverable", "套"),
    (r"平台$", "platform", "个"),
    (r"(?:智能|软件|信息|管理|监测|检测|决策|分析|管控|服务|数据|对话|知识|控制|监控|调度|预警|导览|导航|支付|"
     r"溯源|追溯|医疗)系统$", "deliverable", "套"),
    (r"系统$", "product", "套"),
    (r"软件$", "deliverable", "套"),
    (r"(?:APP|App|app|小程序)$", "deliverable", "个"),  # an app is counted as one (`应用软件1个`)
    (r"库$|网络$", "platform", "个"),
    (r"(?:实验室|工程中心|技术中心|研发中心|中心|研发机构|工作站|研究院)$", "platform", "个"),
    (r"(?:培训|转化|研发|创新)基地$", "platform", "个"),
    (r"基地$", "demonstration", "个"),
    (r"(?:示范线|生产线|产线|中试线|试验线)$", "demonstration", "条"),
    (r"(?:示范工程|工程示范|示范点|示范区|示范园)$", "demonstration", "个"),
    (r"(?:受理号|备案号|登记号)$", "approval_certificate", "个"),
    (r"(?:批件|批准|许可|备案|注册证|认证|证书|审批|批准文号|受理)$", "approval_certificate", "项"),
    (r"样机$", "product", "台"),
    (r"(?:样件|样品)$", "product", "件"),
    (r"(?:马达|电机|车型|机型|整车)$", "product", "款"),
    (r"(?:装备|设备|装置|机器人)$", "product", "套"),
    (r"材料$", "product", "种"),
    (r"(?:新产品|产品|技术|工艺|方法|品种)$", "product", "项"),
    (r"团队$", "talent", "个"),
    # `形成自主知识产权`: IP of any kind; `打造“桂林故事”IP`: a cultural brand, a product of the project
    (r"知识产权$", "ip_any", "项"),
    (r"IP$", "product", "个"),
    # `打造山水实景街区`: a scene or street block built is a demonstration site
    (r"(?:街区|场景|景区)$", "demonstration", "个"),
    (r"(?:标准|规程|规范)$", "standard", "项"),
)
_IMPLIED_RE = [(re.compile(p), c, unit) for p, c, unit in _IMPLIED_OBJECTS]


def is_non_binding(text: str) -> bool:
    t = strip_brackets(text).strip()
    return bool(NON_BINDING.search(t) or NON_BINDING_DIMENSION.search(t))


def is_framing(text: str) -> bool:
    return bool(FRAMING.search(strip_brackets(text).strip(" ：:")))


def predicates(text: str, has_values: bool) -> list[Requirement]:
    """Null requirements stated by a piece of a clause."""
    t = strip_brackets(text)
    out: list[Requirement] = []
    if APPLICANT_DEFINED.search(t):
        return [Requirement("applicant_defined", "applicant", cue=APPLICANT_DEFINED.search(t).group())]
    if not has_values and MILESTONE.search(t.strip()):
        return [Requirement("product", "milestone", cue=t)]
    for rx, category, group, also_with_values in _PREDICATE_RE:
        if has_values and not also_with_values:
            continue
        m = rx.search(t)
        if m:
            if category == FINDING:
                category = qualitative_category(m.group().rsplit("的", 1)[-1], default="product")  # its head noun
            out.append(Requirement(category, group, cue=m.group()))
            break
    if not out and not has_values and _REPORTING.search(t):
        for rx, category in _REPORTING_CUES:
            if rx.search(t):
                out.append(Requirement(category, "reporting", cue=t))
                break
    return out


def implied_one(text: str, verb_carried: bool = False) -> list[Requirement]:
    """Implied-one targets for a piece with no number (§7), or []. A head joined by `及` names several
    things (`…普查数据及引种驯化或繁育基地`): one target each."""
    t = strip_brackets(text).strip()
    if not t or _PLURAL.search(t) or "能力" in t:
        return []
    verb = _IMPLIED_VERB.search(t)
    if verb is None and not verb_carried:
        return []
    if MILESTONE.search(t):
        return []  # `完成…样件研发`: the R&D work done is a milestone, not a thing delivered (README-frozen #7)
    head = t[verb.end():] if verb else t
    job_suffix = bool(re.search(r"申报工作$|申报$", head))
    head = _TRAILING_WORK.sub("", _TRAILING.sub("", head))
    if "的" in head:
        head = head.rsplit("的", 1)[1] or head
    out = []
    for part in re.split(r"以及|及(?!其)", head):  # `…及其制备技术` is one thing
        # a basket (`新技术、新方法和操作规程`) is one thing: its first-named item with an object decides (§9 #41)
        # …except a filing or approval at the end, which governs the whole basket (`生产技术和质量标准备案`)
        approval = next(((c, unit) for rx, c, unit in _IMPLIED_RE if c == "approval_certificate" and rx.search(part)),
                        None)
        if approval:
            out.append(Requirement(approval[0], "implied", "项" if job_suffix else approval[1], cue=part))
            continue
        for item in re.split(r"、|或者|或|和|与|/", part):
            found = next(((c, unit) for rx, c, unit in _IMPLIED_RE if rx.search(item)), None)
            if found:
                out.append(Requirement(found[0], "implied", "项" if job_suffix else found[1], cue=part))
                break
    return out


_HEAD_BUILD = re.compile(r"^(?:在)?(?:项目)?(?:实施期内|实施期间)?(?:建成|建立|建设|构建|搭建|形成|新建)")


def head_object(text: str, tail: str) -> Requirement | None:
    """An implied object at the head of a piece that also states values for its modifiers:
    `建成年产1万吨…的生产示范线` (a line of stated capacity), `建立覆盖全区3个…机构的协同研究网络`.
    ``tail`` is the text after the last value of the piece; the object must end it."""
    t = strip_brackets(text).strip()
    if not _HEAD_BUILD.match(t):
        return None
    head = strip_brackets(tail).strip(" ，、。；")
    if "的" in head:
        head = head.rsplit("的", 1)[1]
    if not head or any(ch.isdigit() for ch in head):
        return None
    for rx, category, unit in _IMPLIED_RE:
        if category in ("platform", "demonstration") and rx.search(head):
            return Requirement(category, "implied", unit, cue=head)
    return None
