"""Sum container costs by pod, workload, namespace, node, container or a pod label."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from recommender.cost.allocation import ContainerCost

UNLABELLED = "__unlabelled__"
GROUPINGS = ("container", "pod", "workload", "namespace", "node")


def group_key(cost: ContainerCost, by: str) -> str:
    """The group a container's cost falls in: a field name, or `label:<key>`."""
    usage = cost.usage
    if by.startswith("label:"):
        return usage.labels.get(by.removeprefix("label:"), UNLABELLED)
    match by:
        case "container":
            return f"{usage.namespace}/{usage.pod}/{usage.container}"
        case "pod":
            return f"{usage.namespace}/{usage.pod}"
        case "workload":
            return usage.workload
        case "namespace":
            return usage.namespace
        case "node":
            return usage.node
    raise ValueError(f"cannot group by {by!r}; use one of {GROUPINGS} or label:<key>")


def group_costs(costs: Iterable[ContainerCost], by: str) -> dict[str, float]:
    """Total cost (CPU + memory + request-based GPU) per group, largest first."""
    totals: defaultdict[str, float] = defaultdict(float)
    for cost in costs:
        totals[group_key(cost, by)] += cost.total_usd
    return dict(sorted(totals.items(), key=lambda item: -item[1]))
