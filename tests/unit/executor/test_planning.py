"""Planning each action type: the exact patch against the live object, and its undo."""

from __future__ import annotations

from typing import Any

import pytest

from executor.errors import ActionError, ObjectMissingError
from executor.planning.changes import plan_change
from executor.planning.merge_patch import apply_merge_patch
from executor.planning.targets import ObjectRef, PatchStyle
from protocol.changes import (
    ApplyPdb,
    ContainerResources,
    Cordon,
    Drain,
    LabelNode,
    PatchConfigMap,
    PatchResources,
    PatchScheduling,
    Scale,
    TaintNode,
    Uncordon,
    WorkloadRef,
)
from protocol.resources import Resources
from protocol.snapshot import Taint, Toleration, WorkloadKind

WEB = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web")
DEPLOYMENT: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "10"},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "2"}},
                    },
                    {"name": "sidecar"},
                ],
                "nodeSelector": {"pool": "general", "zone": "a"},
            }
        },
    },
}
NODE: dict[str, Any] = {"metadata": {"name": "n1", "labels": {"pool": "gpu"}}, "spec": {}}


def test_patch_resources_sets_quantities_and_removes_limits() -> None:
    """Requests are formatted as quantities, removed limits become null, merged by name."""
    action = PatchResources(
        target=WEB,
        containers=[
            ContainerResources(
                container="main",
                requests=Resources(
                    cpu_millis=250, memory_bytes=512 * 2**20, extended={"nvidia.com/mig-1g.10gb": 1}
                ),
                remove_limits=["cpu"],
            )
        ],
    )
    change = plan_change(action, DEPLOYMENT)
    assert change.style is PatchStyle.STRATEGIC
    assert change.ref == ObjectRef("Deployment", "web", "shop")
    assert change.patch == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "resources": {
                                "requests": {
                                    "cpu": "250m",
                                    "memory": "512Mi",
                                    "nvidia.com/mig-1g.10gb": "1",
                                },
                                "limits": {"cpu": None},
                            },
                        }
                    ]
                }
            }
        }
    }
    assert change.undo == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "resources": {
                                "requests": {
                                    "cpu": "500m",
                                    "memory": None,
                                    "nvidia.com/mig-1g.10gb": None,
                                },
                                "limits": {"cpu": "2"},
                            },
                        }
                    ]
                }
            }
        }
    }


def test_patch_resources_for_unknown_container_fails() -> None:
    """A container the workload lacks is an action error."""
    action = PatchResources(
        target=WEB,
        containers=[ContainerResources(container="ghost", requests=Resources(cpu_millis=1))],
    )
    with pytest.raises(ActionError, match="no container named 'ghost'"):
        plan_change(action, DEPLOYMENT)


def test_job_pod_template_is_not_patched() -> None:
    """A Job's immutable pod template is refused before the API server is asked."""
    job = WorkloadRef(kind=WorkloadKind.JOB, namespace="shop", name="train")
    action = PatchResources(
        target=job,
        containers=[ContainerResources(container="main", requests=Resources(cpu_millis=1))],
    )
    with pytest.raises(ActionError, match="Job"):
        plan_change(action, DEPLOYMENT)


def test_patch_scheduling_sets_fields_exactly() -> None:
    """Tolerations replace the list; the node selector becomes exactly the given map."""
    action = PatchScheduling(
        target=WEB,
        tolerations=[Toleration(key="spot", operator="Exists", effect="NoSchedule")],
        node_selector={"pool": "spot"},
        node_affinity={"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}},
    )
    change = plan_change(action, DEPLOYMENT)
    assert change.style is PatchStyle.MERGE
    pod_spec = apply_merge_patch(DEPLOYMENT, change.patch)["spec"]["template"]["spec"]
    assert pod_spec["tolerations"] == [
        {"key": "spot", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert pod_spec["nodeSelector"] == {"pool": "spot"}
    assert pod_spec["affinity"] == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}
        }
    }
    restored = apply_merge_patch(apply_merge_patch(DEPLOYMENT, change.patch), change.undo)
    assert restored == DEPLOYMENT


