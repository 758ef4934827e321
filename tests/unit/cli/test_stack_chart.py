"""The agent chart's identities as `slicewise up --cluster local` applies them."""

from __future__ import annotations

import json

import pytest

from cli.stack_chart import DEMO_ACTIONS, NAMESPACE, ChartIdentities, render_identities


@pytest.fixture(scope="module")
def identities() -> ChartIdentities:
    """The chart rendered by the pinned helm."""
    return render_identities()


def test_only_rbac_objects_are_taken_from_the_chart(identities: ChartIdentities) -> None:
    """ServiceAccounts, roles and bindings only: no Deployment, Secret or NetworkPolicy."""
    kinds = {m["kind"] for m in identities.rbac}
    assert kinds == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def test_agent_and_executor_accounts_are_the_chart_s_own(identities: ChartIdentities) -> None:
    """Both ServiceAccounts the Deployments name are rendered, in the release namespace."""
    accounts = {
        m["metadata"]["name"]: m["metadata"]["namespace"]
        for m in identities.rbac
        if m["kind"] == "ServiceAccount"
    }
    assert accounts[identities.agent_account] == NAMESPACE
    assert accounts[identities.executor_account] == NAMESPACE
    assert identities.agent_account != identities.executor_account


def test_each_account_is_bound_to_a_cluster_role(identities: ChartIdentities) -> None:
    """The agent and the executor each get a ClusterRoleBinding naming their ServiceAccount."""
    bound = {
        subject["name"]
        for m in identities.rbac
        if m["kind"] == "ClusterRoleBinding"
        for subject in m["subjects"]
    }
    assert {identities.agent_account, identities.executor_account} <= bound


def test_executor_approves_each_with_the_demo_action_types(identities: ChartIdentities) -> None:
    """Mode approve-each; the allow-list is exactly the enabled demo action types."""
    assert identities.executor_mode == "approve-each"
    assert sorted(json.loads(identities.allowed_action_types)) == sorted(DEMO_ACTIONS)


def test_executor_may_evict_pods_for_a_drain(identities: ChartIdentities) -> None:
    """The executor's ClusterRole grants pods/eviction create, which a drain needs."""
    executor_roles = [
        m
        for m in identities.rbac
        if m["kind"] == "ClusterRole" and m["metadata"]["name"].endswith("-executor")
    ]
    rules = [rule for role in executor_roles for rule in role["rules"]]
    assert any("pods/eviction" in r["resources"] and "create" in r["verbs"] for r in rules)


def _rules_of(identities: ChartIdentities, account: str) -> list[dict[str, list[str]]]:
    """Every rule of the roles bound to `account`, cluster-wide or namespaced."""
    bound = {
        (m["roleRef"]["kind"], m["roleRef"]["name"])
        for m in identities.rbac
        if m["kind"] in {"ClusterRoleBinding", "RoleBinding"}
        and any(s["name"] == account for s in m["subjects"])
    }
    return [
        rule
        for m in identities.rbac
        if (m["kind"], m["metadata"]["name"]) in bound
        for rule in m["rules"]
    ]


def test_agent_reads_the_gpu_operator_s_cluster_policy(identities: ChartIdentities) -> None:
    """The agent may list ClusterPolicies, so its snapshots carry the GPU Operator's state."""
    rules = _rules_of(identities, identities.agent_account)
    assert any(
        "nvidia.com" in r["apiGroups"]
        and "clusterpolicies" in r["resources"]
        and "list" in r["verbs"]
        for r in rules
    )


def test_executor_may_create_the_device_plugin_config_and_patch_the_policy(
    identities: ChartIdentities,
) -> None:
    """A GPU sharing plan's ConfigMap create and ClusterPolicy patch are granted."""
    rules = _rules_of(identities, identities.executor_account)
    assert any("configmaps" in r["resources"] and "create" in r["verbs"] for r in rules)
    assert any("clusterpolicies" in r["resources"] and "patch" in r["verbs"] for r in rules)
