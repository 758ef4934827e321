"""On a real kube-apiserver, the agent chart's account reads what it reports and nothing more."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from lightkube import Client

from devstack.kube import KubeApiServer
from tests.integration.helm.service_accounts import (
    Account,
    acting_as,
    applied,
    rbac_manifests,
    wait_until_allowed,
    watch_status,
)
from tests.support.helm_tools import render
from tests.unit.helm.scenarios import AGENT, AGENT_MINIMAL

pytestmark = pytest.mark.kube

# Collections the agent lists and watches, at the API versions kube-apiserver 1.20 serves.
OBSERVED = {
    "nodes": "/api/v1/nodes",
    "pods": "/api/v1/pods",
    "deployments": "/apis/apps/v1/deployments",
    "statefulsets": "/apis/apps/v1/statefulsets",
    "daemonsets": "/apis/apps/v1/daemonsets",
    "replicasets": "/apis/apps/v1/replicasets",
    "jobs": "/apis/batch/v1/jobs",
    "poddisruptionbudgets": "/apis/policy/v1beta1/poddisruptionbudgets",
    "horizontalpodautoscalers": "/apis/autoscaling/v1/horizontalpodautoscalers",
}


@pytest.fixture(scope="module")
def agent(kube_apiserver: KubeApiServer) -> Iterator[httpx.Client]:
    """The agent chart's RBAC applied; an HTTP client acting as the agent's ServiceAccount."""
    release = f"rbac-{uuid.uuid4().hex[:6]}"
    namespace = f"agent-{uuid.uuid4().hex[:6]}"
    manifests = rbac_manifests(render(AGENT, AGENT_MINIMAL, namespace=namespace, release=release))
    account = Account(namespace, f"{release}-{AGENT}-agent")
    with kube_apiserver.admin_client() as admin, applied(admin, manifests):
        wait_until_allowed(admin, account, "", "pods", "watch")
        with acting_as(kube_apiserver, account) as http:
            yield http


@pytest.mark.parametrize("kind", sorted(OBSERVED))
def test_agent_lists_every_kind_it_reports(agent: httpx.Client, kind: str) -> None:
    """A cluster-wide list of each observed kind succeeds."""
    response = agent.get(OBSERVED[kind])
    assert response.status_code == 200, response.text
    assert response.json()["kind"].endswith("List")


@pytest.mark.parametrize("kind", sorted(OBSERVED))
def test_agent_watches_every_kind_it_reports(agent: httpx.Client, kind: str) -> None:
    """A cluster-wide watch of each observed kind is accepted."""
    assert watch_status(agent, OBSERVED[kind]) == 200


@pytest.mark.parametrize(
    "path", ["/apis/metrics.k8s.io/v1beta1/nodes", "/apis/metrics.k8s.io/v1beta1/pods"]
)
def test_agent_is_authorized_for_resource_metrics(agent: httpx.Client, path: str) -> None:
    """Metrics reads pass RBAC: the harness serves no metrics API, so the answer is 404, not 403."""
    assert agent.get(path).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/namespaces/default/pods", {"apiVersion": "v1", "kind": "Pod"}),
        ("PATCH", "/api/v1/nodes/any-node", {"spec": {"unschedulable": True}}),
        ("DELETE", "/apis/apps/v1/namespaces/default/deployments/any", None),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/any/scale",
            {"spec": {"replicas": 0}},
        ),
        ("POST", "/api/v1/namespaces/default/pods/any/eviction", {"apiVersion": "policy/v1beta1"}),
        ("DELETE", "/apis/batch/v1/namespaces/default/jobs/any", None),
        ("POST", "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets", {}),
    ],
    ids=[
        "create-pod",
        "patch-node",
        "delete-deployment",
        "scale-deployment",
        "evict-pod",
        "delete-job",
        "create-pdb",
    ],
)
def test_agent_is_refused_every_write(
    agent: httpx.Client, method: str, path: str, body: dict[str, object] | None
) -> None:
    """Writes are forbidden before the apiserver even looks for the object."""
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    response = agent.request(method, path, json=body, headers=headers)
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/secrets",
        "/api/v1/namespaces/default/secrets",
        "/api/v1/namespaces/kube-system/secrets/any",
        "/api/v1/configmaps",
        "/api/v1/nodes/any-node",
    ],
    ids=["list-secrets", "list-namespace-secrets", "get-secret", "list-configmaps", "get-node"],
)
def test_agent_is_refused_secrets_and_anything_not_granted(agent: httpx.Client, path: str) -> None:
    """Secrets, ConfigMaps and single-object gets are outside the agent's role."""
    assert agent.get(path).status_code == 403


def test_agent_is_refused_watching_secrets(agent: httpx.Client) -> None:
    """Watching Secrets is forbidden like listing them."""
    assert watch_status(agent, "/api/v1/secrets") == 403


def test_unbound_account_in_the_same_namespace_reads_nothing(
    kube_apiserver: KubeApiServer, admin_kube_client: Client
) -> None:
    """The permissions come from the chart's binding, not from being a ServiceAccount."""
    account = Account("default", f"stranger-{uuid.uuid4().hex[:6]}")
    with acting_as(kube_apiserver, account) as http:
        assert http.get(OBSERVED["pods"]).status_code == 403
