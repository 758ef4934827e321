"""The RBAC rules the agent needs: read-only list/watch on the kinds it reports.

`AGENT_RULES` is the ClusterRole the `slicewise-agent` chart grants, written in the ClusterRole
rule shape so the chart mirrors it verbatim. The collector checks these permissions at start and
names whatever is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WATCH_VERBS: tuple[str, ...] = ("list", "watch")

AGENT_RULES: tuple[Mapping[str, Sequence[str]], ...] = (
    {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": list(WATCH_VERBS)},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
        "verbs": list(WATCH_VERBS),
    },
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": list(WATCH_VERBS)},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": list(WATCH_VERBS)},
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": list(WATCH_VERBS),
    },
    # Usage: optional; without it snapshots carry a note instead of CPU/memory samples.
    {"apiGroups": ["metrics.k8s.io"], "resources": ["nodes", "pods"], "verbs": ["list"]},
    # KEDA's ScaledObjects: optional; without it KEDA is recognised by its HPAs' names only.
    {"apiGroups": ["keda.sh"], "resources": ["scaledobjects"], "verbs": ["list"]},
)
"""ClusterRole rules of the agent (mirrored by the Helm chart, whose `agent.keda.enabled: false`
withdraws the KEDA rule)."""

OPTIONAL_GROUPS = frozenset({"metrics.k8s.io", "keda.sh"})
"""API groups whose absence degrades the snapshot instead of stopping the agent."""


@dataclass(frozen=True, order=True)
class Permission:
    """One verb on one resource of one API group."""

    verb: str
    resource: str
    group: str

    def __str__(self) -> str:
        """`list poddisruptionbudgets.policy`, or `watch pods` for the core group."""
        qualified = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {qualified}"


def required_permissions(
    rules: Sequence[Mapping[str, Sequence[str]]] = AGENT_RULES,
) -> list[Permission]:
    """Every permission the rules grant outside the optional groups, in a stable order."""
    found: set[Permission] = set()
    for rule in rules:
        for group in rule["apiGroups"]:
            if group in OPTIONAL_GROUPS:
                continue
            for resource in rule["resources"]:
                found.update(Permission(verb, resource, group) for verb in rule["verbs"])
    return sorted(found, key=lambda p: (p.group, p.resource, p.verb))
