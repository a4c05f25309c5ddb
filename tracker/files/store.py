"""The evidence store: checked files under random names, written once, read back only by names it produced."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tracker.files.evidence import CheckedFile

STORED_EXTENSIONS = frozenset({".pdf", ".png", ".jpg", ".docx", ".xlsx", ".pptx"})
STORAGE_NAME_RE = re.compile(r"[0-9a-f]{32}\.[a-z]{3,4}")


@dataclass(frozen=True)
class EvidenceStore:
    """Checked files under `root/ab/<32 hex>.<ext>`: random names, written once, mode 0440.

    No part of a path on disk comes from the uploader: the name shown to users lives in the database.
    """

    root: Path

    def put(self, checked: CheckedFile) -> str:
        """Store the bytes under a new random name and return it; a crash never leaves a partial file under it."""
        return self._put(checked, sync=True)

    def put_many(self, files: list[CheckedFile]) -> list[str]:
        """`put` for many files at once (a bulk writer's): the same names and files, made durable together by one
        sync at the end rather than two fsyncs per file, which dominate the cost of thousands of small files."""
        names = [self._put(checked, sync=False) for checked in files]
        if names:
            os.sync()
        return names

    def _put(self, checked: CheckedFile, *, sync: bool) -> str:
        if checked.extension not in STORED_EXTENSIONS:
            raise ValueError(f"not a stored extension: {checked.extension!r}")
        while True:
            name = secrets.token_hex(16) + checked.extension
            folder = self.root / name[:2]
            folder.mkdir(mode=0o750, parents=True, exist_ok=True)
            temp = folder / f".{secrets.token_hex(8)}.part"  # never matches STORAGE_NAME_RE
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o440)
            try:
                try:
                    os.fchmod(fd, 0o440)  # whatever the umask
                    view = memoryview(checked.data)
                    while view:
                        view = view[os.write(fd, view):]
                    if sync:
                        os.fsync(fd)
                finally:
                    os.close(fd)
                try:
                    os.link(temp, folder / name)  # fails rather than replace an existing file
                except FileExistsError:
                    continue  # 128 random bits collided: draw again
            finally:
                temp.unlink(missing_ok=True)
            if sync:
                _fsync_folder(folder)
            return name

    def path_of(self, storage_name: str) -> Path:
        """Where a stored file lives; ValueError for any name this store did not produce."""
        if not isinstance(storage_name, str) or not STORAGE_NAME_RE.fullmatch(storage_name):
            raise ValueError("not an evidence storage name")
        if storage_name[32:] not in STORED_EXTENSIONS:
            raise ValueError("not an evidence storage name")
        root = self.root.resolve()
        path = (root / storage_name[:2] / storage_name).resolve()
        if not path.is_relative_to(root) or path.parent.parent != root:
            raise ValueError("evidence path outside the store")
        return path

    def read(self, storage_name: str) -> bytes:
        return self.path_of(storage_name).read_bytes()

    def stored(self) -> Iterator[tuple[str, float]]:
        """Every file of the store: (storage name, modification time); temporary parts are not files of it."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if STORAGE_NAME_RE.fullmatch(path.name) and path.name.startswith(folder.name):
                    try:
                        yield path.name, path.stat().st_mtime
                    except OSError:
                        continue

    def remove(self, storage_name: str) -> None:
        self.path_of(storage_name).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make the new directory entry durable (the file's own data is already synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
