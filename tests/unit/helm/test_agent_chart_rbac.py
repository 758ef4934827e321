"""Least privilege: the agent only reads, the executor gets exactly its enabled action types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from agent.rbac import AGENT_RULES
from tests.support.helm_tools import find, of_kind, render
from tests.unit.helm.scenarios import (
    ACTION_TYPES,
    AGENT,
    AGENT_EVERYTHING,
    AGENT_MINIMAL,
    NAMESPACE,
    RELEASE,
    agent_values,
    with_actions,
)

# (apiGroup, resource, verb): one permission, as the authorizer sees it.
Grant = tuple[str, str, str]

AGENT_ROLE = f"{RELEASE}-{AGENT}-agent"
EXECUTOR_ROLE = f"{RELEASE}-{AGENT}-executor"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind"}

AGENT_READS: set[Grant] = {
    *{("", r, v) for r in ("nodes", "pods") for v in ("list", "watch")},
    *{
        ("apps", r, v)
        for r in ("deployments", "statefulsets", "daemonsets", "replicasets")
        for v in ("list", "watch")
    },
    ("batch", "jobs", "list"),
    ("batch", "jobs", "watch"),
    ("policy", "poddisruptionbudgets", "list"),
    ("policy", "poddisruptionbudgets", "watch"),
    ("autoscaling", "horizontalpodautoscalers", "list"),
    ("autoscaling", "horizontalpodautoscalers", "watch"),
    ("metrics.k8s.io", "nodes", "list"),
    ("metrics.k8s.io", "pods", "list"),
    ("keda.sh", "scaledobjects", "list"),
}

_WORKLOAD_PATCH: set[Grant] = {
    (g, r, v)
    for g, r in (("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"))
    for v in ("get", "patch")
}
_NODE_PATCH: set[Grant] = {("", "nodes", "get"), ("", "nodes", "patch")}

# Cluster-wide grants per action type, written out by hand from what the executor does for each:
# read the target (preconditions), write it (and undo it), and watch the result settle.
EXECUTOR_GRANTS: dict[str, set[Grant]] = {
    "patch_resources": _WORKLOAD_PATCH | {("", "pods", "list")},
    "patch_scheduling": _WORKLOAD_PATCH | {("", "pods", "list")},
    "apply_pdb": {
        ("policy", "poddisruptionbudgets", v) for v in ("get", "create", "patch", "delete")
    },
    "cordon": _NODE_PATCH,
    "uncordon": _NODE_PATCH,
    "label_node": _NODE_PATCH,
    "taint_node": _NODE_PATCH,
    "drain": {
        ("", "nodes", "get"),
        ("", "pods", "list"),
        ("", "pods", "get"),
        ("", "pods/eviction", "create"),
    },
    "scale": {
        ("apps", "deployments", "get"),
        ("apps", "deployments", "patch"),
        ("apps", "statefulsets", "get"),
        ("apps", "statefulsets", "patch"),
        ("batch", "jobs", "get"),
        ("batch", "jobs", "patch"),
        ("", "pods", "list"),
    },
    "patch_config_map": set(),
    # `list` on HPAs: the executor learns at start whether autoscaling/v2 is served.
    "apply_hpa": {
        ("autoscaling", "horizontalpodautoscalers", v)
        for v in ("get", "list", "create", "patch", "delete")
    },
    "apply_scaled_object": {
        ("keda.sh", "scaledobjects", v) for v in ("get", "create", "patch", "delete")
    },
    "schedule_hpa_min_replicas": {
        ("autoscaling", "horizontalpodautoscalers", v) for v in ("get", "list", "patch")
    },
    "create_config_map": set(),
    "patch_cluster_policy": set(),
    "wait_for_node_label": {("", "nodes", "get")},
}
PROBE_ROLE = f"{EXECUTOR_ROLE}-policy-probe"
OWN_ROLE_ACTIONS = {"patch_config_map", "create_config_map"}
CLUSTER_WIDE_ACTIONS = [a for a in ACTION_TYPES if a not in OWN_ROLE_ACTIONS]


def grants(rules: Iterable[Mapping[str, Any]]) -> set[Grant]:
    """Expand PolicyRules into single (group, resource, verb) permissions."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent chart rendered in the test namespace."""
    return render(AGENT, values, namespace=NAMESPACE, release=RELEASE)


def _executor_cluster_grants(manifests: list[dict[str, Any]]) -> set[Grant]:
    """What the executor's ClusterRole grants (nothing when there is none)."""
    roles = [r for r in of_kind(manifests, "ClusterRole") if r["metadata"]["name"] == EXECUTOR_ROLE]
    return grants(roles[0]["rules"]) if roles else set()


