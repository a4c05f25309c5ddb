"""Plain data produced by the guideline parser (指南解析结果).

Everything here is a frozen dataclass or an enum; nothing imports beyond the standard library, so any layer can
use these types.

- `SourceText`: a document as numbered lines (a .txt line, or a .docx paragraph) plus optional hints from the
  .docx reader (heading levels from styles, table rows that are directions).
- `Flag`: one doubt of the parser, with a fixed English `kind`, the 1-based source `line` and a Chinese message.
- `Field`: a labelled part of a node (研究内容, 考核指标, 实施期限, 资助经费 …) with its source line.
- `ContentItem`: a numbered item of the research content (002 `1.支持…（满足考核指标中的①②③）`).
- `Clause`: one indicator clause (考核指标 item or prose sentence): marker as written, verbatim text, line.
- `SelectionRule`: text in an indicator block or content item that selects indicators instead of stating one
  (taxonomy S4, e.g. `每个项目满足考核指标①或②即可`).
- `Node`: one heading of the tree (计划/专题/类别/城市/项目类型/方向/子方向…), identified by `path`, the tuple of
  titles from the root. Leaves are directions (方向), the unit a project is awarded under.
- `ParsedGuideline`: the whole document: nodes in document order, document-level fields and all flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class FlagKind(StrEnum):
    """The fixed set of doubts the parser reports (never guessed silently)."""

    LOST_HEADING = "lost_heading"  # a heading line is missing from the source (002 L1, L2, L17, L18, L459)
    NO_INDICATOR_BLOCK = "no_indicator_block"  # a leaf direction without 考核指标/考核要求, own or shared
    UNEXPECTED_FIELD = "unexpected_field"  # a field label where none was expected (container, repeated label)
    EMPTY_FIELD = "empty_field"  # a label with no text after it, not even on the following lines
    UNKNOWN_NUMBERING = "unknown_numbering"  # a numbering form the parser does not know (第一章, A., 1、 …)
    NUMBERING_GAP = "numbering_gap"  # 001 L169 （4）→（7）
    NUMBERING_DUPLICATE = "numbering_duplicate"  # 001 L198 （4） twice; numbers going backwards
    UNTITLED_DIRECTION = "untitled_direction"  # 004 L112 `方向：` followed by content, not a title
    UNNUMBERED_HEADING = "unnumbered_heading"  # a short unnumbered line taken as a heading on weak evidence
    UNBALANCED_BRACKETS = "unbalanced_brackets"  # a clause line whose brackets do not pair up
    SOURCE_PROBLEM = "source_problem"  # reader-level doubts (.docx numbering format not understood, …)


class FieldKind(StrEnum):
    CONTENT = "content"  # 研究内容 / 主要内容 / 项目内容, or an unlabelled paragraph
    INDICATORS = "indicators"  # 考核指标 / 考核要求
    PERIOD = "period"  # 实施期限 / 实施年限 / 实施周期
    FUNDING = "funding"  # 资助经费 / 补助经费 / 资助方式 / 补助方式 / 项目总投入
    ELIGIBILITY = "eligibility"  # 申报条件 / 申报要求
    NOTES = "notes"  # 相关说明 / 注意事项 / 申报途径 / 申报材料


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    line: int | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"kind": str(self.kind), "line": self.line, "message": self.message}


@dataclass(frozen=True)
class SourceText:
    """A document as numbered lines. `hints` maps a 1-based line to `"row"` (a table row that is a direction,
    from the .docx reader) or `"h1"`…`"h9"` (a paragraph in a heading style)."""

    name: str
    lines: tuple[str, ...]
    format: str = "txt"  # "txt" | "docx"
    encoding: str | None = None
    hints: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}), compare=False, hash=False)
    warnings: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class Field:
    kind: FieldKind
    label: str | None  # as written (`考核指标（对应上述内容）`), None for an unlabelled paragraph
    text: str  # the value: rest of the label line plus continuation lines, joined with "\n"
    line: int  # the label line (or the first line of an unlabelled paragraph)


@dataclass(frozen=True)
class ContentItem:
    label: str  # marker as written: `1.`, `9．`, `（2）`, `重点支持领域3`
    text: str
    line: int
    selection: str | None = None  # `①②⑤⑥⑦或①③⑤⑥⑦` from `（满足考核指标中的…）`, or the whole rule text


@dataclass(frozen=True)
class Clause:
    label: str | None  # `（3）`, `⑦`, `2.` as written; None for prose sentences (taxonomy S2)
    text: str  # verbatim, no marker, no trailing `。；;，`; a substring of its source line
    line: int
    group: str | None = None  # indicator group: `企业类` (002 L765), `技术指标` (003 L63)
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class SelectionRule:
    text: str  # `每个项目满足考核指标①或②即可` (002 L579); `考核指标包含技术指标和效益指标` (003 L62)
    line: int


@dataclass(frozen=True)
class Node:
    path: tuple[str, ...]  # identity within the document: titles from the root
    title: str  # heading text without its numbering marker; placeholder for a lost heading
    kind: str  # plan, topic, type, section, paren_cn, direction, subdirection, paren_n, item, row, h1…h9
    marker: str | None  # `方向１`, `一、`, `（一）`, `1.` as written; None when unnumbered or lost
    number: int | None
    line: int
    leaf: bool
    fields: tuple[Field, ...] = ()
    content_items: tuple[ContentItem, ...] = ()
    clauses: tuple[Clause, ...] = ()  # own or inherited indicator clauses
    indicator_line: int | None = None  # line of the node's own 考核指标 label; None when none or inherited
    inherited_from: tuple[str, ...] | None = None  # path of the node owning the shared block; () = document
    rules: tuple[SelectionRule, ...] = ()
    flags: tuple[Flag, ...] = ()

    @property
    def parent_path(self) -> tuple[str, ...]:
        return self.path[:-1]

    @property
    def has_indicators(self) -> bool:
        return bool(self.clauses) or self.indicator_line is not None

    @property
    def has_own_indicators(self) -> bool:
        return self.indicator_line is not None

    @property
    def direction(self) -> str:
        """The `direction` of clause records (taxonomy §2): the leaf title, except that a leaf listed under a
        heading and inheriting a shared block reports that heading (003 → `支持方向`)."""
        if self.inherited_from is not None and len(self.path) > 1:
            return self.path[-2]
        return self.title

    def fields_of(self, kind: FieldKind) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind is kind)

    def text_of(self, kind: FieldKind) -> str | None:
        """All fields of one kind joined, or None: e.g. `text_of(FieldKind.PERIOD)` → `不超过3年。`."""
        found = self.fields_of(kind)
        return "\n".join(f.text for f in found) if found else None


@dataclass(frozen=True)
class ParsedGuideline:
    name: str  # the file name (the `seed` of records)
    title: str | None  # title lines before the first heading (003: `2024年中国—东盟…申报指南`)
    nodes: tuple[Node, ...]
    flags: tuple[Flag, ...]  # every flag: document-level ones and those of the nodes, by line
    fields: tuple[Field, ...] = ()  # document-level fields (preamble text, 003's global 考核要求)
    clauses: tuple[Clause, ...] = ()  # the document-level indicator block, inherited by leaves lacking one

    @property
    def leaves(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.leaf)

    def node(self, path: tuple[str, ...]) -> Node:
        for n in self.nodes:
            if n.path == path:
                return n
        raise KeyError(path)


class GuidelineReadError(ValueError):
    """A guideline file that cannot be read or has no recognisable structure; the message is Chinese and is
    meant for the person who uploaded the file."""
