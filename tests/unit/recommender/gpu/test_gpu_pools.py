"""The cluster-level GPU sharing plan on hand-built clusters."""

from __future__ import annotations

from typing import Any, cast

from protocol.changes import (
    MAX_ACTIONS,
    Cordon,
    CreateConfigMap,
    Drain,
    LabelNode,
    PatchClusterPolicy,
    PatchConfigMap,
    PatchResources,
    PatchScheduling,
    TaintNode,
    Uncordon,
    WaitForNodeLabel,
)
from protocol.gpu_operator import MigStrategy
from protocol.recommendation import Recommendation
from protocol.resources import GPU_RESOURCE
from recommender.gpu.pools.recommend import recommend_gpu_pools
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from tests.unit.recommender.gpu.pool_fixtures import (
    NOW,
    bursty_profile,
    deployment,
    gpu_node,
    key,
    operator,
    pods,
    profile,
    shared_pods,
    snapshot,
)

PRICES = PriceBook(catalogues=bundled_catalogues())


def _touched(recommendation: Recommendation) -> set[str]:
    return {
        a.node
        for a in recommendation.change_set.actions
        if isinstance(a, Cordon | Drain | LabelNode | Uncordon | WaitForNodeLabel)
    }


def _light_service_cluster() -> list[Recommendation]:
    """Eight light replicas over gpu-1 and gpu-2; a training Job fills half of gpu-3."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2", "gpu-3")]
    found = snapshot(
        nodes,
        [deployment("embed", 8)],
        pods("embed", ["gpu-1"] * 4 + ["gpu-2"] * 4) + pods("train", ["gpu-3"] * 4, "Job"),
    )
    profiles = {key("embed"): bursty_profile()}
    return recommend_gpu_pools(found, profiles, PRICES, NOW)


def test_time_slicing_plan_empties_a_node_and_prices_it() -> None:
    """Eight half-GPU replicas fit four GPUs of one pool node: the other node is emptied."""
    (found,) = _light_service_cluster()
    assert len(found.evidence["nodes_emptied"]) == 1  # type: ignore[arg-type]
    assert found.evidence["gpus_freed"] == 8
    assert found.monthly_saving_usd == round(32.7726 * 730, 2)


def test_node_with_unrelated_gpu_pods_is_never_relabelled() -> None:
    """gpu-3 has four free GPUs but runs a Job's pods: the plan neither drains nor labels it."""
    (found,) = _light_service_cluster()
    assert "gpu-3" not in _touched(found)


def test_pool_node_is_cordoned_and_drained_before_it_is_relabelled() -> None:
    """The label of a pool node comes after its cordon and drain, and the uncordon after it."""
    (found,) = _light_service_cluster()
    actions = found.change_set.actions
    label = next(i for i, a in enumerate(actions) if isinstance(a, LabelNode))
    node = actions[label].node  # type: ignore[union-attr]
    steps = [type(a).__name__ for a in actions if getattr(a, "node", None) == node]
    assert steps == ["Cordon", "Drain", "LabelNode", "TaintNode", "Uncordon"]


def test_pool_nodes_are_tainted_and_moved_workloads_tolerate_and_select_their_pool() -> None:
    """Each pool node gets the pool's taint; the moved workload tolerates it and selects it."""
    (found,) = _light_service_cluster()
    actions = found.change_set.actions
    pools = {a.node for a in actions if isinstance(a, LabelNode)}
    taints = {a.node: a.taints for a in actions if isinstance(a, TaintNode)}
    assert set(taints) == pools
    for taint in taints.values():
        assert [(t.key, t.value, t.effect) for t in taint] == [
            ("slicewise.io/gpu-pool", "slicewise-timeslice-2", "NoSchedule")
        ]
    (scheduling,) = [a for a in actions if isinstance(a, PatchScheduling)]
    assert scheduling.node_selector == {"nvidia.com/device-plugin.config": "slicewise-timeslice-2"}
    assert [(t.key, t.operator, t.value, t.effect) for t in scheduling.tolerations or []] == [
        ("slicewise.io/gpu-pool", "Equal", "slicewise-timeslice-2", "NoSchedule")
    ]


def test_time_slicing_creates_the_device_plugin_config_and_points_the_cluster_policy() -> None:
    """Without a named config, the ConfigMap is created and the ClusterPolicy pointed at it."""
    (found,) = _light_service_cluster()
    create, patch = found.change_set.actions[:2]
    assert isinstance(create, CreateConfigMap)
    assert set(create.data) == {"default", "slicewise-timeslice-2"}
    assert isinstance(patch, PatchClusterPolicy)
    assert patch.device_plugin_config == create.name