def test_agent_cluster_role_grants_exactly_the_reads_it_needs() -> None:
    """list/watch on every observed kind and get/list on resource metrics, nothing else."""
    role = find(_render(AGENT_MINIMAL), "ClusterRole", AGENT_ROLE)
    assert grants(role["rules"]) == AGENT_READS


def test_agent_cluster_role_is_what_the_agent_checks_for_at_start() -> None:
    """The chart grants exactly the rules the agent verifies with access reviews at start."""
    role = find(_render(AGENT_MINIMAL), "ClusterRole", AGENT_ROLE)
    assert grants(role["rules"]) == grants(AGENT_RULES)


def test_agent_cluster_role_has_no_write_verb_no_secrets_and_no_wildcards() -> None:
    """The agent can never change the cluster or read Secrets, whatever else is enabled."""
    role = find(_render(AGENT_EVERYTHING), "ClusterRole", AGENT_ROLE)
    granted = grants(role["rules"])
    assert {verb for _, _, verb in granted}.isdisjoint(WRITE_VERBS)
    assert not any(resource in {"secrets", "*"} for _, resource, _ in granted)
    assert not any("*" in (group, verb) for group, _, verb in granted)


def test_dra_switch_adds_only_the_list_of_device_classes() -> None:
    """agent.dra.enabled grants list on resource.k8s.io deviceclasses and nothing more."""
    values = {
        **AGENT_MINIMAL,
        "agent": {**AGENT_MINIMAL.get("agent", {}), "dra": {"enabled": True}},
    }
    role = find(_render(values), "ClusterRole", AGENT_ROLE)
    assert grants(role["rules"]) - AGENT_READS == {("resource.k8s.io", "deviceclasses", "list")}


def test_keda_switch_off_withdraws_only_the_list_of_scaled_objects() -> None:
    """agent.keda.enabled false removes the ScaledObject read and tells the agent not to list."""
    values = {
        **AGENT_MINIMAL,
        "agent": {**AGENT_MINIMAL.get("agent", {}), "keda": {"enabled": False}},
    }
    manifests = _render(values)
    role = find(manifests, "ClusterRole", AGENT_ROLE)
    assert AGENT_READS - grants(role["rules"]) == {("keda.sh", "scaledobjects", "list")}
    deployment = find(manifests, "Deployment", AGENT_ROLE)
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SLICEWISE_AGENT_KEDA"] == "false"


def test_agent_binding_names_the_agent_service_account() -> None:
    """The read-only role is bound to the agent's own ServiceAccount in the release namespace."""
    manifests = _render(AGENT_MINIMAL)
    binding = find(manifests, "ClusterRoleBinding", AGENT_ROLE)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": AGENT_ROLE,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{RELEASE}-{AGENT}-agent", "namespace": NAMESPACE}
    ]
    deployment = find(manifests, "Deployment", f"{RELEASE}-{AGENT}-agent")
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"] == f"{RELEASE}-{AGENT}-agent"
    )


def test_with_every_action_type_off_the_executor_may_only_probe_the_policy_api() -> None:
    """No action type enabled: no ClusterRole, only listing PDBs in "default" at start."""
    manifests = _render(with_actions())
    executor_rbac = sorted(
        (m["kind"], m["metadata"]["name"], m["metadata"].get("namespace"))
        for m in manifests
        if m["kind"] in {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
        and m["metadata"]["name"].startswith(EXECUTOR_ROLE)
    )
    assert executor_rbac == [
        ("Role", PROBE_ROLE, "default"),
        ("RoleBinding", PROBE_ROLE, "default"),
    ]
    probe = find(manifests, "Role", PROBE_ROLE)
    assert grants(probe["rules"]) == {("policy", "poddisruptionbudgets", "list")}
    binding = find(manifests, "RoleBinding", PROBE_ROLE)
    assert binding["roleRef"]["name"] == PROBE_ROLE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{RELEASE}-{AGENT}-executor", "namespace": NAMESPACE}
    ]


@pytest.mark.parametrize("action", CLUSTER_WIDE_ACTIONS)
def test_each_action_type_alone_grants_exactly_its_verbs(action: str) -> None:
    """Enabling one action type grants its verbs on its resources and nothing more."""
    manifests = _render(with_actions(action))
    assert _executor_cluster_grants(manifests) == EXECUTOR_GRANTS[action]
    assert [r["metadata"]["name"] for r in of_kind(manifests, "Role")] == [PROBE_ROLE]


@pytest.mark.parametrize("action", CLUSTER_WIDE_ACTIONS)
def test_turning_one_action_type_off_withdraws_only_what_no_other_needs(action: str) -> None:
    """All-but-one grants the union of the others: shared grants stay, unique ones go."""
    others = [a for a in CLUSTER_WIDE_ACTIONS if a != action]
    expected = set().union(*(EXECUTOR_GRANTS[a] for a in others))
    assert _executor_cluster_grants(_render(with_actions(*others))) == expected


