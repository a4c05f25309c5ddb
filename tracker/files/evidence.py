"""Evidence files attached to quarterly progress reports: what may be stored (reliability G15). Pure: bytes in,
a checked file or a refusal out; `tracker.files.store` keeps what passes.

Grantees upload whatever their machines hold: scans, phone photos, Word and Excel files, and sometimes something
else with a reassuring name. An officer later opens these files on an intranet machine, so the type is decided
by the bytes alone (never by the name or the browser's content type), and only formats an officer can open
without running anything are kept:

- PDF, with no JavaScript, launch or open actions, embedded files, rich media or XFA forms (names are searched
  in the raw bytes and inside compressed object streams, hex-escaped spellings included);
- images, decoded completely by Pillow and re-encoded without metadata (JPEG stays JPEG, everything else
  becomes PNG), so that what is stored is pixels and nothing the upload smuggled in with them;
- Office Open XML documents (.docx/.xlsx/.pptx) without macros, ActiveX controls, OLE objects, external links
  or DDE fields, and small enough to inflate safely.

Everything else is refused with one Chinese sentence naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn
from xml.etree import ElementTree

from PIL import Image, ImageOps

from tracker.files.containers import megabytes, zip_container_problem

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 50-megapixel camera is above it; a scanned A4 page at 600 dpi (35 Mpx) is not
ALLOWED_LABEL = "PDF、图片（PNG/JPEG/GIF/WebP/BMP/TIFF）或 Office 文件（.docx/.xlsx/.pptx）"

# Zip limits: Office writes tens of parts that deflate 5–50×; a bomb needs thousands of parts or ratios of 1,000×.
MAX_ZIP_ENTRIES = 1_000
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024  # sum of the declared part sizes: caps what inflating can cost
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024  # a small part may deflate better than that without costing anything
MAX_XML_PART_BYTES = 8 * 1024 * 1024  # [Content_Types].xml and .rels parts are parsed whole
MAX_PDF_INFLATED_BYTES = 100 * 1024 * 1024  # all object streams of one PDF, inflated for the name search
PDF_EOF_WINDOW = 1024  # readers look for %%EOF this far from the end
MAX_PDF_OPEN_ACTIONS = 32

DISPLAY_NAME_MAX = 100
DEFAULT_STEM = "佐证材料"

PDF_TYPE = "application/pdf"
PNG_TYPE = "image/png"
JPEG_TYPE = "image/jpeg"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # compound file: .doc/.xls/.ppt, WPS, and any password-protected Office file
ZIP_MAGIC = b"PK\x03\x04"
EICAR = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"


class EvidenceFileRejected(ValueError):
    """An uploaded file that is not kept; str(exc) is the Chinese sentence shown to the uploader."""


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    media_type: str
    extension: str
    display_name: str
    sha256: str
    size: int


# -- names -----------------------------------------------------------------------------------------------------

# What a name's extension claims. Within one family a wrong extension is harmless (a WebP saved as .jpg is
# common and is re-encoded anyway); across families it means the user picked the wrong file, or a disguise.
_FAMILY_OF_EXTENSION = {
    ".pdf": "pdf",
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".webp", ".bmp", ".dib", ".tif", ".tiff"),
                    "image"),
    **dict.fromkeys((".docx", ".doc", ".docm", ".dotx", ".dot", ".wps"), "word"),
    **dict.fromkeys((".xlsx", ".xls", ".xlsm", ".xlsb", ".xltx", ".et"), "excel"),
    **dict.fromkeys((".pptx", ".ppt", ".pptm", ".ppsx", ".pps", ".dps"), "powerpoint"),
}
_FAMILY_LABEL = {"pdf": "PDF 文件", "image": "图片", "word": "Word 文档", "excel": "Excel 工作簿",
                 "powerpoint": "PowerPoint 演示文稿"}
# Spellings of a stored extension that a name may already end with (`a.jpeg.html` → `a.jpg`, not `a.jpeg.jpg`).
_ALIASES = {".jpg": (".jpg", ".jpeg", ".jpe", ".jfif"), ".png": (".png",), ".pdf": (".pdf",),
            ".docx": (".docx",), ".xlsx": (".xlsx",), ".pptx": (".pptx",)}
_FAKE_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})")
_WINDOWS_UNSAFE = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                               *(f"LPT{i}" for i in range(1, 10))})


def _clean_text(raw: str) -> str:
    """The base name of `raw` without control, format (bidi, zero-width) or surrogate characters, spaces collapsed.

    Browsers on Windows may send a whole path; a right-to-left override (U+202E) before
    `fdp.exe` makes it display as `exe.pdf`.
    """
    name = re.split(r"[\\/]", raw)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(" " if ch.isspace() else ch for ch in name)  # a tab or line break still separates words
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    return " ".join(name.split())


def _shown(file_name: str) -> str:
    """The uploaded name as quoted in a message: cleaned, and short enough for one line."""
    name = _clean_text(file_name) or "未命名文件"
    return name if len(name) <= 60 else name[:40] + "…" + name[-15:]


def _claimed_extension(file_name: str) -> str:
    """The extension the uploaded name ends with, lower case ("" when it has none)."""
    found = re.search(r"\.([A-Za-z0-9]{1,5})$", _clean_text(file_name).rstrip(" ."))
    return "." + found.group(1).lower() if found else ""


def safe_display_name(raw: str, extension: str) -> str:
    """A name to show and to offer on download: the user's words, our extension, nothing that can mislead."""
    extension = extension.lower()
    if not re.fullmatch(r"\.[a-z0-9]{2,5}", extension):
        raise ValueError(f"not an extension: {extension!r}")
    stem = _WINDOWS_UNSAFE.sub("_", _clean_text(raw)).rstrip(" .")
    dot = stem.rfind(".")
    if dot >= 0 and _FAKE_EXTENSION.fullmatch(stem[dot:]) and re.search(r"[A-Za-z]", stem[dot:]):
        stem = stem[:dot]  # the name's own extension: replaced by the detected one
    for alias in _ALIASES.get(extension, (extension,)):
        if stem.lower().endswith(alias):
            stem = stem[: -len(alias)]
            break
    stem = stem.strip(" .")[: DISPLAY_NAME_MAX - len(extension)].rstrip(" .")
    if stem.upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return (stem or DEFAULT_STEM) + extension


