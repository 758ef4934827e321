"""Evictions against the local control plane respect PodDisruptionBudgets, as in a cluster."""

from __future__ import annotations

import pytest
from lightkube import ApiError, Client

from executor.kube.api import POLICY_V1BETA1
from tests.integration.kube.shapes import (
    bound_pods,
    make_deployment,
    make_namespace,
    make_node,
    pods_of,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube


def _guarded_app(cluster: Client, replicas: int, min_available: int) -> tuple[str, str]:
    """A Deployment with every replica Running and a PDB the disruption controller has judged."""
    pool = unique("pdb")
    make_node(cluster, pool)
    namespace = make_namespace(cluster)
    app = make_deployment(cluster, namespace, pool, replicas)
    cluster.create(
        POLICY_V1BETA1.pdb(
            {
                "apiVersion": POLICY_V1BETA1.api_version,
                "kind": "PodDisruptionBudget",
                "metadata": {"name": app, "namespace": namespace},
                "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}},
            }
        )
    )

    def judged() -> bool:
        pdb = cluster.get(POLICY_V1BETA1.pdb, app, namespace=namespace)
        return bool((pdb.status or {}).get("currentHealthy") == replicas)

    wait_for(lambda: bound_pods(cluster, namespace, app, replicas), "bound pods")
    wait_for(judged, "the disruption controller to count every replica healthy")
    return namespace, app


def _evict(cluster: Client, namespace: str, name: str) -> None:
    """Ask the API server (1.20: policy/v1beta1) to evict one Pod."""
    body = {
        "apiVersion": POLICY_V1BETA1.api_version,
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": namespace},
    }
    cluster.create(POLICY_V1BETA1.eviction(body), name, namespace=namespace)


def test_eviction_that_would_break_a_pdb_is_refused(cluster: Client) -> None:
    """With minAvailable equal to the replicas, evicting one Pod answers 429."""
    namespace, app = _guarded_app(cluster, replicas=2, min_available=2)
    victim = pods_of(cluster, namespace, app)[0].metadata.name  # type: ignore[union-attr]
    assert victim is not None

    with pytest.raises(ApiError) as refused:
        _evict(cluster, namespace, victim)

    assert refused.value.status.code == 429


def test_eviction_within_a_pdb_replaces_the_pod(cluster: Client) -> None:
    """An allowed eviction removes the Pod and the ReplicaSet binds a replacement."""
    namespace, app = _guarded_app(cluster, replicas=2, min_available=1)
    victim = pods_of(cluster, namespace, app)[0].metadata.name  # type: ignore[union-attr]
    assert victim is not None

    _evict(cluster, namespace, victim)

    def replaced() -> bool:
        pods = bound_pods(cluster, namespace, app, 2)
        return pods is not None and victim not in {p.metadata.name for p in pods}  # type: ignore[union-attr]

    wait_for(replaced, "the evicted pod to be gone and replaced")
