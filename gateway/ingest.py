"""Accepting snapshots and spot notices: limit and dedupe in one round trip, wrap without
re-serialising, produce, confirm."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from gateway.dedupe import Claim, Deduplicator
from gateway.metrics import GatewayMetrics
from gateway.problems import Problem
from gateway.publisher import EventPublisher, PublishError
from gateway.rate_limit import Limit, RateLimiter, rate_limited
from protocol.topics import message_key, schema_headers


@dataclass(frozen=True)
class Submission:
    """One validated item on its way to a topic."""

    kind: str
    """`snapshot`, `delta` or `notice`: the dedupe namespace and the metrics label."""
    topic: str
    field: str
    """The envelope field the item goes in (`snapshot` of SnapshotMessage, `notice` of ...)."""
    tenant_id: uuid.UUID
    cluster_id: uuid.UUID
    item_id: uuid.UUID
    raw: bytes
    """The item's JSON exactly as validated."""
    received_at: datetime
    headers: tuple[tuple[str, bytes], ...] = ()
    """Headers beyond the schema version and message id (a delta's payload kind)."""
    flag_key: str | None = None
    """A Redis key whose existence the answer reports, read with the claim (the workers'
    resync request for the cluster: `protocol.topics.resync_key`)."""
    limits: tuple[Limit, ...] = ()
    """The rate limits the request counts against, in the claim's round trip."""
    limited: str = "snapshot"
    """What the limits count, as the 429 names it (deltas count as snapshots)."""


@dataclass(frozen=True)
class Submitted:
    """What became of a submission."""

    duplicate: bool
    """Accepted before (nothing was produced)."""
    flagged: bool
    """The submission's `flag_key` existed when it was claimed."""


def envelope(tenant_id: uuid.UUID, received_at: datetime, field: str, raw: bytes) -> bytes:
    """A SnapshotMessage/DeltaMessage/SpotNoticeMessage JSON document embedding the validated
    JSON as sent.

    Re-serialising a large snapshot costs as much as validating it; the body already passed
    validation against the same model, so its bytes are embedded unchanged.
    """
    head = f'{{"tenant_id":"{tenant_id}","received_at":"{received_at.isoformat()}","{field}":'
    return b"".join((head.encode(), raw, b"}"))


class IngestService:
    """Produces each id at most once per dedupe window, and only answers after the broker did."""

    def __init__(
        self,
        publisher: EventPublisher,
        dedupe: Deduplicator,
        limiter: RateLimiter,
        metrics: GatewayMetrics,
        *,
        retry_after_seconds: int,
        produce_timeout_seconds: float,
    ) -> None:
        self._publisher = publisher
        self._dedupe = dedupe
        self._limiter = limiter
        self._metrics = metrics
        self._retry_after = str(retry_after_seconds)
        self._produce_timeout = produce_timeout_seconds

    async def drain(self) -> None:
        """Wait for the confirmations of what was accepted (before Redis is closed)."""
        await self._dedupe.drain()

    async def submit(self, item: Submission) -> Submitted:
        """Produce the item unless its limits refuse it (429) or it is a duplicate."""
        key = self._dedupe.key(item.kind, item.tenant_id, item.cluster_id, item.item_id)
        admitted = await self._dedupe.admit(
            key, limiter=self._limiter, limits=item.limits, flag=item.flag_key
        )
        claim, flagged = admitted.claim, admitted.flagged
        if claim is None:
            raise rate_limited(admitted.verdict, item.limited)
        if claim is Claim.DONE:
            self._metrics.accepted_of(item.kind, "true").inc()
            return Submitted(duplicate=True, flagged=flagged)
        if claim is Claim.PENDING:
            raise Problem(
                503,
                "in-flight",
                "The same id is being accepted right now",
                "retry to learn whether it was accepted",
                headers={"Retry-After": "1"},
                reason="duplicate-in-flight",
            )
        value = envelope(item.tenant_id, item.received_at, item.field, item.raw)
        try:
            # A hung broker must not hold the agent for the producer's own (long) timeout. A
            # timeout scope, not `wait_for`, which would run the produce as a task of its own.
            async with asyncio.timeout(self._produce_timeout):
                await self._publisher.publish(
                    item.topic,
                    message_key(item.tenant_id, item.cluster_id),
                    value,
                    [*schema_headers(item.item_id), *item.headers],
                )
        except (PublishError, TimeoutError) as e:
            await self._dedupe.release(key)
            # The write may still land after we gave up: say only what is known. A retry with
            # the same id is safe, since consumers fold each snapshot and notice id once.
            raise Problem(
                503,
                "unavailable",
                "The event log did not acknowledge the write",
                "not acknowledged by the event log; retry",
                headers={"Retry-After": self._retry_after},
                reason="produce-failed",
            ) from e
        self._dedupe.confirm(key)
        self._metrics.accepted_of(item.kind, "false").inc()
        return Submitted(duplicate=False, flagged=flagged)
