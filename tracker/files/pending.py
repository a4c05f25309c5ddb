"""Uploaded files waiting for their confirmation (the two-step imports of tracker.web.uploads): a folder per kind
of upload, each file under a random token bound to the uploader, with its SHA-256 and the time it came. Expired
ones are swept when another upload of the kind arrives, and by the housekeeping job."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)
DEFAULT_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class PendingFile:
    token: str
    user_id: int
    file_name: str
    data: bytes
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingStore:
    """Uploads of one kind in `folder`, kept for `ttl`."""

    folder: Path
    kind: str
    ttl: timedelta = DEFAULT_TTL

    def _paths(self, token: str) -> tuple[Path, Path]:
        return self.folder / f"{token}.bin", self.folder / f"{token}.json"

    def save(self, *, user_id: int, file_name: str, data: bytes, now: datetime, **extra: Any) -> str:
        """Keep the file until it is confirmed; returns the random token that names it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sweep(now)
        token = secrets.token_urlsafe(24)
        data_path, meta_path = self._paths(token)
        meta = {"kind": self.kind, "user_id": user_id, "file_name": file_name, "extra": extra,
                "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "created_at": now.isoformat()}
        _write_new(data_path, data)
        try:
            # The metadata is written last: a half-written upload has none and is never read back.
            _write_new(meta_path, json.dumps(meta, ensure_ascii=False).encode())
        except BaseException:
            data_path.unlink(missing_ok=True)  # a full disk (ENOSPC) leaves nothing of the upload behind (G28)
            raise
        return token

    def load(self, token: str, *, user_id: int, now: datetime) -> PendingFile | None:
        """The upload named by this token if it is the user's, of this kind, complete and not expired."""
        if not TOKEN_RE.fullmatch(token):
            return None  # never a path built from anything else than our own token alphabet
        data_path, meta_path = self._paths(token)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            data = data_path.read_bytes()
            created = datetime.fromisoformat(meta["created_at"])
            expected = meta["sha256"]
            owner = meta["user_id"]
            kind = meta["kind"]
            extra = dict(meta.get("extra") or {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if now - created > self.ttl or hashlib.sha256(data).hexdigest() != expected:
            self.discard(token)
            return None
        if owner != user_id or kind != self.kind:
            return None
        return PendingFile(token, owner, str(meta.get("file_name") or "upload"), data, extra)

    def claim(self, token: str) -> bool:
        """Take the upload for storing: exactly one of two concurrent confirmations gets True."""
        data_path, meta_path = self._paths(token)
        try:
            meta_path.unlink()
        except FileNotFoundError:
            return False
        data_path.unlink(missing_ok=True)
        return True

    def discard(self, token: str) -> None:
        for path in self._paths(token):
            path.unlink(missing_ok=True)

    def sweep(self, now: datetime) -> int:
        """Delete uploads older than the time to live (and leftovers without metadata); how many files went."""
        cutoff = (now - self.ttl).timestamp()
        removed = 0
        for path in self.folder.glob("*"):
            try:
                if path.suffix in (".bin", ".json") and path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
            except OSError:
                continue
        return removed


def _write_new(path: Path, data: bytes) -> None:
    """Write a new file (never an existing one): all of `data`, or an OSError and no file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except BaseException:
        path.unlink(missing_ok=True)  # half written (a full disk): gone
        raise
