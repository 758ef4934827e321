"""What the approval bench runs: the gateway with its console, an executor, a real API server.

Everything runs in one event loop of this process: the gateway (uvicorn, with the console's
approval endpoint signing through the gateway's stored instruction keys), the executor's own
`serve` trusting the stored keys and acting with its chart's RBAC rules on a real kube-apiserver,
and the bench driving the console API. The direct path builds the executor's verification and
execution exactly as `serve` does, without the gateway in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
import yaml
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node
from pydantic import SecretStr
from sqlalchemy.engine import URL

from auth.hashing import SecretHasher
from auth.instruction_keys import trusted_instruction_keys
from auth.instruction_signing import instruction_body_for
from auth.provisioning import ClusterCredentials, Provisioning
from auth.sealing import KeyEncryptionKey
from devstack.kube import KubeApiServer
from devstack.services import ServiceUrls
from executor.drain import Backoff
from executor.execution import InstructionExecutor, VerificationWindow
from executor.kube.api import KubeObjects, discover_policy_api
from executor.service import kube_client, readiness_checks, serve, verification_policy
from executor.settings import ExecutorSettings, Mode, ReadinessMode
from executor.verification import VerificationPolicy
from gateway.app import create_app
from gateway.console import include_console
from gateway.console.instruction_issue import SignedInstructionIssuer
from gateway.settings import GatewaySettings
from gateway.wiring import Wiring
from protocol.changes import ActionType, ChangeSet, Cordon
from protocol.instruction import Instruction
from protocol.recommendation import Recommendation, RecommendationKind, Risk
from store.database import Database
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from tests.integration.executor.conftest import EXECUTOR_RULES

POLL_WAIT_SECONDS = 30.0
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Gateway:
    """The served gateway app and where it listens."""

    url: str
    wiring: Wiring


@contextlib.asynccontextmanager
async def serve_gateway(urls: ServiceUrls, app_db: URL) -> AsyncIterator[Gateway]:
    """The gateway with the console, on a free loopback port, until the block ends."""
    suffix = uuid.uuid4().hex[:8]
    settings = GatewaySettings(
        database_url=app_db.render_as_string(hide_password=False),
        database_pool_size=4,
        redis_url=urls.redis_url,
        redis_key_prefix=f"bench-approval-{suffix}:",
        kafka_bootstrap=urls.kafka_bootstrap,
        snapshots_topic=f"bench.snapshots.{suffix}",
        spot_notices_topic=f"bench.spot-notices.{suffix}",
        key_encryption_key=SecretStr(KeyEncryptionKey.generate_base64()),
        log_json=True,
        settle_heap_after_start=False,
    )
    app = create_app(settings)
    wiring: Wiring = app.state.wiring
    include_console(app, issuer=SignedInstructionIssuer(wiring.instruction_keys.keyring))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("gateway stopped during start-up")
                await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Gateway(f"http://127.0.0.1:{port}", wiring)
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True)
class Tenant:
    """The bench's tenant: its cluster's credentials and an approver's token."""

    tenant_id: uuid.UUID
    credentials: ClusterCredentials
    approver_token: str


async def provision(gateway: Gateway) -> Tenant:
    """A tenant, its cluster (with executor credentials) and a console API approver."""
    provisioning = Provisioning(gateway.wiring.database, SecretHasher())
    tenant = await provisioning.create_tenant(f"bench-{uuid.uuid4().hex[:8]}", actor="bench")
    credentials = await provisioning.create_cluster(tenant.id, "bench", actor="bench")
    approver = await provisioning.create_client(
        tenant.id, ["console:read", "console:approve"], actor="bench"
    )
    token = await client_token(gateway, approver.client.client_id, approver.secret)
    return Tenant(tenant.id, credentials, token)


async def client_token(gateway: Gateway, client_id: str, secret: str) -> str:
    """An access token for an API client, from the gateway's token endpoint."""
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
    response.raise_for_status()
    return str(response.json()["access_token"])


def executor_settings(
    gateway: Gateway, tenant: Tenant, trusted: dict[str, str], kubeconfig: Path, state: Path
) -> ExecutorSettings:
    """The executor as its chart would configure it: approve-each, cordon and label allowed."""
    return ExecutorSettings(
        gateway_url=gateway.url,
        cluster_id=tenant.credentials.cluster.id,
        tenant_id=tenant.tenant_id,
        client_id=tenant.credentials.executor.client.client_id,
        client_secret=SecretStr(tenant.credentials.executor.secret),
        trusted_public_keys=trusted,
        mode=Mode.APPROVE_EACH,
        allowed_action_types=[ActionType.CORDON, ActionType.LABEL_NODE],
        poll_wait_seconds=POLL_WAIT_SECONDS,
        state_dir=state,
        kubeconfig=kubeconfig,
        readiness=ReadinessMode.PODS,
        verify_window_seconds=0,
        log_json=True,
    )


