"""The change set of a spot placement: valid Kubernetes scheduling fields."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from protocol.changes import ApplyPdb, ChangeSet, PatchScheduling
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_REGION,
    Toleration,
)
from recommender.inventory import Inventory
from recommender.spot.placement import PlacementInputs, PoolTerms, SpotPlacement, plan_placement
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import capacity_for
from recommender.spot.readiness import assess_readiness
from recommender.spot.scheduling import placement_change_set
from recommender.spot.split import SplitSettings
from tests.unit.recommender.factories import spec, workload
from tests.unit.recommender.spot.scenario import spot_cluster

KUBERNETES_VERSION = "1.30.0"
REQUIRED_ZONE = {
    "nodeSelectorTerms": [
        {"matchExpressions": [{"key": LABEL_REGION, "operator": "In", "values": ["us-east-1"]}]}
    ]
}


def _change_set(with_pdb: bool = True, affinity: dict[str, Any] | None = None) -> ChangeSet:
    template = spec(affinity=affinity) if affinity else spec()
    web = workload("web", replicas=6, template=template)
    snap = spot_cluster(web, None if with_pdb else [])
    inventory = Inventory.build(snap)
    policy = SpotPolicy()
    capacity = capacity_for(web, inventory)
    inputs = PlacementInputs(
        per_replica_on_demand_hourly=1.0,
        pools={pool: PoolTerms(0.4, None) for pool in capacity.pools},
        startup_seconds=30.0,
        running={},
    )
    placement = plan_placement(
        assess_readiness(web, inventory, policy), capacity, inputs, policy, SplitSettings()
    )
    assert isinstance(placement, SpotPlacement)
    return placement_change_set(web, placement, capacity.tolerations, policy)


def _scheduling(change_set: ChangeSet) -> PatchScheduling:
    patches = [a for a in change_set.actions if isinstance(a, PatchScheduling)]
    assert len(patches) == 1
    return patches[0]


def _toleration_json(t: Toleration) -> dict[str, Any]:
    raw = {"key": t.key, "operator": t.operator, "value": t.value, "effect": t.effect}
    return {k: v for k, v in raw.items() if v is not None}


def test_node_affinity_prefers_on_demand_when_the_floor_is_above_half() -> None:
    """Floor 4 of 6: capacity In [on-demand] (100) is the only preference: a spot
    instance-type preference would halve the lead on-demand nodes get from it."""
    affinity = _scheduling(_change_set()).node_affinity
    assert affinity is not None
    preferred = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred == [
        {
            "weight": 100,
            "preference": {
                "matchExpressions": [
                    {"key": LABEL_CAPACITY, "operator": "In", "values": ["on-demand"]}
                ]
            },
        }
    ]


def test_existing_required_node_affinity_is_kept() -> None:
    """The template's required terms survive the patch unchanged."""
    affinity = _scheduling(
        _change_set(
            affinity={
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": REQUIRED_ZONE}
            }
        )
    ).node_affinity
    assert affinity is not None
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"] == REQUIRED_ZONE


def test_floor_above_half_adds_only_the_hard_capacity_spread() -> None:
    """Floor 4 of 6: capacity (hard, maxSkew 2); soft zone/type spreads would pull pods off."""
    constraints = _scheduling(_change_set()).topology_spread_constraints
    assert constraints is not None
    summary = [(c["topologyKey"], c["maxSkew"], c["whenUnsatisfiable"]) for c in constraints]
    assert summary == [(LABEL_CAPACITY, 2, "DoNotSchedule")]


def test_spreads_count_only_pods_of_the_plan() -> None:
    """The spread selector adds the plan label the patch puts on the template."""
    patch = _scheduling(_change_set())
    assert patch.template_labels is not None
    assert patch.topology_spread_constraints is not None
    selector = patch.topology_spread_constraints[0]["labelSelector"]
    assert selector == {"matchLabels": {"app": "web", **patch.template_labels}}


def test_spot_taint_gets_a_matching_toleration() -> None:
    """The spot nodes' taint is tolerated exactly."""
    tolerations = _scheduling(_change_set()).tolerations
    assert tolerations == [
        Toleration(
            key="node.kubernetes.io/capacity", operator="Equal", value="spot", effect="NoSchedule"
        )
    ]


def test_pdb_is_created_first_when_none_exists() -> None:
    """Without a PDB the change set starts by applying one with maxUnavailable 25 %."""
    actions = _change_set(with_pdb=False).actions
    assert isinstance(actions[0], ApplyPdb)
    assert (actions[0].max_unavailable, actions[0].selector) == ("25%", {"app": "web"})
    assert isinstance(actions[1], PatchScheduling)


def test_existing_pdb_is_left_alone() -> None:
    """With a PDB in place only the scheduling patch remains."""
    assert [type(a) for a in _change_set().actions] == [PatchScheduling]


def test_patched_template_is_a_valid_apps_v1_deployment() -> None:
    """The affinity, tolerations and spreads validate against the Kubernetes schema."""
    patch = _scheduling(_change_set())
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 6,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "app", "image": "registry.example/web:1"}],
                    "affinity": {"nodeAffinity": patch.node_affinity},
                    "tolerations": [_toleration_json(t) for t in patch.tolerations or []],
                    "topologySpreadConstraints": patch.topology_spread_constraints,
                },
            },
        },
    }
    assert kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_created_pdb_is_a_valid_policy_v1_object() -> None:
    """The PDB validates as policy/v1."""
    action = _change_set(with_pdb=False).actions[0]
    assert isinstance(action, ApplyPdb)
    manifest = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": action.name, "namespace": action.namespace},
        "spec": {
            "maxUnavailable": action.max_unavailable,
            "selector": {"matchLabels": action.selector},
        },
    }
    assert kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_change_set_survives_the_wire() -> None:
    """The change set round-trips through JSON unchanged."""
    change_set = _change_set(with_pdb=False)
    assert ChangeSet.model_validate_json(change_set.model_dump_json()) == change_set
