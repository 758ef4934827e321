"""The agent against a real kube-apiserver + etcd (the harness of `devstack.kube`).

One server for the session; each test works in its own namespace and on its own node names,
so tests sharing the server never see each other's objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from agent.collector import Collector, SnapshotSink
from agent.kube.client import kube_client
from agent.settings import AgentSettings
from agent.wiring import local_http
from devstack.kube import KubeApiServer, KubeIdentity, running_kube_apiserver
from protocol.snapshot import ClusterSnapshot

CLUSTER = uuid.UUID("9a3b6c1d-2e4f-4a5b-8c6d-7e8f9a0b1c2d")
WAIT_SECONDS = 30.0


@pytest.fixture(scope="session")
def agent_kube() -> Iterator[KubeApiServer]:
    """One etcd + kube-apiserver shared by the agent's integration tests."""
    with running_kube_apiserver() as server:
        yield server


@pytest.fixture
async def admin(agent_kube: KubeApiServer) -> AsyncIterator[AsyncClient]:
    """An async cluster-admin client for arranging objects."""
    async with agent_kube.admin_async_client() as client:
        yield client


@pytest.fixture
async def namespace(admin: AsyncClient) -> str:
    """A fresh namespace for one test."""
    name = f"agent-{uuid.uuid4().hex[:8]}"
    await admin.create(Namespace(metadata=ObjectMeta(name=name)))
    return name


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names unique to this test, for cluster-scoped objects such as nodes."""
    run = uuid.uuid4().hex[:6]
    return lambda prefix: f"{prefix}-{run}"


def write_kubeconfig(identity: KubeIdentity, directory: Path) -> Path:
    """A kubeconfig file for `identity`, as the agent reads one."""
    path = directory / f"kubeconfig-{identity.user}.yaml"
    path.write_text(yaml.safe_dump(identity.kubeconfig_dict()))
    return path


def agent_settings(kubeconfig: Path, spool: Path, **extra: Any) -> AgentSettings:
    """Settings of an agent reading the test cluster (the gateway is not used here)."""
    values: dict[str, Any] = {
        "cluster_id": CLUSTER,
        "cluster_name": "harness",
        "client_id": "unused",
        "client_secret": "unused",
        "kubeconfig": kubeconfig,
        "spool_dir": spool,
        "kube_retry_max_seconds": 1.0,
        "watch_timeout_seconds": 60,
    }
    return AgentSettings.model_validate({**values, **extra})


@contextlib.asynccontextmanager
async def running_collector(
    settings: AgentSettings, sink: SnapshotSink | None = None
) -> AsyncIterator[Collector]:
    """A collector watching the cluster until the block ends; yields once every kind is listed."""
    async with kube_client(settings) as client, local_http(settings) as http:
        collector = Collector(settings, client, http=http)
        async with keep_running(collector, sink):
            yield collector


@contextlib.asynccontextmanager
async def keep_running(
    collector: Collector, sink: SnapshotSink | None = None
) -> AsyncIterator[None]:
    """Run `collector` (again) until the block ends; waits until every kind is listed."""
    task = asyncio.create_task(collector.run(sink))
    try:
        synced = asyncio.create_task(collector.inventory.all_synced.wait())
        done, _ = await asyncio.wait(
            {task, synced}, timeout=WAIT_SECONDS, return_when="FIRST_COMPLETED"
        )
        if task in done:
            synced.cancel()
            task.result()
        if synced not in done:
            synced.cancel()
            raise TimeoutError("the collector did not list every kind in time")
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(
    collector: Collector,
    condition: Callable[[ClusterSnapshot], bool],
    within: float = WAIT_SECONDS,
) -> ClusterSnapshot:
    """The first snapshot for which `condition` holds, re-checked after every inventory change."""
    async with asyncio.timeout(within):
        while True:
            revision = collector.inventory.revision
            snapshot = await collector.snapshot()
            if condition(snapshot):
                return snapshot
            await collector.inventory.wait_for_revision(revision)


async def delete_quietly(
    admin: AsyncClient, kind: type[Any], name: str, namespace: str | None = None
) -> None:
    """Delete an object at once (grace 0); already gone is fine."""
    try:
        if namespace is None:
            await admin.delete(kind, name, grace_period=0)
        else:
            await admin.delete(kind, name, namespace=namespace, grace_period=0)
    except ApiError as e:
        if e.status.code != 404:
            raise


def rules_without(
    rules: Sequence[Mapping[str, Sequence[str]]], resource: str, verb: str
) -> list[dict[str, list[str]]]:
    """`rules` with one verb on one resource taken away."""
    result: list[dict[str, list[str]]] = []
    for rule in rules:
        resources = list(rule["resources"])
        if resource not in resources:
            result.append({k: list(v) for k, v in rule.items()})
            continue
        others = [r for r in resources if r != resource]
        if others:
            result.append({**{k: list(v) for k, v in rule.items()}, "resources": others})
        verbs = [v for v in rule["verbs"] if v != verb]
        if verbs:
            result.append(
                {**{k: list(v) for k, v in rule.items()}, "resources": [resource], "verbs": verbs}
            )
    return result
