"""Reading submitted forms: every value arrives as text, is trimmed and bounded, never trusted."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import FormMultiDict


def text(form: FormMultiDict, name: str, max_length: int = 200) -> str:
    value = form.get(name, "")
    return str(value).strip()[:max_length] if not hasattr(value, "filename") else ""


def integer(form: FormMultiDict, name: str) -> int | None:
    raw = text(form, name, 20)
    try:
        return int(raw)
    except ValueError:
        return None


def integers(form: FormMultiDict, name: str) -> list[int]:
    out = []
    for raw in form.getall(name, []):
        try:
            out.append(int(str(raw)))
        except ValueError:
            continue
    return out


def values(form: FormMultiDict, names: tuple[str, ...], max_length: int = 200) -> dict[str, Any]:
    """The submitted values of these fields, to re-render the form with what the user typed."""
    return {name: text(form, name, max_length) for name in names}
