"""Just enough HTTP/1.1 for one small JSON request per connection, with every input bounded.

A request is read whole before it is answered: a request line and headers within
`MAX_HEAD_BYTES`, then exactly `Content-Length` body bytes, no more than the endpoint allows.
Chunked bodies are refused (411): every client of this endpoint knows its body's length.
Each response closes the connection, so no connection state outlives one request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

MAX_HEAD_BYTES = 8192
MAX_HEADERS = 64
PROBLEM_JSON = "application/problem+json"


class HttpError(Exception):
    """A request that cannot be read; answered with `status` and a problem document."""

    def __init__(self, status: HTTPStatus, detail: str) -> None:
        """`detail` tells the client what was wrong."""
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class HttpRequest:
    """A request as read from the connection; header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    """A response to write: status, JSON body and extra headers."""

    status: HTTPStatus
    document: Any
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The response on the wire, announcing that the connection closes after it."""
        body = json.dumps(self.document, sort_keys=True).encode()
        lines = [
            f"HTTP/1.1 {self.status.value} {self.status.phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            "Cache-Control: no-store",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def problem(status: HTTPStatus, detail: str, **headers: str) -> HttpResponse:
    """An RFC 7807 problem document."""
    document = {
        "type": "about:blank",
        "title": status.phrase,
        "status": status.value,
        "detail": detail,
    }
    return HttpResponse(status, document, PROBLEM_JSON, headers)


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """Method, path and lower-cased headers of a request head."""
    text = head.decode("latin-1")  # every byte decodes; bad ones fail the checks below
    request_line, *header_lines = text.removesuffix("\r\n\r\n").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(HTTPStatus.BAD_REQUEST, "malformed request line")
    method, target, _ = parts
    if len(header_lines) > MAX_HEADERS:
        raise HttpError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too many header fields")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpError(HTTPStatus.BAD_REQUEST, "malformed header field")
        key = name.lower()
        if key in headers and key in {"content-length", "authorization", "content-type"}:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"repeated {key} header")
        headers[key] = value.strip()
    return method, target.split("?", 1)[0], headers


def _content_length(headers: Mapping[str, str], max_body: int) -> int:
    """The announced body length, checked against `max_body`."""
    if "transfer-encoding" in headers:
        raise HttpError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
    text = headers.get("content-length")
    if text is None:
        return 0
    if not text.isdigit():
        raise HttpError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number")
    length = int(text)
    if length > max_body:
        raise HttpError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length} bytes exceeds {max_body}"
        )
    return length


async def read_request(reader: asyncio.StreamReader, *, max_body: int) -> HttpRequest:
    """Read one request; raises `HttpError` for anything malformed or too large.

    The reader's own limit must be at least `MAX_HEAD_BYTES` (the server sets it so).
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as e:
        raise HttpError(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head is too large"
        ) from e
    except asyncio.IncompleteReadError as e:
        raise HttpError(HTTPStatus.BAD_REQUEST, "connection closed inside the request") from e
    if len(head) > MAX_HEAD_BYTES:
        raise HttpError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head is too large")
    method, path, headers = _parse_head(head)
    length = _content_length(headers, max_body)
    try:
        body = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as e:
        raise HttpError(HTTPStatus.BAD_REQUEST, "body shorter than its Content-Length") from e
    return HttpRequest(method, path, headers, body)
