"""The uplink authenticates, compresses, retries, spools and sends spot notices first."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.errors import ThrottledError
from agent.settings import AgentSettings
from agent.uplink.gateway import GatewayClient
from agent.uplink.spool import Lane
from agent.uplink.uplink import encode_snapshot
from devstack.process import free_port
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterInfo, ClusterSnapshot, Provider
from protocol.spot import NoticeKind, SpotNotice
from tests.support.running_uplink import running_uplink
from tests.unit.agent.fake_gateway import FakeGateway
from tests.unit.agent.http_servers import serving

CLUSTER = uuid.UUID("6f1d2a36-0d5e-4f5f-a0f4-7c1f0e9d8b21")
CLIENT_ID = "agent-6f1d"
SECRET = "not-a-real-secret"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _settings(base: str, spool: Path, **extra: object) -> AgentSettings:
    return AgentSettings(
        gateway_url=base,
        cluster_id=CLUSTER,
        client_id=CLIENT_ID,
        client_secret=SecretStr(SECRET),
        spool_dir=spool,
        snapshot_retry_max_seconds=0.2,
        notice_retry_max_seconds=0.05,
        **extra,  # type: ignore[arg-type]
    )


def _snapshot() -> ClusterSnapshot:
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(cluster_id=CLUSTER, name="prod"),
        taken_at=NOW,
    )


def _notice() -> SpotNotice:
    return SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        provider=Provider.AWS,
        kind=NoticeKind.TERMINATION,
        node_name="spot-1",
        detected_at=NOW,
        deadline=NOW,
        action="terminate",
    )


def _gateway(**extra: object) -> FakeGateway:
    return FakeGateway(CLIENT_ID, SECRET, CLUSTER, **extra)  # type: ignore[arg-type]


async def test_snapshot_arrives_gzipped_with_a_bearer_token(tmp_path: Path) -> None:
    """The gateway receives the same snapshot, gzip-encoded, after one token request."""
    gateway = _gateway()
    snapshot = _snapshot()
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_snapshot(snapshot)
        await gateway.wait_for(lambda: len(gateway.snapshots) == 1)
    assert gateway.snapshots == [snapshot]
    assert gateway.encodings == ["gzip"]
    assert len(gateway.tokens) == 1


async def test_token_is_cached_across_uploads(tmp_path: Path) -> None:
    """Three uploads use one token."""
    gateway = _gateway()
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        for _ in range(3):
            await uplink.submit_snapshot(_snapshot())
        await gateway.wait_for(lambda: len(gateway.snapshots) == 3)
    assert len(gateway.tokens) == 1


async def test_token_is_refreshed_before_it_expires(tmp_path: Path) -> None:
    """A token inside the refresh window (30 s left, 60 s leeway) is replaced before use."""
    gateway = _gateway(token_ttl=30)
    async with serving(gateway.app()) as base:
        settings = _settings(base, tmp_path, token_leeway_seconds=60)
        async with running_uplink(settings) as uplink:
            await uplink.submit_snapshot(_snapshot())
            await uplink.wait_for(lambda stats: stats.snapshots_sent == 1)
            await uplink.submit_snapshot(_snapshot())
            await uplink.wait_for(lambda stats: stats.snapshots_sent == 2)
    first, second = gateway.used_tokens
    assert first != second
    assert gateway.tokens[0] not in gateway.used_tokens


async def test_token_outside_the_refresh_window_is_kept(tmp_path: Path) -> None:
    """With no leeway, a 30 s token serves both uploads."""
    gateway = _gateway(token_ttl=30)
    async with serving(gateway.app()) as base:
        settings = _settings(base, tmp_path, token_leeway_seconds=0)
        async with running_uplink(settings) as uplink:
            await uplink.submit_snapshot(_snapshot())
            await uplink.wait_for(lambda stats: stats.snapshots_sent == 1)
            await uplink.submit_snapshot(_snapshot())
            await uplink.wait_for(lambda stats: stats.snapshots_sent == 2)
    assert gateway.used_tokens == [gateway.tokens[0]] * 2


async def test_refused_token_is_replaced_and_the_upload_retried(tmp_path: Path) -> None:
    """After a 401 the uplink fetches a new token and the snapshot still arrives."""
    gateway = _gateway()
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_snapshot(_snapshot())
        await gateway.wait_for(lambda: len(gateway.snapshots) == 1)
        gateway.revoke_tokens()
        await uplink.submit_snapshot(_snapshot())
        await gateway.wait_for(lambda: len(gateway.snapshots) == 2)
    assert len(gateway.tokens) == 2


async def test_server_errors_are_retried(tmp_path: Path) -> None:
    """A 503 is retried with backoff until the gateway accepts."""
    gateway = _gateway(fail_with=503)
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_snapshot(_snapshot())
        await uplink.wait_for(lambda stats: stats.failures[Lane.SNAPSHOTS] >= 2)
        gateway.fail_with = None
        await uplink.wait_for(lambda stats: stats.snapshots_sent == 1)
    assert len(gateway.snapshots) == 1
    assert uplink.spool.pending(Lane.SNAPSHOTS) == []


async def test_refused_payload_is_dropped_not_retried(tmp_path: Path) -> None:
    """A 422 drops the snapshot; the next one is delivered."""
    gateway = _gateway(refuse_with=422)
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_snapshot(_snapshot())
        await uplink.wait_for(lambda stats: stats.refused == 1)
        gateway.refuse_with = None
        accepted = _snapshot()
        await uplink.submit_snapshot(accepted)
        await gateway.wait_for(lambda: len(gateway.snapshots) == 1)
    assert gateway.snapshots == [accepted]


async def test_outage_is_spooled_then_flushed_in_order_with_notices_first(tmp_path: Path) -> None:
    """After an outage the notice (submitted last) arrives first, then snapshots in order."""
    gateway = _gateway()
    port = free_port()
    settings = _settings(f"http://127.0.0.1:{port}", tmp_path)
    snapshots = [_snapshot() for _ in range(3)]
    notice = _notice()
    async with running_uplink(settings) as uplink:
        for snapshot in snapshots:
            await uplink.submit_snapshot(snapshot)
        await uplink.submit_notice(notice)
        await uplink.wait_for(
            lambda stats: stats.failures[Lane.NOTICES] >= 1 and stats.failures[Lane.SNAPSHOTS] >= 1
        )
        assert len(uplink.spool.pending(Lane.SNAPSHOTS)) == 3
        async with serving(gateway.app(), port):
            await gateway.wait_for(lambda: len(gateway.arrivals) == 4)
    assert gateway.arrivals == [
        f"notice:{notice.notice_id}",
        *(f"snapshot:{s.snapshot_id}" for s in snapshots),
    ]


async def test_spooled_payloads_from_a_previous_run_are_sent_at_start(tmp_path: Path) -> None:
    """A restarted agent delivers what the last run could not."""
    gateway = _gateway()
    port = free_port()
    leftover = _snapshot()
    async with running_uplink(_settings(f"http://127.0.0.1:{port}", tmp_path)) as uplink:
        await uplink.submit_snapshot(leftover)
        await uplink.wait_for(lambda stats: stats.failures[Lane.SNAPSHOTS] >= 1)
    async with serving(gateway.app(), port) as base, running_uplink(_settings(base, tmp_path)):
        await gateway.wait_for(lambda: len(gateway.snapshots) == 1)
    assert gateway.snapshots == [leftover]


async def test_rate_limit_hint_is_passed_to_the_sender(tmp_path: Path) -> None:
    """A 429 with Retry-After: 7 is a throttling error carrying 7 seconds."""
    gateway = _gateway(fail_with=429, retry_after=7)
    async with serving(gateway.app()) as base:
        client = GatewayClient(_settings(base, tmp_path))
        try:
            with pytest.raises(ThrottledError) as throttled:
                await client.post(
                    f"/v1/clusters/{CLUSTER}/snapshots",
                    encode_snapshot(_snapshot()),
                    {"Content-Type": "application/json", "Content-Encoding": "gzip"},
                )
        finally:
            await client.aclose()
    assert throttled.value.retry_after == 7.0


def test_encoded_snapshot_is_gzipped_json() -> None:
    """What is spooled and sent decompresses to the snapshot's JSON."""
    snapshot = _snapshot()
    assert (
        ClusterSnapshot.model_validate_json(gzip.decompress(encode_snapshot(snapshot))) == snapshot
    )


