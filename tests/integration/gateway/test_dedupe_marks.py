"""Done marks of accepted ids: carried by the next admission, or written on their own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from devstack.services import ServiceUrls
from gateway.dedupe import Claim, Deduplicator
from gateway.rate_limit import Limit, RateLimiter

_LONG_WAIT = 3600.0
"""A wait no test outlasts: only an admission or a drain writes the marks."""


@pytest.fixture
async def redis(services: ServiceUrls) -> AsyncIterator[Redis]:
    """A Redis client of the session's server, closed after the test."""
    async with Redis.from_url(services.redis_url) as client:
        yield client


def _dedupe(redis: Redis, prefix: str, wait: float = _LONG_WAIT) -> Deduplicator:
    return Deduplicator(
        redis, prefix=prefix, ttl_seconds=600, pending_ttl_seconds=60, confirm_wait_seconds=wait
    )


def _limiter(redis: Redis, prefix: str) -> RateLimiter:
    return RateLimiter(redis, prefix=prefix, window_seconds=60)


def _key(dedupe: Deduplicator) -> str:
    return dedupe.key("delta", uuid.uuid4(), uuid.uuid4(), uuid.uuid4())


async def test_next_admission_writes_the_done_mark(redis: Redis) -> None:
    """An id confirmed before another request's admission is `done` once that admission ran."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    dedupe, limiter = _dedupe(redis, prefix), _limiter(redis, prefix)
    first, second = _key(dedupe), _key(dedupe)
    assert (await dedupe.admit(first, limiter=limiter)).claim is Claim.NEW
    dedupe.confirm(first)
    assert await redis.get(first) == b"pending"
    assert (await dedupe.admit(second, limiter=limiter)).claim is Claim.NEW
    assert await redis.get(first) == b"done"
    assert 500 < await redis.ttl(first) <= 600
    await dedupe.drain()


async def test_replay_after_confirmation_is_a_duplicate(redis: Redis) -> None:
    """The same id admitted again by the process that confirmed it finds it `done`."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    dedupe, limiter = _dedupe(redis, prefix), _limiter(redis, prefix)
    key = _key(dedupe)
    assert (await dedupe.admit(key, limiter=limiter)).claim is Claim.NEW
    dedupe.confirm(key)
    assert (await dedupe.admit(key, limiter=limiter)).claim is Claim.DONE
    await dedupe.drain()


async def test_refused_admission_still_writes_the_done_marks(redis: Redis) -> None:
    """An admission its rate limit refuses writes the marks it carries all the same."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    dedupe, limiter = _dedupe(redis, prefix), _limiter(redis, prefix)
    exhausted = (Limit("cluster:x", 1, "cluster"),)
    accepted = _key(dedupe)
    assert (await dedupe.admit(accepted, limiter=limiter, limits=exhausted)).claim is Claim.NEW
    dedupe.confirm(accepted)
    refused = await dedupe.admit(_key(dedupe), limiter=limiter, limits=exhausted)
    assert refused.claim is None
    assert await redis.get(accepted) == b"done"
    await dedupe.drain()


async def test_done_mark_is_written_on_its_own_without_admissions(redis: Redis) -> None:
    """With no admission to carry it, the mark is written once it has waited its time."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    dedupe, limiter = _dedupe(redis, prefix, wait=0.01), _limiter(redis, prefix)
    key = _key(dedupe)
    await dedupe.admit(key, limiter=limiter)
    dedupe.confirm(key)
    for _ in range(100):
        if await redis.get(key) == b"done":
            break
        await asyncio.sleep(0.01)
    assert await redis.get(key) == b"done"
    await dedupe.drain()


async def test_drain_writes_every_queued_mark(redis: Redis) -> None:
    """Draining before Redis is closed writes the marks no admission carried."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    dedupe, limiter = _dedupe(redis, prefix), _limiter(redis, prefix)
    keys = [_key(dedupe) for _ in range(3)]
    for key in keys:
        await dedupe.admit(key, limiter=limiter)
    for key in keys:
        dedupe.confirm(key)
    await dedupe.drain()
    assert [await redis.get(key) for key in keys] == [b"done"] * 3


async def test_flag_is_read_beside_the_marks(redis: Redis) -> None:
    """The flag key's existence is reported whether or not marks ride on the admission."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    dedupe, limiter = _dedupe(redis, prefix), _limiter(redis, prefix)
    flag = f"{prefix}flag"
    await redis.set(flag, "1", ex=60)
    first = _key(dedupe)
    assert (await dedupe.admit(first, limiter=limiter, flag=flag)).flagged is True
    dedupe.confirm(first)
    second = await dedupe.admit(_key(dedupe), limiter=limiter, flag=flag)
    assert (second.claim, second.flagged) == (Claim.NEW, True)
    assert await redis.get(first) == b"done"
    unflagged = await dedupe.admit(_key(dedupe), limiter=limiter, flag=f"{prefix}absent")
    assert unflagged.flagged is False
    await dedupe.drain()


async def test_replay_while_its_mark_is_written_on_its_own_is_a_duplicate(
    services: ServiceUrls,
) -> None:
    """The same id admitted again right after its done mark was sent on its own is a
    duplicate, never "being accepted": the mark goes ahead of the admission on the admissions'
    connection, even with the client's pool busy."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    pool = BlockingConnectionPool.from_url(services.redis_url, max_connections=1, timeout=10)
    async with Redis.from_pool(pool) as client:
        dedupe, limiter = _dedupe(client, prefix, wait=0.0), _limiter(client, prefix)
        key = _key(dedupe)
        assert (await dedupe.admit(key, limiter=limiter)).claim is Claim.NEW
        held = await pool.get_connection()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        try:
            dedupe.confirm(key)
            async with asyncio.timeout(5):
                # The write starts from a timer of this loop: yielding lets it run.
                while dedupe.unsent_marks:  # noqa: ASYNC110
                    await asyncio.sleep(0)
            assert (await dedupe.admit(key, limiter=limiter)).claim is Claim.DONE
        finally:
            await pool.release(held)
        await dedupe.drain()
        assert await client.get(key) == b"done"


async def test_marks_written_on_their_own_before_the_first_admission(redis: Redis) -> None:
    """Marks sent on their own before the admissions' connection is open go ahead of the
    admission that opens it."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    confirming = _dedupe(redis, prefix, wait=0.0)
    limiter = _limiter(redis, prefix)
    key = _key(confirming)
    assert (await confirming.admit(key, limiter=limiter)).claim is Claim.NEW
    await confirming.drain()  # closes the admissions' connection
    confirming.confirm(key)
    async with asyncio.timeout(5):
        while confirming.unsent_marks:  # noqa: ASYNC110
            await asyncio.sleep(0)
    assert (await confirming.admit(key, limiter=limiter)).claim is Claim.DONE
    await confirming.drain()
