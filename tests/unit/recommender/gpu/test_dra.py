"""GPU pool plans rendered as DRA claims for NVIDIA's DRA driver, checked against the schemas."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import jsonschema  # type: ignore[import-untyped]  # jsonschema ships no type information
import kubernetes_validate

from protocol.dra import DraState
from protocol.gpu_operator import MigStrategy
from protocol.recommendation import Recommendation
from protocol.snapshot import ClusterSnapshot
from recommender.gpu.pools.dra import gpu_config, render_dra
from recommender.gpu.pools.operator import read_operator
from recommender.gpu.pools.plan import plan_gpu_pools
from recommender.gpu.pools.recommend import recommend_gpu_pools
from recommender.gpu.pools.subjects import shareable_subjects
from recommender.gpu.sharing_config import SharingConfig, SharingMode
from recommender.inventory import Inventory
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
    snapshot,
)

KUBERNETES_VERSION = "1.34.0"
GPU_CONFIG_SCHEMA = json.loads(
    (Path(__file__).parents[4] / "devstack" / "crds" / "nvidia-gpuconfig.schema.json").read_text()
)
PRICES = PriceBook(catalogues=bundled_catalogues())
NVIDIA_DRA = DraState(device_classes=["gpu.nvidia.com", "mig.nvidia.com"])


def _with_dra(found: ClusterSnapshot, dra: DraState | None = NVIDIA_DRA) -> ClusterSnapshot:
    return found.model_copy(update={"dra": dra})


def _mig_cluster() -> ClusterSnapshot:
    """Four 8 GiB, 10 %-duty replicas on two nodes under the mixed MIG strategy."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2")]
    return snapshot(
        nodes,
        [deployment("embed", 4)],
        pods("embed", ["gpu-1", "gpu-1", "gpu-2", "gpu-2"]),
        operator(MigStrategy.MIXED),
    )


def _time_sliced_cluster(replicas: int) -> ClusterSnapshot:
    """Bursty replicas (two per time-sliced GPU) spread over two nodes."""
    nodes = [gpu_node(n) for n in ("gpu-1", "gpu-2")]
    half = replicas // 2
    placed = ["gpu-1"] * half + ["gpu-2"] * (replicas - half)
    return snapshot(nodes, [deployment("embed", replicas)], pods("embed", placed))


def _dra(found: Recommendation) -> dict[str, Any]:
    return cast("dict[str, Any]", found.evidence["dra"])


def _pod(pod_spec: dict[str, Any]) -> dict[str, Any]:
    """A Pod with the rendered spec fragment and what a pod needs besides."""
    containers = [{**c, "image": "registry.invalid/serve:1"} for c in pod_spec["containers"]]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "embed-0", "namespace": "ml"},
        "spec": {**pod_spec, "containers": containers},
    }


def test_mig_move_is_a_claim_template_for_a_mig_device_of_its_profile() -> None:
    """One claim per replica from mig.nvidia.com, selected by the advised profile's attribute."""
    (found,) = recommend_gpu_pools(
        _with_dra(_mig_cluster()), {key("embed"): profile(8, 0.1)}, PRICES, NOW
    )
    (rendered,) = _dra(found)["workloads"]
    claim = rendered["claim"]
    assert claim["kind"] == "ResourceClaimTemplate"
    (request,) = claim["spec"]["spec"]["devices"]["requests"]
    assert request["exactly"]["deviceClassName"] == "mig.nvidia.com"
    assert request["exactly"]["selectors"] == [
        {"cel": {"expression": "device.attributes['gpu.nvidia.com'].profile == '1g.10gb'"}}
    ]
    assert rendered["pod_spec"]["resourceClaims"] == [
        {"name": "gpu", "resourceClaimTemplateName": claim["metadata"]["name"]}
    ]


def test_rendered_mig_objects_are_valid_kubernetes_1_34() -> None:
    """The template and the pod that names it pass the 1.34 schemas (strict)."""
    (found,) = recommend_gpu_pools(
        _with_dra(_mig_cluster()), {key("embed"): profile(8, 0.1)}, PRICES, NOW
    )
    (rendered,) = _dra(found)["workloads"]
    assert kubernetes_validate.validate(rendered["claim"], KUBERNETES_VERSION, strict=True)
    assert kubernetes_validate.validate(_pod(rendered["pod_spec"]), KUBERNETES_VERSION, strict=True)


