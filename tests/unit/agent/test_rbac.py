"""The agent's RBAC rules are read-only and name missing permissions clearly."""

from __future__ import annotations

from agent.errors import MissingPermissionError
from agent.kube.kinds import KINDS
from agent.rbac import AGENT_RULES, Permission, required_permissions


def test_rules_are_read_only() -> None:
    """No rule grants anything but list and watch."""
    verbs = {verb for rule in AGENT_RULES for verb in rule["verbs"]}
    assert verbs == {"list", "watch"}


def test_every_watched_kind_is_listed_and_watched() -> None:
    """Each kind the collector watches has list and watch in its group."""
    required = set(required_permissions())
    for spec in KINDS:
        assert Permission("list", spec.kind, spec.group) in required
        assert Permission("watch", spec.kind, spec.group) in required
    assert len(required) == 2 * len(KINDS)


def test_metrics_permission_is_optional() -> None:
    """metrics.k8s.io is granted but not required."""
    assert all(p.group != "metrics.k8s.io" for p in required_permissions())


def test_missing_permission_message_names_verb_resource_and_group() -> None:
    """One missing permission gives the exact operator-facing message."""
    error = MissingPermissionError([str(Permission("list", "poddisruptionbudgets", "policy"))])
    assert str(error) == (
        "missing permission: list poddisruptionbudgets.policy — grant it in the agent's ClusterRole"
    )


def test_core_group_permission_has_no_suffix() -> None:
    """Core-group resources are named bare."""
    assert str(Permission("watch", "pods", "")) == "watch pods"


def test_several_missing_permissions_are_listed() -> None:
    """Several missing permissions are named together."""
    error = MissingPermissionError(["list jobs.batch", "watch jobs.batch"])
    assert str(error) == (
        "missing permissions: list jobs.batch, watch jobs.batch"
        " — grant them in the agent's ClusterRole"
    )