def test_patch_scheduling_adds_template_labels_and_undo_removes_them() -> None:
    """Template labels are merged in (others kept); the undo takes them out again."""
    live = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"]}}
    live["spec"]["template"] = {
        **DEPLOYMENT["spec"]["template"],
        "metadata": {"labels": {"app": "web"}},
    }
    action = PatchScheduling(target=WEB, template_labels={"slicewise.io/spot-plan": "abc"})
    change = plan_change(action, live)
    patched = apply_merge_patch(live, change.patch)
    assert patched["spec"]["template"]["metadata"]["labels"] == {
        "app": "web",
        "slicewise.io/spot-plan": "abc",
    }
    assert apply_merge_patch(patched, change.undo) == live


def test_patch_scheduling_without_fields_fails() -> None:
    """A scheduling change that sets nothing is an error, not a silent no-op."""
    with pytest.raises(ActionError, match="sets no field"):
        plan_change(PatchScheduling(target=WEB), DEPLOYMENT)


def test_scale_sets_replicas_and_undo_restores_them() -> None:
    """Scale patches spec.replicas; the undo puts the old count back."""
    change = plan_change(Scale(target=WEB, replicas=5), DEPLOYMENT)
    assert (change.patch, change.undo) == ({"spec": {"replicas": 5}}, {"spec": {"replicas": 3}})


def test_scale_of_job_sets_parallelism() -> None:
    """A Job scales through spec.parallelism."""
    job = WorkloadRef(kind=WorkloadKind.JOB, namespace="shop", name="train")
    change = plan_change(Scale(target=job, replicas=4), {"spec": {"parallelism": 1}})
    assert (change.patch, change.undo) == (
        {"spec": {"parallelism": 4}},
        {"spec": {"parallelism": 1}},
    )


def test_scale_of_daemonset_fails() -> None:
    """DaemonSets have no replica count."""
    ds = WorkloadRef(kind=WorkloadKind.DAEMON_SET, namespace="kube-system", name="dp")
    with pytest.raises(ActionError, match="DaemonSet"):
        plan_change(Scale(target=ds, replicas=2), DEPLOYMENT)


def test_cordon_and_uncordon_toggle_unschedulable() -> None:
    """Cordon sets spec.unschedulable; uncordon removes it; each undo restores the prior value."""
    cordon = plan_change(Cordon(node="n1"), NODE)
    assert (cordon.patch, cordon.undo) == (
        {"spec": {"unschedulable": True}},
        {"spec": {"unschedulable": None}},
    )
    uncordon = plan_change(Uncordon(node="n1"), {"spec": {"unschedulable": True}})
    assert (uncordon.patch, uncordon.undo) == (
        {"spec": {"unschedulable": None}},
        {"spec": {"unschedulable": True}},
    )


def test_label_node_sets_and_removes_labels() -> None:
    """Labels with a value are set, with None removed; undo restores both."""
    action = LabelNode(node="n1", labels={"nvidia.com/mig.config": "all-1g.10gb", "pool": None})
    change = plan_change(action, NODE)
    assert change.patch == {
        "metadata": {"labels": {"nvidia.com/mig.config": "all-1g.10gb", "pool": None}}
    }
    assert change.undo == {"metadata": {"labels": {"nvidia.com/mig.config": None, "pool": "gpu"}}}


