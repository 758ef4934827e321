"""The placement policy on the published trace families, its parameters chosen family by family.

Pod lists of the four published families (CPU-only heavy, GPU-sharing heavy, multi-GPU heavy,
GPU-model constrained) are derived from the default list by their recipes
(`bench.gpusim.families`), several generator seeds each, beside the real lists we have. Every list
is placed by FGD (this repository's reproduction, checked against the published figures by
`bench.gpu_sharing`) and by the slicewise policy under each setting of a grid, with the same
arrival seeds and tie orders.

The figure is the share of FGD's unallocated GPUs at 130 % arrived that slicewise leaves
allocated: (FGD - slicewise) / FGD. Settings are chosen three ways, and none looks at the list it
is scored on:

* leave one family out: for each family, the setting with the best mean figure over the derived
  lists of the *other* families, scored on that family's derived lists and its real list;
* leave one list out: for each derived list, the setting with the best mean over the derived
  lists of the other published lists (every derivation of its own left out), scored on it;
* derived only: the setting with the best mean over every derived list, scored on the real lists
  (against published FGD as well, where `--reference` has them).

The in-sample setting (best on every derived list) is reported beside each.

    python -m bench.gpu_families [--nodes FILE] [--base FILE] [--constrained FILE]
        [--pods FILE ...] [--lists NAME ...] [--generator-seeds N] [--seeds N]
        [--reference FILE] [--workers N] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.gpu_sharing import ALL_WORKLOADS, DEFAULT_REFERENCE, FIRST_SEED, QUICK_STRIDE, TRACE_DIR
from bench.gpusim.arrivals import arrival_order
from bench.gpusim.families import FAMILIES, derive, list_statistics, parse_list_name
from bench.gpusim.metric import unallocated_gpus
from bench.gpusim.reference import read_reference
from bench.gpusim.runs import Workload, allocation_at_130, make_workload
from bench.gpusim.sliver_bound import unfillable_gpus
from bench.gpusim.trace import read_nodes, read_pods
from bench.json_output import emit
from recommender.gpu.placement.fgd import FgdPolicy
from recommender.gpu.placement.policy import PlacementPolicy
from recommender.gpu.placement.slicewise import SlicewisePolicy, SlicewiseSettings

DEFAULT_NODES = TRACE_DIR / "openb_node_list_gpu_node.csv"
DEFAULT_BASE = TRACE_DIR / "openb_pod_list_default.csv"
DEFAULT_CONSTRAINED = TRACE_DIR / "openb_pod_list_gpuspec10.csv"
DERIVED_LISTS = (
    "cpu100",
    "cpu200",
    "cpu250",
    "gpushare20",
    "gpushare60",
    "gpushare80",
    "gpushare100",
    "gpuspec20",
    "gpuspec25",
    "gpuspec33",
    "multigpu30",
    "multigpu50",
    "multigpu80",
)
"""The published lists we do not have, by name; each is derived here by its family's recipe."""

_EARLIER = SlicewiseSettings(
    cpu_weight=1.0,
    exact_fit_bonus=3,
    score_points=100,
    remainder_weight=1.0,
    remainder_horizon=30.0,
    cpu_pods_to_busy_gpus=True,
    fresh_gpu_fraction=0.0,
)
"""Every field of the earlier product default (setting 8), spelled out so that the grid does not
move when the product's defaults do."""

