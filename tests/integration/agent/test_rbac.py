"""The agent works with exactly the chart's ClusterRole and names what is missing."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from lightkube import AsyncClient
from lightkube.resources.rbac_authorization_v1 import ClusterRoleBinding

from agent.collector import Collector
from agent.errors import MissingPermissionError
from agent.inventory import Inventory
from agent.kube.client import kube_client
from agent.kube.kinds import KINDS
from agent.kube.watcher import KindWatcher
from agent.rbac import AGENT_RULES
from devstack.kube import KubeApiServer
from devstack.kube.children import wait_until
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


async def _unbind(admin: AsyncClient, name: str) -> ClusterRoleBinding:
    """Delete the ClusterRoleBinding `name` and return it as it can be created again."""
    binding = await admin.get(ClusterRoleBinding, name)
    await admin.delete(ClusterRoleBinding, name)
    assert binding.metadata is not None
    binding.metadata.resourceVersion = None
    binding.metadata.uid = None
    return binding


async def _refused_everywhere(collector: Collector, before: list[int]) -> None:
    """Wait until every watcher has been refused (interrupted) since `before` was counted."""
    pairs = list(zip(collector.watchers, before, strict=True))
    await asyncio.to_thread(
        wait_until, lambda: all(w.interruptions > n for w, n in pairs), 30, "every watch refused"
    )


async def test_refusals_while_running_are_retried_within_the_grace(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """A restarted API server refuses until its RBAC cache is filled: the agent keeps going.

    The agent's binding is taken away while it runs (every renewed watch is refused, as by an
    API server that has not read its RBAC objects yet) and given back: the agent did not stop
    and reports the Pod created afterwards.
    """
    identity = await asyncio.to_thread(agent_kube.mint_identity, AGENT_RULES, name="grace-kept")
    settings = agent_settings(
        write_kubeconfig(identity, tmp_path), tmp_path / "spool", watch_timeout_seconds=1
    )
    async with running_collector(settings) as collector:
        before = [w.interruptions for w in collector.watchers]
        binding = await _unbind(admin, "grace-kept")
        await _refused_everywhere(collector, before)
        await admin.create(binding)
        await admin.create(objects.pod(namespace, "after-the-refusals"))
        snapshot = await eventually(
            collector, lambda s: any(p.name == "after-the-refusals" for p in s.pods)
        )
    assert {p.name for p in snapshot.pods if p.namespace == namespace} == {"after-the-refusals"}


async def test_refusals_beyond_the_grace_stop_the_agent_with_the_permission(
    agent_kube: KubeApiServer, admin: AsyncClient, tmp_path: Path
) -> None:
    """A binding taken away for good stops the agent once the grace is over, naming a rule."""
    identity = await asyncio.to_thread(agent_kube.mint_identity, AGENT_RULES, name="grace-over")
    settings = agent_settings(
        write_kubeconfig(identity, tmp_path),
        tmp_path / "spool",
        watch_timeout_seconds=1,
        kube_refusal_grace_seconds=3,
    )
    async with kube_client(settings) as client:
        collector = Collector(settings, client)
        running = asyncio.create_task(collector.run(None))
        await asyncio.wait_for(collector.inventory.all_synced.wait(), timeout=30)
        await _unbind(admin, "grace-over")
        with pytest.raises(MissingPermissionError) as refused:
            await asyncio.wait_for(running, timeout=60)
    assert str(refused.value).startswith("missing permission: watch ")
