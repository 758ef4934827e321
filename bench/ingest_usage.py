"""Usage figures from real traces for the ingest bench, minute after minute.

A container's CPU and memory follow one Bitbrains VM (its share of provisioned CPU and memory,
times the pod's requests); a GPU's duty cycle and memory follow one container of the Alibaba
GenAI trace (its memory capped at the device's). Which series a container follows, and where
in it, is drawn from the pod's name and the seed, so one cluster's uploads are successive
minutes of the same series. The GenAI series are one sample a minute; Bitbrains samples are
five minutes apart and are taken one per minute, which changes a container's figures more from
one upload to the next than a minute of the VM did.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.gpu_genai import read_containers
from protocol.snapshot import ClusterSnapshot, ContainerUsage, GpuUsage, NodeUsage, Pod

KIB = 1024
_COLUMNS = 7
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DEFAULT_VMS = SHARED / "bitbrains-rnd" / "2013-7"
"""Bitbrains-format VM files whose CPU and memory the benches' containers follow."""
DEFAULT_GENAI = SHARED / "alibaba-genai-v2026"
"""GenAI trace folder whose GPU duty and memory the benches' devices follow."""


@dataclass(frozen=True, slots=True)
class UsageTraces:
    """Per-VM CPU and memory shares, per-container GPU duty and memory, minute by minute."""

    cpu_share: list[NDArray[np.float64]]
    memory_share: list[NDArray[np.float64]]
    duty: list[NDArray[np.float64]]
    gpu_memory_bytes: list[NDArray[np.float64]]

    @property
    def minutes(self) -> int:
        """Minutes every series has."""
        return min(len(s) for s in [*self.cpu_share, *self.duty])


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    """`--vms` and `--genai`: where a bench's samples take their figures."""
    parser.add_argument(
        "--vms",
        type=Path,
        default=DEFAULT_VMS,
        help="Bitbrains-format VM files whose CPU and memory the containers follow",
    )
    parser.add_argument(
        "--genai",
        type=Path,
        default=DEFAULT_GENAI,
        help="GenAI trace folder whose GPU duty and memory the devices follow",
    )


def _vm_rows(path: Path, rows: int) -> NDArray[np.float64]:
    with gzip.open(path, "rt") as handle:
        lines = list(itertools.islice(handle, 1, rows + 1))
    return np.loadtxt(lines, delimiter=";", usecols=range(_COLUMNS), ndmin=2, dtype=np.float64)


def _filled(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Missing minutes (NaN) take the last known value (0 before any)."""
    out = np.nan_to_num(values.copy(), nan=-1.0)
    for i in range(len(out)):
        if out[i] < 0:
            out[i] = out[i - 1] if i else 0.0
    return out


def read_usage_traces(vms: Path, genai: Path, minutes: int) -> UsageTraces:
    """The first `minutes` samples of every Bitbrains VM file directly in `vms` with usage, and
    of every GenAI container with that many minutes."""
    cpu, memory = [], []
    for path in sorted(vms.glob("*.csv.gz"), key=lambda p: (len(p.name), p.name)):
        rows = _vm_rows(path, minutes)
        provisioned_mhz, used_mhz = rows[:, 2], rows[:, 3]
        provisioned_kib, used_kib = rows[:, 5], rows[:, 6]
        if (
            len(rows) < minutes
            or not (provisioned_mhz > 0).all()
            or not (provisioned_kib > 0).all()
        ):
            continue
        cpu.append(np.clip(used_mhz / provisioned_mhz, 0.0, 1.0))
        memory.append(np.clip(used_kib / provisioned_kib, 0.0, 1.0))
    duty, gpu_memory = [], []
    # Rows come minute by minute for all containers (about 200 a minute).
    for series in read_containers(genai, max_rows=minutes * 400):
        if len(series.minutes) >= minutes:
            duty.append(np.clip(_filled(series.duty[:minutes]), 0.0, 1.0))
            gpu_memory.append(_filled(series.memory_bytes[:minutes]))
    if not cpu or not duty:
        raise ValueError(f"no usable series in {vms} and {genai} over {minutes} minutes")
    return UsageTraces(cpu, memory, duty, gpu_memory)


def _pick(name: str, seed: int, count: int, span: int) -> tuple[int, int]:
    """(series, start minute) for `name`: stable per name and seed."""
    digest = hashlib.blake2b(f"{seed}/{name}".encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "big")
    return number % count, (number // count) % max(1, span)


def with_trace_usage(
    snapshot: ClusterSnapshot, traces: UsageTraces, *, minute: int, seed: int, span: int
) -> ClusterSnapshot:
    """The snapshot with its samples' figures taken from the traces at `minute` (its names,
    devices and times kept); `span` bounds where in a series a container starts."""
    pods: dict[tuple[str, str], Pod] = {(p.namespace, p.name): p for p in snapshot.pods}
    containers: list[ContainerUsage] = []
    for s in snapshot.usage.containers:
        pod = pods[(s.namespace, s.pod)]
        requests = pod.spec.containers[0].requests
        cores, memory = (requests.cpu_millis or 1000) / 1000, requests.memory_bytes or 2**30
        vm, start = _pick(s.pod, seed, len(traces.cpu_share), span)
        at = start + minute
        containers.append(
            s.model_copy(
                update={
                    "cpu_cores": round(cores * float(traces.cpu_share[vm][at]), 6),
                    "memory_bytes": int(memory * float(traces.memory_share[vm][at])),
                    # The traces measure no CFS throttling: the agent would say it does not know.
                    "cpu_throttled_fraction": None,
                }
            )
        )
    gpus: list[GpuUsage] = []
    for g in snapshot.usage.gpus:
        series, start = _pick(f"{g.pod}/{g.gpu_index}", seed, len(traces.duty), span)
        at = start + minute
        used = int(traces.gpu_memory_bytes[series][at])
        if g.memory_total_bytes is not None:
            used = min(used, g.memory_total_bytes)
        gpus.append(
            g.model_copy(
                update={"utilization": float(traces.duty[series][at]), "memory_used_bytes": used}
            )
        )
    usage = snapshot.usage.model_copy(
        update={"containers": containers, "gpus": gpus, "nodes": _node_sums(snapshot, containers)}
    )
    return snapshot.model_copy(
        update={"usage": usage, "taken_at": snapshot.taken_at + timedelta(minutes=minute)}
    )


def _node_sums(snapshot: ClusterSnapshot, containers: list[ContainerUsage]) -> list[NodeUsage]:
    """Each node's sample: what its pods' containers use (nothing else runs in the bench)."""
    on_node = {(p.namespace, p.name): p.node_name for p in snapshot.pods}
    cpu: dict[str, float] = {}
    memory: dict[str, int] = {}
    for s in containers:
        node = on_node.get((s.namespace, s.pod))
        if node is not None:
            cpu[node] = cpu.get(node, 0.0) + s.cpu_cores
            memory[node] = memory.get(node, 0) + s.memory_bytes
    return [
        n.model_copy(
            update={
                "cpu_cores": round(cpu.get(n.node, 0.0), 3),
                "memory_bytes": memory.get(n.node, 0),
            }
        )
        for n in snapshot.usage.nodes
    ]
