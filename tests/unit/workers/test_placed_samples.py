"""The worker reads an ordinal block into columns, against the container order it keeps per
cluster, exactly as expanding the block and reading the compact block does."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from agent.delta import delta_between, listed_objects
from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.delta import ClusterDelta
from protocol.ordinal_expand import (
    OrdinalUsageError,
    container_order,
    order_checksum,
    placed_usage,
)
from protocol.snapshot import ClusterSnapshot, Pod
from workers.ingest.container_orders import ContainerOrders
from workers.ingest.delta_snapshot import delta_snapshot
from workers.ingest.ordinal_samples import placed_samples
from workers.ingest.upload_samples import UploadSamples, delta_samples

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"
CLUSTER = uuid.uuid4()


def _snapshot(pod_count: int = 200) -> ClusterSnapshot:
    return build_snapshot(
        read_trace_nodes(DATA / "openb_node_list_gpu_node.csv"),
        read_trace_pods(DATA / "openb_pod_list_default.csv"),
        SnapshotSpec(
            cluster_id=CLUSTER,
            snapshot_id=uuid.uuid4(),
            taken_at=datetime(2026, 11, 23, 4, tzinfo=UTC),
            pod_count=pod_count,
            samples_per_container=3,
        ),
    )


def _by_ref(pods: list[Pod]) -> dict[tuple[str, str], Pod]:
    return {(pod.namespace, pod.name): pod for pod in pods}


def _assert_same(got: UploadSamples, expected: UploadSamples) -> None:
    assert got.devices == expected.devices
    for part in ("containers", "gpus"):
        mine, theirs = getattr(got, part), getattr(expected, part)
        for column in fields(theirs):
            a, b = getattr(mine, column.name), getattr(theirs, column.name)
            if isinstance(b, np.ndarray):
                np.testing.assert_array_equal(a, b, err_msg=f"{part}.{column.name}")
            else:
                assert list(a) == list(b), f"{part}.{column.name}"


def test_kept_order_is_the_order_of_the_state_after_pods_change() -> None:
    """Pods removed, added and rebound: the kept order and checksum equal a fresh listing's."""
    snapshot = _snapshot()
    orders = ContainerOrders()
    pods = _by_ref(snapshot.pods)
    first = orders.state_of(CLUSTER, pods)[0]
    assert first.containers == container_order(snapshot.pods)
    assert first.checksum == order_checksum(first.containers)
    assert first.pods == sorted(pods)
    moved = snapshot.pods[5].model_copy(update={"node_name": "elsewhere"})
    changed = dict(list(pods.items())[3:])
    changed[(moved.namespace, moved.name)] = moved
    extra = snapshot.pods[0].model_copy(update={"name": "zz-new"})
    changed[(extra.namespace, extra.name)] = extra
    second = orders.state_of(CLUSTER, changed)[0]
    assert second.containers == container_order(changed.values())
    assert second.pods == sorted(changed)
    assert second.checksum == order_checksum(second.containers)
    assert orders.state_of(CLUSTER, pods)[0].checksum == first.checksum
    for order in (first, second):
        assert order.refs == [(c.namespace, c.pod, c.container) for c in order.containers]


def test_moved_order_names_unchanged_pods_with_the_tuples_it_named_them_with() -> None:
    """An order made again after a pod moved names every other container with the very tuples of
    the order before (lists of them compare by identity): also a pod restarted in place."""
    snapshot = _snapshot(20)
    orders = ContainerOrders()
    pods = _by_ref(snapshot.pods)
    first = orders.state_of(CLUSTER, pods)[0]
    restarted = snapshot.pods[2].model_copy(update={"resource_version": "999"})
    moved = snapshot.pods[5].model_copy(update={"node_name": "elsewhere"})
    second = orders.state_of(
        CLUSTER,
        pods | {(pod.namespace, pod.name): pod for pod in (restarted, moved)},
    )[0]
    assert second is not first
    kept = {(c.pod, c.container): ref for c, ref in zip(first.containers, first.refs, strict=True)}
    for container, ref in zip(second.containers, second.refs, strict=True):
        if container.pod != moved.name:
            assert ref is kept[container.pod, container.container]


