"""The node-level plan: replicas placed by slicewise, node settings, GPUs and nodes freed."""

from __future__ import annotations

from recommender.gpu.advice import advise
from recommender.gpu.placement.node_plan import PlanNode, WholeReplicas, plan_nodes
from tests.unit.recommender.gpu.advice_fixtures import bursty_duty, mig_config, workload

PRICE = 3.0


def _nodes(count: int, kept: int = 0) -> list[PlanNode]:
    return [PlanNode(f"gpu-{i}", "A100-80GB", 4, 64_000, gpus_kept=kept) for i in range(count)]


def test_three_half_gpu_replicas_pack_onto_two_gpus_of_one_node() -> None:
    """3g.40gb replicas two per GPU: 2 GPUs used, 6 freed, the other node freed entirely."""
    advice = advise(
        workload("chat", 30, 0.3, replicas=3), gpu_hourly_usd=PRICE, mig_config=mig_config()
    )
    plan = plan_nodes(_nodes(2), [advice])
    assert len(plan.placements) == 3
    assert plan.freed_gpus == 6
    assert len(plan.freed_nodes) == 1
    (setting,) = plan.settings
    assert (setting.mig_layout, setting.sharing_config, len(setting.shared_gpus)) == (
        "all-3g.40gb",
        None,
        2,
    )
    assert plan.nodes_for("ml/chat") == (setting.node,)


def test_a_node_carries_one_sharing_class() -> None:
    """One node: the MIG workload takes it, the time-sliced one cannot join and waits."""
    chat = advise(workload("chat", 30, 0.3), gpu_hourly_usd=PRICE, mig_config=mig_config())
    batch = advise(
        workload("batch", 10, bursty_duty()), gpu_hourly_usd=PRICE, mig_config=mig_config()
    )
    plan = plan_nodes(_nodes(1), [chat, batch])
    assert plan.unplaced == ("ml/batch",)
    assert plan.settings[0].mig_layout == "all-3g.40gb"


def test_gpus_kept_whole_are_neither_shared_nor_freed() -> None:
    """A node keeping 3 of 4 GPUs hosts the share on the fourth; nothing is freed."""
    chat = advise(workload("chat", 30, 0.3), gpu_hourly_usd=PRICE, mig_config=mig_config())
    plan = plan_nodes(_nodes(1, kept=3), [chat])
    assert plan.settings[0].shared_gpus == (3,)
    assert (plan.freed_gpus, plan.freed_nodes) == (0, ())


def test_whole_gpu_advice_is_not_placed() -> None:
    """Only actionable advice becomes replicas."""
    train = advise(workload("train", 70, 0.9), gpu_hourly_usd=PRICE, mig_config=mig_config())
    plan = plan_nodes(_nodes(1), [train])
    assert (plan.placements, plan.settings, plan.freed_gpus) == ((), (), 4)


def test_replicas_holding_shares_pack_by_their_share() -> None:
    """Sixteen quarter-GPU replicas that may move fill four GPUs of one node, not sixteen."""
    notebooks = WholeReplicas("ml/notebook", "A100-80GB", 16, 1, gpu_milli=250)
    plan = plan_nodes(_nodes(2), [], whole=[notebooks])
    assert plan.unplaced == ()
    assert len(plan.freed_nodes) == 1
