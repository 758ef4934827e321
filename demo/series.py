"""Usage patterns drawn from real traces, reduced to fractions that scale any pod's requests.

CPU and memory come from Bitbrains-format VM series (used / provisioned, every 5 minutes), GPU
duty cycle and GPU memory from the Alibaba GenAI trace (every minute). A few dozen series are
sampled once and reused: each workload is given one, each replica reads it at its own phase.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.gpu_genai import read_containers
from bench.rightsizing_data import load_vm, trace_files

GENAI_GPU_MEMORY_BYTES = 80 * 2**30
"""The GenAI trace does not name its devices; its memory figures are read as 80 GiB GPUs."""
GENAI_ROWS = 120_000
"""Rows read from each GenAI archive (time-ordered): roughly the first ten hours."""
MIN_POINTS = 12


@dataclass(frozen=True, slots=True)
class Pattern:
    """A series of fractions (0..1), one every `step_seconds`, read cyclically."""

    step_seconds: float
    values: NDArray[np.float64]

    def at(self, seconds: float, phase: int = 0) -> float:
        """The fraction at `seconds` (epoch), shifted by `phase` steps, wrapping around."""
        index = (int(seconds // self.step_seconds) + phase) % len(self.values)
        return float(self.values[index])


@dataclass(frozen=True, slots=True)
class HostPattern:
    """CPU and memory of one VM series, relative to their own peaks."""

    source: str
    cpu: Pattern
    memory: Pattern


@dataclass(frozen=True, slots=True)
class GpuPattern:
    """GPU duty cycle and memory fractions of one GenAI container."""

    source: str
    duty: Pattern
    memory: Pattern


@dataclass(frozen=True, slots=True)
class UsagePatterns:
    """The sampled series a demo cluster draws its usage from."""

    hosts: tuple[HostPattern, ...]
    gpus: tuple[GpuPattern, ...]


PEAK_PERCENTILE = 99.0
MAX_OVER_PEAK = 1.5


def _fractions(used: NDArray[np.float64], total: NDArray[np.float64]) -> NDArray[np.float64]:
    ratio = np.divide(used, total, out=np.zeros_like(used), where=total > 0)
    clipped: NDArray[np.float64] = np.clip(np.nan_to_num(ratio, nan=0.0, posinf=0.0), 0.0, 1.0)
    return clipped


def relative_to_peak(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Values as multiples of their 99th percentile (capped at 1.5): the pattern's shape alone.

    VMs and containers run at very different levels; a pod's own level is chosen separately
    and multiplies this shape, so usage keeps the trace's dynamics at the pod's scale.
    """
    peak = float(np.percentile(values, PEAK_PERCENTILE)) if len(values) else 0.0
    if peak <= 0:
        return np.zeros_like(values)
    shaped: NDArray[np.float64] = np.clip(values / peak, 0.0, MAX_OVER_PEAK)
    return shaped


def read_host_patterns(root: Path, count: int, rng: random.Random) -> list[HostPattern]:
    """`count` VM series of a Bitbrains-format folder (one file each, chosen by `rng`)."""
    groups = trace_files(root)
    names = sorted(groups, key=lambda n: (len(n), n))
    chosen = rng.sample(names, min(count, len(names)))
    patterns: list[HostPattern] = []
    for name in sorted(chosen, key=lambda n: (len(n), n)):
        vm = load_vm(name, groups[name][:1])
        if len(vm.seconds) < MIN_POINTS:
            continue
        step = float(np.median(np.diff(vm.seconds))) or 300.0
        patterns.append(
            HostPattern(
                source=f"bitbrains/{name}",
                cpu=Pattern(step, relative_to_peak(_fractions(vm.cpu_used, vm.cpu_cores))),
                memory=Pattern(step, relative_to_peak(_fractions(vm.memory_used, vm.memory_bytes))),
            )
        )
    return patterns


def read_gpu_patterns(folder: Path, count: int, rng: random.Random) -> list[GpuPattern]:
    """`count` GenAI containers with duty cycle and memory series (missing minutes as 0)."""
    containers = [c for c in read_containers(folder, GENAI_ROWS) if len(c.minutes) >= MIN_POINTS]
    chosen = rng.sample(containers, min(count, len(containers)))
    patterns: list[GpuPattern] = []
    for series in sorted(chosen, key=lambda c: c.container):
        step = float(np.median(np.diff(series.minutes))) or 60.0
        memory = np.full_like(series.memory_bytes, float(GENAI_GPU_MEMORY_BYTES))
        patterns.append(
            GpuPattern(
                source=f"genai/{series.container[:12]}",
                duty=Pattern(step, np.clip(np.nan_to_num(series.duty, nan=0.0), 0.0, 1.0)),
                memory=Pattern(step, _fractions(np.nan_to_num(series.memory_bytes), memory)),
            )
        )
    return patterns


def read_patterns(
    vms: Path, genai: Path, *, hosts: int = 24, gpus: int = 24, seed: int = 0
) -> UsagePatterns:
    """Sample `hosts` VM series and `gpus` GenAI containers."""
    rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not a secret
    host_patterns = read_host_patterns(vms, hosts, rng)
    gpu_patterns = read_gpu_patterns(genai, gpus, rng)
    if not host_patterns or not gpu_patterns:
        raise ValueError(f"no usable series under {vms} or {genai}")
    return UsagePatterns(tuple(host_patterns), tuple(gpu_patterns))
