"""The agent works with exactly the chart's ClusterRole and names what is missing."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from lightkube import AsyncClient

from agent.errors import MissingPermissionError
from agent.inventory import Inventory
from agent.kube.client import kube_client
from agent.kube.kinds import KINDS
from agent.kube.watcher import KindWatcher
from agent.rbac import AGENT_RULES
from devstack.kube import KubeApiServer
from tests.integration.agent import objects
from tests.integration.agent.conftest import (
    agent_settings,
    eventually,
    rules_without,
    running_collector,
    write_kubeconfig,
)

pytestmark = pytest.mark.kube

PDB_LIST_MISSING = (
    "missing permission: list poddisruptionbudgets.policy — grant it in the agent's ClusterRole"
)


async def test_agent_works_with_exactly_the_chart_rules(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """An identity bound to AGENT_RULES and nothing else lists, watches and snapshots."""
    identity = await asyncio.to_thread(agent_kube.mint_identity, AGENT_RULES)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    async with running_collector(settings) as collector:
        await admin.create(objects.deployment(namespace, "web"))
        await admin.create(objects.pdb(namespace, "web", "web"))
        await admin.create(objects.pod(namespace, "web-1", app="web"))
        snapshot = await eventually(
            collector,
            lambda s: (
                any(p.namespace == namespace for p in s.pods)
                and any(p.namespace == namespace for p in s.pdbs)
                and any(w.namespace == namespace for w in s.workloads)
            ),
        )
    assert [p.name for p in snapshot.pods if p.namespace == namespace] == ["web-1"]
    assert not any(note.startswith("missing permission") for note in snapshot.notes)
    # /version is open to every authenticated user: no extra rule is needed to read it.
    assert re.fullmatch(r"v1\.\d+\.\d+", snapshot.cluster.kubernetes_version or "")


async def test_missing_list_permission_stops_the_agent_with_its_name(
    agent_kube: KubeApiServer, tmp_path: Path
) -> None:
    """Without `list` on PDBs the agent refuses to start and says which rule to grant."""
    rules = rules_without(AGENT_RULES, "poddisruptionbudgets", "list")
    identity = await asyncio.to_thread(agent_kube.mint_identity, rules)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    with pytest.raises(MissingPermissionError) as refused:
        async with running_collector(settings):
            pass
    assert str(refused.value) == PDB_LIST_MISSING


async def test_refused_list_during_the_run_is_named_too(
    agent_kube: KubeApiServer, tmp_path: Path
) -> None:
    """A watcher refused by RBAC (e.g. the role was edited later) names the same permission."""
    rules = rules_without(AGENT_RULES, "poddisruptionbudgets", "list")
    identity = await asyncio.to_thread(agent_kube.mint_identity, rules)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    pdbs = next(spec for spec in KINDS if spec.kind == "poddisruptionbudgets")
    async with kube_client(settings) as client:
        watcher = KindWatcher(client, pdbs, Inventory([(pdbs.kind, pdbs.category)]))
        with pytest.raises(MissingPermissionError) as refused:
            await asyncio.wait_for(watcher.run(), timeout=30)
    assert str(refused.value) == PDB_LIST_MISSING


async def test_missing_metrics_permission_is_a_note_not_a_failure(
    agent_kube: KubeApiServer, tmp_path: Path
) -> None:
    """Without the metrics rule the agent runs and says why usage is missing."""
    rules = [r for r in AGENT_RULES if "metrics.k8s.io" not in r["apiGroups"]]
    identity = await asyncio.to_thread(agent_kube.mint_identity, rules)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    async with running_collector(settings) as collector:
        snapshot = await collector.snapshot()
    assert snapshot.notes == [
        (
            "missing permission: list nodes.metrics.k8s.io — grant it in the agent's "
            "ClusterRole; no CPU/memory usage"
        )
    ]
