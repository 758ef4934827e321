"""Which changes to the inventory are significant enough to snapshot soon (pure rules).

Significant: a node added, removed or changed (labels, taints, capacity, readiness, cordon);
a workload, PDB or HPA added, removed or with a changed spec; a pod scheduled onto a node,
moved, or deleted. Status churn (ready counts, heartbeats, resourceVersions) is not: it is
reported by the next periodic snapshot.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from pydantic import BaseModel

from agent.convert.owners import OwnerLink
from protocol.snapshot import Pod

IGNORED_FIELDS: dict[str, frozenset[str]] = {
    "nodes": frozenset({"resource_version"}),
    "workloads": frozenset({"resource_version", "ready_replicas"}),
    "pdbs": frozenset(
        {
            "resource_version",
            "current_healthy",
            "desired_healthy",
            "disruptions_allowed",
            "expected_pods",
        }
    ),
    "hpas": frozenset({"current_replicas", "desired_replicas"}),
}
"""Status fields (per category) whose change alone does not call for a snapshot."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One object of the inventory: its wire model and, for intermediate owners, its link."""

    model: BaseModel | None
    link: OwnerLink | None = None


def is_significant(category: str, old: Entry | None, new: Entry | None) -> bool:
    """Whether replacing `old` by `new` (None = absent) in `category` warrants a snapshot."""
    old_model = old.model if old is not None else None
    new_model = new.model if new is not None else None
    if old_model is None and new_model is None:
        return False
    if category == "pods":
        return _pod_significant(old_model, new_model)
    if old_model is None or new_model is None:
        return True
    ignored = IGNORED_FIELDS.get(category)
    if ignored is None:
        return False
    return _spec(old_model, ignored) != _spec(new_model, ignored)


def _pod_significant(old: BaseModel | None, new: BaseModel | None) -> bool:
    """A pod matters when it lands on a node, moves, or goes away."""
    old_node = old.node_name if isinstance(old, Pod) else None
    new_node = new.node_name if isinstance(new, Pod) else None
    if new is None:
        return True
    return new_node is not None and new_node != old_node


def _spec(model: BaseModel, ignored: Set[str]) -> dict[str, object]:
    """The model's fields without the ignored (status) ones."""
    return model.model_dump(exclude=set(ignored))