def test_taint_node_replaces_its_key_and_keeps_the_other_taints() -> None:
    """The pool taint replaces an older one of its key and effect; undo restores the old list."""
    gpu = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    old_pool = {"key": "slicewise.io/gpu-pool", "value": "old", "effect": "NoSchedule"}
    live = {"metadata": {"name": "n1"}, "spec": {"taints": [gpu, old_pool]}}
    taint = Taint(key="slicewise.io/gpu-pool", value="slicewise-timeslice-2", effect="NoSchedule")
    change = plan_change(TaintNode(node="n1", taints=[taint]), live)
    new_pool = {
        "key": "slicewise.io/gpu-pool",
        "value": "slicewise-timeslice-2",
        "effect": "NoSchedule",
    }
    assert change.patch == {"spec": {"taints": [gpu, new_pool]}}
    assert change.undo == {"spec": {"taints": [gpu, old_pool]}}


def test_taint_node_undo_of_an_untainted_node_removes_the_list() -> None:
    """A node without taints gets the pool's; undo removes the field again."""
    taint = Taint(key="slicewise.io/gpu-pool", value="all-1g.10gb", effect="NoSchedule")
    change = plan_change(TaintNode(node="n1", taints=[taint]), NODE)
    assert change.undo == {"spec": {"taints": None}}


def test_config_map_keys_are_merged() -> None:
    """Data keys are merged in; the undo restores old values and drops new keys."""
    live = {"data": {"config.yaml": "old", "keep": "1"}}
    change = plan_change(
        PatchConfigMap(namespace="gpu", name="dp", data={"config.yaml": "new", "extra": "x"}), live
    )
    assert change.patch == {"data": {"config.yaml": "new", "extra": "x"}}
    assert change.undo == {"data": {"config.yaml": "old", "extra": None}}


def test_missing_pdb_is_created_and_undo_deletes_it() -> None:
    """An absent PDB is created with the given budget; its rollback is a delete."""
    action = ApplyPdb(namespace="shop", name="web", selector={"app": "web"}, min_available=2)
    change = plan_change(action, None)
    assert change.creates
    assert change.body == {
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app.kubernetes.io/managed-by": "slicewise"},
        },
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 2},
    }
    assert change.rollback_record() == {
        "kind": "PodDisruptionBudget",
        "namespace": "shop",
        "name": "web",
        "delete": True,
    }


def test_existing_pdb_is_set_to_exactly_the_new_budget() -> None:
    """Switching minAvailable to maxUnavailable nulls the old field and replaces the selector."""
    live = {
        "spec": {
            "minAvailable": 1,
            "selector": {"matchLabels": {"app": "old"}, "matchExpressions": [{"key": "k"}]},
        }
    }
    action = ApplyPdb(namespace="shop", name="web", selector={"app": "web"}, max_unavailable="25%")
    change = plan_change(action, live)
    assert change.patch == {
        "spec": {
            "minAvailable": None,
            "maxUnavailable": "25%",
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": None},
        }
    }
    assert apply_merge_patch(apply_merge_patch(live, change.patch), change.undo) == live


def test_missing_target_of_a_patch_fails() -> None:
    """Patching an object that does not exist is an error naming the object."""
    with pytest.raises(ObjectMissingError, match="Node/n1"):
        plan_change(Cordon(node="n1"), None)


def test_drain_is_not_a_planned_write() -> None:
    """Drains are carried out by evictions, never planned as a patch."""
    with pytest.raises(TypeError):
        plan_change(Drain(node="n1"), NODE)


def test_patch_resources_removes_requests() -> None:
    """A removed request becomes null in the patch and is restored by the undo."""
    action = PatchResources(
        target=WEB,
        containers=[
            ContainerResources(
                container="main",
                requests=Resources(extended={"nvidia.com/mig-1g.10gb": 1}),
                remove_requests=["cpu"],
            )
        ],
    )
    change = plan_change(action, DEPLOYMENT)
    assert change.patch is not None
    assert change.undo is not None
    container = change.patch["spec"]["template"]["spec"]["containers"][0]
    undo = change.undo["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"nvidia.com/mig-1g.10gb": "1", "cpu": None}
    assert undo["resources"]["requests"]["cpu"] == "500m"
