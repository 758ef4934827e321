"""The cluster-autoscaler stand-in adds on-demand Nodes only for Pods that fit nowhere."""

from __future__ import annotations

from typing import Any

from devstack.kube.node_autoscaler import ADDED_LABEL, CAPACITY_LABEL, plan_nodes

GPU_PRODUCT = "nvidia.com/gpu.product"
Json = dict[str, Any]


def _node(
    name: str,
    *,
    gpus: int = 1,
    product: str = "A10",
    capacity: str = "on-demand",
    cordoned: bool = False,
    taints: list[Json] | None = None,
) -> Json:
    room = {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": str(gpus), "pods": "110"}
    spec: Json = {"providerID": f"aws:///us-east-1a/i-{name}"}
    if cordoned:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    return {
        "metadata": {
            "name": name,
            "labels": {
                GPU_PRODUCT: product,
                CAPACITY_LABEL: capacity,
                "node.kubernetes.io/instance-type": "g5.2xlarge",
                "kubernetes.io/hostname": name,
            },
        },
        "spec": spec,
        "status": {"capacity": room, "allocatable": room, "conditions": [_ready()]},
    }


def _ready() -> Json:
    return {"type": "Ready", "status": "True"}


def _pod(
    name: str,
    *,
    node: str | None = None,
    gpus: int = 1,
    product: str = "A10",
    tried: bool = True,
    tolerations: list[Json] | None = None,
) -> Json:
    requests = {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": str(gpus)}
    spec: Json = {
        "containers": [{"name": "main", "resources": {"requests": requests}}],
        "nodeSelector": {GPU_PRODUCT: product},
    }
    if node is not None:
        spec["nodeName"] = node
    if tolerations:
        spec["tolerations"] = tolerations
    conditions = (
        [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}] if tried else []
    )
    status: Json = {"phase": "Running" if node else "Pending", "conditions": conditions}
    return {"metadata": {"name": name, "namespace": "inference"}, "spec": spec, "status": status}


def _by_name(*nodes: Json) -> dict[str, Json]:
    return {n["metadata"]["name"]: n for n in nodes}


def test_a_pod_drained_off_a_spot_node_gets_an_on_demand_node_of_that_shape() -> None:
    """The cordoned spot node is the only A10 shape: its on-demand copy is added."""
    spot = _node("gpu-7", capacity="spot", cordoned=True)
    [added] = plan_nodes([_pod("web-0")], _by_name(spot), limit=5)
    labels = added["metadata"]["labels"]
    assert added["metadata"]["name"] == "gpu-7-od1"
    assert labels[CAPACITY_LABEL] == "on-demand"
    assert labels[GPU_PRODUCT] == "A10"
    assert labels["kubernetes.io/hostname"] == "gpu-7-od1"
    assert ADDED_LABEL in labels
    assert added["spec"]["providerID"].startswith("aws:///us-east-1a/i-")
    assert "unschedulable" not in added["spec"]
    assert added["status"]["allocatable"]["nvidia.com/gpu"] == "1"


def test_the_cordon_taint_of_the_drained_node_does_not_rule_its_shape_out() -> None:
    """A cordoned Node carries node.kubernetes.io/unschedulable; its copy does not."""
    cordon = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    spot = _node("gpu-8", capacity="spot", cordoned=True, taints=[cordon])
    [added] = plan_nodes([_pod("web-1")], _by_name(spot), limit=5)
    assert "taints" not in added["spec"]


def test_a_pod_that_fits_free_room_adds_nothing() -> None:
    """Free room on a schedulable node of the right model: the scheduler's retry will place it."""
    roomy = _node("gpu-1", gpus=2)
    pods = [_pod("busy", node="gpu-1"), _pod("waiting")]
    assert plan_nodes(pods, _by_name(roomy), limit=5) == []


def test_pods_that_share_one_new_node_add_only_one() -> None:
    """Two one-GPU pods that fit one two-GPU node: one node, not two."""
    full = _node("gpu-2", gpus=2)
    pods = [_pod("a", node="gpu-2"), _pod("b", node="gpu-2"), _pod("c"), _pod("d")]
    added = plan_nodes(pods, _by_name(full), limit=5)
    assert [n["metadata"]["name"] for n in added] == ["gpu-2-od1"]


def test_a_pod_the_scheduler_has_not_tried_yet_adds_nothing() -> None:
    """Pending without an Unschedulable verdict is not a reason to scale up."""
    full = _node("gpu-3")
    pods = [_pod("a", node="gpu-3"), _pod("fresh", tried=False)]
    assert plan_nodes(pods, _by_name(full), limit=5) == []


def test_a_pod_no_shape_can_hold_adds_nothing() -> None:
    """A pod asking for a GPU model no node has stays Pending, as with a real autoscaler."""
    assert plan_nodes([_pod("v100", product="V100")], _by_name(_node("gpu-4")), limit=5) == []


def test_the_limit_bounds_the_nodes_added() -> None:
    """No more nodes than the limit, however many pods wait."""
    full = _node("gpu-5")
    pods = [_pod("a", node="gpu-5"), *(_pod(f"w{i}") for i in range(4))]
    assert len(plan_nodes(pods, _by_name(full), limit=2)) == 2


def test_taints_are_honoured_and_spot_taints_are_not_copied() -> None:
    """A pod must tolerate the template's taints; the copy keeps the GPU taint, not the spot one."""
    gpu_taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    spot_taint = {"key": "karpenter.sh/capacity-type", "value": "spot", "effect": "NoSchedule"}
    spot = _node("gpu-6", capacity="spot", cordoned=True, taints=[gpu_taint, spot_taint])
    assert plan_nodes([_pod("intolerant")], _by_name(spot), limit=5) == []
    tolerant = _pod("tolerant", tolerations=[{"operator": "Exists"}])
    [added] = plan_nodes([tolerant], _by_name(spot), limit=5)
    assert added["spec"]["taints"] == [gpu_taint]
