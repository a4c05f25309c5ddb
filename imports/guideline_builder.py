"""Build the node tree of a guideline from its classified lines.

The hierarchy is not fixed: each heading *kind* (plan, topic, type, section, paren_cn, direction, subdirection,
paren_n, item, row, h1…h9) takes the place it first appears at. A heading of a kind already open closes it and
everything below (a sibling); a new kind opens below the current heading (a child). That gives 000's
类别 → 城市 → 方向 → 子方向, 001's 专题 → 方向 → 子方向, 002's 计划 → [一、] → 方向 → 子方向 → （N）, 003's
一、 → `1.` and 004's 计划 → 项目类型 → 方向 without per-document rules.

Leaves: a node without child headings that is a direction (方向, 子方向, （N）, list item, table row), or carries
labelled fields, or has a sibling of its kind that does (002 NSF 七、八 follow 一、…六、). 002's 尖锋 fields and
003's 一、项目定位 are therefore not leaves.

Lost headings (002): a paragraph that starts with a space and does not follow a heading, or a second
`主要内容：` in a direction that already has its fields, stands for a heading lost in the source. The heading is
rebuilt as a placeholder (`方向17（标题缺失）`) from its neighbours and flagged; see `_lost_heading`.
Fields belong to the innermost open heading; a heading-form label (`（三）考核指标`, 003 `四、考核要求`) closes
headings of its kind and gives the field to the parent, which is how a document-wide block arises. A leaf
without its own 考核指标 inherits the nearest ancestor's block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from imports.guideline_clauses import BlockLine, check_numbering, content_items, segment_block
from imports.guideline_lines import LineInfo, LineType, classify
from imports.guideline_model import (
    Clause,
    ContentItem,
    Field,
    FieldKind,
    Flag,
    FlagKind,
    GuidelineReadError,
    Node,
    ParsedGuideline,
    SelectionRule,
    SourceText,
)
from imports.guideline_text import CN_DIGITS, int_to_cn

DIRECTION_KINDS = frozenset({"direction", "subdirection", "paren_n", "item", "row"})
# Bare lines taken as group headings without further evidence (001 L368 `高新技术企业培育专项`, 002 L988).
GROUP_ENDINGS = ("专项", "项目", "计划")
# Bare lines before the first heading that are not part of the title (003 L1 `附件1`, 004 L1 `前 言`).
NOT_A_TITLE = re.compile(r"^(?:附件\s*\d*|前\s*言|目\s*录|说\s*明)$")
# A lost plan heading named in its surviving intro: 002 L1 `…实施“尖锋”行动计划。`, L18 `…组织实施重点研发计划，…`
PLAN_MENTION = re.compile(r"实施(“[^”]{1,10}”行动计划|[\u4e00-\u9fff]{2,12}?计划)")
# Why a leaf has no indicators: 002 L704 `具体申报通知另行发布。`, 004 L124 `（具体申报事项另行通知）`
DETAILS_PENDING = re.compile(r"另行(?:发布|通知)")
ORPHAN_SHARE = 0.05  # above this share of indented lines, indentation is layout, not a lost-heading trace
PARAGRAPH_LENGTH = 40
LOST = "（标题缺失）"
LIST_TITLE_END = "；;。 "  # 003 L15 `1. 超高清显示、液晶触显领域关键技术；`: the list separator is no part of a title


@dataclass(eq=False)
class _FieldDraft:
    kinds: tuple[FieldKind, ...]
    label: str | None
    line: int
    values: list[BlockLine] = field(default_factory=list)

    @property
    def labelled(self) -> bool:
        return self.label is not None

    def text(self) -> str:
        return "\n".join(v.value for v in self.values if v.value)


@dataclass(eq=False)
class _Draft:
    kind: str
    title: str
    marker: str | None
    number: int | None
    line: int
    parent: _Draft | None = None
    lost: bool = False
    untitled_body: bool = False  # 004 项目类型6: its `方向：` line is its body
    children: list[_Draft] = field(default_factory=list)
    fields: list[_FieldDraft] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    path: tuple[str, ...] = ()

    @property
    def direction_like(self) -> bool:
        return self.kind in DIRECTION_KINDS

    def labelled_fields(self) -> list[_FieldDraft]:
        return [f for f in self.fields if f.labelled]

    def has_field(self, kind: FieldKind) -> bool:
        return any(kind in f.kinds for f in self.labelled_fields())

    @property
    def numeral_style(self) -> str:
        return _numeral_style(self.marker)


class TreeBuilder:
    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.infos = [classify(number, raw) for number, raw in enumerate(source.lines, 1)]
        self.root = _Draft("root", source.name, None, None, 0)
        self.stack: list[_Draft] = [self.root]
        self.drafts: list[_Draft] = []
        self.open: _FieldDraft | None = None
        self.flags: list[Flag] = list(source.warnings)
        self.title_parts: list[str] = []
        self.seen_heading = False
        self.after_heading = False
        self.numbered: list[_Draft] = []  # headings and heading-form labels, for the numbering check
        self.style_kinds: dict[str, str] = {}  # .docx heading style (`h2`) → heading kind seen with it
        text_lines = [i for i in self.infos if i.type is not LineType.BLANK]
        indented = sum(1 for i in text_lines if i.leading_space)
        self.orphans_possible = bool(text_lines) and indented / len(text_lines) <= ORPHAN_SHARE

    # --- the line loop ------------------------------------------------------------------------------------

    def build(self) -> ParsedGuideline:
        for index, info in enumerate(self.infos):
            if info.type is LineType.BLANK:
                continue
            info = self._apply_hint(info)
            handler = {
                LineType.HEADING: self._heading, LineType.LABEL: self._label,
                LineType.LABEL_HEADING: self._label_heading, LineType.PAREN_N: self._paren_n,
                LineType.LIST_ITEM: self._list_item, LineType.BARE: self._bare,
            }.get(info.type, self._text)
            handler(info, index)
        if not self.drafts:
            raise GuidelineReadError(
                f"“{self.source.name}”中未识别到任何标题（如“一、”“方向1：”“子方向一：”“计划一：”），无法解析指南结构")
        return _Finisher(self).finish()

    def _apply_hint(self, info: LineInfo) -> LineInfo:
        """.docx hints: `row:N` makes a table row's direction cell a heading; `hN` (heading style N) makes an
        unnumbered line a heading of the kind numbered headings in that style have, else of kind `hN`. A bare
        `…专项` line keeps the text rule (its own kind `topic`): style levels are less reliable than that."""
        hint = self.source.hints.get(info.number)
        if not hint:
            return info
        plain = info.type in (LineType.TEXT, LineType.BARE, LineType.LIST_ITEM, LineType.PAREN_N,
                              LineType.FOCUS_AREA)
        if hint.startswith("row"):
            if not plain:
                return info
            number = int(hint.split(":", 1)[1]) if hint[3:4] == ":" and hint[4:].isdigit() else None
            title = info.text.rstrip(LIST_TITLE_END)
            untitled = replace(info, type=LineType.HEADING, kind="direction", marker=None, num=None, title=info.text)
            # a sentence of clauses, not a long list-item title (003 `…特种纸生产技术。`, `…监测设备研发，…技术；`)
            if untitled.untitled_direction and "。" in info.text and "，" in info.text:
                # a direction cell that holds body prose (004 `支持科技人员围绕…`, a `方向：` line in the .txt) is the
                # content of its section, which is the direction: the .txt and the table name it alike
                return untitled
            return replace(info, type=LineType.HEADING, kind="row", marker=None, num=number, title=title)
        if info.type is LineType.HEADING and info.kind:
            self.style_kinds.setdefault(hint, info.kind)
        elif (info.type is LineType.TEXT and not info.unknown_numbering
              or info.type is LineType.BARE and not info.text.endswith(GROUP_ENDINGS)):
            kind = self.style_kinds.get(hint, hint)
            return replace(info, type=LineType.HEADING, kind=kind, marker=None, num=None, title=info.text)
        return info

    def _heading(self, info: LineInfo, index: int) -> None:
        if self._is_indicator_group(info):
            self._text(info, index)  # 003 L63 `（一）技术指标。` groups the indicators of an open block
            return
        self.open = None
        if info.untitled_direction:
            self._untitled_direction(info)
            return
        self._push(_Draft(info.kind or "section", info.title or "", info.marker, info.num, info.number))
        if not info.title:
            self.stack[-1].flags.append(Flag(FlagKind.EMPTY_FIELD, info.number,
                                             f"第{info.number}行标题“{info.text}”缺少标题文字"))
        self.seen_heading = self.after_heading = True

    def _is_indicator_group(self, info: LineInfo) -> bool:
        return (info.kind == "paren_cn" and info.marker is not None and self.open is not None
                and FieldKind.INDICATORS in self.open.kinds and (info.title or "").rstrip("。.").endswith("指标"))

    def _untitled_direction(self, info: LineInfo) -> None:
        owner = self.stack[-1]
        owner.untitled_body = True
        owner.flags.append(Flag(FlagKind.UNTITLED_DIRECTION, info.number,
                                f"第{info.number}行“方向：”后是正文而非标题，按所属“{owner.title}”作为方向处理"))
        self._open_field(owner, (FieldKind.CONTENT,), info.marker, info.number, info.title or "", info.raw)
        self.after_heading = False

    def _push(self, draft: _Draft) -> None:
        kinds = [d.kind for d in self.stack]
        if draft.kind in kinds[1:]:
            del self.stack[kinds.index(draft.kind, 1):]
        draft.parent = self.stack[-1]
        draft.parent.children.append(draft)
        self.stack.append(draft)
        self.drafts.append(draft)
        self.numbered.append(draft)

    def _label(self, info: LineInfo, index: int) -> None:
        top = self.stack[-1]
        if FieldKind.CONTENT in info.field_kinds and self._repeats_content(top):
            self._lost_sibling(info, top)
        elif self._is_orphan(info):
            self._lost_heading(info, index)
        owner = self.stack[-1]
        if owner is self.root:
            self.flags.append(Flag(FlagKind.UNEXPECTED_FIELD, info.number,
                                   f"第{info.number}行“{info.label}”出现在任何标题之前，按全文通用字段处理"))
        elif any(f.label == info.label for f in owner.fields):
            owner.flags.append(Flag(FlagKind.UNEXPECTED_FIELD, info.number,
                                    f"第{info.number}行“{info.label}”在“{owner.title}”中重复出现"))
        self._open_field(owner, info.field_kinds, info.label, info.number, info.value, info.raw)
        self.after_heading = False

    def _label_heading(self, info: LineInfo, index: int) -> None:
        kinds = [d.kind for d in self.stack]
        if info.kind in kinds[1:]:
            del self.stack[kinds.index(info.kind, 1):]
        # 003 `四、考核要求` is no node, but 五、 follows it: keep its number in the sequence
        self.numbered.append(_Draft(info.kind or "", info.label or "", info.marker, info.num, info.number,
                                    parent=self.stack[-1]))
        self._open_field(self.stack[-1], info.field_kinds, info.label, info.number, "", info.raw)
        self.after_heading = True

    def _open_field(self, owner: _Draft, kinds: tuple[FieldKind, ...], label: str | None, line: int,
                    value: str, raw: str) -> None:
        draft = _FieldDraft(kinds, label, line)
        if value:
            draft.values.append(BlockLine(line, value, raw))
        owner.fields.append(draft)
        self.open = draft

    def _paren_n(self, info: LineInfo, index: int) -> None:
        following = self._next_nonblank(index)
        if following and following.type is LineType.LABEL and FieldKind.CONTENT in following.field_kinds:
            self._heading(replace(info, type=LineType.HEADING, kind="paren_n"), index)
        else:
            self._text(info, index)

    def _list_item(self, info: LineInfo, index: int) -> None:
        if (self.open and self.open.labelled) or not self.seen_heading:
            self._text(info, index)
            return
        title = (info.title or "").rstrip(LIST_TITLE_END)
        self._heading(replace(info, type=LineType.HEADING, kind="item", title=title), index)

    def _bare(self, info: LineInfo, index: int) -> None:
        if not self.seen_heading and not self.drafts:
            if NOT_A_TITLE.match(info.text):
                self._text(info, index)
            else:
                self.title_parts.append(info.text)
            return
        following = self._next_nonblank(index)
        empty_label = self.open is not None and self.open.labelled and not self.open.values
        if not empty_label and info.text.endswith(GROUP_ENDINGS):
            self._heading(replace(info, type=LineType.HEADING, kind="topic", title=info.text), index)
        elif not empty_label and following and following.type is LineType.HEADING:
            self._heading(replace(info, type=LineType.HEADING, kind="topic", title=info.text), index)
            self.stack[-1].flags.append(Flag(FlagKind.UNNUMBERED_HEADING, info.number,
                                             f"第{info.number}行“{info.text}”无编号，按分组标题处理"))
        else:
            self._text(info, index)

    def _text(self, info: LineInfo, index: int) -> None:
        labelled_open = self.open is not None and self.open.labelled
        if info.unknown_numbering and not labelled_open:
            target = self.stack[-1].flags if self.stack[-1] is not self.root else self.flags
            target.append(Flag(FlagKind.UNKNOWN_NUMBERING, info.number,
                               f"第{info.number}行“{info.text[:12]}”的编号形式无法识别，按正文处理"))
        if self._is_orphan(info):
            self._lost_heading(info, index)
            self.open = None  # the paragraph belongs to no field before it, whether its heading is rebuilt or not
        if self.open is not None:
            self.open.values.append(BlockLine(info.number, info.text, info.raw))
        else:
            self._open_field(self.stack[-1], (FieldKind.CONTENT,), None, info.number, info.text, info.raw)
        self.after_heading = False

    def _next_nonblank(self, index: int) -> LineInfo | None:
        return next((i for i in self.infos[index + 1:] if i.type is not LineType.BLANK), None)

    # --- lost headings (002) -------------------------------------------------------------------------------

    def _repeats_content(self, top: _Draft) -> bool:
        """A second 主要内容 in a direction whose fields are complete (002 L459 after 方向16's 申报要求)."""
        labelled = top.labelled_fields()
        return (top.direction_like and any(FieldKind.CONTENT in f.kinds for f in labelled)
                and any(FieldKind.CONTENT not in f.kinds for f in labelled))

    def _is_orphan(self, info: LineInfo) -> bool:
        """An indented paragraph that is not the body of the heading before it (002 L2, L17, L18, L459)."""
        if not (self.orphans_possible and info.leading_space) or self.after_heading:
            return False
        if info.type is LineType.LABEL:
            return FieldKind.CONTENT in info.field_kinds
        return "。" in info.text or len(info.text) > PARAGRAPH_LENGTH

    def _lost_sibling(self, info: LineInfo, top: _Draft) -> None:
        number = top.number + 1 if top.number is not None else None
        self._push_lost(info, top.kind, number, top.numeral_style,
                        f"第{info.number}行在“{top.title}”的字段之后又出现“{info.label}”")

    def _lost_heading(self, info: LineInfo, index: int) -> bool:
        """Rebuild the heading of an orphan paragraph; False when there is no evidence for its form."""
        top = self.stack[-1]
        mention = PLAN_MENTION.search(info.text)
        if mention:  # 002 L1, L18
            self._push_lost(info, "plan", None, "cn", f"第{info.number}行段落提到“{mention.group(1)}”",
                            title=mention.group(1) + LOST)
            return True
        if top is not self.root and top.number is not None:  # 002 L17 after 八、海洋经济
            self._push_lost(info, top.kind, top.number + 1, top.numeral_style,
                            f"第{info.number}行段落接在“{top.title}”之后，且缩进开头")
            return True
        following = next((i for i in self.infos[index + 1:] if i.type is LineType.HEADING), None)
        if following is not None and following.num is not None and following.num > 1:  # 002 L2 before 二、
            self._push_lost(info, following.kind or "section", following.num - 1,
                            _numeral_style(following.marker),
                            f"第{info.number}行段落位于“{following.text}”之前，且缩进开头")
        else:
            top.flags.append(Flag(FlagKind.LOST_HEADING, info.number,
                                  f"第{info.number}行段落缩进开头且不紧接标题，疑似缺失标题，暂按正文处理"))
            return False
        return True

    def _push_lost(self, info: LineInfo, kind: str, number: int | None, style: str, evidence: str,
                   title: str | None = None) -> None:
        title = title or _stem(kind, number, style) + LOST
        draft = _Draft(kind, title, None, number, info.number, lost=True)
        self.open = None
        self._push(draft)
        draft.flags.append(Flag(FlagKind.LOST_HEADING, info.number,
                                f"原文缺少标题行：{evidence}，已补为“{title}”"))
        self.seen_heading = True


def _numeral_style(marker: str | None) -> str:
    return "cn" if marker and any(ch in CN_DIGITS + "十" for ch in marker) else "digit"


def _stem(kind: str, number: int | None, style: str) -> str:
    """The marker a lost heading would have had: `方向17`, `九、`, `（三）`."""
    if kind in ("section", "paren_cn", "plan", "topic"):
        style = "cn"
    numeral = "" if number is None else int_to_cn(number) if style == "cn" else str(number)
    return {"direction": f"方向{numeral}", "subdirection": f"子方向{numeral}", "section": f"{numeral}、",
            "paren_cn": f"（{numeral}）", "paren_n": f"（{numeral}）", "type": f"项目类型{numeral}",
            "plan": f"计划{numeral}", "topic": f"专题{numeral}", "item": f"{numeral}."}.get(kind, numeral)


class _Finisher:
    """Turns drafts into frozen nodes: leaves, numbering checks, paths, fields, clauses, inheritance."""

    def __init__(self, builder: TreeBuilder) -> None:
        self.builder = builder
        self.drafts = builder.drafts
        self.blocks: dict[int, tuple[list[Clause], list[SelectionRule]]] = {}

    def finish(self) -> ParsedGuideline:
        leaves = {id(d) for d in self.drafts if self._is_leaf(d)}
        self._check_numbers()
        self._assign_paths()
        root_clauses, root_rules = self._block(self.builder.root)
        nodes = tuple(self._node(d, id(d) in leaves) for d in self.drafts)
        doc_fields = tuple(self._fields(self.builder.root))
        flags = self.builder.flags + self.builder.root.flags + [f for n in nodes for f in n.flags]
        flags.extend(f for c in root_clauses for f in c.flags)
        title = "".join(self.builder.title_parts) or None
        ordered = sorted(dict.fromkeys(flags), key=lambda f: (f.line is None, f.line or 0))
        return ParsedGuideline(self.builder.source.name, title, nodes, tuple(ordered), doc_fields,
                               tuple(root_clauses))

    def _is_leaf(self, draft: _Draft) -> bool:
        if draft.children:
            return False
        if _leafy(draft):
            return True
        siblings = draft.parent.children if draft.parent else []
        return any(_leafy(s) for s in siblings if s.kind == draft.kind and not s.children)

    def _check_numbers(self) -> None:
        last_of_kind: dict[str, int] = {}
        previous_sibling: dict[tuple[int, str], _Draft] = {}
        for draft in self.builder.numbered:
            if draft.number is None:
                continue
            key = (id(draft.parent), draft.kind)
            before = previous_sibling.get(key)
            label = draft.marker or draft.title
            if before is not None and before.number is not None:
                if draft.number > before.number + 1:
                    draft.flags.append(Flag(FlagKind.NUMBERING_GAP, draft.line,
                                            f"第{draft.line}行“{label}”编号跳号：上一个是第{before.number}号"))
                elif draft.number <= before.number:
                    draft.flags.append(Flag(FlagKind.NUMBERING_DUPLICATE, draft.line,
                                            f"第{draft.line}行“{label}”编号重复或倒退：上一个是第{before.number}号"))
            elif draft.number not in (1, last_of_kind.get(draft.kind, 0) + 1):
                draft.flags.append(Flag(FlagKind.NUMBERING_GAP, draft.line,
                                        f"第{draft.line}行“{label}”是同级第一个，但编号不是1"))
            previous_sibling[key] = draft
            last_of_kind[draft.kind] = draft.number

    def _assign_paths(self) -> None:
        for draft in self.drafts:
            parent = draft.parent
            title = draft.title
            taken = {c.path[-1] for c in (parent.children if parent else []) if c.path}
            if title in taken:
                draft.flags.append(Flag(FlagKind.NUMBERING_DUPLICATE, draft.line,
                                        f"第{draft.line}行标题“{title}”与同级标题重复，已加注行号以区分"))
                title = f"{title}（第{draft.line}行）"
            draft.path = (parent.path if parent else ()) + (title,)

    def _fields(self, draft: _Draft) -> list[Field]:
        result = []
        for f in draft.fields:
            text = f.text()
            if f.labelled and not text:
                draft.flags.append(Flag(FlagKind.EMPTY_FIELD, f.line, f"第{f.line}行“{f.label}”没有内容"))
            result.extend(Field(kind, f.label, text, f.line) for kind in f.kinds)
        return result

    def _block(self, draft: _Draft) -> tuple[list[Clause], list[SelectionRule]]:
        if id(draft) not in self.blocks:
            lines = [v for f in draft.labelled_fields() if FieldKind.INDICATORS in f.kinds for v in f.values]
            segmented = segment_block(lines)
            numbering = check_numbering(segmented.clauses)
            draft.flags.extend(segmented.flags + numbering)
            self.blocks[id(draft)] = (segmented.clauses, segmented.rules)
        return self.blocks[id(draft)]

    def _node(self, draft: _Draft, leaf: bool) -> Node:
        fields = self._fields(draft)
        items, rules = self._content(draft)
        clauses, block_rules = self._block(draft)
        own = next((f.line for f in draft.labelled_fields() if FieldKind.INDICATORS in f.kinds), None)
        inherited_from = None
        if leaf and own is None:
            owner = self._block_owner(draft)
            if owner is None:
                draft.flags.append(self._missing_block(draft))
            else:
                clauses, block_rules = self._block(owner)
                inherited_from = owner.path if owner is not self.builder.root else ()
        if not leaf and draft.children:
            self._flag_container_fields(draft)
        return Node(draft.path, draft.path[-1], draft.kind, draft.marker, draft.number, draft.line, leaf,
                    tuple(fields), tuple(items), tuple(clauses), own, inherited_from,
                    tuple(block_rules + rules), tuple(dict.fromkeys(draft.flags)))

    def _content(self, draft: _Draft) -> tuple[list[ContentItem], list[SelectionRule]]:
        items: list[ContentItem] = []
        rules: list[SelectionRule] = []
        for f in draft.fields:
            if FieldKind.CONTENT in f.kinds:
                found, selections = content_items(f.values)
                items.extend(found)
                rules.extend(selections)
        return items, rules

    def _block_owner(self, draft: _Draft) -> _Draft | None:
        ancestor = draft.parent
        while ancestor is not None:
            if ancestor.has_field(FieldKind.INDICATORS):
                return ancestor
            ancestor = ancestor.parent
        return None

    def _missing_block(self, draft: _Draft) -> Flag:
        texts = [draft.title] + [f.text() for f in draft.fields if FieldKind.CONTENT in f.kinds]
        pending = next((t for t in texts if DETAILS_PENDING.search(t)), None)
        reason = "（原文：具体申报事项另行通知/发布）" if pending else ""
        return Flag(FlagKind.NO_INDICATOR_BLOCK, draft.line,
                    f"第{draft.line}行方向“{draft.path[-1]}”没有考核指标（考核指标/考核要求）{reason}")

    def _flag_container_fields(self, draft: _Draft) -> None:
        for f in draft.labelled_fields():
            if FieldKind.INDICATORS not in f.kinds:
                draft.flags.append(Flag(FlagKind.UNEXPECTED_FIELD, f.line,
                                        f"第{f.line}行“{f.label}”属于含下级方向的“{draft.path[-1]}”，下级方向不会继承"))


def _leafy(draft: _Draft) -> bool:
    return draft.direction_like or draft.untitled_body or bool(draft.labelled_fields())


def build_tree(source: SourceText) -> ParsedGuideline:
    return TreeBuilder(source).build()
