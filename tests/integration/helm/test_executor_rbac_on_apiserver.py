"""On a real kube-apiserver, the executor's account may do what its enabled actions need only.

The release enables cordon, apply_pdb and patch_config_map (in one namespace); every other
action type is off, and must be refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from lightkube import Client
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Node

from devstack.kube import KubeApiServer
from tests.integration.helm.service_accounts import (
    Account,
    acting_as,
    applied,
    rbac_manifests,
    wait_until_allowed,
)
from tests.support.helm_tools import render
from tests.unit.helm.scenarios import AGENT, with_actions

pytestmark = pytest.mark.kube

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@dataclass(frozen=True)
class Targets:
    """Names of the release's namespaces and of the objects the executor is pointed at."""

    namespace: str
    config_namespace: str
    node: str
    deployment: str
    config_map: str


def _deployment(name: str, namespace: str) -> Deployment:
    """A one-replica Deployment; nothing runs it (there is no controller-manager)."""
    labels = {"app": name}
    return Deployment(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=DeploymentSpec(
            replicas=1,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="main", image="registry.invalid/x:0")]),
            ),
        ),
    )


@pytest.fixture(scope="module")
def targets() -> Targets:
    """Names unique to this module, so tests sharing the server never collide."""
    suffix = uuid.uuid4().hex[:6]
    return Targets(
        namespace=f"agent-{suffix}",
        config_namespace=f"gpu-{suffix}",
        node=f"node-{suffix}",
        deployment=f"app-{suffix}",
        config_map=f"dp-config-{suffix}",
    )


@pytest.fixture(scope="module")
def executor(kube_apiserver: KubeApiServer, targets: Targets) -> Iterator[httpx.Client]:
    """The executor's RBAC (cordon, apply_pdb, patch_config_map) applied; a client acting as it."""
    release = f"exec-{targets.node.removeprefix('node-')}"
    values = with_actions(
        "cordon",
        "apply_pdb",
        "patch_config_map",
        executor={"actions": {"patch_config_map": {"namespace": targets.config_namespace}}},
    )
    manifests = render(AGENT, values, namespace=targets.namespace, release=release)
    account = Account(targets.namespace, f"{release}-{AGENT}-executor")
    with kube_apiserver.admin_client() as admin, applied(admin, rbac_manifests(manifests)):
        admin.create(Node(metadata=ObjectMeta(name=targets.node)))
        admin.create(_deployment(targets.deployment, targets.namespace))
        admin.create(
            ConfigMap(
                metadata=ObjectMeta(name=targets.config_map, namespace=targets.config_namespace),
                data={"config.yaml": "sharing: {}"},
            )
        )
        try:
            wait_until_allowed(admin, account, "", "nodes", "patch")
            with acting_as(kube_apiserver, account) as http:
                yield http
        finally:
            admin.delete(Node, targets.node)
            admin.delete(Deployment, targets.deployment, namespace=targets.namespace)
            admin.delete(ConfigMap, targets.config_map, namespace=targets.config_namespace)


