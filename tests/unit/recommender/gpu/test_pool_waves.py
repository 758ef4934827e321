"""GPU pool plans carried out in waves when the free GPUs cannot take every drain at once."""

from __future__ import annotations

from typing import Any, cast

from protocol.changes import Cordon, Drain, PatchScheduling
from protocol.recommendation import Recommendation
from recommender.gpu.pools.recommend import recommend_gpu_pools
from recommender.gpu.pools.waves import WaveInputs, plan_waves
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from tests.unit.recommender.gpu.pool_fixtures import (
    NOW,
    bursty_profile,
    deployment,
    gpu_node,
    key,
    pods,
    snapshot,
)

PRICES = PriceBook(catalogues=bundled_catalogues())


def _tight_cluster() -> Recommendation:
    """Three nodes full of light replicas (a, b, c); two nodes keep 7 of 8 GPUs free.

    Two pools are needed and each drain evicts 8 whole-GPU replicas: 16 do not fit in the 14
    free GPUs at once, but the first pool's 8 do, and once a and b move into it their old GPUs
    are free for the second pool's drain.
    """
    nodes = [gpu_node(f"gpu-{i}") for i in range(1, 6)]
    found = snapshot(
        nodes,
        [deployment(name, 8) for name in "abc"],
        pods("a", ["gpu-1"] * 8)
        + pods("b", ["gpu-2"] * 8)
        + pods("c", ["gpu-3"] * 8)
        + pods("train", ["gpu-4"], "Job")
        + pods("tune", ["gpu-5"], "Job"),
    )
    (plan,) = recommend_gpu_pools(found, {key(n): bursty_profile() for n in "abc"}, PRICES, NOW)
    return plan


def test_pools_convert_in_two_waves_when_their_drains_do_not_fit_at_once() -> None:
    """Wave one takes the pool of a and b, wave two the pool of c; one node is emptied."""
    plan = _tight_cluster()
    waves = cast("list[dict[str, Any]]", plan.evidence["waves"])
    assert [w["moves"] for w in waves] == [["ml/a", "ml/b"], ["ml/c"]]
    assert len(cast("list[str]", plan.evidence["nodes_emptied"])) == 1


def test_second_wave_drains_only_after_the_first_wave_s_workloads_moved() -> None:
    """In the change set, a and b are patched before the second pool is cordoned and drained."""
    plan = _tight_cluster()
    waves = cast("list[dict[str, Any]]", plan.evidence["waves"])
    (second,) = waves[1]["pools"]
    actions = plan.change_set.actions
    moved = {a.target.name: i for i, a in enumerate(actions) if isinstance(a, PatchScheduling)}
    cordon = next(i for i, a in enumerate(actions) if isinstance(a, Cordon) and a.node == second)
    drain = next(i for i, a in enumerate(actions) if isinstance(a, Drain) and a.node == second)
    assert moved["a"] < cordon < drain < moved["c"]
    assert moved["b"] < cordon


def test_no_wave_when_not_even_one_pool_s_drain_fits() -> None:
    """Eight GPUs to evict and seven free: the plan is refused."""
    inputs = WaveInputs(
        product={"p1": "A100", "x": "A100"},
        free={"A100": 7},
        held={"ml/a": {"p1": 8}},
        moving={"ml/a": {"p1"}},
        staying={},
    )
    assert plan_waves(["p1"], inputs) is None


def test_all_pools_in_one_wave_when_the_free_gpus_take_every_drain() -> None:
    """Enough free GPUs: one wave with every pool, then every workload moves."""
    inputs = WaveInputs(
        product={"p1": "A100", "p2": "A100"},
        free={"A100": 16},
        held={"ml/a": {"p1": 8}, "ml/b": {"p2": 8}},
        moving={"ml/a": {"p1"}, "ml/b": {"p2"}},
        staying={},
    )
    (wave,) = plan_waves(["p1", "p2"], inputs) or []
    assert (wave.pools, wave.moves) == (("p1", "p2"), ("ml/a", "ml/b"))
