"""The produced message embeds the validated JSON as sent, and parses to the same model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gateway.ingest import envelope
from protocol.snapshot import ClusterInfo, ClusterSnapshot, Provider
from protocol.spot import NoticeKind, SpotNotice
from protocol.topics import SnapshotMessage, SpotNoticeMessage

RECEIVED = datetime(2026, 11, 23, 4, 5, 6, 789000, tzinfo=UTC)


def test_snapshot_envelope_equals_the_model_built_message() -> None:
    """Wrapping raw bytes gives the message a serialiser would have produced."""
    tenant = uuid.uuid4()
    snapshot = ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(cluster_id=uuid.uuid4(), name="c"),
        taken_at=RECEIVED,
    )
    raw = b"  " + snapshot.model_dump_json(indent=2).encode() + b"\n"
    parsed = SnapshotMessage.model_validate_json(envelope(tenant, RECEIVED, "snapshot", raw))
    assert parsed == SnapshotMessage(tenant_id=tenant, received_at=RECEIVED, snapshot=snapshot)


def test_notice_envelope_equals_the_model_built_message() -> None:
    """The same holds for spot notices."""
    tenant = uuid.uuid4()
    notice = SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        provider=Provider.GCP,
        kind=NoticeKind.TERMINATION,
        node_name="n",
        detected_at=RECEIVED,
    )
    raw = notice.model_dump_json().encode()
    parsed = SpotNoticeMessage.model_validate_json(envelope(tenant, RECEIVED, "notice", raw))
    assert parsed == SpotNoticeMessage(tenant_id=tenant, received_at=RECEIVED, notice=notice)
