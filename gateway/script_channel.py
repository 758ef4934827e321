"""One Lua script called over one Redis connection of its own, the calls back to back.

Every upload runs the admission script once. Through redis-py's client each call takes a pooled
connection, packs the command, writes it in a task of its own (its write timeout) and parses the
reply through several layers: about four times the CPU of the round trip itself. Here the calls
share one connection opened by the client's own pool settings (address, TLS, credentials,
database, protocol); the commands of the calls made in one turn of the event loop go out in one
write (one wake-up of the server for all of them, and no wait: the write ends the same turn),
and one reader resolves the replies in the order the calls were made, as Redis answers them.

The answers are redis-py's: the reply as its parser returns it without decoding (integers,
bytes, lists, None); an error reply raises `ResponseError`; a lost or closed connection raises
`ConnectionError` to every call waiting on it, and the next call connects again; a reply not
within the client's socket timeout raises `TimeoutError` and drops the connection, as redis-py
drops one that timed out. A server that does not hold the script (restarted, or
flushed) is given it on the same connection, and the call made again, as redis-py's `Script`
does.

Other commands can be written on the same connection (`write`): queued at once, they reach
Redis before the command of any call made after `write` returns, connected or not yet.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_READ_SIZE = 65536
_CRLF = b"\r\n"
_NO_SCRIPT = "NOSCRIPT"


PUSH = object()
"""What `parse_reply` returns for an out-of-band push message (RESP3), which answers no call."""


class ProtocolError(RedisConnectionError):
    """A reply this channel does not read (the connection is dropped)."""


def pack(*parts: bytes) -> bytes:
    """The RESP command of `parts` (a multi-bulk request)."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n" % len(part))
        out.append(part)
        out.append(_CRLF)
    return b"".join(out)


def parse_reply(buffer: bytes, start: int) -> tuple[Any, int] | None:
    """The reply beginning at `start` and the offset after it; None if it is not all there.

    Error replies are returned as `ResponseError` instances (raised by the caller), push
    messages as `PUSH`."""
    end = buffer.find(_CRLF, start)
    if end < 0:
        return None
    kind = buffer[start : start + 1]
    read = _READERS.get(kind)
    if read is None:
        raise ProtocolError(f"Protocol Error: unexpected reply type {kind!r}")
    return read(buffer, buffer[start + 1 : end], end + 2)


def _integer(_buffer: bytes, line: bytes, after: int) -> tuple[Any, int] | None:
    return int(line), after


def _status(_buffer: bytes, line: bytes, after: int) -> tuple[Any, int] | None:
    return line, after


def _error_reply(_buffer: bytes, line: bytes, after: int) -> tuple[Any, int] | None:
    return _error(line.decode("utf-8", "replace")), after


def _null(_buffer: bytes, _line: bytes, after: int) -> tuple[Any, int] | None:
    return None, after


def _boolean(_buffer: bytes, line: bytes, after: int) -> tuple[Any, int] | None:
    return int(line == b"t"), after


def _push(buffer: bytes, line: bytes, after: int) -> tuple[Any, int] | None:
    found = _array(buffer, line, after)
    return None if found is None else (PUSH, found[1])


def _bulk(buffer: bytes, line: bytes, start: int) -> tuple[Any, int] | None:
    size = int(line)
    if size < 0:
        return None, start
    end = start + size
    if len(buffer) < end + 2:
        return None
    return buffer[start:end], end + 2


def _array(buffer: bytes, line: bytes, start: int) -> tuple[Any, int] | None:
    count = int(line)
    if count < 0:
        return None, start
    items: list[Any] = []
    position = start
    for _ in range(count):
        found = parse_reply(buffer, position)
        if found is None:
            return None
        item, position = found
        items.append(item)
    return items, position


_READERS: dict[bytes, Callable[[bytes, bytes, int], tuple[Any, int] | None]] = {
    b":": _integer,
    b"$": _bulk,
    b"*": _array,
    b"+": _status,
    b"-": _error_reply,
    b"_": _null,
    b"#": _boolean,
    b">": _push,
}
"""The reply types a script's reply (RESP2 or RESP3) and a push message are made of."""


def _error(message: str) -> ResponseError:
    if message.startswith(_NO_SCRIPT):
        return NoScriptError(message[len(_NO_SCRIPT) :].strip())
    return ResponseError(message)


class _Connection:
    """A connected redis-py connection, its writer and the calls awaiting replies in order."""

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        reader, writer = connection._reader, connection._writer
        if reader is None or writer is None:
            raise RedisConnectionError("Redis connection is not open")
        self.reader: asyncio.StreamReader = reader
        self.writer: asyncio.StreamWriter = writer
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.lost: Exception | None = None
        self.unsent: list[bytes] = []
        """Commands of calls made since the last write, written together at the end of the
        event loop's turn: one write, and one wake-up of the server, for all of them."""

    def send(self, command: bytes) -> None:
        """Queue `command`; the turn's first command schedules the write."""
        if not self.unsent:
            asyncio.get_running_loop().call_soon(self.flush)
        self.unsent.append(command)

    def flush(self) -> None:
        """Write the queued commands in one write (unless the connection was lost)."""
        commands, self.unsent = self.unsent, []
        if self.lost is None and commands:
            self.writer.write(b"".join(commands))

    def fail(self, error: Exception) -> None:
        """Fail every waiting call with `error` (once), and close the socket."""
        if self.lost is None:
            self.lost = error
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        self.writer.transport.abort()


_Reply = TypeVar("_Reply")


