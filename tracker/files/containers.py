"""Zip containers (Office Open XML: .xlsx, .docx, .pptx) judged before anything is inflated, for every reader of
uploaded files: the evidence check and the award-list and report-workbook guard."""

from __future__ import annotations

import re
import unicodedata
import zipfile


def megabytes(size: int) -> str:
    """A size as a message quotes it."""
    if size < 1024 * 1024:
        return f"{size / 1024:.0f}KB"
    return f"{size / 1024 / 1024:.3g}MB"


def _shown(part: str) -> str:
    """A part name as a message quotes it: printable, one line, short."""
    name = "".join(ch for ch in part if unicodedata.category(ch) not in ("Cc", "Cf", "Cs")) or "?"
    return name if len(name) <= 60 else name[:40] + "…" + name[-15:]


def _unsafe_part_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (name.startswith(("/", "\\")) or "\\" in name or "\x00" in name or ".." in parts
            or re.match(r"[A-Za-z]:", name) is not None)


def zip_container_problem(archive: zipfile.ZipFile, *, max_entries: int, max_uncompressed_bytes: int,
                          max_ratio: float, ratio_min_bytes: int) -> str | None:
    """Why this archive is not safe to inflate, judged from its central directory alone; None if it is.

    The declared sizes are enough: `zipfile` stops inflating a part at its declared size and then fails the CRC,
    so a lying header cannot get past the sum. Each reader passes its own limits.
    """
    entries = archive.infolist()
    if len(entries) > max_entries:
        return f"压缩包含有 {len(entries)} 个部件（上限 {max_entries}），疑似压缩炸弹，已拒绝"
    seen: set[str] = set()
    total = 0
    for info in entries:
        shown = _shown(info.filename)
        if _unsafe_part_name(info.filename):
            return f"压缩包中的部件名“{shown}”含有不安全的路径，已拒绝"
        if info.filename.lower() in seen:
            return f"压缩包中的部件“{shown}”重复出现，文件结构异常，已拒绝"
        seen.add(info.filename.lower())
        if info.flag_bits & 0x1:
            return "压缩包中的内容已加密，无法检查"
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return "压缩包使用了不支持的压缩方式"
        total += info.file_size
        if total > max_uncompressed_bytes:
            return f"文件解压后超过 {megabytes(max_uncompressed_bytes)}，疑似压缩炸弹，已拒绝"
        if info.file_size > ratio_min_bytes and info.file_size > max_ratio * max(info.compress_size, 1):
            return f"压缩包中的“{shown}”压缩比异常（超过 {max_ratio:g} 倍），疑似压缩炸弹，已拒绝"
    return None
