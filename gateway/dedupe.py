"""At-most-once acceptance of snapshot and notice ids, in Redis.

A key is claimed as `pending` while the message is being produced, marked `done` once the broker
acknowledged it, and released if producing failed, so that the sender's retry is not lost. The
claim is made in the same round trip as the request's rate-limit count (only if the limits allow
it), and can read one more key there (whether the workers want a cluster's full snapshot), which
the answer to the upload carries.

Marking `done` rides on the process's next admission: the admission script writes the marks
queued since the previous one before it counts and claims, so an upload costs one round trip.
Marks that no admission picks up within `confirm_wait_seconds` are written on their own, on the
admissions' connection, ahead of any admission made after them. Either way a replay admitted by
the same process finds its id `done`. A replay reaching another process before its id's mark is
written finds it `pending` and is told to retry (nothing is produced twice); if the write fails,
the claim expires and a later retry is produced again, which consumers fold once, as they do
when a gateway dies between the broker's acknowledgement and its answer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.rate_limit import COUNT_HITS, Limit, RateLimiter, Verdict
from gateway.script_channel import ScriptChannel, pack

# KEYS: the rate-limit counters, the id's key, optionally the flag key, then the keys to mark
# done. ARGV: COUNT_HITS's, then the pending claim's expiry, 1 if a flag key is given (else 0),
# and the done marks' expiry.
_ADMIT = (
    """
local marked_from = tonumber(ARGV[2]) + 2 + tonumber(ARGV[tonumber(ARGV[2]) + 4])
for i = marked_from, #KEYS do
    redis.call('SET', KEYS[i], 'done', 'EX', ARGV[tonumber(ARGV[2]) + 5])
end
"""
    + COUNT_HITS
    + """
if refused > 0 then
    return {refused, retry, '', 0}
end
local counted = tonumber(ARGV[2])
local key = KEYS[counted + 1]
local flagged = 0
if tonumber(ARGV[counted + 4]) == 1 then
    flagged = redis.call('EXISTS', KEYS[counted + 2])
end
if redis.call('SET', key, 'pending', 'NX', 'EX', ARGV[counted + 3]) then
    return {0, 0, 'new', flagged}
end
return {0, 0, redis.call('GET', key) or 'done', flagged}
"""
)

CONFIRM_WAIT_SECONDS = 0.02
"""Longest a done mark waits for an admission to carry it before it is written on its own."""

_log = structlog.get_logger("gateway.dedupe")

_RELEASE = """
if redis.call('GET', KEYS[1]) == 'pending' then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class Claim(StrEnum):
    """What claiming an id found."""

    NEW = "new"
    """Nobody sent it before: produce it."""
    DONE = "done"
    """Already accepted: answer as a duplicate."""
    PENDING = "pending"
    """Being produced right now by another request: its outcome is not known yet."""


_CLAIMS = frozenset(c.value for c in Claim)


@dataclass(frozen=True)
class Admitted:
    """What one admission round trip found."""

    verdict: Verdict
    claim: Claim | None
    """None when the limits refused the request (nothing was claimed)."""
    flagged: bool


class Deduplicator:
    """Claims, confirms and releases ids per tenant, cluster and kind."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        ttl_seconds: int,
        pending_ttl_seconds: int,
        confirm_wait_seconds: float = CONFIRM_WAIT_SECONDS,
    ) -> None:
        self._admit = ScriptChannel(redis, _ADMIT)
        self._release: Any = redis.register_script(_RELEASE)
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._pending_ttl = pending_ttl_seconds
        self._confirm_wait = confirm_wait_seconds
        self._to_confirm: list[str] = []
        self._confirm_timer: asyncio.TimerHandle | None = None
        self._confirming: set[asyncio.Task[None]] = set()

    def key(self, kind: str, tenant_id: uuid.UUID, cluster_id: uuid.UUID, item: uuid.UUID) -> str:
        """The Redis key of one id."""
        return f"{self._prefix}dedupe:{kind}:{tenant_id}:{cluster_id}:{item}"

    async def admit(
        self,
        key: str,
        *,
        limiter: RateLimiter,
        limits: Sequence[Limit] = (),
        flag: str | None = None,
    ) -> Admitted:
        """Mark the ids confirmed since the last admission done; count the request against
        `limits`; if they allow it, claim `key` as pending unless it is known, and read whether
        the key `flag` exists. One round trip."""
        marks, self._to_confirm = self._to_confirm, []
        flags = () if flag is None else (flag,)
        keys = [*limiter.keys(limits), key, *flags, *marks]
        args = [*limiter.args(limits), self._pending_ttl, len(flags), self._ttl]
        try:
            refused, retry, found, flagged = await self._admit(keys, args)
        except BaseException:
            # The marks may not have been written: they go with the next write (again if
            # they were, which changes nothing).
            self._requeue(marks)
            raise
        verdict = limiter.verdict(limits, int(refused), int(retry))
        if not verdict.allowed:
            return Admitted(verdict, None, flagged=False)
        value = found.decode() if isinstance(found, bytes) else str(found)
        claim = Claim(value) if value in _CLAIMS else Claim.DONE
        return Admitted(verdict, claim, bool(flagged))

    @property
    def unsent_marks(self) -> int:
        """How many done marks wait for an admission to carry them (or for their time to be
        written on their own)."""
        return len(self._to_confirm)

    def confirm(self, key: str) -> None:
        """The message is durable: remember the id for the full dedupe window.

        The mark goes with the process's next admission, or on its own once it has waited
        `confirm_wait_seconds`.
        """
        self._requeue([key])

    async def drain(self) -> None:
        """Write every queued mark and wait until each one sent was answered, then close the
        admissions' connection (before closing Redis; a later admission opens another)."""
        self._write_queued()
        while self._confirming:
            await asyncio.gather(*self._confirming)
        await self._admit.close()

    def _requeue(self, keys: list[str]) -> None:
        if not keys:
            return
        self._to_confirm.extend(keys)
        if self._confirm_timer is None:
            loop = asyncio.get_running_loop()
            self._confirm_timer = loop.call_later(self._confirm_wait, self._write_queued)

    def _write_queued(self) -> None:
        """Write the marks no admission has carried on the admissions' connection, now; their
        replies are read in the background."""
        if self._confirm_timer is not None:
            self._confirm_timer.cancel()
            self._confirm_timer = None
        keys, self._to_confirm = self._to_confirm, []
        if not keys:
            return
        ttl = b"%d" % self._ttl
        done = Claim.DONE.value.encode()
        replies = self._admit.write(*(pack(b"SET", k.encode(), done, b"EX", ttl) for k in keys))
        task = asyncio.create_task(self._confirmed(replies, len(keys)), name="dedupe-confirm")
        self._confirming.add(task)
        task.add_done_callback(self._confirming.discard)

    @staticmethod
    async def _confirmed(replies: Awaitable[list[Any]], count: int) -> None:
        try:
            failed = sum(isinstance(reply, RedisError) for reply in await replies)
        except RedisError as e:
            failed, error = count, type(e).__name__
        else:
            error = "ResponseError"
        if failed:
            # Their claims expire; a retry of one of them is produced again and folded once.
            _log.warning("dedupe confirmations failed", keys=failed, error=error)

    async def release(self, key: str) -> None:
        """Producing failed: forget the pending claim so that a retry is accepted."""
        await self._release(keys=[key], args=[])
