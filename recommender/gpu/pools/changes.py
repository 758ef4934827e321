"""A GPU pool plan as the ordered changes the NVIDIA GPU Operator accepts.

1. Operator configuration: the device plugin's sharing configs go into the ConfigMap the
   ClusterPolicy names, or into one created for them that the ClusterPolicy is then pointed at;
   custom MIG layouts are added to the mig-manager's mig-parted config.
2. Every pool node is cordoned and drained (PDBs respected) before its mode changes, so no
   running pod ever has its GPU repartitioned or re-shared under it. When the free GPUs cannot
   take every pool's evicted replicas at once, steps 2-4 repeat in waves (`waves`).
3. Pool nodes are relabelled; a MIG node is waited on until the MIG manager reports
   `nvidia.com/mig.config.state=success`; they are tainted `slicewise.io/gpu-pool=<pool>:
   NoSchedule` (after the MIG manager has restarted the operator's daemons on the node) so that
   no unrelated GPU pod takes a shared GPU; then they are uncordoned.
4. Moved workloads ask for the pool's resource, select the pool's label and tolerate its taint;
   their rollout moves the replicas.
5. Emptied nodes are cordoned and drained and left for the cluster autoscaler to remove.
"""

from __future__ import annotations

from typing import Final

from protocol.changes import (
    Action,
    ChangeSet,
    ContainerResources,
    Cordon,
    CreateConfigMap,
    Drain,
    LabelNode,
    PatchClusterPolicy,
    PatchConfigMap,
    PatchResources,
    PatchScheduling,
    Precondition,
    TaintNode,
    Uncordon,
    WaitForNodeLabel,
)
from protocol.gpu_operator import MIG_PARTED_CONFIG_KEY
from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import LABEL_MIG_CONFIG, LABEL_MIG_CONFIG_STATE, Taint, Toleration
from recommender.gpu.advice import AdviceKind
from recommender.gpu.pools.operator import (
    DEFAULT_CONFIG_KEY,
    OperatorView,
    default_device_plugin_config,
)
from recommender.gpu.pools.plan import GpuPoolPlan, Move, Pool, workload_name
from recommender.gpu.pools.waves import Wave

MIG_STATE_SUCCESS = "success"
MIG_STATE_FAILED = "failed"
MIG_WAIT_SECONDS = 900
DRAIN_SECONDS = 600
_NOT_CORDONED = Precondition(fields={"/spec/unschedulable": False})
POOL_TAINT_KEY = "slicewise.io/gpu-pool"
POOL_TAINT_EFFECT: Final = "NoSchedule"


def pool_taint(value: str) -> Taint:
    """The taint of the pool nodes labelled `value` (a MIG layout or device-plugin config)."""
    return Taint(key=POOL_TAINT_KEY, value=value, effect=POOL_TAINT_EFFECT)


def pool_toleration(value: str) -> Toleration:
    """What a workload moved into the pools labelled `value` tolerates: their taint only."""
    return Toleration(key=POOL_TAINT_KEY, operator="Equal", value=value, effect=POOL_TAINT_EFFECT)


def operator_actions(plan: GpuPoolPlan, operator: OperatorView) -> list[Action]:
    """ConfigMap and ClusterPolicy changes the plan's pools need, before any node is touched."""
    actions: list[Action] = []
    sharing = {
        m.subject.advice.sharing.name: m.subject.advice.sharing.render()
        for m in plan.moves
        if m.subject.advice.sharing is not None and m.label != LABEL_MIG_CONFIG
    }
    if sharing and operator.device_plugin_config_named:
        actions.append(
            PatchConfigMap(
                namespace=operator.namespace, name=operator.device_plugin_config_map, data=sharing
            )
        )
    elif sharing:
        default = default_device_plugin_config(operator.mig_strategy)
        actions.append(
            CreateConfigMap(
                namespace=operator.namespace,
                name=operator.device_plugin_config_map,
                data={DEFAULT_CONFIG_KEY: default, **sharing},
            )
        )
        actions.append(
            PatchClusterPolicy(
                name=operator.cluster_policy,
                device_plugin_config=operator.device_plugin_config_map,
                device_plugin_default=DEFAULT_CONFIG_KEY,
                precondition=Precondition(fields={"/spec/devicePlugin/config/name": None}),
            )
        )
    custom = {
        m.value
        for m in plan.moves
        if m.label == LABEL_MIG_CONFIG and operator.is_custom_layout(m.value)
    }
    mig_config_map = operator.mig_config_map
    if custom and mig_config_map is not None:
        reported = operator.state.config_map(mig_config_map) if operator.state else None
        actions.append(
            PatchConfigMap(
                namespace=operator.namespace,
                name=mig_config_map,
                data={MIG_PARTED_CONFIG_KEY: operator.extended_mig_config(custom)},
                precondition=Precondition(
                    resource_version=reported.resource_version if reported else None
                ),
            )
        )
    return actions


def _pointer(*parts: str) -> str:
    """An RFC 6901 JSON pointer (`/` in a part is `~1`, `~` is `~0`)."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def workload_precondition(move: Move) -> Precondition:
    """Pin the fields the move changes, not the whole object.

    Draining the pool nodes changes the workload's status, and so its resourceVersion, before
    the workload itself is patched; what must not have moved is its node selector and its GPU
    request.
    """
    workload = move.subject.workload
    template = workload.template
    index = next(
        i
        for i, c in enumerate(template.containers)
        if c.name == move.subject.advice.subject.container
    )
    container = ("spec", "template", "spec", "containers", str(index))
    gpus = template.containers[index].requests.gpus
    return Precondition(
        fields={
            _pointer("spec", "template", "spec", "nodeSelector"): dict(template.node_selector)
            or None,
            _pointer(*container, "name"): template.containers[index].name,
            _pointer(*container, "resources", "requests", GPU_RESOURCE): str(gpus),
        }
    )


def _workload_actions(move: Move) -> list[Action]:
    subject = move.subject.advice.subject
    pinned = workload_precondition(move)
    actions: list[Action] = []
    if move.resource != GPU_RESOURCE:
        device = {move.resource: 1}
        actions.append(
            PatchResources(
                target=subject.workload,
                containers=[
                    ContainerResources(
                        container=subject.container,
                        requests=Resources(extended=device),
                        limits=Resources(extended=device),
                        remove_limits=[GPU_RESOURCE],
                        remove_requests=[GPU_RESOURCE],
                    )
                ],
                precondition=pinned,
            )
        )
    # The executor sets selector and tolerations to exactly these: keep the workload's own.
    template = move.subject.workload.template
    selector = {**template.node_selector, move.label: move.value}
    tolerations = [t for t in template.tolerations if t.key != POOL_TAINT_KEY] + [
        pool_toleration(move.value)
    ]
    actions.append(
        PatchScheduling(
            target=subject.workload,
            node_selector=selector,
            tolerations=tolerations,
            precondition=pinned,
        )
    )
    return actions


def _convert(pools: list[Pool]) -> list[Action]:
    """Cordon and drain the pools, then relabel and taint them, then uncordon them."""
    actions: list[Action] = []
    for pool in pools:
        actions.append(Cordon(node=pool.node, precondition=_NOT_CORDONED))
        actions.append(Drain(node=pool.node, deadline_seconds=DRAIN_SECONDS))
    for pool in pools:
        actions.append(LabelNode(node=pool.node, labels={pool.label: pool.value}))
        if pool.kind is AdviceKind.MIG:
            actions.append(
                WaitForNodeLabel(
                    node=pool.node,
                    label=LABEL_MIG_CONFIG_STATE,
                    value=MIG_STATE_SUCCESS,
                    failure_values=[MIG_STATE_FAILED],
                    timeout_seconds=MIG_WAIT_SECONDS,
                )
            )
        actions.append(TaintNode(node=pool.node, taints=[pool_taint(pool.value)]))
    actions.extend(Uncordon(node=pool.node) for pool in pools)
    return actions


def pool_change_set(plan: GpuPoolPlan, operator: OperatorView) -> ChangeSet:
    """The ordered change set that carries out `plan` on a cluster run by `operator`.

    Wave by wave: the wave's pools are converted, then the workloads whose pools are all ready
    move; the emptied nodes are drained last.
    """
    actions = operator_actions(plan, operator)
    pools = {p.node: p for p in plan.pools}
    moves = {workload_name(m.subject): m for m in plan.moves}
    waves = plan.waves or (Wave(tuple(pools), tuple(moves)),)
    for wave in waves:
        actions.extend(_convert([pools[node] for node in wave.pools]))
        for name in wave.moves:
            actions.extend(_workload_actions(moves[name]))
    for node in plan.emptied:
        actions.append(Cordon(node=node.node, precondition=_NOT_CORDONED))
        actions.append(Drain(node=node.node, deadline_seconds=DRAIN_SECONDS))
    summary = (
        f"share GPUs on {len(plan.pools)} pool node(s) in {len(waves)} wave(s) and empty "
        f"{len(plan.emptied)} GPU node(s)"
    )
    return ChangeSet(actions=actions, summary=summary)