GRID: tuple[SlicewiseSettings, ...] = (
    *(
        replace(_EARLIER, cpu_weight=w, score_points=p)
        for p, w in itertools.product((100, 1000), (0.5, 1.0, 2.0))
    ),
    *(
        replace(_EARLIER, score_points=p, remainder_weight=v, remainder_horizon=h)
        for p, v, h in (
            (100, 0.0, 30.0),
            (100, 1.0, 10.0),
            (100, 1.0, 30.0),
            (1000, 0.0, 30.0),
            (1000, 1.0, 30.0),
        )
    ),
    *(replace(_EARLIER, fresh_gpu_fraction=f) for f in (0.3, 0.5)),
)
"""Settings 0-5: CPU-stranded weight 0.5, 1 and 2 at the published 100-point score and at 1000
points (setting 1 is setting 8). Settings 6-10 (weight 1): without and with the remainder's
expected waste (weight 1, horizons 10 and 30 offers), at 100 and 1000 points. All of 0-10 send
CPU-only pods to the nodes with the least free GPU and never start fresh GPUs with shares.
Settings 11-12: setting 8 with shares starting the fully free GPUs once fewer than 30 % or 50 %
of GPUs are (`fresh_gpus`; only on mixes where that pays by the expected waste)."""
FGD = "FGD"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags (ARCHITECTURE.md section 6)."""
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_families", description=__doc__)
    parser.add_argument("--nodes", type=Path, default=DEFAULT_NODES, help="node list CSV")
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE, help="list the recipes sample")
    parser.add_argument(
        "--constrained", type=Path, default=DEFAULT_CONSTRAINED, help="list with GPU-model specs"
    )
    parser.add_argument("--pods", type=Path, action="append", help="real lists (default: five)")
    parser.add_argument("--lists", nargs="+", default=list(DERIVED_LISTS), help="lists to derive")
    parser.add_argument("--generator-seeds", type=int, default=2, help="derivations per list")
    parser.add_argument("--seeds", type=int, default=1, help="arrival seeds 42, 43, ...")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--quick", action="store_true", help="every 8th node and pod, two lists")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    return parser.parse_args(argv)


def family_of(name: str) -> str:
    """Family of a list name (`gpushare60-s1`, `gpushare40`); `default` belongs to none."""
    try:
        return parse_list_name(name.split("-s", maxsplit=1)[0]).family
    except ValueError:
        return ""


@dataclass(frozen=True, slots=True)
class Inputs:
    """What every process reads or derives: files, lists to derive, subsampling stride."""

    nodes: Path
    base: Path
    constrained: Path
    real: dict[str, Path]
    derived: list[tuple[str, int]]
    stride: int


_WORKLOADS: dict[str, Workload] = {}


def init_worker(inputs: Inputs) -> None:
    """Read the real lists and derive the others, once per process."""
    nodes = read_nodes(inputs.nodes)
    base = read_pods(inputs.base, nodes.models)
    constrained = read_pods(inputs.constrained, nodes.models)
    for name, path in inputs.real.items():
        _WORKLOADS[name] = make_workload(nodes, read_pods(path, nodes.models), inputs.stride)
    for published, seed in inputs.derived:
        recipe = parse_list_name(published, seed)
        pods = derive(base, recipe, constrained=constrained, models=nodes.models)
        _WORKLOADS[recipe.name] = make_workload(nodes, pods, inputs.stride)


def policy_for(workload: Workload, setting: int) -> PlacementPolicy:
    """FGD for setting -1, else slicewise with `GRID[setting]`."""
    if setting < 0:
        return FgdPolicy(workload.typical)
    return SlicewisePolicy(workload.typical, GRID[setting])


def run_task(task: tuple[str, int, int]) -> tuple[str, int, int, float, float]:
    """(list, setting, seed) -> the same with allocation % at 130 % and seconds."""
    name, setting, seed = task
    started = time.perf_counter()
    workload = _WORKLOADS[name]
    allocation = allocation_at_130(workload, policy_for(workload, setting), seed)
    return name, setting, seed, allocation, time.perf_counter() - started


def run_all(
    inputs: Inputs, tasks: list[tuple[str, int, int]], workers: int
) -> dict[tuple[str, int], list[float]]:
    """Allocation % at 130 % of every task, grouped by (list, setting), progress on stderr."""
    out: dict[tuple[str, int], list[float]] = {}

    def record(done: int, result: tuple[str, int, int, float, float]) -> None:
        name, setting, seed, allocation, seconds = result
        out.setdefault((name, setting), []).append(allocation)
        label = FGD if setting < 0 else f"slicewise#{setting}"
        print(
            f"[{done}/{len(tasks)}] {name} {label} seed {seed}: {allocation} % in {seconds:.0f} s",
            file=sys.stderr,
        )

    if workers <= 1:
        init_worker(inputs)
        for done, task in enumerate(tasks, start=1):
            record(done, run_task(task))
        return out
    # Spawn, not fork: a forked child can inherit a lock held by another thread of the parent.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=init_worker, initargs=(inputs,)) as pool:
        for done, result in enumerate(pool.imap_unordered(run_task, tasks), start=1):
            record(done, result)
    return out


def fewer_unallocated_pct(ours: float, baseline: float, total_gpus: int) -> float:
    """(baseline - ours) / baseline unallocated GPUs at these allocation %, in percent."""
    theirs = unallocated_gpus(baseline, total_gpus)
    return 100.0 * (theirs - unallocated_gpus(ours, total_gpus)) / theirs


def lower_bound_gpus(workload: Workload, seeds: list[int]) -> float:
    """Mean over `seeds` of the GPUs any placement leaves unallocated (`sliver_bound`)."""
    return statistics.fmean(
        unfillable_gpus(
            workload.nodes,
            workload.pods.take(arrival_order(workload.pods, workload.nodes.total_gpus, seed)),
        )
        for seed in seeds
    )


def best_setting(gains: dict[str, list[float]], names: list[str]) -> int:
    """The setting with the highest mean gain over `names` (first in grid order on ties)."""
    return max(range(len(GRID)), key=lambda s: statistics.fmean(gains[n][s] for n in names))


def leave_one_list_out(
    gains: dict[str, list[float]], derived_names: list[str], in_sample: int
) -> dict[str, Any]:
    """Each derived list scored with the setting best on the others, every derivation of its own
    published list left out too (`gpushare60-s0` and `-s1` are one recipe)."""
    lists: dict[str, Any] = {}
    for name in derived_names:
        recipe = name.split("-s", maxsplit=1)[0]
        others = [n for n in derived_names if n.split("-s", maxsplit=1)[0] != recipe]
        chosen = best_setting(gains, others) if others else in_sample
        lists[name] = {
            "setting": chosen,
            "left_out_pct": round(gains[name][chosen], 2),
            "in_sample_pct": round(gains[name][in_sample], 2),
        }
    left_out = [row["left_out_pct"] for row in lists.values()]
    return {
        "lists": lists,
        "mean_left_out_pct": round(statistics.fmean(left_out), 2) if left_out else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Derive, run, choose settings by leaving families out; print the JSON document."""
    args = parse_args(argv)
    started = time.perf_counter()
    stride = QUICK_STRIDE if args.quick else 1
    lists = args.lists[:2] if args.quick else args.lists
    generator_seeds = 1 if args.quick else args.generator_seeds
    real_paths = args.pods or [TRACE_DIR / f"openb_pod_list_{n}.csv" for n in ALL_WORKLOADS]
    real = {path.stem.removeprefix("openb_pod_list_"): path for path in real_paths}
    derived = [(name, seed) for name in lists for seed in range(generator_seeds)]
    derived_names = [parse_list_name(name, seed).name for name, seed in derived]
    seeds = [FIRST_SEED + i for i in range(args.seeds)]
    settings = [-1, *range(len(GRID))]
    tasks = [
        (name, setting, seed)
        for name in [*derived_names, *real]
        for setting in settings
        for seed in seeds
    ]
    inputs = Inputs(args.nodes, args.base, args.constrained, real, derived, stride)
    results = run_all(inputs, tasks, args.workers)
    init_worker(inputs)
    total = {name: _WORKLOADS[name].nodes.total_gpus for name in [*derived_names, *real]}
    mean = {key: statistics.fmean(values) for key, values in results.items()}
    gains = {
        name: [
            fewer_unallocated_pct(mean[name, s], mean[name, -1], total[name])
            for s in range(len(GRID))
        ]
        for name in total
    }
    in_sample = best_setting(gains, derived_names)
    families_present = [f for f in FAMILIES if any(family_of(n) == f for n in derived_names)]
    left_out: dict[str, Any] = {}
    for family in families_present:
        others = [n for n in derived_names if family_of(n) != family]
        chosen = best_setting(gains, others) if others else in_sample
        scored = [n for n in total if family_of(n) == family]
        left_out[family] = {
            "setting": chosen,
            "lists": {
                n: {
                    "left_out_pct": round(gains[n][chosen], 2),
                    "in_sample_pct": round(gains[n][in_sample], 2),
                }
                for n in scored
            },
        }
    reference = {} if args.quick else read_reference(args.reference)
    real_rows: dict[str, Any] = {}
    for name, path in real.items():
        row: dict[str, Any] = {
            "fgd_alloc_130": round(mean[name, -1], 3),
            "slicewise_alloc_130": round(mean[name, in_sample], 3),
            "fewer_unallocated_than_our_fgd_pct": round(gains[name][in_sample], 2),
        }
        published = (reference.get(name) or reference.get(path.stem) or {}).get(FGD)
        if published is not None:
            row["fgd_published_alloc_130"] = published.alloc_130_mean
            row["fewer_unallocated_than_published_fgd_pct"] = round(
                fewer_unallocated_pct(mean[name, in_sample], published.alloc_130_mean, total[name]),
                2,
            )
        real_rows[name] = row
    document: dict[str, Any] = {
        "bench": "gpu_families",
        "inputs": {
            "nodes": str(args.nodes),
            "base": str(args.base),
            "constrained": str(args.constrained),
            "real": {n: str(p) for n, p in real.items()},
            "derived": derived_names,
            "seeds": seeds,
            "grid": [asdict(s) for s in GRID],
            "quick": args.quick,
            "subsample_stride": stride,
        },
        "machine": {
            "cores": os.cpu_count(),
            "workers": args.workers,
            "python": platform.python_version(),
        },
        "timing": {"seconds_total": round(time.perf_counter() - started, 2)},
        "list_statistics": {n: list_statistics(_WORKLOADS[n].pods) for n in total},
        "policies": {
            FGD: {n: round(mean[n, -1], 3) for n in total},
            "slicewise": {
                n: {f"#{s}": round(mean[n, s], 3) for s in range(len(GRID))} for n in total
            },
        },
        "fewer_unallocated_than_fgd_pct": {
            n: {f"#{s}": round(g, 2) for s, g in enumerate(gains[n])} for n in total
        },
        "in_sample_setting": in_sample,
        "unallocated_gpus": {
            n: {
                "lower_bound_any_policy": round(lower_bound_gpus(_WORKLOADS[n], seeds), 1),
                FGD: round(unallocated_gpus(mean[n, -1], total[n]), 1),
                "slicewise": round(unallocated_gpus(mean[n, in_sample], total[n]), 1),
            }
            for n in total
        },
        "leave_one_family_out": left_out,
        "leave_one_list_out": leave_one_list_out(gains, derived_names, in_sample),
        "derived_only_on_real_lists": real_rows,
    }
    emit(document, args.out)
    return document


if __name__ == "__main__":
    main()
