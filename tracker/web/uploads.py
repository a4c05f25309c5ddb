"""Files imported in two steps: upload → preview (nothing stored) → confirm (stored, all or nothing).

`UploadFlow` is the one pipeline the guideline upload and the award-list import share (the idea of NetBox's bulk
import view: each kind of file declares how to preview, show and commit it; the flow does the rest). The first
request reads the file once into a preview and keeps the bytes in a `PendingStore`: a server-side folder, under a
random token bound to the uploader, with their SHA-256. The confirm form sends only the token; the second request
reads the bytes back if the token is the same user's, complete, intact and not expired, previews them again
against the database as it is then, claims them (exactly one of two concurrent confirmations wins) and commits.
Each kind of upload has its own folder and writes its kind into the metadata, so a token of one kind is never
read as another.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from litestar import Request, Response
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from sqlalchemy.orm import Session

from tracker import clock
from tracker.files.pending import PendingStore
from tracker.models import User
from tracker.services.audit import Actor
from tracker.settings import Settings


def clean_file_name(raw: str, default: str = "upload") -> str:
    """The base name a browser sent (some send a whole Windows path), without control characters."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-200:] or default


def read_upload(upload: Any, limit: int) -> bytes:
    """At most `limit` + 1 bytes of an uploaded file (one more than allowed, so the reader can refuse it)."""
    try:
        return upload.file.read(limit + 1)
    finally:
        upload.file.close()


def is_file(value: Any) -> bool:
    """Whether a form value is an uploaded file with a name (a plain text field is not)."""
    return hasattr(value, "filename") and hasattr(value, "file") and bool(getattr(value, "filename", ""))


# --- the two-step pipeline ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """The request as a flow sees it (what the handler was given)."""

    request: Request[Any, Any, Any]
    db: Session
    user: User
    actor: Actor
    settings: Settings


class Refused(Exception):  # noqa: N818 - a page to show instead, not an error
    """A flow's answer instead of going on: the form again, or the preview with a message."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__("refused")
        self.response = response


P = TypeVar("P")


class UploadFlow(ABC, Generic[P]):
    """One kind of file imported in two steps. A subclass declares its limits and messages and says how to read
    the form's other fields, preview a file, show a preview and commit one; `upload` and `confirm` do the rest.
    Any step may raise Refused(response) to answer with that page instead (nothing is stored then)."""

    kind: ClassVar[str]  # the folder under data_dir/uploads and the kind written into the metadata
    max_bytes: ClassVar[int]
    default_name: ClassVar[str]
    no_file: ClassVar[str]  # the message when the form came without a file
    gone: ClassVar[str]  # an unknown, foreign or expired token
    taken: ClassVar[str]  # a token another request has just confirmed

    @abstractmethod
    def fields(self, call: Call, form: FormMultiDict) -> dict[str, Any]:
        """The form's other inputs, checked; they are kept with the file until it is confirmed."""

    @abstractmethod
    def form_page(self, call: Call, fields: dict[str, Any], *, error: str, status_code: int) -> Response[Any]:
        """The upload form again, with a message."""

    @abstractmethod
    def preview(self, call: Call, name: str, data: bytes, fields: dict[str, Any], *, confirming: bool) -> P:
        """Read the file once and say what storing it would do; never writes."""

    @abstractmethod
    def needs_confirming(self, preview: P) -> bool:
        """False when there is nothing to store (the same file was already imported)."""

    @abstractmethod
    def preview_page(self, call: Call, preview: P, token: str) -> Response[Any]:
        """What the file holds and what confirming will do; `token` is empty when there is nothing to confirm."""

    @abstractmethod
    def commit(self, call: Call, preview: P) -> Response[Any]:
        """Store the previewed file in the request's transaction and show the outcome."""

    def nothing_to_do(self, call: Call, preview: P) -> Response[Any]:
        """The answer to a confirmation that finds nothing left to store."""
        return self.preview_page(call, preview, "")

    def store(self, settings: Settings) -> PendingStore:
        return PendingStore(Path(settings.data_dir) / "uploads" / self.kind, kind=self.kind)

    def upload(self, call: Call, form: FormMultiDict) -> Response[Any]:
        """The first request: read the file into a preview and keep it for the confirmation."""
        try:
            fields = self.fields(call, form)
            upload = form.get("file")
            if not is_file(upload):
                return self.form_page(call, fields, error=self.no_file, status_code=400)
            name = clean_file_name(str(upload.filename), self.default_name)
            data = read_upload(upload, self.max_bytes)
            preview = self.preview(call, name, data, fields, confirming=False)
        except Refused as refused:
            return refused.response
        token = ""
        if self.needs_confirming(preview):
            token = self.store(call.settings).save(user_id=call.user.id, file_name=name, data=data, now=clock.now(),
                                                   **fields)
        return self.preview_page(call, preview, token)

    def confirm(self, call: Call, token: str) -> Response[Any]:
        """The second request: the kept file previewed again against the database as it is now, then stored."""
        store = self.store(call.settings)
        pending = store.load(token, user_id=call.user.id, now=clock.now())
        if pending is None:
            raise NotFoundException(detail=self.gone)
        try:
            preview = self.preview(call, pending.file_name, pending.data, pending.extra, confirming=True)
        except Refused as refused:
            store.discard(pending.token)
            return refused.response
        if not self.needs_confirming(preview):
            store.discard(pending.token)
            return self.nothing_to_do(call, preview)
        if not store.claim(pending.token):
            raise NotFoundException(detail=self.taken)
        try:
            return self.commit(call, preview)
        except Refused as refused:
            return refused.response
