"""PDFs embed the Chinese font that ships with the app (DESIGN §5), checked with poppler's pdffonts and pdftotext
as a reader's machine would see the file: every glyph comes from that font, rare name characters included, and
rendering fetches nothing outside the app. Outside CI these skip visibly when poppler is missing; CI installs it
and sets TRACKER_REQUIRE_POPPLER, so there they fail instead."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from fontTools.ttLib import TTFont

from tracker.exports.pdf import FONT, FONTS, _fetcher, html_to_pdf

RARE = "堃喆昇镕珺瑄"  # name characters outside the most common few thousand


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("TRACKER_REQUIRE_POPPLER"):
            pytest.fail(f"{tool} is missing: apt-get install poppler-utils")
        pytest.skip(f"{tool} is missing (apt-get install poppler-utils)")
    return found


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "sample.pdf"
    path.write_bytes(html_to_pdf(
        "<html><body><h1>验收清单</h1>"
        f"<p>项目负责人：李{RARE[0]}、王{RARE[1]}、张{RARE[2]}、刘{RARE[3]}、陈{RARE[4]}、杨{RARE[5]}</p>"
        "<p>识别准确率≥95%，①②⑤全部满足；经费（万元）：1,234.50</p></body></html>"))
    return path


def test_every_font_in_the_pdf_is_the_shipped_one_and_embedded(pdf):
    lines = run(poppler("pdffonts"), str(pdf)).splitlines()[2:]
    assert lines, "no font in the PDF"
    for line in lines:
        name, emb = line.split()[0], line.split()[-5]
        assert "Tracker-CJK" in name and emb == "yes", line  # no system font filled a gap


def test_the_text_reads_back_with_the_rare_characters(pdf):
    text = run(poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-")
    assert "验收清单" in text and RARE[0] in text and all(ch in text for ch in RARE)
    assert "≥95%" in text and "①②⑤" in text


def test_the_font_has_a_glyph_for_every_rare_character():
    cmap = TTFont(FONT, lazy=True).getBestCmap()
    assert all(ord(ch) in cmap for ch in RARE + "验收清单≥①（）：，")


def test_rendering_never_reaches_outside_the_app(tmp_path):
    # Another file on the machine is not read: the page renders without it.
    elsewhere = tmp_path / "elsewhere.css"
    elsewhere.write_text('p::after { content: "外部样式" }', encoding="utf-8")
    path = tmp_path / "page.pdf"
    path.write_bytes(html_to_pdf(f'<html><head><link rel="stylesheet" href="{elsewhere.as_uri()}"></head>'
                                 "<body><p>验收</p></body></html>"))
    text = run(poppler("pdftotext"), "-enc", "UTF-8", str(path), "-")
    assert "验收" in text and "外部样式" not in text
    # Nor the network.
    with pytest.raises(ValueError, match="不加载外部资源"):
        _fetcher((FONTS,)).fetch("http://127.0.0.1:9/x.css")
