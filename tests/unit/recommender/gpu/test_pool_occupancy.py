"""What the GPU pods of a node hold, as the pool plan counts it."""

from __future__ import annotations

from recommender.gpu.pools.occupancy import gpus_by_node, gpus_held, holds_gpu_share
from tests.unit.recommender.gpu.pool_fixtures import pods, shared_pods


def test_shares_on_one_node_fill_their_sum_rounded_up() -> None:
    """Three 400-milli shares fill two GPUs beside a pod's whole GPU: three in all."""
    found = shared_pods("notebook", ["gpu-1"] * 3, milli=400) + pods("train", ["gpu-1"])
    assert gpus_held(found) == 3


def test_gpus_are_counted_per_node() -> None:
    """Shares on two nodes are rounded up on each node apart."""
    found = shared_pods("notebook", ["gpu-1", "gpu-2", "gpu-2"], milli=300)
    assert gpus_by_node(found) == {"gpu-1": 1, "gpu-2": 1}


def test_a_whole_gpu_pod_holds_no_share() -> None:
    """A one-GPU pod without a gpu-milli label holds its whole GPU."""
    (whole,) = pods("train", ["gpu-1"])
    (share,) = shared_pods("notebook", ["gpu-1"], milli=500)
    assert (holds_gpu_share(whole), holds_gpu_share(share)) == (False, True)


def test_a_thousand_milli_label_is_a_whole_gpu() -> None:
    """A label naming the whole GPU (1000 milli) is no share."""
    (pod,) = shared_pods("train", ["gpu-1"], milli=1000)
    assert (holds_gpu_share(pod), gpus_held([pod])) == (False, 1)
