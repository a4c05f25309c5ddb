"""Languages: Chinese is the source language (msgids are the Chinese text), English a catalogue.

A string missing from the English catalogue falls back to Chinese, so domain terms (考核指标, 验收, 拨付)
never disappear. Catalogues are read from the .po files at start-up (no compile step to forget).
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(lang: str, message: str) -> str:
    return translations(normalize(lang)).gettext(message)


def normalize(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE
