"""What the agent uploads next: a full snapshot when it must, otherwise only what changed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from agent.compact_usage import compact_usage
from agent.delta import DeltaTracker, container_series, gpu_series
from agent.ordinal_usage import ordinal_usage
from protocol.delta import ClusterDelta, DeletedObject, ObjectKind
from protocol.snapshot import ClusterSnapshot, GpuUsage
from tests.unit.workers.delta_scenarios import states

CLUSTER = uuid.UUID("6f1d2a36-0d5e-4f5f-a0f4-7c1f0e9d8b21")


def _tracker() -> DeltaTracker:
    return DeltaTracker(full_every=timedelta(hours=6))


def test_first_upload_is_a_full_snapshot_numbered_past_its_time() -> None:
    """The first state goes in full, its sequence at least its time in milliseconds."""
    [first] = states(CLUSTER, [])
    upload = _tracker().next_upload(first, delta_id=uuid.uuid4())
    assert isinstance(upload, ClusterSnapshot)
    assert upload.sequence is not None
    assert upload.sequence >= int(first.taken_at.timestamp() * 1000)


def test_delta_carries_only_changed_and_deleted_objects_on_the_previous_sequence() -> None:
    """One pod modified and one deleted: the delta lists that pod and deletes the other."""
    first, second = states(CLUSTER, [[("modify_pod", 0), ("delete_pod", 1)]])
    tracker = _tracker()
    full = tracker.next_upload(first, delta_id=uuid.uuid4())
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    assert isinstance(full, ClusterSnapshot)
    assert isinstance(delta, ClusterDelta)
    assert (delta.base_sequence, delta.sequence) == (full.sequence, (full.sequence or 0) + 1)
    before = {p.name: p for p in first.pods}
    assert [p.name for p in delta.pods] == [p.name for p in second.pods if before.get(p.name) != p]
    assert len(delta.pods) == 1
    [gone] = delta.deleted
    assert gone.kind is ObjectKind.POD
    assert gone.name not in {p.name for p in second.pods}
    assert (delta.nodes, delta.workloads) == ([], [])
    split = ordinal_usage(second.usage.containers, second.usage.gpus, second.pods)
    assert delta.usage == second.usage.model_copy(
        update={"containers": [], "gpus": split.unattributed}
    )
    assert delta.ordinal_usage == split.block
    assert delta.compact_usage is None
    assert (delta.container_series, delta.gpu_series) == ([], [])


def test_delta_carries_a_compact_block_when_not_ordinal() -> None:
    """With `ordinal` off, the samples travel as the compact block of earlier agents."""
    first, second = states(CLUSTER, [[("modify_pod", 0)]])
    tracker = DeltaTracker(full_every=timedelta(hours=6), ordinal=False)
    tracker.next_upload(first, delta_id=uuid.uuid4())
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    assert isinstance(delta, ClusterDelta)
    block, unattributed = compact_usage(second.usage.containers, second.usage.gpus)
    assert delta.usage == second.usage.model_copy(update={"containers": [], "gpus": unattributed})
    assert (delta.compact_usage, delta.ordinal_usage) == (block, None)


def test_delta_carries_series_rows_when_not_compact() -> None:
    """With `compact` off, the samples travel as container and GPU series rows instead."""
    first, second = states(CLUSTER, [[("modify_pod", 0)]])
    tracker = DeltaTracker(full_every=timedelta(hours=6), compact=False)
    tracker.next_upload(first, delta_id=uuid.uuid4())
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    assert isinstance(delta, ClusterDelta)
    by_device, unattributed = gpu_series(second.usage.gpus)
    assert delta.usage == second.usage.model_copy(update={"containers": [], "gpus": unattributed})
    assert delta.container_series == container_series(second.usage.containers)
    assert delta.gpu_series == by_device
    assert (delta.compact_usage, delta.ordinal_usage) == (None, None)


def test_node_deletion_names_the_node_without_namespace() -> None:
    """A deleted node is named by kind and name, namespace empty."""
    first, second = states(CLUSTER, [[("delete_node", 0)]])
    tracker = _tracker()
    tracker.next_upload(first, delta_id=uuid.uuid4())
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    assert isinstance(delta, ClusterDelta)
    assert delta.deleted == [
        DeletedObject(kind=ObjectKind.NODE, name="node-a", uid="uid-node-a", resource_version="1")
    ]


def test_resync_request_makes_the_next_upload_full_with_a_higher_sequence() -> None:
    """After `request_resync` the next upload is a full snapshot numbered past the last delta."""
    first, second, third = states(CLUSTER, [[("modify_pod", 1)], [("modify_pod", 2)]])
    tracker = _tracker()
    tracker.next_upload(first, delta_id=uuid.uuid4())
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    tracker.request_resync()
    full = tracker.next_upload(third, delta_id=uuid.uuid4())
    assert isinstance(delta, ClusterDelta)
    assert isinstance(full, ClusterSnapshot)
    assert full.sequence is not None
    assert full.sequence > delta.sequence


def test_full_snapshot_is_due_after_the_resync_interval() -> None:
    """Past `full_every` since the last full snapshot, the next upload is full again."""
    first, second, third = states(CLUSTER, [[], []])
    tracker = DeltaTracker(full_every=timedelta(minutes=2))
    kinds = [
        type(tracker.next_upload(s, delta_id=uuid.uuid4())).__name__ for s in (first, second, third)
    ]
    assert kinds == ["ClusterSnapshot", "ClusterDelta", "ClusterSnapshot"]


def test_container_series_name_each_container_once_with_its_samples_as_rows() -> None:
    """Two samples of one container become one series of two rows, in the samples' order."""
    [snapshot] = states(CLUSTER, [])
    first = snapshot.usage.containers[0].model_copy(update={"cpu_throttled_fraction": None})
    later = first.model_copy(
        update={"timestamp": first.timestamp + timedelta(minutes=1), "cpu_throttled_fraction": 0.5}
    )
    [series] = container_series([first, later])
    assert (series.namespace, series.pod, series.container) == (
        first.namespace,
        first.pod,
        first.container,
    )
    assert series.samples == [
        (first.timestamp.timestamp(), first.cpu_cores, first.memory_bytes, None),
        (later.timestamp.timestamp(), later.cpu_cores, later.memory_bytes, 0.5),
    ]


def test_gpu_series_group_a_containers_device_and_keep_idle_devices_as_samples() -> None:
    """Two samples of one used device become one series; an idle device's sample stays as is."""
    [snapshot] = states(CLUSTER, [])
    pod = snapshot.pods[0]
    at = snapshot.taken_at
    used = [
        GpuUsage(
            node="gpu-a",
            gpu_index=0,
            namespace=pod.namespace,
            pod=pod.name,
            container="main",
            timestamp=at + timedelta(minutes=m),
            utilization=0.25 * m,
            memory_used_bytes=m << 30,
        )
        for m in range(2)
    ]
    idle = GpuUsage(node="gpu-a", gpu_index=1, timestamp=at, utilization=0.0, memory_used_bytes=0)
    [series], unattributed = gpu_series([used[0], idle, used[1]])
    assert unattributed == [idle]
    assert (series.node, series.gpu_index, series.pod, series.container) == (
        "gpu-a",
        0,
        pod.name,
        "main",
    )
    assert series.samples == [
        (at.timestamp(), 0.0, 0, None),
        ((at + timedelta(minutes=1)).timestamp(), 0.25, 1 << 30, None),
    ]
