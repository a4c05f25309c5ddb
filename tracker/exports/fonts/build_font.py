"""Build the Chinese font the PDFs embed (DESIGN §5): a subset of Noto Sans CJK SC, from Debian's fonts-noto-cjk,
over the Unicode ranges a checklist needs. Run by a developer when the ranges change, never at run time:

    apt-get install fonts-noto-cjk && python tracker/exports/fonts/build_font.py

It writes NotoSansCJKsc-Subset.otf beside this file; the font is under the SIL Open Font License (OFL.txt here).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FACE = 2  # the collection's faces: JP, KR, SC, TC, HK, then the Mono ones
TARGET = Path(__file__).with_name("NotoSansCJKsc-Subset.otf")

RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1: × ÷ ° ± ·
    (0x0391, 0x03C9),  # Greek: μ Ω α
    (0x2000, 0x206F),  # general punctuation: “ ” ‘ ’ — … ‰
    (0x2100, 0x214F),  # letterlike symbols: ℃ №
    (0x2150, 0x218F),  # number forms: Ⅰ Ⅱ Ⅲ
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators: ≥ ≤ ≠ ≈
    (0x2460, 0x24FF),  # enclosed alphanumerics: ① ⑴ ⒈ (the guideline's clause markers)
    (0x2500, 0x257F),  # box drawing
    (0x25A0, 0x25FF),  # geometric shapes: ■ □ ○ ●
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、 。 《 》 【 】
    (0x3200, 0x32FF),  # enclosed CJK: ㈠ ㈡
    (0x3300, 0x33FF),  # CJK compatibility: ㎡ ㎏ ㎞
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs: every common and rare name character (堃 喆 昇 镕 珺 瑄)
    (0xFF00, 0xFFEF),  # half-width and full-width forms: （ ） ， ： ； ％
)


def main() -> int:
    if not SOURCE.exists():
        print(f"{SOURCE} is missing: apt-get install fonts-noto-cjk", file=sys.stderr)
        return 1
    options = subset.Options()
    options.font_number = FACE
    options.layout_features = ["*"]  # keep the vertical and full-width forms WeasyPrint may ask for
    options.name_IDs = ["*"]  # copyright, licence and trademark notices stay in the font
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False  # print only: smaller, and PDF viewers ignore CFF hints at these sizes anyway
    font = subset.load_font(str(SOURCE), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for first, last in RANGES for c in range(first, last + 1)])
    subsetter.subset(font)
    subset.save_font(font, str(TARGET), options)
    print(f"{TARGET.name}: {TARGET.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
