"""A script called over the channel's own connection: replies in call order, redis-py's errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from devstack.services import ServiceUrls
from gateway.script_channel import PUSH, ScriptChannel, pack, parse_reply

_ECHO = "return {KEYS[1], tonumber(ARGV[1]), false}"


@pytest.fixture
async def redis(services: ServiceUrls) -> AsyncIterator[Redis]:
    """A Redis client of the session's server, closed after the test."""
    async with Redis.from_url(services.redis_url) as client:
        yield client


def _unloaded(script: str) -> str:
    """`script` under a text no server has loaded yet (its first call finds no script)."""
    return f"-- {uuid.uuid4()}\n{script}"


async def test_concurrent_calls_get_their_own_replies(redis: Redis) -> None:
    """Calls in flight together each get the reply to their own keys and arguments."""
    channel = ScriptChannel(redis, _unloaded(_ECHO))
    try:
        replies = await asyncio.gather(*(channel([f"key-{i}"], [i]) for i in range(200)))
    finally:
        await channel.close()
    assert replies == [[f"key-{i}".encode(), i, None] for i in range(200)]


async def test_missing_script_is_loaded_without_the_clients_pool(services: ServiceUrls) -> None:
    """A server lacking the script is given it on the channel's connection: calls finding no
    script are answered while the client's pool has no connection to lend."""
    pool = BlockingConnectionPool.from_url(services.redis_url, max_connections=1, timeout=1)
    async with Redis.from_pool(pool) as client:
        channel = ScriptChannel(client, _unloaded(_ECHO))
        held = await pool.get_connection()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        try:
            replies = await asyncio.gather(*(channel([f"key-{i}"], [i]) for i in range(20)))
        finally:
            await pool.release(held)
            await channel.close()
    assert replies == [[f"key-{i}".encode(), i, None] for i in range(20)]


async def test_reply_matches_redis_pys(redis: Redis) -> None:
    """The channel's reply is the one redis-py's script call returns."""
    script = _unloaded("return {1, 'two', {3, 'four'}, false, redis.status_reply('OK')}")
    channel = ScriptChannel(redis, script)
    try:
        ours = await channel(["k"], [1])
    finally:
        await channel.close()
    theirs = await redis.register_script(script)(keys=["k"], args=[1])
    assert ours == theirs


async def test_error_reply_raises_response_error(redis: Redis) -> None:
    """A script's error is raised as redis-py raises it, and the calls after it are answered."""
    channel = ScriptChannel(redis, _unloaded("return redis.error_reply('refused: ' .. ARGV[1])"))
    try:
        with pytest.raises(ResponseError, match="refused: 7"):
            await channel([], [7])
        with pytest.raises(ResponseError, match="refused: 8"):
            await channel([], [8])
    finally:
        await channel.close()


async def test_closed_channel_connects_again(redis: Redis) -> None:
    """A call after the connection was closed opens another."""
    channel = ScriptChannel(redis, _unloaded(_ECHO))
    try:
        assert (await channel(["a"], [1]))[1] == 1
        await channel.close()
        assert (await channel(["b"], [2]))[1] == 2
    finally:
        await channel.close()


async def test_calls_waiting_on_a_lost_connection_fail() -> None:
    """Calls waiting when the server goes away raise ConnectionError; the next call connects
    again."""
    commands: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while b"EVALSHA" not in (received := await reader.read(65536)):
            writer.write(b"+OK\r\n" * received.count(b"SETINFO"))  # the client's greeting
        commands.append(received)  # the script's call: hang up without a reply
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Redis(host="127.0.0.1", port=port, protocol=2)
    channel = ScriptChannel(client, _ECHO)
    try:
        with pytest.raises(RedisConnectionError):
            await channel(["a"], [1])
        with pytest.raises(RedisConnectionError):
            await channel(["b"], [2])
    finally:
        await channel.close()
        await client.aclose()
        server.close()
        await server.wait_closed()
    assert [command.split(b"\r\n")[2] for command in commands] == [b"EVALSHA"] * 2


async def test_written_commands_are_answered_in_order(redis: Redis) -> None:
    """Commands written on the channel get their own replies, error replies as values."""
    key = f"test-{uuid.uuid4().hex[:8]}"
    channel = ScriptChannel(redis, _unloaded(_ECHO))
    try:
        await channel(["a"], [1])  # connected
        replies = await channel.write(
            pack(b"SET", key.encode(), b"1", b"EX", b"60"),
            pack(b"INCR", key.encode()),
            pack(b"HGET", key.encode(), b"field"),  # the wrong type: an error reply
        )
    finally:
        await channel.close()
    assert replies[:2] == [b"OK", 2]
    assert isinstance(replies[2], ResponseError)
    assert await redis.get(key) == b"2"


async def test_commands_written_before_connecting_precede_later_calls(redis: Redis) -> None:
    """Commands written while no connection is open reach Redis before a call made after
    them, though the call is the one that opens the connection."""
    key = f"test-{uuid.uuid4().hex[:8]}"
    channel = ScriptChannel(redis, _unloaded("return redis.call('GET', KEYS[1])"))
    try:
        written = channel.write(pack(b"SET", key.encode(), b"written", b"EX", b"60"))
        assert await channel([key], []) == b"written"
        assert await written == [b"OK"]
    finally:
        await channel.close()


async def test_closing_fails_commands_not_yet_sent(redis: Redis) -> None:
    """Commands written while no connection is open fail if the channel closes first."""
    key = f"test-{uuid.uuid4().hex[:8]}"
    channel = ScriptChannel(redis, _ECHO)
    written = channel.write(pack(b"SET", key.encode(), b"1", b"EX", b"60"))
    await channel.close()
    with pytest.raises(RedisConnectionError):
        await written
    assert await redis.get(key) is None


def test_partial_replies_wait_for_the_rest() -> None:
    """A reply cut anywhere is not read until the rest arrives."""
    whole = b"*3\r\n:1\r\n$3\r\nabc\r\n_\r\n"
    for cut in range(len(whole)):
        assert parse_reply(whole[:cut], 0) is None
    assert parse_reply(whole, 0) == ([1, b"abc", None], len(whole))


def test_push_messages_answer_no_call() -> None:
    """A RESP3 push message is read as a push, not as a reply."""
    push = b">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n"
    assert parse_reply(push + b":5\r\n", 0) == (PUSH, len(push))


def test_pack_spells_a_multi_bulk_request() -> None:
    """Commands go out as RESP arrays of bulk strings."""
    assert pack(b"EVALSHA", b"ab", b"0") == b"*3\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n0\r\n"
