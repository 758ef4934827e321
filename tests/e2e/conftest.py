"""The SaaS and the customer's cluster for approval-to-applied tests, everything real.

The gateway with the console (uvicorn in-process) on the session's PostgreSQL, Redis and Kafka;
a real kube-apiserver per module as the customer's cluster; the executor's settings as its
chart gives them, trusting exactly the keys `slicewise admin instruction-keys` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.engine import URL

from auth.provisioning import ClusterCredentials
from auth.sealing import KeyEncryptionKey
from cli.main import main as cli_main
from devstack.kube import KubeApiServer, running_kube_apiserver
from devstack.services import ServiceUrls
from executor.settings import ExecutorSettings, Mode, ReadinessMode
from gateway.app import create_app
from gateway.console import include_console
from gateway.console.instruction_issue import SignedInstructionIssuer
from gateway.settings import GatewaySettings
from gateway.wiring import Wiring
from protocol.changes import ActionType
from store.database import Database
from store.repositories.tenants import TenantView
from store.roles import DEFAULT_APP_ROLE, app_url
from tests.integration.gateway.harness import NotifyingServer, RunningGateway, wait_started

APPLIED_WITHIN = 60.0


@pytest.fixture(scope="module")
def cluster_api() -> Iterator[KubeApiServer]:
    """The customer's cluster: a real kube-apiserver."""
    with running_kube_apiserver() as server:
        yield server


@contextlib.asynccontextmanager
async def _gateway_with_console(settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    app = create_app(settings)
    wiring: Wiring = app.state.wiring
    include_console(app, issuer=SignedInstructionIssuer(wiring.instruction_keys.keyring))
    server = NotifyingServer(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_started(server, task)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningGateway(app, f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def gateway(services: ServiceUrls, owner_database_url: URL) -> AsyncIterator[RunningGateway]:
    """The SaaS: gateway, console API and instruction endpoints."""
    suffix = uuid.uuid4().hex[:8]
    settings = GatewaySettings.model_validate(
        {
            "database_url": app_url(owner_database_url, DEFAULT_APP_ROLE).render_as_string(
                hide_password=False
            ),
            "database_pool_size": 3,
            "redis_url": services.redis_url,
            "redis_key_prefix": f"e2e-{suffix}:",
            "kafka_bootstrap": services.kafka_bootstrap,
            "snapshots_topic": f"e2e.snapshots.{suffix}",
            "spot_notices_topic": f"e2e.spot-notices.{suffix}",
            "key_encryption_key": KeyEncryptionKey.generate_base64(),
            "log_json": False,
            "settle_heap_after_start": False,
        }
    )
    async with _gateway_with_console(settings) as running:
        yield running


@dataclass(frozen=True)
class Saas:
    """The SaaS side: the gateway, its database and the tenant of the test."""

    gateway: RunningGateway
    database: Database
    tenant: TenantView


@pytest.fixture
def saas(gateway: RunningGateway, database: Database, tenant: TenantView) -> Saas:
    """This test's tenant on the gateway with the console."""
    return Saas(gateway, database, tenant)


PrintKeys = Callable[[], Awaitable[dict[str, str]]]


@pytest.fixture
def print_trusted_keys(
    owner_database_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> PrintKeys:
    """Runs `slicewise admin instruction-keys` against the session database; parses its JSON."""
    monkeypatch.setenv("DATABASE_URL", owner_database_url.render_as_string(hide_password=False))
    monkeypatch.delenv("SLICEWISE_DATABASE_URL", raising=False)

    async def run() -> dict[str, str]:
        capsys.readouterr()
        # The command runs its own event loop, so it gets a thread of its own.
        code = await asyncio.to_thread(cli_main, ["admin", "instruction-keys"])
        assert code == 0
        keys: dict[str, str] = json.loads(capsys.readouterr().out)
        return keys

    return run


def executor_settings(
    gateway: RunningGateway,
    credentials: ClusterCredentials,
    trusted: dict[str, str],
    kubeconfig: Path,
    state_dir: Path,
    *,
    allowed: Sequence[ActionType] = (ActionType.CORDON, ActionType.LABEL_NODE),
) -> ExecutorSettings:
    """The executor's settings as its chart gives them, in approve-each mode for `allowed`."""
    return ExecutorSettings(
        gateway_url=gateway.url,
        cluster_id=credentials.cluster.id,
        tenant_id=credentials.cluster.tenant_id,
        client_id=credentials.executor.client.client_id,
        client_secret=SecretStr(credentials.executor.secret),
        trusted_public_keys=trusted,
        mode=Mode.APPROVE_EACH,
        allowed_action_types=list(allowed),
        poll_wait_seconds=30,
        state_dir=state_dir,
        kubeconfig=kubeconfig,
        readiness=ReadinessMode.PODS,
        verify_window_seconds=0,
        log_json=False,
    )


async def completed_instruction(
    gateway: RunningGateway, token: str, cluster_id: uuid.UUID, instruction_id: uuid.UUID
) -> dict[str, Any]:
    """The instruction's status document once it has a result (read through the API)."""
    path = f"/v1/clusters/{cluster_id}/instructions/{instruction_id}"

    async def completed() -> dict[str, Any]:
        async with gateway.client() as http:
            while True:
                document: dict[str, Any] = (
                    await http.get(path, headers={"Authorization": f"Bearer {token}"})
                ).json()
                if document.get("status") != "approved":
                    return document
                # The result arrives from the executor in this same loop: look again shortly.
                await asyncio.sleep(0.05)

    return await asyncio.wait_for(completed(), APPLIED_WITHIN)