# -- the verdict -----------------------------------------------------------------------------------------------


def _refuse(file_name: str, problem: str) -> NoReturn:
    raise EvidenceFileRejected(f"“{_shown(file_name)}”：{problem}")


def check_evidence_file(file_name: str, data: bytes, *, max_bytes: int = MAX_EVIDENCE_BYTES) -> CheckedFile:
    """Decide from the bytes what `data` is, and return what to store, or raise EvidenceFileRejected."""
    if not data:
        _refuse(file_name, "文件为空（0 字节），请重新选择文件")
    if len(data) > max_bytes:
        _refuse(file_name, f"文件超过{megabytes(max_bytes)}，请压缩或拆分后再上传")
    if EICAR in data:
        _refuse(file_name, "文件含有病毒特征（EICAR 测试文件），已拒绝")
    family = _detect_family(data)
    if family is None:
        _refuse(file_name, _unknown_problem(file_name, data))
    if family != "office":
        _check_claim(file_name, family)  # an Office file's family is known once its parts are listed
    if family == "pdf":
        _check_pdf(file_name, data)
        stored, media_type, extension = data, PDF_TYPE, ".pdf"
    elif family == "image":
        stored, media_type, extension = _reencode_image(file_name, data, max_bytes)
    else:
        media_type, extension = _check_office(file_name, data)
        stored = data
    return CheckedFile(data=stored, media_type=media_type, extension=extension,
                       display_name=safe_display_name(file_name, extension),
                       sha256=hashlib.sha256(stored).hexdigest(), size=len(stored))


