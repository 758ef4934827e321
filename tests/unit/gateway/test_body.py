"""Gunzipping request bodies within a limit."""

from __future__ import annotations

import gzip
import zlib

import pytest

from gateway.body import BadGzipError, BodyTooLargeError, inflate_limited


def _zeros_gzip(size: int) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    out = [compressor.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*out, compressor.flush()])


def test_valid_gzip_inflates_exactly() -> None:
    """A body under the limit comes back byte for byte."""
    body = b'{"a": 1}' * 1000
    assert inflate_limited(gzip.compress(body), 10_000) == body


def test_body_of_exactly_the_limit_is_accepted() -> None:
    """The limit is inclusive."""
    assert len(inflate_limited(gzip.compress(b"x" * 4096), 4096)) == 4096


def test_bomb_stops_one_byte_past_the_limit() -> None:
    """64 MiB of zeros against a 1 MiB limit: refused after producing limit + 1 bytes."""
    with pytest.raises(BodyTooLargeError) as refused:
        inflate_limited(_zeros_gzip(64 << 20), 1 << 20)
    assert refused.value.inflated == (1 << 20) + 1


def test_truncated_stream_is_bad_gzip() -> None:
    """Half a gzip member is refused."""
    whole = gzip.compress(b"y" * 10_000)
    with pytest.raises(BadGzipError, match="truncated"):
        inflate_limited(whole[: len(whole) // 2], 1 << 20)


def test_trailing_bytes_are_bad_gzip() -> None:
    """Data after the gzip member is refused, not ignored."""
    with pytest.raises(BadGzipError, match="after the end"):
        inflate_limited(gzip.compress(b"{}") + b"extra", 1 << 20)


def test_not_gzip_is_bad_gzip() -> None:
    """Plain bytes with a gzip Content-Encoding are refused."""
    with pytest.raises(BadGzipError):
        inflate_limited(b'{"plain": "json"}', 1 << 20)


def test_wrong_checksum_is_bad_gzip() -> None:
    """A gzip member whose CRC-32 trailer does not match its content is refused."""
    whole = bytearray(gzip.compress(b"z" * 10_000))
    whole[-8] ^= 0xFF
    with pytest.raises(BadGzipError):
        inflate_limited(bytes(whole), 1 << 20)