def test_named_device_plugin_config_is_extended_not_created() -> None:
    """A ClusterPolicy that names a config gets our keys merged into that ConfigMap."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2")]
    found = snapshot(
        nodes,
        [deployment("embed", 8)],
        pods("embed", ["gpu-1"] * 4 + ["gpu-2"] * 4),
        operator(MigStrategy.SINGLE, device_plugin_config="their-config"),
    )
    (plan,) = recommend_gpu_pools(found, {key("embed"): profile(6, 0.2)}, PRICES, NOW)
    first = plan.change_set.actions[0]
    assert isinstance(first, PatchConfigMap)
    assert first.name == "their-config"
    assert not any(
        isinstance(a, CreateConfigMap | PatchClusterPolicy) for a in plan.change_set.actions
    )


def test_plan_that_empties_no_node_is_not_a_recommendation() -> None:
    """Two light replicas on the only GPU node: sharing frees GPUs but no node, so nothing."""
    found = snapshot([gpu_node("gpu-1")], [deployment("embed", 2)], pods("embed", ["gpu-1"] * 2))
    assert recommend_gpu_pools(found, {key("embed"): profile(6, 0.2)}, PRICES, NOW) == []


def test_node_sharing_with_unrelated_pods_is_neither_pool_nor_emptied() -> None:
    """A Job's pod beside the light replicas keeps gpu-1 as it is; only gpu-2 can change."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2")]
    found = snapshot(
        nodes,
        [deployment("embed", 8)],
        pods("embed", ["gpu-1"] * 4 + ["gpu-2"] * 4) + pods("train", ["gpu-1"], "Job"),
    )
    assert recommend_gpu_pools(found, {key("embed"): profile(6, 0.2)}, PRICES, NOW) == []


def test_whole_gpu_deployment_moves_so_a_node_it_shares_can_be_emptied() -> None:
    """A busy trainer Deployment beside light replicas is rescheduled by the drain, not kept.

    gpu-1 runs four light replicas and a 90 %-busy trainer; gpu-2 the other four light
    replicas; gpu-3 is idle. Sharing packs the light ones into one pool and the trainer keeps
    a whole GPU elsewhere: two nodes stay, one is emptied.
    """
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2", "gpu-3")]
    found = snapshot(
        nodes,
        [deployment("embed", 8), deployment("train", 1)],
        pods("embed", ["gpu-1"] * 4 + ["gpu-2"] * 4) + pods("train", ["gpu-1"]),
    )
    profiles = {key("embed"): bursty_profile(), key("train"): profile(30, 0.9)}
    (plan,) = recommend_gpu_pools(found, profiles, PRICES, NOW)
    moves = cast("list[dict[str, Any]]", plan.evidence["moves"])
    assert [m["workload"] for m in moves] == ["ml/embed"]
    assert plan.evidence["gpus_freed"] == 8


def test_same_named_workloads_in_two_namespaces_are_planned_apart() -> None:
    """`ml/embed` and `search/embed` both move, each with its own replicas and its own patch."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2")]
    found = snapshot(
        nodes,
        [deployment("embed", 4), deployment("embed", 4, namespace="search")],
        pods("embed", ["gpu-1"] * 4) + pods("embed", ["gpu-2"] * 4, namespace="search"),
    )
    profiles = {key("embed"): bursty_profile(), key("embed", "search"): bursty_profile()}
    (plan,) = recommend_gpu_pools(found, profiles, PRICES, NOW)
    pools = cast("list[dict[str, Any]]", plan.evidence["pools"])
    replicas: dict[str, int] = {}
    for pool in pools:
        for name, count in pool["replicas"].items():
            replicas[name] = replicas.get(name, 0) + count
    assert replicas == {"ml/embed": 4, "search/embed": 4}
    patched = [
        a.target.namespace for a in plan.change_set.actions if isinstance(a, PatchScheduling)
    ]
    assert sorted(patched) == ["ml", "search"]


def _mig_plan(strategy: MigStrategy) -> Recommendation:
    """Four 8 GiB, 10 %-duty replicas on two nodes: MIG 1g.10gb under the operator's layouts."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2")]
    found = snapshot(
        nodes,
        [deployment("embed", 4)],
        pods("embed", ["gpu-1", "gpu-1", "gpu-2", "gpu-2"]),
        operator(strategy),
    )
    (plan,) = recommend_gpu_pools(found, {key("embed"): profile(8, 0.1)}, PRICES, NOW)
    return plan


def test_mig_mixed_strategy_asks_for_the_mig_resource() -> None:
    """Under `mixed` the workload asks for `nvidia.com/mig-1g.10gb` instead of a GPU."""
    plan = _mig_plan(MigStrategy.MIXED)
    (resources,) = [a for a in plan.change_set.actions if isinstance(a, PatchResources)]
    assert set(resources.containers[0].requests.extended) == {"nvidia.com/mig-1g.10gb"}
    assert resources.containers[0].remove_requests == [GPU_RESOURCE]