class ScriptChannel:
    """Calls one script (`await channel(keys, args)`) over one connection of its own."""

    def __init__(self, redis: Redis, script: str) -> None:
        self._redis = redis
        self._script = script
        self._sha = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest().encode()
        self._timeout: float | None = None
        self._live: _Connection | None = None
        self._connecting: asyncio.Lock | None = None
        self._reading: asyncio.Task[None] | None = None
        self._unconnected: list[tuple[bytes, asyncio.Future[Any]]] = []
        """Commands written while no connection was open, sent first once one is."""
        self._opening: set[asyncio.Task[Any]] = set()

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        """The script's reply to `keys` and `args` (loading the script first if Redis lacks
        it)."""
        command = pack(
            b"EVALSHA",
            self._sha,
            b"%d" % len(keys),
            *(key.encode() for key in keys),
            *(str(arg).encode() for arg in args),
        )
        try:
            return await self._call(command)
        except NoScriptError:
            # Loaded on the channel's own connection: calls that all found no script (after
            # a restart) take no connections of the client's pool.
            (loaded,) = await self.write(pack(b"SCRIPT", b"LOAD", self._script.encode()))
            if isinstance(loaded, ResponseError):
                raise loaded from None
            return await self._call(command)

    def write(self, *commands: bytes) -> Awaitable[list[Any]]:
        """Send `commands` (each one `pack`ed) on the channel's connection, queued before this
        returns: Redis receives them before the command of any call made afterwards. The
        awaitable gives their replies in order, error replies as `ResponseError` instances
        (not raised), and raises as a call does when the connection is lost or times out."""
        loop = asyncio.get_running_loop()
        waiters: list[asyncio.Future[Any]] = [loop.create_future() for _ in commands]
        if self._live is not None:
            for command, waiter in zip(commands, waiters, strict=True):
                self._live.waiting.append(waiter)
                self._live.send(command)
        else:
            first = not self._unconnected
            self._unconnected.extend(zip(commands, waiters, strict=True))
            if first:
                opening = asyncio.create_task(self._connect(), name="redis-script-connect")
                self._opening.add(opening)
                opening.add_done_callback(self._opened)
        return self._reply(asyncio.gather(*waiters))

    def _opened(self, opening: asyncio.Task[Any]) -> None:
        """A connection opened for written commands failed to open: so did their writes."""
        self._opening.discard(opening)
        if not opening.cancelled() and (error := opening.exception()) is not None:
            self._fail_unconnected(error)

    def _fail_unconnected(self, error: BaseException) -> None:
        unsent, self._unconnected = self._unconnected, []
        for _, waiter in unsent:
            if not waiter.done():
                waiter.set_exception(error)

    async def close(self) -> None:
        """Close the connection (the next call opens another); commands written and not yet
        sent fail."""
        self._fail_unconnected(RedisConnectionError("Connection closed by the gateway."))
        for opening in list(self._opening):
            opening.cancel()
        await asyncio.gather(*self._opening, return_exceptions=True)
        live, self._live = self._live, None
        if live is not None:
            live.fail(RedisConnectionError("Connection closed by the gateway."))
        reading, self._reading = self._reading, None
        if reading is not None:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
        if live is not None:
            await live.connection.disconnect(nowait=True)

    async def _call(self, command: bytes) -> Any:
        live = self._live if self._live is not None else await self._connect()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        live.waiting.append(waiter)
        live.send(command)
        reply = await self._reply(waiter)
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    async def _reply(self, waiter: asyncio.Future[_Reply]) -> _Reply:
        """The reply `waiter` is given, within the client's socket timeout."""
        if self._timeout is None:
            return await waiter
        # A call given up (timed out or cancelled) stays in line: its reply is read and
        # dropped, so that the next reply goes to the next call.
        try:
            async with asyncio.timeout(self._timeout):
                return await waiter
        except TimeoutError:
            # A waiter still unanswered is on the open connection: one lost fails its waiters.
            if self._live is not None:
                self._drop(self._live, RedisTimeoutError("Timeout reading from Redis"))
            raise RedisTimeoutError("Timeout reading from Redis") from None

    async def _connect(self) -> _Connection:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._live is not None:
                return self._live
            # A connection of the pool's settings, not one of its pool: it stays this channel's.
            make = cast(
                "Callable[[], AbstractConnection]", self._redis.connection_pool.make_connection
            )
            connection = make()
            await cast("Callable[[], Awaitable[None]]", connection.connect)()
            self._timeout = connection.socket_timeout
            live = _Connection(connection)
            self._live = live
            self._reading = asyncio.create_task(self._read(live), name="redis-script-replies")
            unsent, self._unconnected = self._unconnected, []
            for command, waiter in unsent:
                live.waiting.append(waiter)
                live.send(command)
            return live

    def _drop(self, live: _Connection, error: Exception) -> None:
        if self._live is live:
            self._live = None
        live.fail(error)

    async def _read(self, live: _Connection) -> None:
        """Resolve the waiting calls with the replies as they arrive, in order, until the
        connection is lost."""
        buffer = b""
        error: RedisConnectionError
        try:
            while data := await live.reader.read(_READ_SIZE):
                buffer = _resolve(live, buffer + data)
            error = RedisConnectionError("Connection closed by server.")
        except (RedisConnectionError, OSError, ValueError) as e:
            error = e if isinstance(e, RedisConnectionError) else RedisConnectionError(str(e))
        self._drop(live, error)
        await live.connection.disconnect(nowait=True)


def _resolve(live: _Connection, buffer: bytes) -> bytes:
    """Resolve the waiting calls with the whole replies in `buffer`; what is left of it."""
    position = 0
    while live.waiting:
        found = parse_reply(buffer, position)
        if found is None:
            break
        reply, position = found
        if reply is PUSH:
            continue
        waiter = live.waiting.popleft()
        if not waiter.done():
            waiter.set_result(reply)
    return buffer[position:]