def test_order_updated_from_the_touched_pods_equals_the_order_of_the_whole_state() -> None:
    """States one after another, each its predecessor with pods added, removed, restarted and
    moved: an order told only the pods touched (`since` the predecessor) is at every step the
    order made by comparing every pod, and its sorted pods are the state's models; told a
    `since` it was not last asked for, it compares every pod, so touched pods left out do not
    matter."""
    rng = np.random.default_rng(7)
    pool = _snapshot(60).pods
    incremental, whole = ContainerOrders(), ContainerOrders()
    state = _by_ref(pool[:40])
    incremental.state_of(CLUSTER, state)
    for step in range(30):
        after = dict(state)
        touched: set[tuple[str, str]] = set()
        for index in rng.choice(len(pool), size=4, replace=False).tolist():
            pod = pool[index]
            ref = (pod.namespace, pod.name)
            action = rng.integers(0, 3)
            if ref in after and action == 0:
                del after[ref]
            elif action == 1:
                after[ref] = pod.model_copy(update={"resource_version": f"v{step}"})
            else:
                after[ref] = pod.model_copy(update={"node_name": f"node-{step}"})
            touched.add(ref)
        since = state
        if step % 7 == 6:
            # Another state, said to come from a copy of the last one (not the very mapping
            # last asked for): every pod is compared, though none is said to be touched.
            after, touched, since = _by_ref(pool[step : step + 30]), set(), dict(state)
        got, models = incremental.state_of(CLUSTER, after, since=since, touched=touched)
        expected = whole.state_of(CLUSTER, after)[0]
        assert list(map(id, models)) == [id(after[ref]) for ref in sorted(after)]
        assert got.containers == expected.containers == container_order(after.values())
        assert got.refs == expected.refs
        assert (got.checksum, got.pods) == (expected.checksum, expected.pods)
        state = after
    # Told that nothing was touched since the mapping last asked for, it compares nothing.
    dropped = dict(list(state.items())[1:])
    assert incremental.state_of(CLUSTER, dropped, since=state)[0].containers == got.containers


def test_ordinal_block_reads_to_the_columns_of_its_expanded_block() -> None:
    """Alibaba-trace pods with GPUs: every column, device and figure equals the expansion's."""
    snapshot = _snapshot()
    delta = delta_between(
        listed_objects(snapshot), snapshot, delta_id=uuid.uuid4(), base_sequence=1
    )
    assert delta.ordinal_usage is not None
    assert delta.ordinal_usage.gpus.series_slot_step
    expanded, matched = placed_usage(delta, snapshot.pods)
    assert matched
    samples, known = placed_samples(
        delta, ContainerOrders().state_of(CLUSTER, _by_ref(snapshot.pods))[0]
    )
    assert known
    _assert_same(samples, delta_samples(expanded))


def test_block_of_another_state_reads_as_a_mismatch_without_its_samples() -> None:
    """Against an order missing a pod the block's samples are left out and the orders differ."""
    before = _snapshot()
    after = before.pods[:-1]
    delta = delta_between(listed_objects(before), before, delta_id=uuid.uuid4(), base_sequence=1)
    samples, known = placed_samples(delta, ContainerOrders().state_of(CLUSTER, _by_ref(after))[0])
    assert not known
    assert len(samples.containers.seconds) == 0


def test_block_beside_a_compact_block_is_refused() -> None:
    """Both blocks in one delta is malformed, as the protocol's expansion says."""
    snapshot = _snapshot(20)
    listed = listed_objects(snapshot)
    ordinal = delta_between(listed, snapshot, delta_id=uuid.uuid4(), base_sequence=1)
    compact = delta_between(listed, snapshot, delta_id=uuid.uuid4(), base_sequence=1, ordinal=False)
    both = ordinal.model_copy(update={"compact_usage": compact.compact_usage})
    with pytest.raises(OrdinalUsageError):
        placed_samples(both, ContainerOrders().state_of(CLUSTER, _by_ref(snapshot.pods))[0])


def test_restarted_pod_keeps_the_order_it_had() -> None:
    """A pod's new model with the same containers on the same node leaves the order as it was."""
    snapshot = _snapshot(20)
    orders = ContainerOrders()
    pods = _by_ref(snapshot.pods)
    first = orders.state_of(CLUSTER, pods)[0]
    restarted = snapshot.pods[2].model_copy(update={"resource_version": "999"})
    second = orders.state_of(CLUSTER, pods | {(restarted.namespace, restarted.name): restarted})[0]
    assert second is first


