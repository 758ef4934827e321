"""Demand series for the autoscaling bench: Bitbrains-format VMs and GenAI GPU duty.

Each VM's CPU usage (cores) is one service's demand on a regular five-minute grid. The GenAI
containers are dealt round-robin into services (sorted by container id) and a service's demand
is the sum of its containers' GPU duty per minute (in GPUs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.gpu_genai import ContainerSeries
from bench.rightsizing_data import iter_vms
from recommender.autoscaling.demand import DemandSeries

VM_STEP_SECONDS = 300.0
GENAI_STEP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class ServiceDemand:
    """One service's demand series and where it came from."""

    name: str
    source: str
    demand: DemandSeries


def regular(
    seconds: NDArray[np.float64], values: NDArray[np.float64], step: float, *, total: bool = False
) -> DemandSeries:
    """Samples on a regular grid: the mean (or with `total` the sum) of those in one step.

    Steps without a sample are NaN.
    """
    if seconds.size == 0:
        return DemandSeries(0.0, step, np.zeros(0))
    first = np.floor(seconds.min() / step)
    index = (np.floor(seconds / step) - first).astype(np.int64)
    counts = np.bincount(index)
    sums = np.bincount(index, weights=values)
    grid = sums if total else np.divide(sums, counts, out=np.zeros(counts.size), where=counts > 0)
    return DemandSeries(float(first * step), step, np.where(counts > 0, grid, np.nan))


def vm_services(root: Path, limit: int | None = None) -> Iterator[ServiceDemand]:
    """Every VM under `root` as a service whose demand is its CPU usage in cores."""
    for vm in iter_vms(root, limit=limit):
        yield ServiceDemand(vm.vm, "bitbrains", regular(vm.seconds, vm.cpu_used, VM_STEP_SECONDS))


def genai_services(containers: list[ContainerSeries], services: int) -> list[ServiceDemand]:
    """The containers dealt round-robin into `services` services, demand = summed GPU duty."""
    groups: dict[int, list[ContainerSeries]] = {}
    for index, container in enumerate(sorted(containers, key=lambda c: c.container)):
        groups.setdefault(index % services, []).append(container)
    found = []
    for group, members in sorted(groups.items()):
        seconds = np.concatenate([c.minutes for c in members])
        duty = np.concatenate([np.nan_to_num(c.duty, nan=0.0) for c in members])
        series = regular(seconds, duty, GENAI_STEP_SECONDS, total=True)
        found.append(ServiceDemand(f"genai-{group + 1}", "genai", series))
    return found
