"""Leave-one-trace-out choice of the slicewise placement policy's parameters.

The policy has two parameters: the weight of CPU-stranded against fragmented milli-GPU
(`cpu_weight`) and the exact-fit bonus for shared placements (`exact_fit_bonus`). Each candidate
pair is scored on every pod list with tuning seeds (not the reported ones) by its mean allocation
at 130 % arrived. Then, for each list, the pair that scores best on the *other* lists is chosen
and measured on the left-out list with the reported seeds (the left-out figure), beside the pair
that scores best on all lists (the in-sample figure) and the published FGD result of that list.

    python -m bench.gpu_sharing_tuning [--nodes FILE] [--pods FILE ...] [--seeds N]
        [--tuning-seeds N] [--reference FILE] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from bench.gpu_sharing import ALL_WORKLOADS, DEFAULT_REFERENCE, FIRST_SEED, QUICK_STRIDE, TRACE_DIR
from bench.gpusim.metric import unallocated_gpus
from bench.gpusim.reference import read_reference
from bench.gpusim.runs import Workload, allocation_at_130, load_workload
from bench.json_output import emit
from recommender.gpu.placement.slicewise import SlicewisePolicy, SlicewiseSettings

DEFAULT_NODES = TRACE_DIR / "openb_node_list_gpu_node.csv"
CPU_WEIGHTS = (0.5, 1.0, 2.0)
EXACT_FIT_BONUSES = (0, 3, 6)
FIRST_TUNING_SEED = 100
"""Tuning seeds start here, apart from the reported seeds (42, 43, ...)."""

Params = tuple[float, int]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags (ARCHITECTURE.md section 6)."""
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_sharing_tuning", description=__doc__)
    parser.add_argument("--nodes", type=Path, default=DEFAULT_NODES, help="node list CSV")
    parser.add_argument("--pods", type=Path, action="append", help="pod lists (default: five)")
    parser.add_argument("--seeds", type=int, default=2, help="reported seeds 42, 43, ...")
    parser.add_argument("--tuning-seeds", type=int, default=1, help="tuning seeds 100, ...")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--quick", action="store_true", help="subsample, 2x2 grid: a smoke run")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    return parser.parse_args(argv)


def slicewise_at_130(workload: Workload, params: Params, seed: int) -> float:
    """Allocation % at 130 % arrived of one slicewise run with `params`."""
    settings = SlicewiseSettings(cpu_weight=params[0], exact_fit_bonus=params[1])
    return allocation_at_130(workload, SlicewisePolicy(workload.typical, settings), seed)


def _mean_over(workload: Workload, params: Params, seeds: list[int]) -> float:
    return statistics.fmean(slicewise_at_130(workload, params, seed) for seed in seeds)


def _best(scores: dict[Params, dict[str, float]], lists: list[str]) -> Params:
    """The pair with the highest mean allocation over `lists` (first in grid order on ties)."""
    return max(scores, key=lambda p: statistics.fmean(scores[p][name] for name in lists))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Tune, hold each list out in turn, print the JSON document and return it."""
    args = parse_args(argv)
    started = time.perf_counter()
    stride = QUICK_STRIDE if args.quick else 1
    paths = args.pods or [TRACE_DIR / f"openb_pod_list_{name}.csv" for name in ALL_WORKLOADS]
    workloads = {path.stem: load_workload(args.nodes, path, stride) for path in paths}
    grid: list[Params] = list(
        itertools.product(
            CPU_WEIGHTS[:2] if args.quick else CPU_WEIGHTS,
            EXACT_FIT_BONUSES[:2] if args.quick else EXACT_FIT_BONUSES,
        )
    )
    tuning = [FIRST_TUNING_SEED + i for i in range(args.tuning_seeds)]
    reported = [FIRST_SEED + i for i in range(1 if args.quick else args.seeds)]
    names = sorted(workloads)
    scores = {p: {n: _mean_over(workloads[n], p, tuning) for n in names} for p in grid}
    in_sample = _best(scores, names)
    measured: dict[tuple[Params, str], float] = {}

    def measure(params: Params, name: str) -> float:
        if (params, name) not in measured:
            measured[params, name] = _mean_over(workloads[name], params, reported)
        return measured[params, name]

    reference = read_reference(args.reference) if not args.quick else {}
    rows: dict[str, Any] = {}
    for name in names:
        chosen = _best(scores, [n for n in names if n != name])
        total = workloads[name].nodes.total_gpus
        row: dict[str, Any] = {
            "left_out_params": {"cpu_weight": chosen[0], "exact_fit_bonus": chosen[1]},
            "left_out_alloc_130": round(measure(chosen, name), 3),
            "in_sample_alloc_130": round(measure(in_sample, name), 3),
        }
        fgd = reference.get(name, {}).get("FGD")
        if fgd is not None:
            fgd_unallocated = fgd.unallocated_gpus_mean
            for label in ("left_out", "in_sample"):
                ours = unallocated_gpus(row[f"{label}_alloc_130"], total)
                row[f"{label}_fewer_unallocated_than_fgd_pct"] = round(
                    100.0 * (fgd_unallocated - ours) / fgd_unallocated, 2
                )
            row["fgd_published_alloc_130"] = fgd.alloc_130_mean
        rows[name] = row
    document: dict[str, Any] = {
        "bench": "gpu_sharing_tuning",
        "inputs": {
            "nodes": str(args.nodes),
            "pods": [str(p) for p in paths],
            "grid": [{"cpu_weight": w, "exact_fit_bonus": b} for w, b in grid],
            "tuning_seeds": tuning,
            "reported_seeds": reported,
            "quick": args.quick,
            "subsample_stride": stride,
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "timing": {"seconds_total": round(time.perf_counter() - started, 2)},
        "tuning_scores": {
            f"w={w},b={b}": {n: round(v, 3) for n, v in by.items()} for (w, b), by in scores.items()
        },
        "in_sample_params": {"cpu_weight": in_sample[0], "exact_fit_bonus": in_sample[1]},
        "policies": {"slicewise": rows},
    }
    if rows and all("left_out_fewer_unallocated_than_fgd_pct" in r for r in rows.values()):
        document["summary"] = {
            label: round(
                statistics.fmean(
                    r[f"{label}_fewer_unallocated_than_fgd_pct"] for r in rows.values()
                ),
                2,
            )
            for label in ("left_out", "in_sample")
        }
    emit(document, args.out)
    return document


if __name__ == "__main__":
    main()