def test_mig_single_strategy_keeps_the_gpu_resource_and_selects_the_layout() -> None:
    """Under `single` a slice is an `nvidia.com/gpu`: only the node selector changes."""
    plan = _mig_plan(MigStrategy.SINGLE)
    actions = plan.change_set.actions
    assert not any(isinstance(a, PatchResources) for a in actions)
    (scheduling,) = [a for a in actions if isinstance(a, PatchScheduling)]
    assert scheduling.node_selector == {"nvidia.com/mig.config": "all-1g.10gb"}


def test_mig_pool_waits_for_the_mig_manager_before_workloads_move() -> None:
    """The MIG node's state must reach success before any workload is patched."""
    actions = _mig_plan(MigStrategy.MIXED).change_set.actions
    wait = next(i for i, a in enumerate(actions) if isinstance(a, WaitForNodeLabel))
    first_move = next(i for i, a in enumerate(actions) if isinstance(a, PatchResources))
    assert wait < first_move
    waited = actions[wait]
    assert isinstance(waited, WaitForNodeLabel)
    assert (waited.label, waited.value) == ("nvidia.com/mig.config.state", "success")


def test_evidence_shows_the_gpu_map_before_and_after() -> None:
    """Before: both nodes whole-GPU with four replicas each; after: one pool, one emptied."""
    (found,) = _light_service_cluster()
    before = cast("dict[str, dict[str, Any]]", found.evidence["gpu_map_before"])
    after = cast("dict[str, dict[str, Any]]", found.evidence["gpu_map_after"])
    assert sorted(after[n]["mode"] for n in ("gpu-1", "gpu-2")) == [
        "emptied",
        "time-slicing:slicewise-timeslice-2",
    ]
    assert all(before[n]["mode"] == "whole-gpu" for n in ("gpu-1", "gpu-2"))
    assert after["gpu-3"] == before["gpu-3"]


def test_plan_too_long_for_one_instruction_empties_only_what_fits() -> None:
    """150 nodes with one light replica each: the change set stays within one instruction."""
    names = [f"gpu-{i:03}" for i in range(150)]
    found = snapshot([gpu_node(n) for n in names], [deployment("embed", 150)], pods("embed", names))
    (plan,) = recommend_gpu_pools(found, {key("embed"): bursty_profile()}, PRICES, NOW)
    emptied = cast("list[str]", plan.evidence["nodes_emptied"])
    assert len(plan.change_set.actions) <= MAX_ACTIONS
    assert 0 < len(emptied) < 150 - 10
    assert plan.monthly_saving_usd == len(emptied) * round(32.7726 * 730, 2)


def _alibaba_shaped_cluster() -> list[Recommendation]:
    """Notebooks hold quarter-GPU shares, sixteen beside four light replicas on gpu-1 and gpu-2.

    Counted one GPU each, gpu-1 and gpu-2 would hold 20 of their 8 GPUs, as the demo's nodes
    do; held as shares, the notebooks fill 4 GPUs per node. gpu-3 and gpu-4 run four light
    replicas each.
    """
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2", "gpu-3", "gpu-4")]
    found = snapshot(
        nodes,
        [deployment("embed", 16), deployment("notebook", 32)],
        pods("embed", [n for n in ("gpu-1", "gpu-2", "gpu-3", "gpu-4") for _ in range(4)])
        + shared_pods("notebook", ["gpu-1"] * 16 + ["gpu-2"] * 16, milli=250),
    )
    return recommend_gpu_pools(found, {key("embed"): bursty_profile()}, PRICES, NOW)


def test_pods_holding_gpu_shares_count_as_their_shares_and_a_node_is_emptied() -> None:
    """Light replicas time-sliced into one node and the notebooks' shares into another: two of
    the four nodes are emptied."""
    (plan,) = _alibaba_shaped_cluster()
    assert plan.evidence["gpus_freed"] == 16
    assert plan.monthly_saving_usd == round(2 * 32.7726 * 730, 2)
    moves = cast("list[dict[str, Any]]", plan.evidence["moves"])
    assert [m["workload"] for m in moves] == ["ml/embed"]


def test_gpu_share_pods_keep_their_share_and_are_not_patched() -> None:
    """The notebooks are rescheduled by the drains as they are: no patch names them."""
    (plan,) = _alibaba_shaped_cluster()
    patched = {
        a.target.name
        for a in plan.change_set.actions
        if isinstance(a, PatchResources | PatchScheduling)
    }
    assert patched == {"embed"}


def test_node_with_unrelated_gpu_share_pods_is_neither_pool_nor_emptied() -> None:
    """A Job's quarter-GPU pods stay where they are: their node is neither drained nor labelled."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2", "gpu-3")]
    found = snapshot(
        nodes,
        [deployment("embed", 12)],
        pods("embed", ["gpu-1"] * 4 + ["gpu-2"] * 4 + ["gpu-3"] * 4)
        + shared_pods("etl", ["gpu-3"] * 16, milli=250, owner="Job"),
    )
    (plan,) = recommend_gpu_pools(found, {key("embed"): bursty_profile()}, PRICES, NOW)
    assert "gpu-3" not in _touched(plan)
