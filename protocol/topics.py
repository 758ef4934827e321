"""Kafka topics, keys and headers, and the Redis channel that wakes executors' long-polls: the
contract between the gateway and the workers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field

from protocol import SCHEMA_VERSION
from protocol.base import WireModel
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.spot import SpotNotice

SNAPSHOTS_TOPIC = "slicewise.snapshots.v1"
SPOT_NOTICES_TOPIC = "slicewise.spot-notices.v1"
DEAD_LETTER_TOPIC = "slicewise.dead-letter.v1"

SCHEMA_VERSION_HEADER = "schema-version"
MESSAGE_ID_HEADER = "message-id"
DEAD_LETTER_REASON_HEADER = "dead-letter-reason"
PAYLOAD_KIND_HEADER = "payload-kind"
"""On the snapshots topic: `delta` for a DeltaMessage; absent (or `snapshot`) for a SnapshotMessage.

Deltas share the snapshots topic and key so that a cluster's snapshots and deltas stay in one
partition, in the order the gateway accepted them."""
DELTA_PAYLOAD = b"delta"


def instructions_channel(cluster_id: UUID) -> str:
    """The Redis channel on which a new approved instruction for `cluster_id` is announced.

    The gateway wakes that cluster's executor long-polls on it; whoever stores an approved
    instruction (a console approval, the spot worker's policy approval) publishes its id here
    once committed.
    """
    return f"instructions:{cluster_id}"


def resync_key(cluster_id: UUID) -> str:
    """The Redis key that is set while the workers want a full snapshot of `cluster_id`.

    The ingest worker sets it when it finds a gap in a cluster's deltas and deletes it once a
    full snapshot is applied; the gateway reads it to answer `resync: true` to the agent.
    """
    return f"resync:{cluster_id}"


def message_key(tenant_id: UUID, cluster_id: UUID) -> bytes:
    """Partition key: every message of one cluster lands on one partition, in order."""
    return f"{tenant_id}/{cluster_id}".encode()


def schema_headers(message_id: UUID) -> list[tuple[str, bytes]]:
    """Headers every produced message carries."""
    return [
        (SCHEMA_VERSION_HEADER, SCHEMA_VERSION.encode()),
        (MESSAGE_ID_HEADER, str(message_id).encode()),
    ]


class SnapshotMessage(WireModel):
    """A snapshot accepted by the gateway, stamped with the tenant its token belongs to."""

    tenant_id: UUID
    received_at: AwareDatetime
    snapshot: ClusterSnapshot


class DeltaMessage(WireModel):
    """A cluster delta accepted by the gateway, stamped with the tenant its token belongs to."""

    tenant_id: UUID
    received_at: AwareDatetime
    delta: ClusterDelta


class SpotNoticeMessage(WireModel):
    """A spot notice accepted by the gateway."""

    tenant_id: UUID
    received_at: AwareDatetime
    notice: SpotNotice


class DeadLetter(WireModel):
    """A message a consumer could not process, with why."""

    source_topic: Annotated[str, Field(max_length=249)]
    partition: int
    offset: int
    reason: Annotated[str, Field(max_length=2048)]
    key: Annotated[str, Field(max_length=512)] | None = None
    value_base64: Annotated[str, Field(max_length=16 * 1024 * 1024)]
