"""Usage samples of the demo cluster at given times, drawn from the sampled trace patterns.

Each workload reads one VM pattern (CPU, memory) and, if it holds GPUs, one GenAI pattern; each
replica reads them at its own phase. A workload's level (its usage at the pattern's peak, as a
share of its requests) is drawn once per workload: most run well below their requests, a few
above, as in real fleets.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from demo.fleet import Fleet, Placement
from demo.series import UsagePatterns
from protocol.snapshot import ContainerUsage, GpuUsage, NodeUsage

REPLICA_PHASE_STEPS = 7
"""Replicas read their workload's pattern this many steps apart, so they do not move in lockstep."""
NODE_OVERHEAD_CORES = 0.5
NODE_OVERHEAD_BYTES = 2 * 2**30


@dataclass(frozen=True, slots=True)
class WorkloadLevel:
    """How hard one workload uses what it requests, at its pattern's peak."""

    cpu: float
    memory: float


@dataclass
class Samples:
    """Usage samples gathered over a window."""

    containers: list[ContainerUsage] = field(default_factory=list)
    gpus: list[GpuUsage] = field(default_factory=list)
    nodes: list[NodeUsage] = field(default_factory=list)


def workload_levels(count: int, seed: int) -> list[WorkloadLevel]:
    """One level per workload: CPU mostly 15-70 % of requests, memory 30-80 %, a few over."""
    rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not a secret
    levels = []
    for _ in range(count):
        over = rng.random() < 0.08
        levels.append(
            WorkloadLevel(
                cpu=rng.uniform(1.05, 1.4) if over else rng.uniform(0.15, 0.7),
                memory=rng.uniform(1.0, 1.2) if over else rng.uniform(0.3, 0.8),
            )
        )
    return levels


class UsageModel:
    """Turns a fleet and its patterns into samples at any time."""

    def __init__(self, fleet: Fleet, patterns: UsagePatterns, seed: int = 0) -> None:
        """Assign patterns and levels to the fleet's workloads (stable for a seed)."""
        self.fleet = fleet
        self.patterns = patterns
        self.levels = workload_levels(len(fleet.workloads), seed)

    def sample(self, times: Sequence[datetime], window_seconds: int) -> Samples:
        """Samples of every running container, GPU and node at each of `times`."""
        found = Samples()
        for at in times:
            self._sample_at(at, window_seconds, found)
        return found

    def _sample_at(self, at: datetime, window_seconds: int, found: Samples) -> None:
        seconds = at.timestamp()
        node_cpu: defaultdict[str, float] = defaultdict(float)
        node_memory: defaultdict[str, int] = defaultdict(int)
        for placement in self.fleet.placements:
            cpu, memory = self._host_usage(placement, seconds)
            node_cpu[placement.node] += cpu
            node_memory[placement.node] += memory
            pod = placement.pod
            found.containers.append(
                ContainerUsage(
                    namespace=pod.namespace,
                    pod=pod.name,
                    container="main",
                    timestamp=at,
                    window_seconds=window_seconds,
                    cpu_cores=round(cpu, 4),
                    memory_bytes=memory,
                    cpu_throttled_fraction=0.0,
                )
            )
            found.gpus.extend(self._gpu_usage(placement, at))
        for node in self.fleet.nodes:
            found.nodes.append(
                NodeUsage(
                    node=node.name,
                    timestamp=at,
                    cpu_cores=round(node_cpu[node.name] + NODE_OVERHEAD_CORES, 3),
                    memory_bytes=node_memory[node.name] + NODE_OVERHEAD_BYTES,
                )
            )

    def _host_usage(self, placement: Placement, seconds: float) -> tuple[float, int]:
        hosts = self.patterns.hosts
        pattern = hosts[placement.workload % len(hosts)]
        level = self.levels[placement.workload]
        phase = placement.replica * REPLICA_PHASE_STEPS
        requests = placement.pod.spec.containers[0].requests
        cpu_request = (requests.cpu_millis or 100) / 1000
        memory_request = requests.memory_bytes or 64 * 2**20
        cpu = cpu_request * level.cpu * pattern.cpu.at(seconds, phase)
        memory = int(memory_request * level.memory * max(pattern.memory.at(seconds, phase), 0.05))
        return cpu, memory

    def _gpu_usage(self, placement: Placement, at: datetime) -> list[GpuUsage]:
        if not placement.gpu_indexes:
            return []
        gpus = self.patterns.gpus
        pattern = gpus[placement.workload % len(gpus)]
        seconds = at.timestamp()
        phase = placement.replica * REPLICA_PHASE_STEPS
        duty = pattern.duty.at(seconds, phase) * placement.gpu_share
        total = placement.gpu_memory_bytes
        memory_share = pattern.memory.at(seconds, phase) * placement.gpu_share
        pod = placement.pod
        return [
            GpuUsage(
                node=placement.node,
                gpu_index=index,
                gpu_uuid=f"GPU-{placement.node}-{index}",
                namespace=pod.namespace,
                pod=pod.name,
                container="main",
                timestamp=at,
                utilization=round(min(1.0, duty), 4),
                memory_used_bytes=int((total or 16 * 2**30) * min(1.0, memory_share)),
                memory_total_bytes=total,
            )
            for index in placement.gpu_indexes
        ]