def test_time_sliced_move_is_one_shared_claim_with_the_driver_s_gpu_config() -> None:
    """Two replicas one GPU holds: a shared ResourceClaim whose opaque config time-slices it."""
    (found,) = recommend_gpu_pools(
        _with_dra(_time_sliced_cluster(2)), {key("embed"): bursty_profile()}, PRICES, NOW
    )
    (rendered,) = _dra(found)["workloads"]
    claim = rendered["claim"]
    assert claim["kind"] == "ResourceClaim"
    (config,) = claim["spec"]["devices"]["config"]
    assert config["opaque"]["driver"] == "gpu.nvidia.com"
    parameters = config["opaque"]["parameters"]
    assert parameters["sharing"] == {
        "strategy": "TimeSlicing",
        "timeSlicingConfig": {"interval": "Default"},
    }
    jsonschema.validate(parameters, GPU_CONFIG_SCHEMA)
    assert kubernetes_validate.validate(claim, KUBERNETES_VERSION, strict=True)
    assert kubernetes_validate.validate(_pod(rendered["pod_spec"]), KUBERNETES_VERSION, strict=True)


def test_mps_gpu_config_splits_threads_and_pins_the_memory_budget() -> None:
    """Four MPS clients: 25 % of the SMs each and the advised memory budget, schema-valid."""
    found = _time_sliced_cluster(2)
    inventory = Inventory.build(found)
    view = read_operator(found, None)
    subjects = shareable_subjects(
        inventory, {key("embed"): bursty_profile()}, None, {"gpu-1": 4.0, "gpu-2": 4.0}
    )
    plan = plan_gpu_pools(inventory, subjects, view, {"gpu-1": 1.0, "gpu-2": 1.0})
    assert plan is not None
    move = plan.moves[0]
    mps = SharingConfig(mode=SharingMode.MPS, replicas=4)
    advice = replace(move.subject.advice, sharing=mps, memory_budget_bytes=8 * 2**30)
    moved = replace(move, subject=replace(move.subject, advice=advice))
    parameters = gpu_config(moved)
    assert parameters["sharing"] == {
        "strategy": "MPS",
        "mpsConfig": {
            "defaultActiveThreadPercentage": 25,
            "defaultPinnedDeviceMemoryLimit": "8192Mi",
        },
    }
    jsonschema.validate(parameters, GPU_CONFIG_SCHEMA)


def test_time_sliced_move_wider_than_one_gpu_stays_on_the_device_plugin() -> None:
    """Eight replicas need four shared GPUs: one claim name cannot span them, so it is kept."""
    (found,) = recommend_gpu_pools(
        _with_dra(_time_sliced_cluster(8)), {key("embed"): bursty_profile()}, PRICES, NOW
    )
    dra = _dra(found)
    assert dra["workloads"] == []
    assert set(dra["kept_on_device_plugin"]) == {"ml/embed"}


def test_no_dra_rendering_without_v1_or_without_nvidia_classes() -> None:
    """No DRA state, or DRA without NVIDIA's classes: the plan has no DRA rendering."""
    cluster = _time_sliced_cluster(2)
    profiles = {key("embed"): bursty_profile()}
    for dra in (None, DraState(device_classes=["gpu.example.com"])):
        (found,) = recommend_gpu_pools(_with_dra(cluster, dra), profiles, PRICES, NOW)
        assert "dra" not in found.evidence


def test_render_dra_keeps_the_move_order_of_the_plan() -> None:
    """Every move is either rendered or kept, never both and never lost."""
    found = _mig_cluster()
    inventory = Inventory.build(found)
    view = read_operator(found, None)
    subjects = shareable_subjects(
        inventory, {key("embed"): profile(8, 0.1)}, view.mig_config, {"gpu-1": 4.0, "gpu-2": 4.0}
    )
    plan = plan_gpu_pools(inventory, subjects, view, {"gpu-1": 1.0, "gpu-2": 1.0})
    assert plan is not None
    rendering = render_dra(plan)
    assert [w.workload for w in rendering.workloads] + list(rendering.kept) == ["ml/embed"]
