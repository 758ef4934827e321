"""The agent's read-only KEDA discovery against a real kube-apiserver.

KEDA does not run here; its ScaledObject CRD (written from KEDA's documentation, see
`devstack.keda`) makes the server serve the kind the way a cluster with KEDA does, and the list
is all the agent reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from lightkube import ApiError, AsyncClient
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from agent.keda import SCALED_OBJECT, read_keda
from agent.kube.client import kube_client
from agent.rbac import AGENT_RULES
from devstack.keda import scaled_object_crd
from devstack.kube import KubeApiServer
from protocol.keda import ScaledObjectTarget
from tests.integration.agent.conftest import (
    agent_settings,
    eventually,
    running_collector,
    write_kubeconfig,
)

pytestmark = pytest.mark.kube

CRD_NAME = "scaledobjects.keda.sh"
WAIT_SECONDS = 30.0


async def _gone(admin: AsyncClient) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            try:
                await admin.get(CustomResourceDefinition, CRD_NAME)
            except ApiError as error:
                if error.status.code == 404:
                    return
                raise
            await asyncio.sleep(0.2)


@pytest.fixture
async def scaled_objects_served(admin: AsyncClient) -> AsyncIterator[None]:
    """KEDA's ScaledObject kind served for one test."""
    crd = cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(scaled_object_crd()))
    await admin.create(crd)
    await admin.wait(CustomResourceDefinition, CRD_NAME, for_conditions=["Established"])
    try:
        yield
    finally:
        await admin.delete(CustomResourceDefinition, CRD_NAME)
        await _gone(admin)


async def _scaled_object(admin: AsyncClient, namespace: str, target: str) -> None:
    body = {
        "metadata": {"name": f"{target}-scaler", "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"name": target},
            "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}],
        },
    }
    await admin.create(SCALED_OBJECT.from_dict(body))


async def test_a_server_without_keda_reports_no_keda(admin: AsyncClient) -> None:
    """ScaledObjects not served: no KEDA state and no note."""
    assert await read_keda(admin) == (None, [])


@pytest.mark.usefixtures("scaled_objects_served")
async def test_the_chart_rules_list_scaled_objects_and_their_targets(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """An identity with only the agent's read-only rules reads each ScaledObject's target."""
    await _scaled_object(admin, namespace, "web")
    identity = await asyncio.to_thread(agent_kube.mint_identity, AGENT_RULES)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    async with kube_client(settings) as client:
        keda, notes = await read_keda(client)
    assert notes == []
    assert keda is not None
    assert [s for s in keda.scaled_objects if s.namespace == namespace] == [
        ScaledObjectTarget(namespace=namespace, name="web-scaler", target_name="web")
    ]


@pytest.mark.usefixtures("scaled_objects_served")
async def test_without_the_keda_rule_the_agent_notes_it_and_reports_no_keda(
    agent_kube: KubeApiServer, tmp_path: Path
) -> None:
    """A chart with `agent.keda.enabled: false` but an agent still listing: a 403 note."""
    rules = [r for r in AGENT_RULES if "keda.sh" not in r["apiGroups"]]
    identity = await asyncio.to_thread(agent_kube.mint_identity, rules)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    async with kube_client(settings) as client:
        assert await read_keda(client) == (None, ["KEDA ScaledObjects not readable (403)"])


@pytest.mark.usefixtures("scaled_objects_served")
async def test_snapshots_carry_the_scaled_objects(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """The collector's snapshot reports KEDA with the ScaledObject the cluster holds."""
    await _scaled_object(admin, namespace, "infer")
    identity = await asyncio.to_thread(agent_kube.mint_identity, AGENT_RULES)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    async with running_collector(settings) as collector:
        snapshot = await eventually(
            collector,
            lambda s: (
                s.keda is not None
                and any(so.namespace == namespace for so in s.keda.scaled_objects)
            ),
        )
    assert snapshot.keda is not None
    [found] = [so for so in snapshot.keda.scaled_objects if so.namespace == namespace]
    assert (found.target_kind, found.target_name) == ("Deployment", "infer")
