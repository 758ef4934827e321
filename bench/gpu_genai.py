"""Read the per-container GPU series of the Alibaba GenAI trace (`cluster-trace-v2026-GenAI`).

Each archive holds one CSV of `value,timestamp_anon,container_ip` rows (the GPU-memory one puts
`timestamp_anon` first, so columns are found by header). Series are aligned per container on the
union of its minutes; a minute missing from one metric is left as NaN.
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

DUTY_ARCHIVE = "pod_gpu_duty_cycle_anon.tar.gz"
MEMORY_ARCHIVE = "pod_gpu_memory_used_bytes_anon.tar.gz"


@dataclass(frozen=True, slots=True)
class ContainerSeries:
    """One container's minutes (sorted), GPU duty cycle (0..1) and GPU memory used (bytes)."""

    container: str
    minutes: NDArray[np.float64]
    duty: NDArray[np.float64]
    memory_bytes: NDArray[np.float64]


def read_metric(archive: Path, max_rows: int | None = None) -> dict[str, dict[float, float]]:
    """`container -> {timestamp: value}` from the first CSV member of a tar.gz archive.

    `max_rows` stops early (rows come in time order, so this keeps the first hours).
    """
    series: dict[str, dict[float, float]] = defaultdict(dict)
    with tarfile.open(archive, "r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.isfile() and m.name.endswith(".csv"))
        handle = tar.extractfile(member)
        if handle is None:
            raise ValueError(f"{archive}: {member.name} is not a regular file")
        reader = csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8"))
        for count, row in enumerate(reader):
            if max_rows is not None and count >= max_rows:
                break
            value = row.get("value", "")
            if value in {"", "nan", "NaN"}:
                continue
            series[row["container_ip"]][float(row["timestamp_anon"])] = float(value)
    return dict(series)


def read_containers(folder: Path, max_rows: int | None = None) -> list[ContainerSeries]:
    """Every container with both a duty-cycle and a memory series, minutes aligned."""
    duty = read_metric(folder / DUTY_ARCHIVE, max_rows)
    memory = read_metric(folder / MEMORY_ARCHIVE, max_rows)
    containers: list[ContainerSeries] = []
    for container in sorted(set(duty) & set(memory)):
        minutes = np.array(sorted(set(duty[container]) | set(memory[container])))
        containers.append(
            ContainerSeries(
                container=container,
                minutes=minutes,
                duty=np.array([duty[container].get(t, np.nan) for t in minutes]),
                memory_bytes=np.array([memory[container].get(t, np.nan) for t in minutes]),
            )
        )
    return containers