def _check_claim(file_name: str, family: str) -> None:
    """Refuse a name whose extension says another kind of file: a disguise, or the wrong file picked."""
    claimed = _FAMILY_OF_EXTENSION.get(_claimed_extension(file_name))
    if claimed is not None and claimed != family:
        _refuse(file_name, f"文件扩展名与内容不符：扩展名是“{_claimed_extension(file_name)}”，"
                           f"内容却是{_FAMILY_LABEL[family]}。请确认选择了正确的文件")


_IMAGE_FORMATS = {  # magic → the only Pillow plugin allowed to open it (never EPS, which runs Ghostscript)
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


def _image_format(data: bytes) -> str | None:
    for magic, name in _IMAGE_FORMATS.items():
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"  # two letters are not enough on their own: a text file may start with "BM"
    return None


def _detect_family(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if _image_format(data):
        return "image"
    if data.startswith(ZIP_MAGIC):
        return "office"  # which one, and whether it is one at all, is decided by _check_office
    return None


def _unknown_problem(file_name: str, data: bytes) -> str:
    """The sentence for content that is none of the accepted formats."""
    if data.startswith(OLE_MAGIC):
        return ("文件是旧版 Office 或 WPS 格式（.doc/.xls/.ppt/.wps 等），或设置了打开密码的 Office 文件。"
                "请去掉密码，在 Office 或 WPS 中“另存为” .docx/.xlsx/.pptx 后再上传")
    if data.startswith(b"{\\rtf"):
        return "文件是 RTF 格式，请在 Word 或 WPS 中“另存为” .docx 或 PDF 后再上传"
    described = _describe(data)
    claimed = _FAMILY_OF_EXTENSION.get(_claimed_extension(file_name))
    not_what = f"不是{_FAMILY_LABEL[claimed]}" if claimed else "不能作为佐证材料"
    return f"文件内容是{described}，{not_what}。只能上传{ALLOWED_LABEL}"


def _describe(data: bytes) -> str:
    head = data[:4096]
    if head.startswith((b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                        b"\xca\xfe\xba\xbe", b"\x00asm")):
        return "可执行程序"
    if head.startswith((b"PK\x05\x06", b"PK\x07\x08", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf", b"BZh", b"\xfd7zXZ")):
        return "压缩包"
    if b"%PDF-" in data[:1024]:
        return "伪装的 PDF（PDF 文件头不在文件开头）"
    if head.startswith(b"#!"):
        return "脚本"
    text = _as_text(head)
    if text is None:
        return "无法识别的格式"
    lowered = text.lstrip().lower()
    if "<svg" in lowered:
        return "SVG 矢量图（可能含有脚本）"
    if lowered.startswith(("<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<meta", "<table",
                           "<div", "<a ", "<img", "<object", "<embed", "<style", "<form")):
        return "网页（HTML）"
    if lowered.startswith("<?xml") or lowered.startswith("<"):
        return "XML 或网页文件"
    return "文本文件"


def _as_text(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return head.decode("utf-16")
        except UnicodeDecodeError:
            return head[2:].decode("utf-16-le", errors="ignore")
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


# -- PDF -------------------------------------------------------------------------------------------------------

_DELIMITER = rb"[\x00\t\n\x0c\r ()<>\[\]{}/%]"
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"


def _pdf_name(name: str, *, open_ended: bool = False) -> bytes:
    """A pattern for the name token /`name`, also when any of its characters is written as #xx."""
    parts = b"".join(b"(?:%s|#(?i:%02x))" % (re.escape(ch.encode()), ord(ch)) for ch in name)
    tail = _REGULAR + b"*" if open_ended else b""
    return b"/" + parts + tail + b"(?=" + _DELIMITER + b"|\\Z)"


# Every JavaScript action needs /S /JavaScript; so the short /JS alone is looked for only outside stream data,
# where random bytes would match it every few megabytes.
_LONG_NAMES = re.compile(b"|".join([
    _pdf_name("JavaScript"), _pdf_name("Launch"), _pdf_name("EmbeddedFile", open_ended=True),
    _pdf_name("RichMedia", open_ended=True), _pdf_name("XFA"),
]))
_ALL_NAMES = re.compile(b"|".join([_LONG_NAMES.pattern, _pdf_name("JS")]))
_OPEN_ACTION = re.compile(_pdf_name("OpenAction") + rb"\s*")
_ENCRYPT = re.compile(_pdf_name("Encrypt"))
_OBJ_STM = re.compile(_pdf_name("ObjStm"))
_STREAM = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_DIRECT_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\d)(?!\s+\d+\s+R)")
_FIRST = re.compile(rb"/First\s+(\d+)")
_FLATE_ONLY = re.compile(rb"/Filter\s*(?:\[\s*)?/FlateDecode\s*\]?(?=\s*(?:/|>>))")
_INDIRECT = re.compile(rb"(\d+)\s+(\d+)\s+R")
_PDF_TAIL = re.compile(rb"[\x00\t\n\x0c\r ]*\Z")


def _unescape(raw: bytes) -> bytes:
    return _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _pdf_label(found: bytes) -> str:
    return "/" + _unescape(found[1:]).decode("latin-1")


def _check_pdf(file_name: str, data: bytes) -> None:
    """Refuse a PDF that can run something, carries files, or is damaged or hides a second format."""
    if not re.match(rb"%PDF-\d\.\d", data):
        _refuse(file_name, "PDF 文件头无效，文件已损坏")
    end = data.rfind(b"%%EOF")
    if end < 0 or end < len(data) - PDF_EOF_WINDOW:
        _refuse(file_name, "PDF 文件不完整或已损坏（缺少文件结束标记 %%EOF），请重新导出或扫描后再上传")
    if not _PDF_TAIL.match(data, end + 5):
        _refuse(file_name, "PDF 文件结束标记之后还有其他数据（可能是混合了其他格式的文件），已拒绝")
    if zipfile.is_zipfile(io.BytesIO(data)):
        _refuse(file_name, "文件同时是 PDF 和压缩包（混合格式文件），已拒绝")
    texts, streams = _split_pdf(data)
    object_text = b"\n".join(texts)
    if _ENCRYPT.search(object_text):
        _refuse(file_name, "PDF 文件已加密或设置了权限密码，无法检查其内容。请另存为未加密的 PDF 后再上传")
    inflated = _inflate_object_streams(file_name, streams)
    for body in (b for _, b in streams):
        found = _LONG_NAMES.search(body)
        if found:
            _refuse(file_name, _pdf_danger(found.group(0)))
    objects = [*texts, *(text for _, text in inflated)]
    for text in objects:
        found = _ALL_NAMES.search(text)
        if found:
            _refuse(file_name, _pdf_danger(found.group(0)))
    open_actions = [(text, found) for text in objects for found in _OPEN_ACTION.finditer(text)]
    if len(open_actions) > MAX_PDF_OPEN_ACTIONS:  # one per revision; thousands would make the lookups below slow
        _refuse(file_name, "PDF 文件结构异常（/OpenAction 过多），已拒绝")
    for text, action in open_actions:
        if not _is_destination(text[action.end():action.end() + 64], object_text, inflated):
            _refuse(file_name, "PDF 文件含有打开时自动执行的动作（/OpenAction），已拒绝。请重新导出为普通 PDF")


def _pdf_danger(found: bytes) -> str:
    return (f"PDF 文件含有可执行脚本、附件或交互内容（{_pdf_label(found)}），已拒绝。"
            "请用“打印为 PDF”或扫描件重新生成后再上传")


def _split_pdf(data: bytes) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    """(the text outside streams, [(stream dictionary, stream data)]), cut at each `stream` keyword.

    A stream ends where its direct /Length says when `endstream` follows there, else at the next `endstream`.
    """
    texts: list[bytes] = []
    streams: list[tuple[bytes, bytes]] = []
    pos = 0
    while True:
        keyword = _STREAM.search(data, pos)
        if keyword is None:
            texts.append(data[pos:])
            return texts, streams
        head = data[pos:keyword.start()]
        texts.append(head)
        start = head.rfind(b"obj")
        dictionary = _unescape(head[start:] if start >= 0 else head[-4096:])
        body_start = keyword.end()
        body_end = -1
        length = _DIRECT_LENGTH.search(dictionary)
        if length:
            candidate = body_start + int(length.group(1))
            if data[candidate:candidate + 64].lstrip(b"\x00\t\n\x0c\r ").startswith(b"endstream"):
                body_end = candidate
        if body_end < 0:
            body_end = data.find(b"endstream", body_start)
            if body_end < 0:
                body_end = len(data)
        streams.append((dictionary, data[body_start:body_end]))
        pos = body_end


def _inflate_object_streams(file_name: str, streams: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """(dictionary, inflated data) of each object stream: a raw search cannot see the names of its objects."""
    inflated: list[tuple[bytes, bytes]] = []
    budget = MAX_PDF_INFLATED_BYTES
    for dictionary, body in streams:
        if not _OBJ_STM.search(dictionary):
            continue
        if b"/Filter" not in dictionary:
            inflated.append((dictionary, body))
            continue
        if not _FLATE_ONLY.search(dictionary) or b"/DecodeParms" in dictionary:
            _refuse(file_name, "PDF 文件使用了无法检查的压缩方式，已拒绝。请重新导出为普通 PDF")
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(body, budget + 1)
        except zlib.error:
            _refuse(file_name, "PDF 文件已损坏（压缩的对象无法解开）")
        if len(text) > budget or inflater.unconsumed_tail:
            _refuse(file_name, "PDF 文件中的压缩内容过大，疑似压缩炸弹，已拒绝")
        budget -= len(text)
        inflated.append((dictionary, text))
    return inflated


def _is_destination(after: bytes, object_text: bytes, inflated: list[tuple[bytes, bytes]]) -> bool:
    """Whether an /OpenAction value is a page destination (`[3 0 R /Fit]`) rather than an action."""
    if after.startswith(b"["):
        return True
    ref = _INDIRECT.match(after)
    if ref is None:
        return False
    number, generation = int(ref.group(1)), int(ref.group(2))
    headers = list(re.finditer(rb"(?<!\d)%d\s+%d\s+obj\b\s*" % (number, generation), object_text))
    if headers:
        return object_text[headers[-1].end():].startswith(b"[")
    for dictionary, stream in inflated:
        target = _object_in_stream(dictionary, stream, number)
        if target is not None:
            return target.lstrip().startswith(b"[")
    return False  # a reference to nothing we can see: not trusted


def _object_in_stream(dictionary: bytes, stream: bytes, number: int) -> bytes | None:
    """The start of object `number` in an object stream: its header pairs object numbers with offsets from /First."""
    first = _FIRST.search(dictionary)
    if first is None:
        return None
    base = int(first.group(1))
    numbers = [int(n) for n in re.findall(rb"\d+", stream[:base])]
    for num, offset in zip(numbers[0::2], numbers[1::2], strict=False):
        if num == number:
            return stream[base + offset:base + offset + 64]
    return None


# -- images ----------------------------------------------------------------------------------------------------


def _reencode_image(file_name: str, data: bytes, max_bytes: int) -> tuple[bytes, str, str]:
    """Decode completely and re-encode without metadata: JPEG stays JPEG, the other formats become PNG."""
    expected = _image_format(data)
    assert expected is not None
    if expected == "PNG" and b"IEND\xaeB`\x82" not in data:  # the end chunk (its CRC is always the same)
        _refuse(file_name, "图片已损坏或不完整（PNG 缺少结束块），请重新导出后再上传")
    limit = MAX_IMAGE_PIXELS
    if Image.MAX_IMAGE_PIXELS:
        limit = min(limit, int(Image.MAX_IMAGE_PIXELS))
    too_many = f"图片像素过多（超过 {limit:,} 像素），请缩小尺寸后再上传"
    try:
        # Pillow's own bomb check (Image.MAX_IMAGE_PIXELS) runs in open(); ours, lower, before load().
        image = Image.open(io.BytesIO(data), formats=[expected])
        with image:
            if image.format not in (expected, "MPO"):
                _refuse(file_name, "图片格式与文件内容不一致，已拒绝")
            width, height = image.size
            if width * height > limit:
                _refuse(file_name, too_many)
            image.load()
            return _encode(image, expected, max_bytes, file_name)
    except EvidenceFileRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _refuse(file_name, too_many)
    except Exception:  # hostile input: any failure of a decoder means the image is not usable
        _refuse(file_name, "图片已损坏、不完整或格式不受支持，请重新导出后再上传")


def _encode(image: Image.Image, source_format: str, max_bytes: int, file_name: str) -> tuple[bytes, str, str]:
    """The pixels alone, in a fresh file: upright, in a mode the target format can hold, without any metadata."""
    with contextlib.suppress(Exception):  # a broken EXIF block only loses the orientation
        image = ImageOps.exif_transpose(image)  # phone photos: keep them upright once EXIF is gone
    as_jpeg = source_format == "JPEG"
    if as_jpeg:
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
    elif (image.mode == "P" and "transparency" in image.info) or image.mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif image.mode in ("I", "F"):
        image = image.convert("L")
    elif image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    image.info = {}  # Pillow writes back what info holds (JPEG comments, ICC profiles); keep none of it
    out = io.BytesIO()
    if as_jpeg:
        image.save(out, "JPEG", quality=90)
    else:
        image.save(out, "PNG")
    encoded = out.getvalue()
    if len(encoded) > max_bytes:
        _refuse(file_name, f"图片转换为{'JPEG' if as_jpeg else 'PNG'}后超过{megabytes(max_bytes)}，请缩小尺寸后再上传")
    return (encoded, JPEG_TYPE, ".jpg") if as_jpeg else (encoded, PNG_TYPE, ".png")


# -- zip containers and Office Open XML ------------------------------------------------------------------------

_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_CHUNK = 1024 * 1024


_MAIN_PARTS = {  # main part → (family, content type of the main part, media type, extension)
    "word/document.xml": ("word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                          DOCX_TYPE, ".docx"),
    "xl/workbook.xml": ("excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                        XLSX_TYPE, ".xlsx"),
    "ppt/presentation.xml": ("powerpoint",
                             "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                             PPTX_TYPE, ".pptx"),
}
_OFFICE_SUFFIX = {"word": ".docx", "excel": ".xlsx", "powerpoint": ".pptx"}
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MACRO_MARKERS = ("macroenabled", "vbaproject", "vbadata", "macrosheet", "vnd.ms-excel.intlmacrosheet")
_ACTIVE_MARKERS = ("oleobject", "activex")
_EMBEDDED_OK = (".xlsx", ".docx", ".pptx", ".png", ".jpeg", ".jpg", ".emf", ".wmf")
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_FIELD = re.compile(rb"<(?:\w+:)?fldChar\b[^>]*?fldCharType=\"(begin|separate|end)\"|"
                    rb"<(?:\w+:)?instrText\b[^>]*>([^<]*)<|"
                    rb"<(?:\w+:)?fldSimple\b[^>]*?\binstr=\"([^\"]*)\"")


def _check_office(file_name: str, data: bytes) -> tuple[str, str]:
    """(media type, extension) of a .docx/.xlsx/.pptx that runs nothing and links to nothing."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError,
            IndexError, KeyError, OverflowError):
        _refuse(file_name, "文件已损坏：不是完整的 Office 文件（压缩包无法打开）")
    with archive:
        try:
            return _check_package(file_name, archive)
        except EvidenceFileRejected:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError,
                NotImplementedError, RuntimeError, ElementTree.ParseError, IndexError, KeyError, OverflowError):
            # RuntimeError: an encrypted part; the rest: a truncated or corrupted stream, a CRC, broken XML.
            _refuse(file_name, "文件已损坏：Office 文件中的部分内容无法读取")


def _check_package(file_name: str, archive: zipfile.ZipFile) -> tuple[str, str]:
    problem = zip_container_problem(archive, max_entries=MAX_ZIP_ENTRIES,
                                    max_uncompressed_bytes=MAX_UNCOMPRESSED_BYTES, max_ratio=MAX_COMPRESSION_RATIO,
                                    ratio_min_bytes=RATIO_CHECK_MIN_BYTES)
    if problem:
        _refuse(file_name, problem)
    by_name = {info.filename.lower(): info for info in archive.infolist() if not info.is_dir()}
    if "mimetype" in by_name and "content.xml" in by_name:
        _refuse(file_name, "文件是 OpenDocument 格式（.odt/.ods/.odp），请“另存为” .docx/.xlsx/.pptx 后再上传")
    mains = [part for part in _MAIN_PARTS if part in by_name]
    if "[content_types].xml" not in by_name or not mains:
        _refuse(file_name, f"文件是普通压缩包，不是 Office 文件。请解压后分别上传，只能上传{ALLOWED_LABEL}")
    if len(mains) > 1:
        _refuse(file_name, "文件同时含有多种 Office 文档的结构，文件结构异常，已拒绝")
    family, main_type, media_type, extension = _MAIN_PARTS[mains[0]]
    label = _FAMILY_LABEL[family]
    _check_claim(file_name, family)
    for name in by_name:
        if name.endswith("vbaproject.bin") or "/macrosheets/" in name:
            _refuse(file_name, f"文件含有宏，不接受启用宏的 Office 文件。请“另存为”不含宏的{_OFFICE_SUFFIX[family]}")
        if any(marker in name for marker in _ACTIVE_MARKERS):
            _refuse(file_name, "文件中嵌入了 OLE 对象或 ActiveX 控件，已拒绝。请删除嵌入对象，或另存为 PDF 后再上传")
        if "/externallinks/" in name:
            _refuse(file_name, "文件含有指向其他文件的外部链接，已拒绝。请断开链接（改为数值）后再上传")
        if "/embeddings/" in name and not name.endswith(_EMBEDDED_OK):
            _refuse(file_name, "文件中嵌入了其他程序的对象，已拒绝。请删除嵌入对象，或另存为 PDF 后再上传")
    types = _content_types(file_name, archive, by_name["[content_types].xml"])
    for content_type in types.values():
        lowered = content_type.lower()
        if any(marker in lowered for marker in _MACRO_MARKERS):
            _refuse(file_name, f"文件是启用宏的 Office 文件（如 .docm/.xlsm/.pptm），不接受。"
                               f"请“另存为”不含宏的{_OFFICE_SUFFIX[family]}")
        if any(marker in lowered for marker in _ACTIVE_MARKERS):
            _refuse(file_name, "文件中嵌入了 OLE 对象或 ActiveX 控件，已拒绝。请删除嵌入对象，或另存为 PDF 后再上传")
        if "externallink" in lowered:
            _refuse(file_name, "文件含有指向其他文件的外部链接，已拒绝。请断开链接（改为数值）后再上传")
    if types.get("/" + mains[0]) != main_type:
        _refuse(file_name, f"文件不是普通的{label}（可能是模板或其他变体），请“另存为”{extension}后再上传")
    for name, info in by_name.items():
        if name.endswith(".rels"):
            _check_relationships(file_name, archive, info)
    for name, info in by_name.items():
        _read_part(file_name, archive, info, xml=name.endswith(_XML_SUFFIXES),
                   fields=family == "word" and name.startswith("word/") and name.endswith(".xml"))
    return media_type, extension


def _xml_bytes(file_name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A small XML part, read whole, that declares no DTD (so parsing it expands no entities)."""
    if info.file_size > MAX_XML_PART_BYTES:
        _refuse(file_name, f"文件结构异常（{_shown(info.filename)} 过大），已拒绝")
    raw = archive.read(info)
    if _DTD.search(raw) or raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        _refuse(file_name, f"文件结构异常（{_shown(info.filename)} 含有 DTD 或使用了不支持的编码），已拒绝")
    return raw


def _content_types(file_name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, str]:
    """Part name (or `*.ext` for a default) → content type, from [Content_Types].xml."""
    root = ElementTree.fromstring(_xml_bytes(file_name, archive, info))  # noqa: S314 - no DTD, checked
    types: dict[str, str] = {}
    for element in root.iter():
        if element.tag == f"{_CT_NS}Override":
            types[(element.get("PartName") or "").lower()] = element.get("ContentType") or ""
        elif element.tag == f"{_CT_NS}Default":
            types["*." + (element.get("Extension") or "").lower()] = element.get("ContentType") or ""
    return types


def _check_relationships(file_name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse OLE/ActiveX relationships, and external targets other than web or mail hyperlinks."""
    root = ElementTree.fromstring(_xml_bytes(file_name, archive, info))  # noqa: S314 - no DTD, checked
    for rel in root.iter(f"{_REL_NS}Relationship"):
        kind = (rel.get("Type") or "").lower()
        if any(marker in kind for marker in _ACTIVE_MARKERS) or kind.endswith("/control"):
            _refuse(file_name, "文件中嵌入了 OLE 对象或 ActiveX 控件，已拒绝。请删除嵌入对象，或另存为 PDF 后再上传")
        if (rel.get("TargetMode") or "").lower() != "external":
            continue
        target = (rel.get("Target") or "").strip().lower()
        if not kind.endswith("/hyperlink") or not target.startswith(_LINK_SCHEMES):
            _refuse(file_name, "文件含有指向外部文件或模板的链接（外部链接），已拒绝。请删除链接后再上传")


def _read_part(file_name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, xml: bool, fields: bool) -> None:
    """Inflate one part to the end (so a damaged part fails its CRC now), checking XML prologs and Word fields."""
    in_prolog = xml
    kept = bytearray()
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            if in_prolog:
                window = bytes(kept[-512:]) + chunk if kept else chunk
                element = _FIRST_ELEMENT.search(window)
                if _DTD.search(window if element is None else window[: element.start()]):
                    _refuse(file_name, f"文件中的 {_shown(info.filename)} 含有 DTD 声明（Office 不会生成），已拒绝")
                in_prolog = element is None
            if fields or in_prolog:
                kept += chunk
    if fields and _has_dde_field(bytes(kept)):
        _refuse(file_name, "Word 文档含有 DDE 域（可自动运行其他程序），已拒绝。请删除该域后再上传")


def _field_codes(xml: bytes) -> Iterator[str]:
    """The instruction text of each field of a Word part, runs joined (a field code may be split across runs)."""
    stack: list[list[bytes]] = []
    for found in _FIELD.finditer(xml):
        marker, instr_text, simple = found.groups()
        if simple is not None:
            yield html.unescape(simple.decode("utf-8", "replace"))
        elif instr_text is not None:
            if stack:
                stack[-1].append(instr_text)
        elif marker == b"begin":
            stack.append([])
        elif stack and marker in (b"separate", b"end"):
            yield html.unescape(b"".join(stack[-1]).decode("utf-8", "replace"))
            if marker == b"end":
                stack.pop()
            else:
                stack[-1] = []


def _has_dde_field(xml: bytes) -> bool:
    for code in _field_codes(xml):
        words = code.split()
        if words and words[0].upper() in ("DDE", "DDEAUTO"):
            return True
    return False
