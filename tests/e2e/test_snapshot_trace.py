"""One trace follows a snapshot: agent upload -> gateway -> Kafka -> ingest consumer -> fold.

Everything real: the agent's uplink (spool and OAuth2 client) posting to the gateway under
uvicorn, the session's Kafka-API broker, PostgreSQL and Redis, and the ingest worker's own
consumer loop. Spans are caught with the SDK's in-memory exporter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from sqlalchemy.engine import URL

from agent.settings import AgentSettings
from auth.hashing import SecretHasher
from auth.provisioning import ClusterCredentials, Provisioning
from auth.sealing import KeyEncryptionKey
from devstack.services import ServiceUrls
from gateway.settings import GatewaySettings
from store.database import Database
from store.repositories.tenants import TenantView
from store.roles import DEFAULT_APP_ROLE, app_url
from tests.integration.gateway.harness import RunningGateway, serve, small_snapshot
from tests.integration.workers.conftest import fresh_worker_settings, running_ingest
from tests.support.running_uplink import running_uplink
from tests.support.spans import RecordingExporter, lineage, named, our_names
from workers.settings import WorkerSettings

FOLDED_WITHIN = 90.0
"""Consumer-group joins on the embedded broker take several seconds."""


@dataclass(frozen=True)
class Settings:
    """The gateway's and the ingest worker's settings, on one pair of topics."""

    gateway: GatewaySettings
    worker: WorkerSettings


@pytest.fixture
def settings(services: ServiceUrls, owner_database_url: URL) -> Settings:
    """A gateway and an ingest worker on the session's services, with topics of their own."""
    suffix = uuid.uuid4().hex[:8]
    database_url = app_url(owner_database_url, DEFAULT_APP_ROLE).render_as_string(
        hide_password=False
    )
    gateway = _gateway_settings(services, database_url, suffix)
    worker = fresh_worker_settings(services, owner_database_url).model_copy(
        update={
            "snapshots_topic": gateway.snapshots_topic,
            "spot_notices_topic": gateway.spot_notices_topic,
        }
    )
    return Settings(gateway, worker)


def _gateway_settings(services: ServiceUrls, database_url: str, suffix: str) -> GatewaySettings:
    return GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "database_pool_size": 2,
            "redis_url": services.redis_url,
            "redis_key_prefix": f"trace-{suffix}:",
            "kafka_bootstrap": services.kafka_bootstrap,
            "snapshots_topic": f"trace.snapshots.{suffix}",
            "spot_notices_topic": f"trace.spot-notices.{suffix}",
            "key_encryption_key": KeyEncryptionKey.generate_base64(),
            "log_json": False,
        }
    )


def _agent_settings(
    gateway: RunningGateway, credentials: ClusterCredentials, spool: Path
) -> AgentSettings:
    """The agent of `credentials`' cluster, reporting to `gateway`."""
    return AgentSettings.model_validate(
        {
            "gateway_url": gateway.url,
            "cluster_id": credentials.cluster.id,
            "client_id": credentials.agent.client.client_id,
            "client_secret": credentials.agent.secret,
            "spool_dir": spool,
            "log_json": False,
        }
    )


def _folded(spans: tuple[ReadableSpan, ...]) -> bool:
    """Whether the fold's span and every span it descends from are recorded: a parent (the
    consumer's, the gateway's) ends after its child, so the fold's span comes first."""
    by_id = {span.context.span_id: span for span in spans}
    current = next((span for span in spans if span.name == "fold snapshot"), None)
    while current is not None and current.parent is not None:
        current = by_id.get(current.parent.span_id)
    return current is not None


async def test_one_trace_follows_a_snapshot_from_the_agent_to_the_fold(
    settings: Settings,
    database: Database,
    tenant: TenantView,
    spans: RecordingExporter,
    tmp_path: Path,
) -> None:
    """The fold's span descends from the consumer, the produce, the gateway and the upload."""
    credentials = await Provisioning(database, SecretHasher()).create_cluster(
        tenant.id, f"trace-{uuid.uuid4().hex[:6]}", actor="test"
    )
    snapshot = small_snapshot(credentials.cluster.id)
    async with (
        serve(settings.gateway) as gateway,
        running_uplink(_agent_settings(gateway, credentials, tmp_path / "spool")) as uplink,
        running_ingest(settings.worker),
    ):
        await uplink.submit_snapshot(snapshot)
        finished = await spans.wait_for(_folded, within=FOLDED_WITHIN)

    fold = named(finished, "fold snapshot")
    path = [
        "fold snapshot",
        f"{settings.gateway.snapshots_topic} process",
        f"{settings.gateway.snapshots_topic} publish",
        "POST /v1/clusters/{cluster_id}/snapshots",
        "upload snapshots",
    ]
    chain = lineage(fold, finished)
    assert our_names(chain, set(path)) == path
    assert chain[-1].name == "upload snapshots"
    assert {span.context.trace_id for span in chain} == {fold.context.trace_id}
    assert fold.attributes is not None
    assert fold.attributes["slicewise.snapshot_id"] == str(snapshot.snapshot_id)
