"""Real usage traces for console seed data: a Bitbrains VM and an Alibaba GenAI GPU container."""

from __future__ import annotations

import collections
import csv
import functools
import gzip
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
BITBRAINS_VM = DATA / "bitbrains-rnd" / "2013-7" / "1.csv.gz"
GENAI = DATA / "alibaba-genai-v2026"


@dataclass(frozen=True)
class CpuMemoryTrace:
    """Samples of one machine: seconds since the trace's first sample, cores and bytes used."""

    offsets: NDArray[np.float64]
    cores: NDArray[np.float64]
    memory_bytes: NDArray[np.float64]


@dataclass(frozen=True)
class GpuTrace:
    """Samples of one GPU container: offsets, duty cycle (0..1) and GPU memory used."""

    offsets: NDArray[np.float64]
    duty_cycle: NDArray[np.float64]
    memory_used_bytes: NDArray[np.float64]


# The traces never change during a run: read each once.
@functools.cache
def bitbrains_vm(path: Path = BITBRAINS_VM, *, days: float = 8.0) -> CpuMemoryTrace:
    """The first `days` of one Bitbrains VM: CPU in cores (usage MHz over MHz per core)."""
    with gzip.open(path, "rt") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[1:]
    table = np.array([[float(cell) for cell in row[:7]] for row in rows if len(row) >= 7])
    seconds = table[:, 0] - table[0, 0]
    keep = seconds <= days * 86_400
    cores = table[keep, 3] / (table[keep, 2] / table[keep, 1])
    return CpuMemoryTrace(seconds[keep], cores, table[keep, 6] * 1024)


def _csv_member(path: Path) -> list[dict[str, str]]:
    with tarfile.open(path) as archive:
        member = archive.getmembers()[0]
        extracted = archive.extractfile(member)
        if extracted is None:
            raise FileNotFoundError(f"{path} holds no file")
        return list(csv.DictReader(io.TextIOWrapper(extracted)))


@functools.cache
def genai_container(directory: Path = GENAI) -> GpuTrace:
    """The most-sampled lightly used inference container of the GenAI trace (mean duty 3-15 %)."""
    duty: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for row in _csv_member(directory / "pod_gpu_duty_cycle_anon.tar.gz"):
        duty[row["container_ip"]].append((float(row["timestamp_anon"]), float(row["value"])))
    scale = 100.0 if max(v for samples in duty.values() for _, v in samples) > 1.0 else 1.0
    light = [
        (len(samples), ip)
        for ip, samples in duty.items()
        if 0.03 <= np.mean([v for _, v in samples]) / scale <= 0.15
    ]
    _, chosen = max(light)
    memory = [
        (float(row["timestamp_anon"]), float(row["value"]))
        for row in _csv_member(directory / "pod_gpu_memory_used_bytes_anon.tar.gz")
        if row["container_ip"] == chosen
    ]
    samples = sorted(duty[chosen])
    start = samples[0][0]
    used = dict(memory)
    aligned = [(t, v / scale, used[t]) for t, v in samples if t in used]
    table = np.array(aligned)
    return GpuTrace(table[:, 0] - start, table[:, 1], table[:, 2])
