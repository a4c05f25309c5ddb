"""Reading guideline files: encodings, and the refusals with their Chinese messages."""

from __future__ import annotations

import io
import zipfile

import pytest

from imports import guideline_source
from imports.guidelines import (
    MAX_SOURCE_BYTES,
    GuidelineReadError,
    parse_guideline,
    read_source,
    read_source_bytes,
)


def test_utf8_seed_lines_are_the_file_lines(sources, seed_file):
    for prefix, source in sources.items():
        assert source.lines == tuple(seed_file(prefix).read_text(encoding="utf-8").split("\n"))
        assert (source.format, source.encoding) == ("txt", "utf-8")
        assert source.name == seed_file(prefix).name


def test_gbk_text_is_read_correctly(tmp_path, parsed, sources, seed_file):
    text = seed_file("004").read_text(encoding="utf-8")
    path = tmp_path / "baise.txt"
    path.write_bytes(text.encode("gbk"))
    source = read_source(path)
    assert source.encoding == "gb18030"
    assert source.lines == sources["004"].lines
    assert [n.path for n in parse_guideline(source).leaves] == [n.path for n in parsed["004"].leaves]


def test_utf8_bom_and_crlf_are_removed():
    source = read_source_bytes("bom.txt", "\ufeff方向1：标题\r\n考核指标：（1）申请专利1件。\r\n".encode())
    assert source.lines == ("方向1：标题", "考核指标：（1）申请专利1件。", "")
    assert source.encoding == "utf-8-sig"


def test_utf16_with_bom_is_read():
    source = read_source_bytes("u16.txt", "方向1：标题\n考核要求：申请专利1件。".encode("utf-16"))
    assert source.lines[0] == "方向1：标题"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "为空"),
    (b"  \r\n\t\n", "为空"),
    (bytes(range(256)) * 40, "不是文本文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "旧版Word"),
    (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
])
def test_bad_bytes_are_refused_with_a_chinese_message(data, message):
    with pytest.raises(GuidelineReadError, match=message) as caught:
        read_source_bytes("指南.txt", data)
    assert isinstance(caught.value, ValueError)


def test_empty_file_on_disk(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(GuidelineReadError, match="为空"):
        read_source(path)


def test_missing_file(tmp_path):
    with pytest.raises(GuidelineReadError, match="无法读取文件"):
        read_source(tmp_path / "nope.txt")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_that_is_not_a_word_document(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(_zip({"hello.txt": b"hello"}))
    with pytest.raises(GuidelineReadError, match="不是Word文档"):
        read_source(path)
    # the same bytes under a .txt name are sniffed as a zip, not decoded as text
    with pytest.raises(GuidelineReadError, match="不是Word文档"):
        read_source_bytes("fake.txt", _zip({"hello.txt": b"hello"}))


def test_a_broken_word_document():
    data = _zip({"word/document.xml": b"<not-xml", "[Content_Types].xml": b"<Types/>"})
    with pytest.raises(GuidelineReadError, match="Word文档"):
        read_source_bytes("broken.docx", data)


def test_a_docx_name_on_text_bytes():
    with pytest.raises(GuidelineReadError, match="不是有效的Word文档"):
        read_source_bytes("plain.docx", "方向1：标题".encode())


def test_text_without_headings_is_refused():
    source = read_source_bytes("note.txt", "这是一段没有标题的说明文字。\n第二段文字，也没有标题。\n".encode())
    with pytest.raises(GuidelineReadError, match="未识别到任何标题"):
        parse_guideline(source)


def test_oversize_files_are_refused_before_reading(tmp_path, monkeypatch):
    assert MAX_SOURCE_BYTES == 20 * 1024 * 1024
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:  # sparse: no 20 MB written
        handle.truncate(MAX_SOURCE_BYTES + 1)
    monkeypatch.setattr(guideline_source.Path, "read_bytes", _never_read)
    with pytest.raises(GuidelineReadError, match="超过20MB"):
        read_source(big)


def test_oversize_uploads_are_refused(monkeypatch):
    monkeypatch.setattr(guideline_source, "MAX_SOURCE_BYTES", 1000)
    with pytest.raises(GuidelineReadError, match="超过"):
        read_source_bytes("upload.txt", "方".encode() * 400)


def _never_read(self):  # pragma: no cover - the point is that it is not called
    raise AssertionError("an oversize file must be refused before it is read")
