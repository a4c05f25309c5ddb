"""The one Jinja2 environment for pages, e-mails and print (DESIGN §3).

Autoescaping is on for every template. `_()` translates into the language of the render (the `lang`
variable of the context), so one environment serves requests in Chinese and English at once.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from tracker import i18n
from tracker.clock import local
from tracker.settings import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "templates"


@pass_context
def _gettext(context: Context, message: str, **variables: Any) -> str:
    text = i18n.gettext(context.get("lang") or i18n.DEFAULT_LANGUAGE, message)
    return text % variables if variables else text


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    lang = i18n.normalize(context.get("lang"))
    text = i18n.translations(lang).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def format_local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as Asia/Shanghai wall-clock time."""
    return "" if moment is None else local(moment).strftime(fmt)


def format_wan(yuan: Decimal | None, places: int = 2) -> str:
    """Yuan shown in 万元 (DESIGN §2), rounded half-up."""
    if yuan is None:
        return ""
    q = Decimal(1).scaleb(-places)
    return f"{(Decimal(yuan) / 10000).quantize(q, rounding=ROUND_HALF_UP):,}"


def format_number(value: Decimal | int | float | None) -> str:
    """A target value as people write it: `2000` not `2E+3`, `1.5` not `1.500000`."""
    if value is None:
        return ""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def mask_phone(phone: str | None) -> str:
    """Personal data in lists (G34): `13812345678` → `138****5678`."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local_part, domain = email.split("@", 1)
    return (local_part[:1] or "") + "***@" + domain


OP_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def op_sign(op: str | None) -> str:
    """A comparator as printed Chinese documents write it (≥, not >=): every page shows comparators this way."""
    return OP_SIGNS.get(op or "", op or "")


_CSS_PLAIN = frozenset(" -_.,:()/")


def css_string(text: Any) -> str:
    """Text for the inside of a double-quoted CSS string (`content: "{{ title|css_string }}"`): every ASCII
    character but letters, digits, the space and `-_.,:()/` written as a CSS escape (`\\00003c`), so that no quote,
    backslash, newline or `</style>` typed by a user can end the string, the rule or the style element. Other
    characters (CJK) are kept. Nothing HTML escapes is left, so autoescaping leaves the result as it is."""
    out = []
    for ch in str(text if text is not None else ""):
        if (ch.isascii() and (ch.isalnum() or ch in _CSS_PLAIN)) or (not ch.isascii() and ch.isprintable()):
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):06x}")
    return "".join(out)


def nest_quotes(text: Any) -> str:
    """Quotes inside quotes as Chinese writes them: `方向““人工智能+”研究”` (a quoted title quoted again by a
    message) reads `方向“‘人工智能+’研究”`. The readers' messages quote titles that carry their own quotes."""
    out, depth = [], 0
    for ch in str(text or ""):
        if ch in ("“", "‘"):
            out.append("“" if depth % 2 == 0 else "‘")
            depth += 1
        elif ch in ("”", "’") and depth:
            depth -= 1
            out.append("”" if depth % 2 == 0 else "’")
        else:
            out.append(ch)
    return "".join(out)


def clause_marks(targets: Any) -> list[str | int]:
    """What the 条款 column shows for each target: the clause's own marker (`（3）`, `①`), or, for a guideline whose
    clauses carry none, the clause's place among the targets' clauses (an int, shown as `第2条`); "" for a target
    the task book added. Targets read from one clause share its mark."""
    order: dict[Any, int] = {}
    marks: list[str | int] = []
    for t in targets:
        clause = getattr(t, "clause_id", None)
        if getattr(t, "label", None):
            marks.append(t.label)
        elif clause is not None:
            marks.append(order.setdefault(clause, len(order) + 1))
        else:
            marks.append("")
        if clause is not None:
            order.setdefault(clause, len(order) + 1)
    return marks


# The placeholder the guideline reader writes for a heading missing from the source (imports.guideline_builder.LOST).
LOST_HEADING = "（标题缺失）"
# What is left of a placeholder once the marker is gone when nothing of the title survived: `方向17`, `（三）`, `二、`.
_BARE_STEM = re.compile(r"^(?:子?方向|第)?[0-9一二三四五六七八九十百]*[、.．）)]?$|"
                        r"^[（(][0-9一二三四五六七八九十]+[）)]$")


def shown_path(path: Any) -> list[str]:
    """A direction path as pages show it: a lost heading is named by the nearest real title, never by the
    placeholder. `重点研发计划（标题缺失）` (a plan named in its surviving intro) shows as `重点研发计划`; a placeholder
    with nothing real in it (`方向17（标题缺失）`) is left out, so its parent is the nearest title shown. The stored
    path, which identifies the node, and the officer's lost-heading flag are unchanged."""
    titles = [str(t) for t in (path or [])]
    shown = []
    for title in titles:
        if LOST_HEADING not in title:
            shown.append(title)
            continue
        stem = title.replace(LOST_HEADING, "").strip()
        if stem and not _BARE_STEM.match(stem):
            shown.append(stem)
    return shown or [t.replace(LOST_HEADING, "").strip() or t for t in titles[-1:]]


def shown_title(title: Any) -> str:
    """One title as pages show it (see `shown_path`)."""
    return (shown_path([title]) or [str(title)])[0]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = _gettext
    env.globals["gettext"] = _gettext
    env.globals["ngettext"] = _ngettext
    env.filters["localtime"] = format_local
    env.filters["wan"] = format_wan
    env.filters["num"] = format_number
    env.filters["mask_phone"] = mask_phone
    env.filters["mask_email"] = mask_email
    env.filters["op_sign"] = op_sign
    env.filters["nest_quotes"] = nest_quotes
    env.filters["css_string"] = css_string
    env.filters["clause_marks"] = clause_marks
    env.filters["shown_path"] = shown_path
    env.filters["shown_title"] = shown_title
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def render_context(name: str, context: dict[str, Any]) -> str:
    """`render` for a context that is data (a mail's), whose keys may be anything, `name` included."""
    return environment().get_template(name).render(context)
