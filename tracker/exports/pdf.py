"""HTML to PDF with the Chinese font that ships with the app (DESIGN §5): a checklist prints the same on any
machine, and nothing is fetched from the network while rendering.

The font is a subset of Noto Sans CJK SC (fonts/, with its OFL licence and the script that built it). Every page
is set in it; WeasyPrint embeds only the glyphs the document uses. Resources may come from the fonts folder and
the printed pages' own folder only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

# WeasyPrint reports each rendering step at INFO: noise in the command line's and the server's logs.
logging.getLogger("weasyprint").setLevel(logging.WARNING)

FONTS = Path(__file__).with_name("fonts")
FONT = FONTS / "NotoSansCJKsc-Subset.otf"
FAMILY = "Tracker CJK"

# Set first, so a printed page's own stylesheet can still change sizes and layout but not lose the font.
FONT_CSS = f"""
@font-face {{ font-family: "{FAMILY}"; src: url("{FONT.as_uri()}"); }}
html {{ font-family: "{FAMILY}"; }}
"""


class PdfError(RuntimeError):
    """The PDF could not be made (WeasyPrint or its system libraries are missing)."""


def _fetcher(allowed: tuple[Path, ...]):
    from weasyprint.urls import URLFetcher

    class LocalFiles(URLFetcher):
        """Only files under the allowed folders (the font, the print templates' images); no network, no other
        file on the machine."""

        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if any(path.is_relative_to(folder.resolve()) for folder in allowed):
                    return super().fetch(url, headers)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            raise ValueError(f"打印页面不加载外部资源：{url[:80]}")

    return LocalFiles(allowed_protocols=("file", "data"))


def html_to_pdf(html: str, *, assets: Path | None = None) -> bytes:
    """The PDF of a printable page; `assets` is a folder its relative links may read from."""
    try:
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration
    except (ImportError, OSError) as exc:  # OSError: Pango missing from the system
        raise PdfError(f"无法生成PDF：{exc}") from exc
    allowed = (FONTS,) + ((assets,) if assets is not None else ())
    fetcher = _fetcher(allowed)
    fonts = FontConfiguration()
    font_css = CSS(string=FONT_CSS, font_config=fonts, url_fetcher=fetcher)
    document = HTML(string=html, base_url=str(assets or FONTS), url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[font_css], font_config=fonts)
