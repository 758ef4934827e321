"""A change set applied to the live manifests, and the patch that takes one to the other."""

from __future__ import annotations

from typing import Any

from gateway.console.change_preview import merge_patch, preview_change_set
from gateway.console.manifests import node_key, workload_key, workload_manifest
from protocol.changes import (
    ApplyPdb,
    ChangeSet,
    ContainerResources,
    Cordon,
    Drain,
    LabelNode,
    PatchResources,
    PatchScheduling,
    Scale,
    WorkloadRef,
)
from protocol.resources import Resources
from protocol.snapshot import Container, PodSpecSummary, Toleration, Workload, WorkloadKind
from tests.unit.console.strategic_merge import apply_patch

GIB = 2**30
WEB = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web")
KEY = workload_key("Deployment", "shop", "web")


def _web() -> dict[str, Any]:
    return workload_manifest(
        Workload(
            kind=WorkloadKind.DEPLOYMENT,
            namespace="shop",
            name="web",
            uid="u",
            replicas=3,
            template=PodSpecSummary(
                containers=[
                    Container(
                        name="app",
                        image="shop/web:1",
                        requests=Resources(cpu_millis=2000, memory_bytes=4 * GIB),
                        limits=Resources(memory_bytes=4 * GIB, extended={"nvidia.com/gpu": 1}),
                    ),
                    Container(name="proxy", requests=Resources(cpu_millis=100)),
                ],
                node_selector={"pool": "general", "zone": "a"},
            ),
        )
    )


def _preview(*actions: Any, live: dict[Any, Any] | None = None) -> Any:
    return preview_change_set(
        ChangeSet(actions=list(actions)), {KEY: _web()} if live is None else live
    )


def test_patch_resources_changes_only_the_named_container() -> None:
    """New requests land on `app`; `proxy` and the image are untouched."""
    change = _preview(
        PatchResources(
            target=WEB,
            containers=[ContainerResources(container="app", requests=Resources(cpu_millis=450))],
        )
    ).changes[0]
    containers = change.after["spec"]["template"]["spec"]["containers"]
    assert containers[0]["resources"]["requests"] == {"cpu": "450m", "memory": "4Gi"}
    assert containers[0]["image"] == "shop/web:1"
    assert containers[1] == {"name": "proxy", "resources": {"requests": {"cpu": "100m"}}}


def test_patch_of_a_resource_change_is_minimal() -> None:
    """The strategic-merge patch names the object and the changed container value only."""
    change = _preview(
        PatchResources(
            target=WEB,
            containers=[ContainerResources(container="app", requests=Resources(cpu_millis=450))],
        )
    ).changes[0]
    assert change.patch == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "app", "resources": {"requests": {"cpu": "450m"}}}]
                }
            }
        },
    }


def test_removed_limit_becomes_null_in_the_patch() -> None:
    """Dropping the GPU limit for a MIG slice deletes the key in the patch."""
    change = _preview(
        PatchResources(
            target=WEB,
            containers=[
                ContainerResources(
                    container="app",
                    limits=Resources(extended={"nvidia.com/mig-3g.40gb": 1}),
                    remove_limits=["nvidia.com/gpu"],
                )
            ],
        )
    ).changes[0]
    limits = change.patch["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"nvidia.com/mig-3g.40gb": "1", "nvidia.com/gpu": None}
    after = change.after["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert after == {"memory": "4Gi", "nvidia.com/mig-3g.40gb": "1"}


def test_scheduling_replaces_selector_and_tolerations() -> None:
    """A new node selector drops the old keys (null) and tolerations are replaced whole."""
    change = _preview(
        PatchScheduling(
            target=WEB,
            node_selector={"pool": "spot"},
            tolerations=[Toleration(key="spot", operator="Exists", effect="NoSchedule")],
        )
    ).changes[0]
    pod = change.patch["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "spot", "zone": None}
    assert pod["tolerations"] == [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]


def test_every_patch_takes_the_live_object_to_the_proposed_one() -> None:
    """Applying each object's patch to its live manifest gives exactly the proposed manifest."""
    preview = _preview(
        PatchResources(
            target=WEB,
            containers=[
                ContainerResources(
                    container="proxy",
                    requests=Resources(cpu_millis=50, memory_bytes=64 * 2**20),
                    remove_limits=["cpu"],
                )
            ],
        ),
        PatchScheduling(target=WEB, node_selector={}, node_affinity={"required": {"x": 1}}),
        Scale(target=WEB, replicas=5),
    )
    for change in preview.changes:
        assert apply_patch(change.before, change.patch) == change.after


def test_merge_patch_deletes_a_container_that_went_away() -> None:
    """Containers merge by name; one that disappeared gets a delete directive."""
    before = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}
    after = {"containers": [{"name": "a", "image": "2"}]}
    assert merge_patch(before, after) == {
        "containers": [{"name": "a", "image": "2"}, {"name": "b", "$patch": "delete"}]
    }


def test_new_pdb_is_created_whole() -> None:
    """A PodDisruptionBudget absent from the inventory is shown, and exported, as a new object."""
    change = _preview(
        ApplyPdb(namespace="shop", name="web", selector={"app": "web"}, max_unavailable=1)
    ).changes[0]
    assert change.creates
    assert change.before is None
    assert change.patch == {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": 1},
    }


def test_node_changes_are_not_for_git() -> None:
    """Cordon and labels change the node manifest but are marked as not kept in Git."""
    node = node_key("gpu-1")
    preview = preview_change_set(
        ChangeSet(
            actions=[
                Cordon(node="gpu-1"),
                LabelNode(
                    node="gpu-1", labels={"nvidia.com/mig.config": "all-1g.10gb", "old": None}
                ),
                Drain(node="gpu-1", deadline_seconds=300),
            ]
        ),
        {node: {**node.stub(), "metadata": {"name": "gpu-1", "labels": {"old": "x"}}, "spec": {}}},
    )
    (change,) = preview.changes
    assert not change.gitops
    assert change.after["spec"] == {"unschedulable": True}
    assert change.after["metadata"]["labels"] == {"nvidia.com/mig.config": "all-1g.10gb"}
    assert preview.operations == [
        (
            "Drain node gpu-1: evict its pods through the Eviction API, respecting "
            "PodDisruptionBudgets, within 300 s"
        )
    ]


def test_steps_describe_each_action() -> None:
    """One sentence per action, with Kubernetes quantities."""
    preview = _preview(
        PatchResources(
            target=WEB,
            containers=[
                ContainerResources(
                    container="app", requests=Resources(cpu_millis=450, memory_bytes=3 * GIB)
                )
            ],
        ),
        Scale(target=WEB, replicas=2),
    )
    assert preview.steps == [
        "Set resources of Deployment shop/web: container app: requests cpu 450m, memory 3Gi",
        "Scale Deployment shop/web to 2 replicas",
    ]


def test_removed_request_is_dropped_from_requests() -> None:
    """Moving to a MIG slice drops the whole-GPU request as well as the limit."""
    live = _web()
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] = (
        "1"
    )
    change = _preview(
        PatchResources(
            target=WEB,
            containers=[
                ContainerResources(
                    container="app",
                    requests=Resources(extended={"nvidia.com/mig-1g.10gb": 1}),
                    remove_requests=["nvidia.com/gpu"],
                )
            ],
        ),
        live={KEY: live},
    ).changes[0]
    requests = change.after["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests == {"cpu": "2", "memory": "4Gi", "nvidia.com/mig-1g.10gb": "1"}
    patched = change.patch["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert patched == {"nvidia.com/mig-1g.10gb": "1", "nvidia.com/gpu": None}
