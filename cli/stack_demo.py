"""The demo tenant of `slicewise up`: a tenant, an admin user and the replayed cluster's clients.

Everything is created through `auth.provisioning`, as `slicewise admin` does, and written to
`demo-credentials.json` in the stack's run directory (owner-only), so scripts and tests can sign
in as the demo user and poll instructions as the replayed cluster's executor.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from auth.hashing import SecretHasher
from auth.instruction_keys import trusted_instruction_keys
from auth.provisioning import Provisioning
from store.database import Database
from store.errors import ConflictError

DEMO_TENANT = "demo"
DEMO_EMAIL = "demo@slicewise.local"
DEMO_CLUSTER = "demo-gpu-cluster"
CREDENTIALS_FILE = "demo-credentials.json"
ACTOR = "cli:slicewise-up"
DATA_INPUTS = (
    "alibaba-gpu-v2023/openb_node_list_gpu_node.csv",
    "alibaba-gpu-v2023/openb_pod_list_default.csv",
    "bitbrains-rnd",
    "alibaba-genai-v2026",
)
"""What the replay reads under the data folder (the layout of `../shared/data`)."""


@dataclass(frozen=True)
class DemoCredentials:
    """Who the demo signs in as, and the replayed cluster's agent and executor clients."""

    tenant_id: str
    email: str
    password: str
    role: str
    cluster_id: str
    cluster_name: str
    agent_client_id: str
    agent_client_secret: str
    executor_client_id: str
    executor_client_secret: str

    def write(self, run_dir: Path) -> Path:
        """Write the credentials file readable by its owner only; returns its path."""
        path = run_dir / CREDENTIALS_FILE
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(asdict(self), handle, indent=2)
        return path


def missing_data(root: Path) -> list[Path]:
    """Replay inputs missing under `root`."""
    return [root / name for name in DATA_INPUTS if not (root / name).exists()]


def provision_demo(database_url: str) -> DemoCredentials:
    """Create the demo tenant, user and cluster (fresh names if a previous run left them)."""
    return asyncio.run(_provision(database_url))


async def _provision(database_url: str) -> DemoCredentials:
    database = Database(database_url, pool_size=1)
    try:
        provisioning = Provisioning(database, SecretHasher())
        suffix = ""
        while True:
            try:
                tenant = await provisioning.create_tenant(DEMO_TENANT + suffix, actor=ACTOR)
                break
            except ConflictError:
                # A shared database kept an earlier run's demo: leave it, start a new one.
                suffix = f"-{secrets.token_hex(3)}"
        email = DEMO_EMAIL if not suffix else DEMO_EMAIL.replace("@", f"+{suffix[1:]}@")
        password = secrets.token_urlsafe(12)
        await provisioning.create_user(tenant.id, email, "admin", actor=ACTOR, password=password)
        cluster = await provisioning.create_cluster(
            tenant.id, DEMO_CLUSTER, actor=ACTOR, provider="aws", region="us-east-1"
        )
    finally:
        await database.dispose()
    return DemoCredentials(
        tenant_id=str(tenant.id),
        email=email,
        password=password,
        role="admin",
        cluster_id=str(cluster.cluster.id),
        cluster_name=DEMO_CLUSTER,
        agent_client_id=cluster.agent.client.client_id,
        agent_client_secret=cluster.agent.secret,
        executor_client_id=cluster.executor.client.client_id,
        executor_client_secret=cluster.executor.secret,
    )


def trusted_instruction_keys_json(database_url: str) -> str:
    """The executors' trusted keys as JSON (what `slicewise admin instruction-keys` prints)."""
    return asyncio.run(_trusted_keys(database_url))


async def _trusted_keys(database_url: str) -> str:
    database = Database(database_url, pool_size=1)
    try:
        keys = await trusted_instruction_keys(database, now=datetime.now(UTC))
    finally:
        await database.dispose()
    return json.dumps(keys)