def test_snapshot_of_a_delta_lists_pods_in_the_kept_orders_sorted_pods() -> None:
    """The pods of a delta's snapshot, given the kept order's sorted pods, are the state's
    models, every one, by namespace and name: also after pods were added and replaced."""
    snapshot = _snapshot()
    delta = delta_between(
        listed_objects(snapshot), snapshot, delta_id=uuid.uuid4(), base_sequence=1
    )
    pods = dict(reversed(_by_ref(snapshot.pods).items()))
    nodes = {node.name: node for node in snapshot.nodes}
    orders = ContainerOrders()
    orders.state_of(CLUSTER, dict(list(pods.items())[5:]))
    restarted = snapshot.pods[7].model_copy(update={"resource_version": "999"})
    pods[(restarted.namespace, restarted.name)] = restarted
    kept = orders.state_of(CLUSTER, pods)[1]
    given = delta_snapshot(delta, nodes, kept)
    assert [(p.namespace, p.name) for p in given.pods] == sorted(pods)
    assert all(pod is pods[(pod.namespace, pod.name)] for pod in given.pods)


def _variant(
    delta: ClusterDelta, containers: dict[str, object], gpus: dict[str, object]
) -> ClusterDelta:
    block = delta.ordinal_usage
    assert block is not None
    changed = block.model_copy(
        update={
            "containers": block.containers.model_copy(update=containers),
            "gpus": block.gpus.model_copy(update=gpus),
        }
    )
    return delta.model_copy(update={"ordinal_usage": changed})


@pytest.mark.parametrize(
    "variant",
    ["chained devices", "some throttled unknown", "one throttled for all", "none known for all"],
)
def test_block_variants_read_to_the_columns_of_their_expanded_block(variant: str) -> None:
    """Devices named through a chain of earlier series, unknown throttled fractions and
    single entries standing for a whole column read as the expanded block reads."""
    snapshot = _snapshot()
    delta = delta_between(
        listed_objects(snapshot), snapshot, delta_id=uuid.uuid4(), base_sequence=1
    )
    block = delta.ordinal_usage
    assert block is not None
    count = len(block.gpus.series_slot_step)
    samples = len(block.containers.cpu_step)
    assert count > 2
    if variant == "chained devices":
        # Each series names the device of the series before it: one device for all.
        changed = _variant(delta, {}, {"series_same_device_as": [0] + [1] * (count - 1)})
    elif variant == "some throttled unknown":
        throttled = [None if i % 3 else i % 1000 for i in range(samples)]
        totals = [None if i % 2 else 1024 for i in range(count)]
        changed = _variant(
            delta,
            {"throttled_permille": throttled},
            {"series_memory_total_mib": totals, "series_same_device_as": [0, 1] * (count // 2)},
        )
    elif variant == "one throttled for all":
        changed = _variant(
            delta, {"throttled_permille": [250]}, {"series_mig_profile": ["1g.10gb"]}
        )
    else:
        changed = _variant(
            delta, {"throttled_permille": [None]}, {"series_memory_total_mib": [None]}
        )
    expanded, matched = placed_usage(changed, snapshot.pods)
    assert matched
    got, known = placed_samples(
        changed, ContainerOrders().state_of(CLUSTER, _by_ref(snapshot.pods))[0]
    )
    assert known
    _assert_same(got, delta_samples(expanded))


def test_device_of_a_pod_on_no_node_is_refused_as_the_expansion_refuses_it() -> None:
    """A GPU series whose pod is pending names no device: the same error as the expansion's."""
    snapshot = _snapshot()
    delta = delta_between(
        listed_objects(snapshot), snapshot, delta_id=uuid.uuid4(), base_sequence=1
    )
    block = delta.ordinal_usage
    assert block is not None
    order = container_order(snapshot.pods)
    first = block.gpus.series_slot_step[0] - 1
    pending = next(p for p in snapshot.pods if (p.namespace, p.name) == order[first][:2])
    pods = [p.model_copy(update={"node_name": None}) if p is pending else p for p in snapshot.pods]
    changed = delta.model_copy(
        update={
            "ordinal_usage": block.model_copy(
                update={"order": order_checksum(container_order(pods))}
            )
        }
    )
    with pytest.raises(OrdinalUsageError) as expected:
        placed_usage(changed, pods)
    with pytest.raises(OrdinalUsageError) as got:
        placed_samples(changed, ContainerOrders().state_of(CLUSTER, _by_ref(pods))[0])
    assert str(got.value) == str(expected.value)