def test_cordon_can_read_and_mark_a_node_unschedulable(
    executor: httpx.Client, targets: Targets
) -> None:
    """cordon on: the node can be read (preconditions) and patched unschedulable."""
    path = f"/api/v1/nodes/{targets.node}"
    assert executor.get(path).status_code == 200
    response = executor.patch(path, json={"spec": {"unschedulable": True}}, headers=MERGE_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["unschedulable"] is True


def test_dry_run_is_authorized_like_the_real_change(
    executor: httpx.Client, targets: Targets, admin_kube_client: Client
) -> None:
    """dry-run mode works with the same grants, and leaves the node as it was."""
    path = f"/api/v1/nodes/{targets.node}"
    labels = {"metadata": {"labels": {"slicewise.io/dry-run": "yes"}}}
    response = executor.patch(path, params={"dryRun": "All"}, json=labels, headers=MERGE_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["labels"]["slicewise.io/dry-run"] == "yes"
    node = admin_kube_client.get(Node, targets.node)
    assert node.metadata is not None
    assert "slicewise.io/dry-run" not in (node.metadata.labels or {})


def test_apply_pdb_can_create_read_patch_and_delete_a_budget(
    executor: httpx.Client, targets: Targets
) -> None:
    """apply_pdb on: a PDB is created, re-read, patched and (as a rollback) deleted."""
    collection = f"/apis/policy/v1beta1/namespaces/{targets.namespace}/poddisruptionbudgets"
    name = f"pdb-{targets.deployment}"
    body = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": targets.deployment}}},
    }
    assert executor.post(collection, json=body).status_code == 201
    assert executor.get(f"{collection}/{name}").status_code == 200
    patched = executor.patch(
        f"{collection}/{name}", json={"spec": {"maxUnavailable": 2}}, headers=MERGE_PATCH
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["spec"]["maxUnavailable"] == 2
    assert executor.delete(f"{collection}/{name}").status_code == 200


def test_policy_api_probe_is_allowed_in_default_only(
    executor: httpx.Client, targets: Targets
) -> None:
    """The start-up probe lists PDBs in "default"; listing them anywhere else is refused."""
    probe = "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets"
    elsewhere = f"/apis/policy/v1beta1/namespaces/{targets.namespace}/poddisruptionbudgets"
    assert executor.get(probe, params={"fieldSelector": "metadata.name=-probe-"}).status_code == 200
    assert executor.get(elsewhere).status_code == 403


def test_config_map_in_the_named_namespace_can_be_read_and_patched(
    executor: httpx.Client, targets: Targets
) -> None:
    """patch_config_map on: get and patch work in the configured namespace."""
    path = f"/api/v1/namespaces/{targets.config_namespace}/configmaps/{targets.config_map}"
    assert executor.get(path).status_code == 200
    patch = {"data": {"config.yaml": "sharing: {timeSlicing: {replicas: 4}}"}}
    response = executor.patch(path, json=patch, headers=MERGE_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["config.yaml"] == "sharing: {timeSlicing: {replicas: 4}}"


# Requests only a disabled action type, or no action type at all, would need.
REFUSED = {
    "drain-list-pods": ("GET", "/api/v1/pods"),
    "drain-get-pod": ("GET", "/api/v1/namespaces/{ns}/pods/any"),
    "drain-evict": ("POST", "/api/v1/namespaces/{ns}/pods/any/eviction"),
    "patch-resources-deployment": ("PATCH", "/apis/apps/v1/namespaces/{ns}/deployments/{deploy}"),
    "patch-resources-statefulset": ("PATCH", "/apis/apps/v1/namespaces/{ns}/statefulsets/any"),
    "patch-resources-daemonset": ("PATCH", "/apis/apps/v1/namespaces/{ns}/daemonsets/any"),
    "read-deployment": ("GET", "/apis/apps/v1/namespaces/{ns}/deployments/{deploy}"),
    "scale-subresource": ("PATCH", "/apis/apps/v1/namespaces/{ns}/deployments/{deploy}/scale"),
    "scale-job": ("PATCH", "/apis/batch/v1/namespaces/{ns}/jobs/any"),
    "list-pdbs-cluster-wide": ("GET", "/apis/policy/v1beta1/poddisruptionbudgets"),
    "list-nodes": ("GET", "/api/v1/nodes"),
    "replace-node": ("PUT", "/api/v1/nodes/{node}"),
    "delete-node": ("DELETE", "/api/v1/nodes/{node}"),
    "delete-deployment": ("DELETE", "/apis/apps/v1/namespaces/{ns}/deployments/{deploy}"),
    "config-map-other-namespace": ("PATCH", "/api/v1/namespaces/default/configmaps/any"),
    "config-map-create": ("POST", "/api/v1/namespaces/{cfg}/configmaps"),
    "config-map-delete": ("DELETE", "/api/v1/namespaces/{cfg}/configmaps/{cm}"),
    "list-secrets": ("GET", "/api/v1/secrets"),
    "get-secret": ("GET", "/api/v1/namespaces/{cfg}/secrets/any"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_everything_else_is_refused(executor: httpx.Client, targets: Targets, case: str) -> None:
    """Disabled action types, other verbs, other namespaces and Secrets all answer 403."""
    method, template = REFUSED[case]
    path = template.format(
        ns=targets.namespace,
        cfg=targets.config_namespace,
        node=targets.node,
        deploy=targets.deployment,
        cm=targets.config_map,
    )
    body: dict[str, Any] | None = None if method in {"GET", "DELETE"} else {"metadata": {}}
    headers = MERGE_PATCH if method == "PATCH" else {}
    response = executor.request(method, path, json=body, headers=headers)
    assert response.status_code == 403, response.text
