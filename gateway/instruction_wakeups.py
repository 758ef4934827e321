"""Waking executors' long-polls when an instruction is approved, over one Redis subscription.

Approvals (a person's in the console, a tenant policy's in the spot worker) publish the
instruction id on `instructions:{cluster_id}` (`protocol.topics.instructions_channel`) once
committed. Each gateway process holds a single pattern subscription to every such channel and
wakes the long-polls of that cluster waiting in this process, however many there are. A wake-up
is only a hint to look again: the database says what is deliverable. Messages lost while the
subscription is down are made up for by waking every long-poll once it is back, and by the
long-polls' periodic re-checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from protocol.topics import instructions_channel

_log = structlog.get_logger("gateway.instructions")

_PROBE = uuid.UUID(int=0)


def _channel_prefix() -> str:
    return instructions_channel(_PROBE).removesuffix(str(_PROBE))


class InstructionWakeups:
    """Long-polls waiting per cluster, and the subscription that wakes them."""

    def __init__(
        self, redis: Redis, *, retry_initial_seconds: float = 0.5, retry_max_seconds: float = 10.0
    ) -> None:
        self._redis = redis
        self._prefix = _channel_prefix()
        self._retry = (retry_initial_seconds, retry_max_seconds)
        self._delay = retry_initial_seconds
        self._waiters: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._attempted = asyncio.Event()
        self.subscribed = False
        """Whether the subscription is up right now."""
        self.messages = 0
        """Approval messages received so far."""

    @contextlib.contextmanager
    def waiter(self, cluster_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set whenever something may have become deliverable for `cluster_id`.

        Register before looking in the database, so an approval committed in between still
        wakes the caller.
        """
        event = asyncio.Event()
        self._waiters.setdefault(cluster_id, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiters.get(cluster_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[cluster_id]

    def waiting(self, cluster_id: uuid.UUID) -> int:
        """How many long-polls of `cluster_id` wait in this process."""
        return len(self._waiters.get(cluster_id, ()))

    def wake(self, cluster_id: uuid.UUID) -> None:
        """Wake the long-polls of one cluster."""
        for event in self._waiters.get(cluster_id, ()):
            event.set()

    def wake_all(self) -> None:
        """Wake every long-poll (they look again and wait again if there is nothing)."""
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def first_attempt(self, within: float) -> None:
        """Wait until the first subscription attempt succeeded or failed (at most `within` s)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._attempted.wait(), within)

    async def run(self) -> None:
        """Subscribe and dispatch until cancelled, resubscribing with back-off after failures."""
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as e:
                _log.warning(
                    "instruction wake-ups unavailable; long-polls re-check periodically",
                    error=type(e).__name__,
                )
            self.subscribed = False
            self._attempted.set()
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, self._retry[1])

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe(f"{self._prefix}*")
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    self._dispatch(message)
        finally:
            # Shielded: a cancelled listener must still give its connection back.
            await asyncio.shield(pubsub.aclose())

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "psubscribe":
            self.subscribed = True
            self._delay = self._retry[0]
            self._attempted.set()
            self.wake_all()  # anything approved while the subscription was down
            return
        if kind != "pmessage":
            return
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        try:
            cluster_id = uuid.UUID(name.removeprefix(self._prefix))
        except ValueError:
            return
        self.messages += 1
        self.wake(cluster_id)
