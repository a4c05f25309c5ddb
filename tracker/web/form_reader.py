"""Reading a request's form with bounded memory (G16), for the request context before any handler runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar._parsers import parse_url_encoded_form_data
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

# Litestar's request.form() spools files to disk past 1 MB but keeps a text field in memory whole, up to the route's
# body limit (100 MB for a report with its files), then decodes it into a second copy: a 100 MB "narrative" costs the
# server 200 MB. The longest text a form of ours takes is 20,000 characters (a year's calendar arrangement, 60 KB in
# UTF-8); a report's narrative is 5,000.
MAX_TEXT_FIELD_BYTES = 1024 * 1024  # one text field of a form
MAX_TEXT_BYTES = 4 * 1024 * 1024  # all text fields of a form together (an urlencoded body is all text)
TEXT_TOO_LARGE = "表单中的文字内容过大（每项不超过1MB），未保存任何内容。请检查后重新提交。"
NOT_UTF8 = "表单中的文字不是有效的 UTF-8 编码，请检查后重新提交"
MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The request's form, as `request.form()` reads it, with its text held to MAX_TEXT_FIELD_BYTES a field and
    MAX_TEXT_BYTES in all (413 beyond, with nothing kept): a body of any size costs the server about a megabyte
    of memory for each text field and the spooling buffers of its files, never the body. Files are spooled to disk
    past 1 MB (litestar.datastructures.UploadFile). The route's body limit is enforced by `request.stream()`."""
    content_type, options = request.content_type
    if content_type == MULTIPART:
        boundary = options.get("boundary")
        if not boundary:
            raise ClientException(detail="表单格式不正确（缺少 multipart 分隔符），请刷新页面后重试")
        fields = await _read_multipart(request.stream(), boundary.encode("latin-1"),
                                       max_parts=request.app.multipart_form_part_limit)
        return FormMultiDict.from_form_data(fields)
    if content_type == URLENCODED:
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_TEXT_BYTES:
                raise RequestEntityTooLarge(detail=TEXT_TOO_LARGE)
        return FormMultiDict.from_form_data(parse_url_encoded_form_data(bytes(body)))  # type: ignore[arg-type]
    return FormMultiDict()


async def _read_multipart(stream: AsyncIterator[bytes], boundary: bytes, *, max_parts: int) -> dict[str, Any]:
    """Litestar's parse_multipart_form with the text limits (and a Chinese 400 for text that is not UTF-8)."""
    fields: defaultdict[str, list[Any]] = defaultdict(list)
    text_total = 0
    current: UploadFile | bytearray = bytearray()
    try:
        chunk = await anext(stream, b"")
        if not chunk:
            return {}
        with PushMultipartParser(boundary, max_segment_count=max_parts) as parser:
            segment: MultipartSegment | None = None
            while not parser.closed:
                for part in parser.parse(chunk):
                    if isinstance(part, MultipartSegment):
                        segment = part
                        current = bytearray()
                        if segment.filename:
                            current = UploadFile(content_type=segment.content_type or "text/plain",
                                                 filename=segment.filename, headers=dict(segment.headerlist))
                    elif part:
                        if isinstance(current, UploadFile):
                            await current.write(part)
                            continue
                        current.extend(part)
                        text_total += len(part)
                        if len(current) > MAX_TEXT_FIELD_BYTES or text_total > MAX_TEXT_BYTES:
                            raise RequestEntityTooLarge(detail=TEXT_TOO_LARGE)
                    else:  # the end of a part
                        if segment is None:
                            raise ClientException(detail="表单内容不完整，请刷新页面后重试")
                        if isinstance(current, UploadFile):
                            await current.seek(0)
                            fields[segment.name].append(current)
                        else:
                            try:
                                fields[segment.name].append(current.decode(segment.charset or "utf-8"))
                            except (UnicodeDecodeError, LookupError):
                                raise ClientException(detail=NOT_UTF8) from None
                        current = bytearray()
                        segment = None
                chunk = await anext(stream, b"")
    except BaseException as exc:
        # Whatever ends the reading (a limit, a malformed body, a client gone), no spooled file is left open.
        for upload in [current, *(v for values in fields.values() for v in values)]:
            if isinstance(upload, UploadFile):
                await upload.close()
        if isinstance(exc, ParserError):
            raise ClientException(detail="表单格式不正确，请刷新页面后重试") from None
        if isinstance(exc, ParserLimitReached):
            raise ClientException(detail="表单的项目过多，请检查后重新提交") from None
        raise
    return {name: values if len(values) > 1 else values[0] for name, values in fields.items()}
