"""Snapshots built from the Alibaba GPU trace are valid, placed, and cheap to vary by id."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.snapshots import (
    SnapshotSpec,
    SnapshotVariants,
    TraceNode,
    TracePod,
    build_snapshot,
    encode_snapshot,
    read_trace_nodes,
    read_trace_pods,
)
from protocol.resources import GPU_RESOURCE
from protocol.snapshot import ClusterSnapshot

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"
TAKEN_AT = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def trace() -> tuple[list[TraceNode], list[TracePod]]:
    """The GPU node list and the default pod list."""
    return (
        read_trace_nodes(DATA / "openb_node_list_gpu_node.csv"),
        read_trace_pods(DATA / "openb_pod_list_default.csv"),
    )


@pytest.fixture(scope="module")
def snapshot(trace: tuple[list[TraceNode], list[TracePod]]) -> ClusterSnapshot:
    """A 300-pod snapshot with two samples per container."""
    spec = SnapshotSpec(
        cluster_id=uuid.UUID(int=1),
        snapshot_id=uuid.UUID(int=2),
        taken_at=TAKEN_AT,
        pod_count=300,
        samples_per_container=2,
    )
    return build_snapshot(*trace, spec)


def test_trace_files_read_by_header(trace: tuple[list[TraceNode], list[TracePod]]) -> None:
    """1,213 GPU nodes; the first is a 2-GPU P100 with 64 cores."""
    nodes, pods = trace
    assert len(nodes) == 1213
    assert (nodes[0].name, nodes[0].gpus, nodes[0].model, nodes[0].cpu_milli) == (
        "openb-node-0000",
        2,
        "P100",
        64000,
    )
    assert len(pods) == 8152


def test_snapshot_is_strictly_valid_and_round_trips(snapshot: ClusterSnapshot) -> None:
    """The JSON an agent would send passes the gateway's strict validation unchanged."""
    raw, _ = encode_snapshot(snapshot)
    assert ClusterSnapshot.model_validate_json(raw, strict=True) == snapshot


def test_every_pod_is_placed_on_a_node_with_room(snapshot: ClusterSnapshot) -> None:
    """Running pods sit on listed nodes whose GPUs and CPU cover what they request."""
    nodes = {node.name: node for node in snapshot.nodes}
    used_cpu: dict[str, int] = {}
    for pod in snapshot.pods:
        assert pod.node_name in nodes
        used_cpu[pod.node_name] = used_cpu.get(pod.node_name, 0) + (
            pod.spec.containers[0].requests.cpu_millis or 0
        )
        assert pod.spec.containers[0].requests.extended.get(GPU_RESOURCE, 0) <= (
            nodes[pod.node_name].capacity.gpus
        )
    assert len(snapshot.pods) == 300
    assert all(used <= (nodes[name].capacity.cpu_millis or 0) for name, used in used_cpu.items())


def test_pods_of_one_shape_form_one_deployment(snapshot: ClusterSnapshot) -> None:
    """Replica counts of the workloads add up to the pods, each pod owned by its Deployment."""
    replicas = {w.name: w.replicas for w in snapshot.workloads}
    owners = [pod.owners[-1].name for pod in snapshot.pods]
    assert sum(r or 0 for r in replicas.values()) == len(snapshot.pods)
    assert {name: owners.count(name) for name in replicas} == replicas


def test_samples_per_container(snapshot: ClusterSnapshot) -> None:
    """Two CPU/memory samples per container; GPU samples only for GPU pods."""
    gpu_pods = sum(1 for p in snapshot.pods if p.spec.containers[0].requests.gpus)
    assert len(snapshot.usage.containers) == 2 * len(snapshot.pods)
    assert len(snapshot.usage.gpus) >= 2 * gpu_pods


def test_variant_gzip_is_the_json_with_the_new_id(snapshot: ClusterSnapshot) -> None:
    """A spliced gzip body inflates to the snapshot JSON carrying the new snapshot id."""
    raw, gzipped = encode_snapshot(snapshot)
    variants = SnapshotVariants(raw)
    new_id = uuid.UUID(int=99)
    body = variants.gzip(new_id)
    assert gzip.decompress(body) == variants.json(new_id)
    assert ClusterSnapshot.model_validate_json(variants.json(new_id)).snapshot_id == new_id
    assert abs(len(body) - len(gzipped)) < 200
