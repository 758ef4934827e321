"""GPU-sharing placement on the Alibaba GPU trace: our policy against the six FGD-paper baselines.

Follows the published simulation protocol (`fgd-reference/PROTOCOL.md`): per seed, the pod list is
shuffled and topped up (or trimmed) to 130 % of the cluster's GPU capacity, pods are offered one by
one and never deleted, and a pod no node can take fails for good. The figure is the allocation %
by arrived %, and its value at 130 %. With `--reference`, the published figures are set beside ours.

With `--product`, each pod list is also turned into a cluster snapshot and planned by the
product's GPU sharing analysis (`bench.gpusim.product`): GPU nodes it frees and the allocation it
reaches, beside what the placement engine's packing of the same pods frees.

    python -m bench.gpu_sharing [--nodes FILE] [--pods FILE ...] [--all-workloads]
        [--policies NAME ...] [--seeds N] [--reference FILE] [--product] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench.gpusim.product import product_figures
from bench.gpusim.reference import read_reference
from bench.gpusim.runs import POLICIES, RunResult, init_worker, load_workload, run_task
from bench.gpusim.summary import (
    against_fgd,
    group_runs,
    policy_figures,
    published_figures,
    reproduction_rows,
)
from bench.json_output import emit
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data"
TRACE_DIR = DATA / "alibaba-gpu-v2023"
DEFAULT_NODES = TRACE_DIR / "openb_node_list_gpu_node.csv"
DEFAULT_PODS = TRACE_DIR / "openb_pod_list_default.csv"
ALL_WORKLOADS = ("default", "cpu050", "gpushare40", "gpuspec10", "multigpu20")
DEFAULT_REFERENCE = DATA / "fgd-reference" / "summary_at_130.csv"
FIRST_SEED = 42
QUICK_STRIDE = 8


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags (ARCHITECTURE.md section 6)."""
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_sharing", description=__doc__)
    parser.add_argument("--nodes", type=Path, default=DEFAULT_NODES, help="node list CSV")
    parser.add_argument(
        "--pods", type=Path, action="append", help="pod list CSV (repeatable; default: default)"
    )
    parser.add_argument(
        "--all-workloads", action="store_true", help="run the five published pod lists"
    )
    parser.add_argument("--policies", nargs="+", choices=sorted(POLICIES), default=list(POLICIES))
    parser.add_argument("--seeds", type=int, default=10, help="seeds 42, 43, ... (default 10)")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--no-reference", action="store_true", help="skip published figures")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--quick", action="store_true", help="1 seed on every 8th node and pod: a smoke run"
    )
    parser.add_argument(
        "--product", action="store_true", help="also run the product's analysis on each list"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    return parser.parse_args(argv)


def _pod_files(args: argparse.Namespace) -> list[Path]:
    if args.all_workloads:
        return [TRACE_DIR / f"openb_pod_list_{name}.csv" for name in ALL_WORKLOADS]
    return list(args.pods or [DEFAULT_PODS])


def _run_all(
    workloads: dict[str, tuple[Path, Path, int]],
    tasks: list[tuple[str, str, int]],
    workers: int,
) -> list[RunResult]:
    if workers <= 1:
        init_worker(workloads)
        return [run_task(task) for task in tasks]
    # Spawn, not fork: forking a process that runs threads (a test runner, an event loop) can
    # copy a held lock into the child and hang it.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=init_worker, initargs=(workloads,)) as pool:
        results: list[RunResult] = []
        for done, result in enumerate(pool.imap_unordered(run_task, tasks), start=1):
            print(
                f"[{done}/{len(tasks)}] {result.workload} {result.policy} seed {result.seed}: "
                f"{result.curve[-1]} % in {result.seconds:.1f} s",
                file=sys.stderr,
            )
            results.append(result)
        return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the bench, print its JSON document and return it."""
    args = parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    stride = QUICK_STRIDE if args.quick else 1
    pod_files = _pod_files(args)
    workloads = {path.stem: (args.nodes, path, stride) for path in pod_files}
    seed_values = [FIRST_SEED + i for i in range(seeds)]
    started = time.perf_counter()
    timings: dict[str, float] = {}
    results: list[RunResult] = []
    for name, workload in workloads.items():
        tasks = [(name, policy, seed) for policy in args.policies for seed in seed_values]
        begun = time.perf_counter()
        results.extend(_run_all({name: workload}, tasks, args.workers))
        timings[name] = round(time.perf_counter() - begun, 2)
    sizes = {name: load_workload(*workloads[name]).nodes.total_gpus for name in workloads}
    grouped = group_runs(results)
    ours = {
        workload: {policy: policy_figures(runs, sizes[workload]) for policy, runs in by.items()}
        for workload, by in grouped.items()
    }
    reference = {} if args.no_reference else read_reference(args.reference)
    document: dict[str, Any] = {
        "bench": "gpu_sharing",
        "inputs": {
            "nodes": str(args.nodes),
            "pods": [str(path) for path in pod_files],
            "policies": args.policies,
            "seeds": seed_values,
            "target_arrived_pct": 130,
            "quick": args.quick,
            "subsample_stride": stride,
            "reference": None if args.no_reference else str(args.reference),
            "total_gpus": sizes,
        },
        "machine": {
            "cores": os.cpu_count(),
            "workers": args.workers,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "timing": {
            "seconds_total": round(time.perf_counter() - started, 2),
            "seconds_per_workload": timings,
            "runs_per_workload": len(args.policies) * seeds,
        },
        "policies": {
            policy: {
                workload: ours[workload][policy] for workload in ours if policy in ours[workload]
            }
            for policy in args.policies
        },
    }
    if reference:
        document["published"] = {
            policy: {
                workload: published_figures(reference[workload][policy])
                for workload in ours
                if policy in reference.get(workload, {})
            }
            for policy in sorted({p for w in ours for p in reference.get(w, {})})
        }
        # A subsample's figures are not comparable with the full cluster's published ones.
        if not args.quick:
            document["reproduction"] = reproduction_rows(ours, reference)
            document["slicewise_vs_published_fgd"] = against_fgd(ours, reference)
    if args.product:
        pricebook = PriceBook(catalogues=bundled_catalogues())
        document["product"] = {
            name: product_figures(load_workload(*workload), seed_values, pricebook)
            for name, workload in workloads.items()
        }
    emit(document, args.out)
    return document


if __name__ == "__main__":
    main()
