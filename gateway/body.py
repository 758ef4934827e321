"""Reading request bodies within limits, inflating gzip without ever exceeding them.

Bodies are inflated by zlib-ng (the same deflate format and the same stream API as zlib),
which takes about half zlib's CPU on an agent's upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.requests import Request
from zlib_ng import zlib_ng

from gateway.problems import Problem

_GZIP_WBITS = 16 + zlib_ng.MAX_WBITS
# zlib-ng's stub declares `error` as an exception instance; it is the class (as zlib's is).
_ZLIB_ERROR = cast("type[Exception]", zlib_ng.error)


@dataclass(frozen=True)
class BodyLimits:
    """Largest body as sent and after decompression."""

    max_sent: int
    max_inflated: int


class BodyTooLargeError(Exception):
    """Inflating would exceed the limit; `inflated` is how much was produced before stopping."""

    def __init__(self, limit: int, inflated: int) -> None:
        super().__init__(f"body inflates beyond {limit} bytes")
        self.limit = limit
        self.inflated = inflated


class BadGzipError(Exception):
    """The body is not one complete gzip member."""


def inflate_limited(data: bytes, limit: int) -> bytes:
    """Gunzip `data`, producing at most `limit` bytes; a bomb stops after limit + 1 bytes.

    One call with an output cap: zlib stops when the cap is reached or the input runs out, so
    output within the limit without the end of the stream means the stream was cut short.
    """
    inflater = zlib_ng.decompressobj(_GZIP_WBITS)
    try:
        inflated = inflater.decompress(data, limit + 1)
    except _ZLIB_ERROR as e:
        raise BadGzipError(str(e)) from e
    if len(inflated) > limit:
        raise BodyTooLargeError(limit, len(inflated))
    if not inflater.eof:
        raise BadGzipError("truncated gzip stream")
    if inflater.unused_data:
        raise BadGzipError("data after the end of the gzip stream")
    return inflated


async def read_json_body(request: Request, limits: BodyLimits) -> bytes:
    """The JSON body, gunzipped if sent with `Content-Encoding: gzip`; Problem otherwise."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise Problem(
            415, "unsupported-media-type", "Body must be application/json", reason="media-type"
        )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in {"identity", "gzip"}:
        raise Problem(
            415,
            "unsupported-encoding",
            "Content-Encoding must be gzip or identity",
            reason="content-encoding",
        )
    raw = await read_limited(request, limits.max_sent)
    if encoding == "identity":
        return raw
    try:
        return inflate_limited(raw, limits.max_inflated)
    except BodyTooLargeError as e:
        raise Problem(
            413,
            "too-large",
            "Body too large",
            f"the body inflates beyond {limits.max_inflated} bytes",
            reason="inflated-too-large",
        ) from e
    except BadGzipError as e:
        raise Problem(400, "bad-gzip", "Body is not valid gzip", str(e), reason="bad-gzip") from e


async def read_limited(request: Request, limit: int) -> bytes:
    """The body as sent, refusing (413) as soon as it exceeds `limit`, before reading the rest."""
    declared = request.headers.get("content-length")
    too_large = Problem(
        413,
        "too-large",
        "Body too large",
        f"the body exceeds {limit} bytes",
        reason="body-too-large",
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
