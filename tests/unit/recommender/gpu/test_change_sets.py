"""Advice as change sets and as gpu-sharing recommendations."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from protocol.changes import LabelNode, PatchConfigMap, PatchResources
from protocol.recommendation import RecommendationKind
from recommender.gpu.advice import advise
from recommender.gpu.change_sets import NotActionableError, advice_change_set, mig_resource
from recommender.gpu.recommendations import to_recommendation
from tests.unit.recommender.gpu.advice_fixtures import bursty_duty, mig_config, workload

PRICE = 3.0
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ID = UUID("00000000-0000-4000-8000-000000000001")
CLUSTER = UUID("00000000-0000-4000-8000-0000000000c1")


def test_mig_change_set_labels_nodes_then_swaps_the_gpu_for_a_slice() -> None:
    """Both nodes get all-3g.40gb; the container asks for one mig-3g.40gb instead of a GPU."""
    advice = advise(workload("chat", 30, 0.3), gpu_hourly_usd=PRICE, mig_config=mig_config())
    actions = advice_change_set(advice).actions
    assert actions[:2] == [
        LabelNode(node="gpu-a", labels={"nvidia.com/mig.config": "all-3g.40gb"}),
        LabelNode(node="gpu-b", labels={"nvidia.com/mig.config": "all-3g.40gb"}),
    ]
    patch = actions[2]
    assert isinstance(patch, PatchResources)
    container = patch.containers[0]
    assert container.container == "server"
    assert container.limits.extended == {"nvidia.com/mig-3g.40gb": 1}
    assert container.requests.extended == {"nvidia.com/mig-3g.40gb": 1}
    assert container.remove_limits == ["nvidia.com/gpu"]
    assert container.remove_requests == ["nvidia.com/gpu"]
    assert patch.precondition.resource_version == "17"


def test_time_slicing_change_set_adds_the_config_and_points_nodes_at_it() -> None:
    """ConfigMap key slicewise-timeslice-2, then the device-plugin.config label on one node."""
    advice = advise(
        workload("batch", 10, bursty_duty()), gpu_hourly_usd=PRICE, mig_config=mig_config()
    )
    actions = advice_change_set(advice, nodes=["gpu-c"]).actions
    config, label = actions
    assert isinstance(config, PatchConfigMap)
    assert (config.namespace, config.name) == ("gpu-operator", "slicewise-device-plugin-config")
    assert "timeSlicing" in config.data["slicewise-timeslice-2"]
    assert label == LabelNode(
        node="gpu-c", labels={"nvidia.com/device-plugin.config": "slicewise-timeslice-2"}
    )


def test_keeping_a_whole_gpu_has_no_change_set() -> None:
    """Whole-GPU advice raises NotActionableError."""
    advice = advise(workload("train", 70, 0.9), gpu_hourly_usd=PRICE, mig_config=mig_config())
    with pytest.raises(NotActionableError):
        advice_change_set(advice)


def test_sharing_without_nodes_has_no_change_set() -> None:
    """No node to configure raises NotActionableError."""
    advice = advise(workload("chat", 30, 0.3), gpu_hourly_usd=PRICE, mig_config=mig_config())
    with pytest.raises(NotActionableError):
        advice_change_set(advice, nodes=[])


def test_mig_resource_name() -> None:
    """1g.10gb -> nvidia.com/mig-1g.10gb."""
    assert mig_resource("1g.10gb") == "nvidia.com/mig-1g.10gb"


def test_recommendation_carries_ids_price_evidence_and_changes() -> None:
    """Kind gpu-sharing, the ids and time passed in, saving 1095 USD, the same change set."""
    advice = advise(workload("chat", 30, 0.3), gpu_hourly_usd=PRICE, mig_config=mig_config())
    recommendation = to_recommendation(
        advice, recommendation_id=ID, cluster_id=CLUSTER, created_at=NOW
    )
    assert recommendation.kind is RecommendationKind.GPU_SHARING
    assert (recommendation.recommendation_id, recommendation.cluster_id) == (ID, CLUSTER)
    assert recommendation.created_at == NOW
    assert recommendation.monthly_saving_usd == pytest.approx(0.5 * PRICE * 730)
    assert recommendation.title == "Move chat to a MIG 3g.40gb slice"
    assert recommendation.evidence["mig_profile"] == "3g.40gb"
    assert recommendation.change_set == advice_change_set(advice)
    assert recommendation.computed_from[0].resource_version == "17"
