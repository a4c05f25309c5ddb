"""The one Jinja2 environment for pages, e-mails and print (DESIGN §3).

Autoescaping is on for every template. `_()` translates into the language of the render (the `lang`
variable of the context), so one environment serves requests in Chinese and English at once.
"""

from __future__ import annotations

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
    """A comparator as printed Chinese documents write it (≥, not >=)."""
    return OP_SIGNS.get(op or "", op or "")


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
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def render_context(name: str, context: dict[str, Any]) -> str:
    """`render` for a context that is data (a mail's), whose keys may be anything, `name` included."""
    return environment().get_template(name).render(context)
