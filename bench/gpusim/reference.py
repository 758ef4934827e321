"""Published FGD-paper figures: allocation at 130 % per workload and policy, and full curves."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

CURVE_FILE = "allocation_by_arrival.csv"


@dataclass(frozen=True, slots=True)
class PublishedFigures:
    """One workload and policy of the published results."""

    seeds: int
    alloc_130_mean: float
    alloc_130_std: float
    unallocated_gpus_mean: float
    unallocated_gpus_std: float
    curve_mean: tuple[float | None, ...] = ()


def policy_name(published: str) -> str:
    """`05-BestFit` -> `BestFit`."""
    return published.split("-", 1)[1] if published[:2].isdigit() else published


def _curves(path: Path) -> dict[tuple[str, str], tuple[float | None, ...]]:
    sums: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            points = [row.get(str(x), "") for x in range(131)]
            sums[(row["workload"], policy_name(row["sc_policy"]))].append(
                [float(p) if p else float("nan") for p in points]
            )
    curves: dict[tuple[str, str], tuple[float | None, ...]] = {}
    for key, runs in sums.items():
        means: list[float | None] = []
        for x in range(131):
            values = [run[x] for run in runs if run[x] == run[x]]
            means.append(round(sum(values) / len(values), 3) if values else None)
        curves[key] = tuple(means)
    return curves


def read_reference(summary: Path) -> dict[str, dict[str, PublishedFigures]]:
    """Published figures by workload (file stem) and policy, with curves when the file is near."""
    curve_path = summary.with_name(CURVE_FILE)
    curves = _curves(curve_path) if curve_path.is_file() else {}
    out: dict[str, dict[str, PublishedFigures]] = defaultdict(dict)
    with summary.open(newline="") as handle:
        for row in csv.DictReader(handle):
            name = policy_name(row["sc_policy"])
            out[row["workload"]][name] = PublishedFigures(
                seeds=int(row["n_seeds"]),
                alloc_130_mean=float(row["alloc130_mean"]),
                alloc_130_std=float(row["alloc130_std"]),
                unallocated_gpus_mean=float(row["unalloc_gpus_mean"]),
                unallocated_gpus_std=float(row["unalloc_gpus_std"]),
                curve_mean=curves.get((row["workload"], name), ()),
            )
    return dict(out)
