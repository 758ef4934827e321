"""Serving the notice endpoint on a TCP port until the executor stops.

Each connection carries one request, read within `READ_TIMEOUT_SECONDS` (a client that trickles
bytes is cut off) and answered; at most `MAX_CONNECTIONS` are served at once, the rest are told
to come back (503), so a flood cannot exhaust the executor's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus

import structlog

from executor.notices.endpoint import NoticeEndpoint
from executor.notices.http import (
    MAX_HEAD_BYTES,
    HttpError,
    HttpResponse,
    problem,
    read_request,
)

READ_TIMEOUT_SECONDS = 10.0
WRITE_TIMEOUT_SECONDS = 10.0
LINGER_SECONDS = 2.0
MAX_CONNECTIONS = 32

log = structlog.get_logger("executor.notices")


class NoticeServer:
    """The endpoint on `host:port` (port 0 picks a free one, for tests)."""

    def __init__(self, endpoint: NoticeEndpoint, *, host: str, port: int, max_body: int) -> None:
        """Serve `endpoint`, refusing bodies over `max_body` bytes."""
        self.endpoint = endpoint
        self.host = host
        self.port = port
        self.max_body = max_body
        self._server: asyncio.Server | None = None
        self._active = 0
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> None:
        """Bind and start accepting; `port` is then the bound port."""
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, limit=MAX_HEAD_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("spot notice endpoint listening", host=self.host, port=self.port)

    async def close(self) -> None:
        """Stop accepting, cut the connections still open, and wait for their handlers."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        # Aborting the transport ends a handler's reads at once, so it finishes by itself
        # (a cancelled handler would be reported as an error by asyncio's stream callback).
        for writer in self._connections.values():
            writer.transport.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set (starting first if needed), then close."""
        if self._server is None:
            await self.start()
        try:
            await stop.wait()
        finally:
            await self.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
        self._active += 1
        try:
            response: HttpResponse | None
            if self._active > MAX_CONNECTIONS:
                response = problem(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections")
            else:
                response = await self._answer(reader)
            if response is None:
                return
            writer.write(response.encode())
            # A client that went away retries on its own; there is no one left to answer.
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
                    await writer.drain()
                await _linger(reader, writer)
        finally:
            self._active -= 1
            if task is not None:
                self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
                    await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> HttpResponse | None:
        """The response to the connection's request; None when the client hung up."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                request = await read_request(reader, max_body=self.max_body)
        except HttpError as e:
            return problem(e.status, e.detail)
        except TimeoutError:
            return problem(HTTPStatus.REQUEST_TIMEOUT, "request not received in time")
        except ConnectionError:
            return None
        return self.endpoint.respond(request)


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close, then discard what the client still sends, for at most `LINGER_SECONDS`.

    Closing a socket with unread input resets the connection, and a reset can destroy the
    answer before the client reads it: a refused oversized request would look like a network
    failure instead of a 413.
    """
    if writer.can_write_eof():
        writer.write_eof()
    async with asyncio.timeout(LINGER_SECONDS):
        while await reader.read(65_536):
            pass
