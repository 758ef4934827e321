"""Sharing advice as the exact Kubernetes changes that carry it out.

- MIG: label the nodes with the named layout (`nvidia.com/mig.config`, applied by NVIDIA's MIG
  manager), then make the workload's container ask for one `nvidia.com/mig-<profile>` device
  instead of `nvidia.com/gpu`.
- Time-slicing / MPS: add the sharing config to the device plugin's ConfigMap, then point the
  nodes at it (`nvidia.com/device-plugin.config`). Pods keep asking for `nvidia.com/gpu: 1`,
  which is now one replica of a shared GPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol.changes import (
    Action,
    ChangeSet,
    ContainerResources,
    LabelNode,
    PatchConfigMap,
    PatchResources,
    Precondition,
)
from protocol.resources import GPU_RESOURCE, MIG_RESOURCE_PREFIX, Resources
from protocol.snapshot import LABEL_DEVICE_PLUGIN_CONFIG, LABEL_MIG_CONFIG
from recommender.gpu.advice import AdviceKind, SharingAdvice


class NotActionableError(ValueError):
    """The advice changes nothing (keep the whole GPU) or lacks a node to act on."""


@dataclass(frozen=True, slots=True)
class DevicePluginConfigMap:
    """Where the NVIDIA device plugin reads its named configs from."""

    namespace: str = "gpu-operator"
    name: str = "slicewise-device-plugin-config"


def mig_resource(profile: str) -> str:
    """Extended resource name of a MIG profile (`nvidia.com/mig-1g.10gb`)."""
    return f"{MIG_RESOURCE_PREFIX}{profile}"


def _workload_precondition(advice: SharingAdvice) -> Precondition:
    version = advice.subject.resource_version
    return Precondition(resource_version=version) if version else Precondition()


def _mig_actions(advice: SharingAdvice, nodes: Sequence[str]) -> list[Action]:
    if advice.mig_profile is None or advice.mig_layout is None:
        raise NotActionableError("MIG advice without a profile and layout")
    device = {mig_resource(advice.mig_profile): 1}
    actions: list[Action] = [
        LabelNode(node=node, labels={LABEL_MIG_CONFIG: advice.mig_layout}) for node in nodes
    ]
    actions.append(
        PatchResources(
            target=advice.subject.workload,
            containers=[
                ContainerResources(
                    container=advice.subject.container,
                    requests=Resources(extended=device),
                    limits=Resources(extended=device),
                    remove_limits=[GPU_RESOURCE],
                    remove_requests=[GPU_RESOURCE],
                )
            ],
            precondition=_workload_precondition(advice),
        )
    )
    return actions


def _sharing_actions(
    advice: SharingAdvice, nodes: Sequence[str], config_map: DevicePluginConfigMap
) -> list[Action]:
    if advice.sharing is None:
        raise NotActionableError("time-slicing/MPS advice without a sharing config")
    sharing = advice.sharing
    actions: list[Action] = [
        PatchConfigMap(
            namespace=config_map.namespace,
            name=config_map.name,
            data={sharing.name: sharing.render()},
        )
    ]
    actions.extend(
        LabelNode(node=node, labels={LABEL_DEVICE_PLUGIN_CONFIG: sharing.name}) for node in nodes
    )
    return actions


def advice_change_set(
    advice: SharingAdvice,
    *,
    nodes: Sequence[str] | None = None,
    config_map: DevicePluginConfigMap | None = None,
) -> ChangeSet:
    """The change set of one piece of advice, on `nodes` (default: where the workload runs)."""
    targets = list(nodes if nodes is not None else advice.subject.nodes)
    if advice.kind is AdviceKind.WHOLE_GPU:
        raise NotActionableError("keeping the whole GPU changes nothing")
    if not targets:
        raise NotActionableError("sharing needs at least one node to configure")
    if advice.kind is AdviceKind.MIG:
        actions = _mig_actions(advice, targets)
        summary = f"move {advice.subject.workload.name} to MIG {advice.mig_profile}"
    else:
        actions = _sharing_actions(advice, targets, config_map or DevicePluginConfigMap())
        mode = advice.kind.value
        summary = f"{mode} for {advice.subject.workload.name} on {len(targets)} node(s)"
    return ChangeSet(actions=actions, summary=summary)
