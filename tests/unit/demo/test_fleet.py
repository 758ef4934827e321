"""The demo cluster built from trace rows: placement, workloads, PDBs, spot labels, samples."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np

from bench.snapshots.trace import TraceNode, TracePod
from demo.fleet import FleetSpec, build_fleet
from demo.replay import notice_target, snapshot_of, spot_notice
from demo.samples import UsageModel
from demo.series import GpuPattern, HostPattern, Pattern, UsagePatterns, relative_to_peak
from protocol.snapshot import LABEL_INSTANCE_TYPE

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
CLUSTER = uuid.UUID(int=7)


def _nodes() -> list[TraceNode]:
    return [TraceNode(f"n-{i}", 16_000, 65_536, 2, "T4") for i in range(4)]


def _pods() -> list[TracePod]:
    web = [TracePod(f"web-{i}", 4000, 8192, 1, 1000, ("T4",), "LS", "Running") for i in range(4)]
    job = [TracePod("job-0", 2000, 4096, 1, 500, (), "BE", "Running")]
    return web + job


def test_pods_of_one_shape_are_replicas_of_one_deployment_with_a_pdb() -> None:
    """Four identical pods make one 4-replica Deployment with a PDB; the odd one has none."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER), NOW)
    replicas = sorted((w.replicas or 0) for w in fleet.workloads)
    assert replicas == [1, 4]
    assert len(fleet.pdbs) == 1
    assert fleet.pdbs[0].expected_pods == 4


def test_every_pod_is_placed_within_node_capacity() -> None:
    """First-fit placement never requests more CPU on a node than the node has."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER), NOW)
    used: dict[str, int] = {}
    for pod in fleet.pods:
        assert pod.node_name is not None
        cpu = pod.spec.containers[0].requests.cpu_millis or 0
        used[pod.node_name] = used.get(pod.node_name, 0) + cpu
    assert sum(used.values()) == 4 * 4000 + 2000
    assert all(cpu <= 16_000 for cpu in used.values())


def test_nodes_carry_their_aws_instance_type() -> None:
    """A 2-GPU T4 node is labelled g4dn.12xlarge in us-east-1."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER), NOW)
    assert {n.labels[LABEL_INSTANCE_TYPE] for n in fleet.nodes} == {"g4dn.12xlarge"}
    assert fleet.cluster.region == "us-east-1"


def test_the_notice_goes_to_the_busiest_spot_node() -> None:
    """With every node on spot, the notice names the node running the most pods."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER, spot_share=1.0), NOW)
    target = notice_target(fleet)
    assert target is not None
    counts = {n.name: sum(p.node == n.name for p in fleet.placements) for n in fleet.nodes}
    assert counts[target.name] == max(counts.values())
    notice = spot_notice(fleet, target, NOW)
    assert notice.deadline == datetime(2026, 1, 2, 12, 2, tzinfo=UTC)


def test_no_spot_node_means_no_notice() -> None:
    """A cluster without spot capacity gets no notice."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER, spot_share=0.0), NOW)
    assert notice_target(fleet) is None


def _flat_patterns(cpu: float, duty: float) -> UsagePatterns:
    host = HostPattern("h", Pattern(300, np.array([cpu])), Pattern(300, np.array([1.0])))
    gpu = GpuPattern("g", Pattern(60, np.array([duty])), Pattern(60, np.array([0.5])))
    return UsagePatterns((host,), (gpu,))


def test_samples_scale_the_pattern_by_requests_and_level() -> None:
    """CPU = request x workload level x pattern; one sample per container and time."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER), NOW)
    model = UsageModel(fleet, _flat_patterns(cpu=1.0, duty=0.4))
    samples = model.sample([NOW], 300)
    assert len(samples.containers) == len(fleet.pods)
    web = next(s for s in samples.containers if s.pod == "web-0")
    placement = next(p for p in fleet.placements if p.pod.name == "web-0")
    level = model.levels[placement.workload].cpu
    assert web.cpu_cores == round(4.0 * level, 4)
    shared = next(s for s in samples.gpus if s.pod == "job-0")
    assert shared.utilization == 0.2  # half a GPU at a 40 % duty cycle


def test_snapshot_carries_the_samples_at_their_simulated_times() -> None:
    """A backfill snapshot is taken at the window's end and keeps each sample's own time."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER), NOW)
    model = UsageModel(fleet, _flat_patterns(cpu=0.5, duty=0.1))
    earlier = datetime(2026, 1, 2, 11, 0, tzinfo=UTC)
    snapshot = snapshot_of(fleet, NOW, model.sample([earlier, NOW], 300))
    assert snapshot.taken_at == NOW
    assert {s.timestamp for s in snapshot.usage.containers} == {earlier, NOW}


def test_pattern_shape_is_relative_to_its_99th_percentile() -> None:
    """Values are divided by their 99th percentile and capped at 1.5."""
    values = np.array([0.0] * 98 + [0.1, 0.1, 1.0])
    shaped = relative_to_peak(values)
    assert shaped[0] == 0.0
    assert shaped[-1] == 1.5
    assert abs(shaped[-2] - 0.1 / np.percentile(values, 99)) < 1e-12


def test_pattern_wraps_around_its_end() -> None:
    """Reading past the last step starts over from the first."""
    pattern = Pattern(60, np.array([0.1, 0.2, 0.3]))
    assert pattern.at(180.0) == 0.1
    assert pattern.at(60.0, phase=4) == 0.3


def test_shared_gpu_pods_carry_their_milli_share() -> None:
    """The 500 milli-GPU job is labelled with its share; whole-GPU replicas are not."""
    fleet = build_fleet(_nodes(), _pods(), FleetSpec(CLUSTER), NOW)
    shares = {pod.name: pod.labels.get("alibabacloud.com/gpu-milli") for pod in fleet.pods}
    assert shares["job-0"] == "500"
    assert {shares[f"web-{i}"] for i in range(4)} == {None}
