"""Node and pod lists of the Alibaba GPU-sharing trace format, columns found by header."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

Shape = tuple[int, int, int, int, tuple[str, ...], str]
"""(cpu, memory, GPUs, GPU milli, GPU models, QoS): pods of one shape are one workload."""


@dataclass(frozen=True)
class TraceNode:
    """One row of a node list."""

    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int
    model: str


@dataclass(frozen=True)
class TracePod:
    """One row of a pod list."""

    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    gpu_milli: int
    gpu_spec: tuple[str, ...]
    qos: str
    phase: str

    @property
    def shape(self) -> Shape:
        """Pods of one shape are treated as replicas of one workload."""
        return (
            self.cpu_milli,
            self.memory_mib,
            self.num_gpu,
            self.gpu_milli,
            self.gpu_spec,
            self.qos,
        )


def _int(value: str | None) -> int:
    return int(float(value)) if value else 0


def read_trace_nodes(path: Path) -> list[TraceNode]:
    """Every node of a node list, in file order."""
    with path.open(newline="") as handle:
        return [
            TraceNode(
                name=row["sn"],
                cpu_milli=_int(row.get("cpu_milli")),
                memory_mib=_int(row.get("memory_mib")),
                gpus=_int(row.get("gpu")),
                model=row.get("model") or "",
            )
            for row in csv.DictReader(handle)
        ]


def read_trace_pods(path: Path) -> list[TracePod]:
    """Every pod of a pod list, in file order."""
    with path.open(newline="") as handle:
        return [
            TracePod(
                name=row["name"],
                cpu_milli=_int(row.get("cpu_milli")),
                memory_mib=_int(row.get("memory_mib")),
                num_gpu=_int(row.get("num_gpu")),
                gpu_milli=_int(row.get("gpu_milli")),
                gpu_spec=tuple(s for s in (row.get("gpu_spec") or "").split("|") if s),
                qos=row.get("qos") or "BE",
                phase=row.get("pod_phase") or "Running",
            )
            for row in csv.DictReader(handle)
        ]