def test_every_action_type_grants_the_union_and_deletes_only_what_it_creates() -> None:
    """All action types on: the union of their grants; no Secrets, wildcards or watch."""
    granted = _executor_cluster_grants(_render(with_actions(*CLUSTER_WIDE_ACTIONS)))
    assert granted == set().union(*EXECUTOR_GRANTS.values())
    assert {verb for _, _, verb in granted} == {"get", "list", "create", "patch", "delete"}
    # Deleting is how a created PDB, HPA or ScaledObject is rolled back.
    assert {r for _, r, v in granted if v == "delete"} == {
        "poddisruptionbudgets",
        "horizontalpodautoscalers",
        "scaledobjects",
    }
    assert not any(resource in {"secrets", "*"} for _, resource, _ in granted)


def test_patch_config_map_grants_get_and_patch_in_its_namespace_only() -> None:
    """ConfigMap access is a Role in the configured namespace, never cluster-wide."""
    values = with_actions(
        "patch_config_map", executor={"actions": {"patch_config_map": {"namespace": "nvidia"}}}
    )
    manifests = _render(values)
    role = find(manifests, "Role", EXECUTOR_ROLE)
    binding = find(manifests, "RoleBinding", EXECUTOR_ROLE)
    assert role["metadata"]["namespace"] == "nvidia"
    assert grants(role["rules"]) == {("", "configmaps", "get"), ("", "configmaps", "patch")}
    assert "resourceNames" not in role["rules"][0]
    assert binding["metadata"]["namespace"] == "nvidia"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{RELEASE}-{AGENT}-executor", "namespace": NAMESPACE}
    ]
    assert _executor_cluster_grants(manifests) == set()


def test_patch_config_map_names_restrict_the_role_to_those_config_maps() -> None:
    """Listing ConfigMap names narrows the Role with resourceNames."""
    values = agent_values(
        executor={"actions": {"patch_config_map": {"enabled": True, "names": ["dp-config"]}}}
    )
    role = find(_render(values), "Role", EXECUTOR_ROLE)
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["dp-config"],
            "verbs": ["get", "patch"],
        }
    ]


def test_create_config_map_grants_create_and_delete_in_its_namespace_only() -> None:
    """Creating ConfigMaps is a Role of its own in the operator's namespace; undo deletes."""
    values = with_actions(
        "create_config_map", executor={"actions": {"create_config_map": {"namespace": "nvidia"}}}
    )
    manifests = _render(values)
    role = find(manifests, "Role", f"{EXECUTOR_ROLE}-create-config-map")
    assert role["metadata"]["namespace"] == "nvidia"
    assert grants(role["rules"]) == {("", "configmaps", v) for v in ("get", "create", "delete")}
    assert _executor_cluster_grants(manifests) == set()


def test_patch_cluster_policy_grants_get_and_patch_on_named_cluster_policies_only() -> None:
    """The ClusterPolicy switch adds one ClusterRole, narrowed by name when names are given."""
    values = agent_values(
        executor={"actions": {"patch_cluster_policy": {"enabled": True, "names": ["cp"]}}}
    )
    role = find(_render(values), "ClusterRole", f"{EXECUTOR_ROLE}-cluster-policy")
    assert role["rules"] == [
        {
            "apiGroups": ["nvidia.com"],
            "resources": ["clusterpolicies"],
            "resourceNames": ["cp"],
            "verbs": ["get", "patch"],
        }
    ]


def test_gpu_operator_switches_off_grant_nothing_on_cluster_policies() -> None:
    """With every other action type on, the ClusterPolicy stays out of reach."""
    others = [a for a in ACTION_TYPES if a != "patch_cluster_policy"]
    manifests = _render(with_actions(*others))
    assert not any(
        "clusterpolicies" in rule["resources"]
        for role in of_kind(manifests, "ClusterRole")
        for rule in role["rules"]
    )


def test_executor_binding_names_the_executor_service_account() -> None:
    """The executor's role is bound to its own account, which its Deployment runs as."""
    manifests = _render(with_actions("cordon"))
    binding = find(manifests, "ClusterRoleBinding", EXECUTOR_ROLE)
    assert binding["roleRef"]["name"] == EXECUTOR_ROLE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{RELEASE}-{AGENT}-executor", "namespace": NAMESPACE}
    ]
    deployment = find(manifests, "Deployment", f"{RELEASE}-{AGENT}-executor")
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"]
        == f"{RELEASE}-{AGENT}-executor"
    )
