"""What the ingest bench runs against: services, a scratch database, clusters and a gateway.

The gateway is a real `python -m gateway` (uvicorn) process on 127.0.0.1; PostgreSQL, Redis and
the Kafka-API broker come from `devstack.services.ServiceStack` (environment URLs or embedded).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL

from auth.hashing import SecretHasher
from auth.provisioning import Provisioning
from auth.sealing import KeyEncryptionKey
from devstack.process import ManagedProcess, free_port, wait_until
from devstack.services import ServiceStack
from devstack.topics import create_topics
from store.database import Database
from store.migrate import upgrade
from store.roles import DEFAULT_APP_ROLE, app_url
from store.scratch import create_scratch_database, drop_scratch_database

PARTITIONS = 4
_UNLIMITED = str(10**9)


@dataclass(frozen=True)
class Agent:
    """One simulated cluster: its ids and its agent's access token."""

    tenant_id: uuid.UUID
    cluster_id: uuid.UUID
    token: str


@dataclass
class IngestStack:
    """Services, database, gateway process and provisioned clusters, torn down in reverse."""

    workers: int
    run_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-ingest-")))
    services: ServiceStack = field(default_factory=ServiceStack)
    suffix: str = field(default_factory=lambda: secrets.token_hex(4))
    gateway_url: str = ""
    gateway_topic: str = ""
    bare_topic: str = ""
    _owner_url: URL | None = None
    _server_url: str = ""
    _gateway: ManagedProcess | None = None

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def kafka_bootstrap(self) -> str:
        """Where the broker listens."""
        return self.services.urls.kafka_bootstrap

    @property
    def app_database_url(self) -> str:
        """The scratch database as the application role."""
        if self._owner_url is None:
            raise RuntimeError("stack not started")
        return app_url(self._owner_url, DEFAULT_APP_ROLE).render_as_string(hide_password=False)

    def start(self) -> None:
        """Services, a migrated scratch database, topics, and the gateway answering /readyz."""
        urls = self.services.start()
        self._server_url = urls.database_url
        self._owner_url = asyncio.run(create_scratch_database(urls.database_url, "slicewise_bench"))
        upgrade(self._owner_url)
        self.gateway_topic = f"bench.snapshots.gateway.{self.suffix}"
        self.bare_topic = f"bench.snapshots.bare.{self.suffix}"
        asyncio.run(
            create_topics(
                urls.kafka_bootstrap, self.gateway_topic, self.bare_topic, partitions=PARTITIONS
            )
        )
        self._start_gateway()

    def stop(self) -> None:
        """Stop the gateway, drop the scratch database, stop embedded services."""
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if self._owner_url is not None:
            asyncio.run(drop_scratch_database(self._owner_url, self._server_url))
            self._owner_url = None
        self.services.stop()

    def gateway_cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the gateway and its worker processes."""
        if self._gateway is None:
            return 0.0
        return process_group_cpu_seconds(self._gateway.pid)

    def validated_by(self, kind: str = "snapshot") -> dict[str, float]:
        """Bodies of `kind` the gateway accepted, by validator (`mirror` or `model`), from /metrics.

        With several uvicorn workers this is the count of whichever worker answers.
        """
        text = httpx.get(f"{self.gateway_url}/metrics", timeout=5.0).text
        return {
            sample.labels["by"]: sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "slicewise_gateway_validated"
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels.get("kind") == kind
        }

    def gateway_log_tail(self) -> str:
        """The gateway's last log lines (for failures)."""
        return self._gateway.log_tail() if self._gateway is not None else ""

    def _start_gateway(self) -> None:
        port = free_port()
        self.gateway_url = f"http://127.0.0.1:{port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SLICEWISE_")},
            "SLICEWISE_GATEWAY_HOST": "127.0.0.1",
            "SLICEWISE_GATEWAY_PORT": str(port),
            "SLICEWISE_GATEWAY_WORKERS": str(self.workers),
            "SLICEWISE_GATEWAY_ISSUER": self.gateway_url,
            "SLICEWISE_GATEWAY_DATABASE_URL": self.app_database_url,
            "SLICEWISE_GATEWAY_DATABASE_POOL_SIZE": "4",
            "SLICEWISE_GATEWAY_REDIS_URL": self.services.urls.redis_url,
            "SLICEWISE_GATEWAY_REDIS_KEY_PREFIX": f"bench-{self.suffix}:",
            "SLICEWISE_GATEWAY_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "SLICEWISE_GATEWAY_SNAPSHOTS_TOPIC": self.gateway_topic,
            "SLICEWISE_GATEWAY_KEY_ENCRYPTION_KEY": KeyEncryptionKey.generate_base64(),
            "SLICEWISE_GATEWAY_SNAPSHOT_RATE_PER_CLUSTER": _UNLIMITED,
            "SLICEWISE_GATEWAY_SNAPSHOT_RATE_PER_TENANT": _UNLIMITED,
            "SLICEWISE_GATEWAY_LOG_JSON": "true",
        }
        self._gateway = ManagedProcess(
            "gateway",
            [sys.executable, "-m", "gateway"],
            log_path=self.run_dir / "gateway.log",
            env=env,
        )
        gateway = self._gateway

        def ready() -> bool:
            gateway.check_alive()
            try:
                return httpx.get(f"{self.gateway_url}/readyz", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=60.0, what="gateway /readyz", interval=0.2)

    async def provision(self, count: int) -> list[Agent]:
        """A tenant with `count` clusters, and each cluster's agent token."""
        database = Database(self.app_database_url, pool_size=2)
        try:
            provisioning = Provisioning(database, SecretHasher())
            tenant = await provisioning.create_tenant(f"bench-{self.suffix}", actor="bench")
            clusters = [
                await provisioning.create_cluster(tenant.id, f"cluster-{i:03d}", actor="bench")
                for i in range(count)
            ]
        finally:
            await database.dispose()
        agents = []
        async with httpx.AsyncClient(base_url=self.gateway_url, timeout=30.0) as http:
            for created in clusters:
                response = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(created.agent.client.client_id, created.agent.secret),
                )
                response.raise_for_status()
                token = response.json()["access_token"]
                agents.append(Agent(tenant.id, created.cluster.id, token))
        return agents


def process_group_cpu_seconds(group: int) -> float:
    """CPU seconds of every live process in process group `group` (Linux /proc), to the
    nanosecond: the scheduler's run time of each of their threads (`/proc/.../schedstat`), not
    the 10 ms ticks of `/proc/.../stat`, which a short run of cheap requests can miss."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may contain spaces: fields are counted after its closing paren.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) != group:
            continue
        for thread in stat.parent.glob("task/*/schedstat"):
            try:
                total += int(thread.read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9
