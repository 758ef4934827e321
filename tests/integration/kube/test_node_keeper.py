"""The node keeper plays the kubelet: Nodes Ready with Leases, bound Pods Running or failing."""

from __future__ import annotations

import pytest
from lightkube import Client
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Node, Pod

from devstack.kube.node_keeper import FAIL_ANNOTATION, LEASE_NAMESPACE
from tests.integration.kube.shapes import (
    as_dict,
    bound_pods,
    make_deployment,
    make_namespace,
    make_node,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube


def _condition(obj: Node | Pod, kind: str) -> str | None:
    """The status of condition ``kind`` of a Node or Pod, if it has one."""
    for condition in as_dict(obj).get("status", {}).get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("status"))
    return None


def test_new_node_becomes_ready(cluster: Client) -> None:
    """A Node created without status conditions is reported Ready."""
    name = make_node(cluster, unique("ready"))

    wait_for(lambda: _condition(cluster.get(Node, name), "Ready") == "True", "node Ready")


def test_new_node_gets_a_lease_held_by_itself(cluster: Client) -> None:
    """The keeper creates the Node's Lease in kube-node-lease, as a kubelet does."""
    name = make_node(cluster, unique("lease"))

    def lease() -> Lease | None:
        leases = cluster.list(Lease, namespace=LEASE_NAMESPACE, fields={"metadata.name": name})
        return next(iter(leases), None)

    found = wait_for(lease, "the node's lease")
    assert found.spec is not None
    assert found.spec.holderIdentity == name


def test_bound_pods_are_running_and_ready(cluster: Client) -> None:
    """Pods the scheduler bound are reported Running with the Ready condition True."""
    pool = unique("run")
    make_node(cluster, pool)
    namespace = make_namespace(cluster)
    app = make_deployment(cluster, namespace, pool, 2)

    def running() -> bool:
        pods = bound_pods(cluster, namespace, app, 2) or []
        return len(pods) == 2 and all(
            p.status is not None
            and p.status.phase == "Running"
            and _condition(p, "Ready") == "True"
            for p in pods
        )

    wait_for(running, "2 pods Running and Ready")


def test_pod_asking_to_fail_is_reported_crash_looping(cluster: Client) -> None:
    """A Pod carrying the fail annotation is Running but not Ready, in CrashLoopBackOff."""
    pool = unique("fail")
    make_node(cluster, pool)
    namespace = make_namespace(cluster)
    app = make_deployment(cluster, namespace, pool, 1, annotations={FAIL_ANNOTATION: "Error"})

    def crash_looping() -> bool:
        pods = bound_pods(cluster, namespace, app, 1) or []
        statuses = [as_dict(p).get("status", {}).get("containerStatuses") or [] for p in pods]
        return bool(statuses) and all(
            s and s[0]["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
            for s in statuses
        )

    wait_for(crash_looping, "the pod in CrashLoopBackOff")
    pod = bound_pods(cluster, namespace, app, 1)
    assert pod is not None
    assert _condition(pod[0], "Ready") == "False"