def _delta(base_sequence: int = 1) -> ClusterDelta:
    return ClusterDelta(
        delta_id=uuid.uuid4(),
        cluster=ClusterInfo(cluster_id=CLUSTER, name="prod"),
        taken_at=NOW,
        base_sequence=base_sequence,
        sequence=base_sequence + 1,
    )


async def test_deltas_go_to_their_endpoint_in_order_with_snapshots(tmp_path: Path) -> None:
    """A snapshot then two deltas arrive in the order submitted, the deltas at /deltas."""
    gateway = _gateway()
    snapshot, first, second = _snapshot(), _delta(1), _delta(2)
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_snapshot(snapshot)
        await uplink.submit_delta(first)
        await uplink.submit_delta(second)
        await gateway.wait_for(lambda: len(gateway.arrivals) == 3)
        assert uplink.take_resync_request() is False
    assert gateway.arrivals == [
        f"snapshot:{snapshot.snapshot_id}",
        f"delta:{first.delta_id}",
        f"delta:{second.delta_id}",
    ]
    assert gateway.deltas == [first, second]


async def test_gateway_asking_for_a_resync_is_taken_once(tmp_path: Path) -> None:
    """An answer with resync: true to a delta is one request, cleared by taking it."""
    gateway = _gateway(resync=True)
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_delta(_delta())
        await uplink.wait_for(lambda stats: stats.deltas_sent == 1)
        assert (uplink.take_resync_request(), uplink.take_resync_request()) == (True, False)


async def test_resync_in_the_answer_to_a_full_snapshot_is_not_taken(tmp_path: Path) -> None:
    """The full snapshot is the resync: its own answer does not ask for another."""
    gateway = _gateway(resync=True)
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_snapshot(_snapshot())
        await uplink.wait_for(lambda stats: stats.snapshots_sent == 1)
        assert uplink.take_resync_request() is False


async def test_refused_delta_asks_for_a_resync(tmp_path: Path) -> None:
    """A delta refused for good breaks the chain: a full snapshot is wanted next."""
    gateway = _gateway(refuse_deltas_with=422)
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_delta(_delta())
        await uplink.wait_for(lambda stats: stats.refused == 1)
        assert uplink.take_resync_request() is True
