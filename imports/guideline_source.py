"""Read a guideline file (.txt in UTF-8 / UTF-8 with BOM / UTF-16 / GB18030, or .docx) into a `SourceText`.

Refusals raise `GuidelineReadError` with a Chinese message: empty file, file over `MAX_SOURCE_BYTES`, binary
data, a legacy .doc or a PDF, a zip that is not a Word document.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

from imports.guideline_model import GuidelineReadError, SourceText

MAX_SOURCE_BYTES = 20 * 1024 * 1024  # 20 MB: the seeds are < 200 KB; a bigger "guideline" is not one
_SNIFF = 8192
_CONTROL_SHARE = 0.01  # more control characters than this in the decoded text means binary data
_ALLOWED_CONTROLS = "\t\n\r\f\v"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc / .xls
_PDF_MAGIC = b"%PDF"


def read_source(path: str | Path) -> SourceText:
    """Read a guideline file from disk; the file name becomes `SourceText.name`."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise GuidelineReadError(f"无法读取文件“{file.name}”：{exc.strerror or exc}") from exc
    _check_size(file.name, size)
    return read_source_bytes(file.name, file.read_bytes())


def read_source_bytes(name: str, data: bytes) -> SourceText:
    """Read an uploaded guideline from its bytes (the web layer passes the upload's file name)."""
    _check_size(name, len(data))
    if not data.strip():
        raise GuidelineReadError(f"文件“{name}”为空")
    if data.startswith(_OLE_MAGIC):
        raise GuidelineReadError(f"文件“{name}”是旧版Word（.doc）或Excel文件，请在Word中另存为.docx后再上传")
    if data.startswith(_PDF_MAGIC):
        raise GuidelineReadError(f"文件“{name}”是PDF文件，暂不支持，请上传.docx或.txt格式的指南")
    if name.lower().endswith(".docx") or data.startswith(_ZIP_MAGIC):
        return _read_docx(name, data)
    return _read_text(name, data)


def _check_size(name: str, size: int) -> None:
    if size > MAX_SOURCE_BYTES:
        raise GuidelineReadError(
            f"文件“{name}”大小为{size / 1024 / 1024:.1f}MB，超过{MAX_SOURCE_BYTES // 1024 // 1024}MB的上限")


def _read_docx(name: str, data: bytes) -> SourceText:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise GuidelineReadError(f"文件“{name}”不是有效的Word文档（.docx），文件可能已损坏")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if "word/document.xml" not in archive.namelist():
            raise GuidelineReadError(f"文件“{name}”是压缩包，但不是Word文档（.docx）")
    from imports.docx_reader import read_docx_bytes  # python-docx is only loaded for .docx files

    return read_docx_bytes(name, data)


def _read_text(name: str, data: bytes) -> SourceText:
    text, encoding = _decode(name, data)
    controls = sum(1 for ch in text[:_SNIFF] if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    if controls > _CONTROL_SHARE * min(len(text), _SNIFF):
        raise GuidelineReadError(f"文件“{name}”不是文本文件（含大量二进制数据），请上传.txt或.docx格式的指南")
    if not text.strip():
        raise GuidelineReadError(f"文件“{name}”为空")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return SourceText(name=name, lines=tuple(lines), format="txt", encoding=encoding)


def _decode(name: str, data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return _strict(name, data[len(codecs.BOM_UTF8):], "utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(name, data, "utf-16"), "utf-16"
    if b"\x00" in data[:_SNIFF]:
        raise GuidelineReadError(f"文件“{name}”不是文本文件（含二进制数据），请上传.txt或.docx格式的指南")
    for encoding in ("utf-8", "gb18030"):  # GB18030 is a superset of GBK and GB2312
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise GuidelineReadError(f"文件“{name}”的编码无法识别（支持UTF-8和GBK/GB18030），或不是文本文件")


def _strict(name: str, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise GuidelineReadError(f"文件“{name}”声明为{encoding.upper()}编码，但第{exc.start}字节处无法解码") from exc
