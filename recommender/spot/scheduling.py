"""The Kubernetes scheduling fields of a spot placement, as apps/v1 pod-template JSON.

`nodeAffinity` keeps the template's required terms and preferences and adds two preferences
(spot capacity, then the chosen pools' instance types); topology spread constraints keep the
template's own on other keys and add zone, capacity-type and instance-type spreads. Every dict
uses the API's camelCase field names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pydantic import JsonValue

from protocol.changes import Action, ApplyPdb, ChangeSet, PatchScheduling
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_INSTANCE_TYPE,
    LABEL_ZONE,
    Toleration,
    Workload,
)
from recommender.inventory import workload_ref
from recommender.preconditions import workload_precondition
from recommender.spot.placement import SpotPlacement
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import ON_DEMAND

PLAN_LABEL = "slicewise.io/spot-plan"
"""Template label naming the placement; the spreads count only pods carrying it, so the pods
of the template being replaced do not tilt where the rollout's new pods go."""
SPOT_PREFERENCE_WEIGHT = 100
POOL_PREFERENCE_WEIGHT = 50
_OWN_KEYS = frozenset({LABEL_CAPACITY, LABEL_INSTANCE_TYPE, LABEL_ZONE})


def plan_label_value(placement: SpotPlacement) -> str:
    """A short name of the split: replicas, on-demand floor and the pools used."""
    pools = ",".join(f"{p.instance_type}/{p.zone}={n}" for p, n in placement.spot_by_pool.items())
    text = f"{placement.replicas}/{placement.on_demand_replicas}/{pools}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _selector(workload: Workload, placement: SpotPlacement) -> dict[str, JsonValue]:
    labels: Mapping[str, str] = workload.selector or workload.template_labels
    return {"matchLabels": {**labels, PLAN_LABEL: plan_label_value(placement)}}


def _mentions_own_key(preference: JsonValue) -> bool:
    if not isinstance(preference, dict):
        return False
    inner = preference.get("preference")
    expressions = inner.get("matchExpressions") if isinstance(inner, dict) else None
    return isinstance(expressions, list) and any(
        isinstance(e, dict) and e.get("key") in _OWN_KEYS for e in expressions
    )


def node_affinity(workload: Workload, placement: SpotPlacement) -> dict[str, JsonValue]:
    """The template's nodeAffinity with the capacity-type and pool preferences added.

    Spot is preferred, unless the on-demand floor is above half the replicas: then on-demand is
    the only preference and the capacity spread's maxSkew caps it at the floor.
    """
    current = (workload.template.affinity or {}).get("nodeAffinity")
    existing: dict[str, JsonValue] = dict(current) if isinstance(current, dict) else {}
    kept = existing.get("preferredDuringSchedulingIgnoredDuringExecution")
    preferences: list[JsonValue] = [
        p for p in (kept if isinstance(kept, list) else []) if not _mentions_own_key(p)
    ]
    preferred = ON_DEMAND if placement.prefer_on_demand else "spot"
    preferences.append(
        {
            "weight": SPOT_PREFERENCE_WEIGHT,
            "preference": {
                "matchExpressions": [
                    {"key": LABEL_CAPACITY, "operator": "In", "values": [preferred]}
                ]
            },
        }
    )
    types = sorted({pool.instance_type for pool in placement.pools if pool.instance_type})
    # Above half, a spot instance-type preference would be one more score pulling pods off
    # on-demand: the scheduler normalises node affinity scores, so with it an on-demand node
    # leads a spot node by 50 points instead of 100.
    if types and not placement.prefer_on_demand:
        preferences.append(
            {
                "weight": POOL_PREFERENCE_WEIGHT,
                "preference": {
                    "matchExpressions": [
                        {"key": LABEL_INSTANCE_TYPE, "operator": "In", "values": list(types)}
                    ]
                },
            }
        )
    existing["preferredDuringSchedulingIgnoredDuringExecution"] = preferences
    return existing


def topology_spread(workload: Workload, placement: SpotPlacement) -> list[dict[str, JsonValue]]:
    """The template's spread constraints on other keys plus the placement's.

    With the floor above half, on-demand is preferred and only the hard capacity spread is
    added: soft zone and instance-type spreads count on-demand and spot pods alike, and their
    scores would pull pods off on-demand below the floor.
    """
    kept = [
        dict(c)
        for c in workload.template.topology_spread_constraints
        if c.get("topologyKey") not in _OWN_KEYS
    ]
    selector = _selector(workload, placement)
    soft = not placement.prefer_on_demand
    spreads: list[dict[str, JsonValue]] = []
    if soft:
        spreads.append(
            {
                "maxSkew": 1,
                "topologyKey": LABEL_ZONE,
                "whenUnsatisfiable": (
                    "DoNotSchedule" if placement.zone_spread_required else "ScheduleAnyway"
                ),
                "labelSelector": selector,
            }
        )
    if placement.capacity_max_skew is not None:
        spreads.append(
            {
                "maxSkew": placement.capacity_max_skew,
                "topologyKey": LABEL_CAPACITY,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": selector,
            }
        )
    if soft:
        spreads.append(
            {
                "maxSkew": 1,
                "topologyKey": LABEL_INSTANCE_TYPE,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": selector,
            }
        )
    return kept + spreads


def pdb_name(workload: Workload) -> str:
    """Name of the PDB created for a workload without one."""
    return f"{workload.name[:240]}-spot"


def placement_change_set(
    workload: Workload,
    placement: SpotPlacement,
    extra_tolerations: tuple[Toleration, ...],
    policy: SpotPolicy,
) -> ChangeSet:
    """The PDB (where none exists) and the scheduling patch, in that order.

    The PDB comes first so the rollout the patch triggers is already budgeted.
    """
    actions: list[Action] = []
    if placement.create_pdb:
        actions.append(
            ApplyPdb(
                namespace=workload.namespace,
                name=pdb_name(workload),
                selector=dict(workload.selector or workload.template_labels),
                min_available=placement.pdb_min_available,
                max_unavailable=(
                    None
                    if placement.pdb_min_available is not None
                    else policy.default_max_unavailable
                ),
            )
        )
    known = {(t.key, t.value, t.effect) for t in workload.template.tolerations}
    tolerations = [*workload.template.tolerations] + [
        t for t in extra_tolerations if (t.key, t.value, t.effect) not in known
    ]
    actions.append(
        PatchScheduling(
            target=workload_ref(workload),
            node_affinity=node_affinity(workload, placement),
            tolerations=tolerations,
            topology_spread_constraints=topology_spread(workload, placement),
            template_labels={PLAN_LABEL: plan_label_value(placement)},
            precondition=workload_precondition(workload),
        )
    )
    surge = " (surge to on-demand on notice)" if placement.surge_on_notice else ""
    return ChangeSet(
        actions=actions,
        summary=(
            f"{placement.spot_replicas} of {placement.replicas} replicas to spot over "
            f"{len(placement.pools)} pools in {len(placement.zones)} zones, "
            f"{placement.on_demand_replicas} kept on on-demand{surge}"
        ),
    )