async def executor_inputs(
    gateway: Gateway, tenant: Tenant, kube: KubeApiServer, run_dir: Path
) -> ExecutorSettings:
    """Settings trusting the stored keys, with a kubeconfig holding the chart's RBAC rules."""
    trusted = await trusted_instruction_keys(gateway.wiring.database, now=datetime.now(UTC))
    identity = kube.mint_identity(EXECUTOR_RULES, name=f"bench-executor-{uuid.uuid4().hex[:6]}")
    kubeconfig = run_dir / "kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(identity.kubeconfig_dict()), encoding="utf-8")
    return executor_settings(gateway, tenant, trusted, kubeconfig, run_dir / "executor-state")


@dataclass(frozen=True)
class DirectExecutor:
    """The executor's verification and execution, without the gateway (the baseline)."""

    executor: InstructionExecutor
    policy: VerificationPolicy


@contextlib.asynccontextmanager
async def direct_executor(settings: ExecutorSettings) -> AsyncIterator[DirectExecutor]:
    """Built from the same settings the way `executor.service.serve` builds its parts."""
    client = kube_client(settings)
    try:
        kube = KubeObjects(client, await discover_policy_api(client))
        executor = InstructionExecutor(
            kube,
            readiness_checks(settings.readiness),
            window=VerificationWindow(settings.verify_window_seconds, settings.verify_poll_seconds),
            backoff=Backoff(
                settings.eviction_backoff_seconds, settings.eviction_backoff_max_seconds
            ),
        )
        yield DirectExecutor(executor, verification_policy(settings))
    finally:
        await client.close()


async def make_node(admin: AsyncClient) -> str:
    """A fresh node to cordon."""
    name = f"bench-{uuid.uuid4().hex[:10]}"
    await admin.create(Node(metadata=ObjectMeta(name=name)))
    return name


async def store_cordon_recommendation(
    database: Database, tenant_id: uuid.UUID, cluster_id: uuid.UUID, node: str
) -> uuid.UUID:
    """Store an open consolidation recommendation to cordon `node`; returns its id."""
    recommendation = Recommendation(
        recommendation_id=uuid.uuid4(),
        cluster_id=cluster_id,
        kind=RecommendationKind.CONSOLIDATION,
        node=node,
        title=f"Retire {node}",
        reason="its pods fit on the other nodes",
        risk=Risk.LOW,
        monthly_saving_usd=410.0,
        change_set=ChangeSet(actions=[Cordon(node=node)]),
        created_at=datetime.now(UTC),
    )
    async with database.tenant(tenant_id) as session:
        stored = await RecommendationRepository(session, tenant_id).create(
            cluster_id,
            NewRecommendation(
                id=recommendation.recommendation_id,
                kind=recommendation.kind.value,
                fingerprint=f"consolidation/{node}/{uuid.uuid4().hex[:8]}",
                monthly_saving_usd=recommendation.monthly_saving_usd,
                body=recommendation.model_dump(mode="json"),
                created_at=recommendation.created_at,
            ),
        )
    return stored.id


async def open_recommendation(gateway: Gateway, tenant: Tenant, node: str) -> uuid.UUID:
    """An open consolidation recommendation to cordon `node` for the bench's tenant."""
    return await store_cordon_recommendation(
        gateway.wiring.database, tenant.tenant_id, tenant.credentials.cluster.id, node
    )


def signed_cordon(gateway: Gateway, tenant: Tenant, node: str) -> Instruction:
    """The instruction an approval of a cordon would produce, signed with the gateway's key."""
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node=node)]),
        tenant_id=tenant.tenant_id,
        cluster_id=tenant.credentials.cluster.id,
        issued_at=datetime.now(UTC),
        ttl=timedelta(minutes=30),
    )
    return gateway.wiring.instruction_keys.keyring().sign(body)


@contextlib.asynccontextmanager
async def running_executor(settings: ExecutorSettings) -> AsyncIterator[None]:
    """The executor's `serve` until the block ends."""
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, started=started))
    try:
        started_wait = asyncio.create_task(started.wait())
        done, _ = await asyncio.wait(
            {started_wait, task}, timeout=START_TIMEOUT, return_when="FIRST_COMPLETED"
        )
        started_wait.cancel()
        if task in done:
            task.result()
        if started_wait not in done:
            raise RuntimeError("executor did not start")
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, START_TIMEOUT)
