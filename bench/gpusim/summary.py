"""Fold run results into per-policy figures and set them beside the published ones."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from bench.gpusim.metric import CURVE_END, unallocated_gpus
from bench.gpusim.reference import PublishedFigures
from bench.gpusim.runs import RunResult

REPRODUCED = ("BestFit", "FGD")
"""Policies whose published mean allocation at 130 % we must land within one point of."""
TOLERANCE_PP = 1.0
OURS = "slicewise"


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _std(values: list[float]) -> float:
    return statistics.pstdev(values) if len(values) > 1 else 0.0


def _curve_mean(curves: list[list[float | None]]) -> list[float | None]:
    out: list[float | None] = []
    for x in range(CURVE_END + 1):
        values = [value for curve in curves if (value := curve[x]) is not None]
        out.append(round(_mean(values), 3) if values else None)
    return out


def policy_figures(runs: list[RunResult], total_gpus: int) -> dict[str, Any]:
    """Mean and std of allocation % at 130 %, unallocated GPUs, failures, the mean curve."""
    at_end = [float(run.curve[CURVE_END] or 0.0) for run in runs]
    unallocated = [unallocated_gpus(value, total_gpus) for value in at_end]
    return {
        "seeds": [run.seed for run in runs],
        "alloc_130_mean": round(_mean(at_end), 3),
        "alloc_130_std": round(_std(at_end), 4),
        "alloc_130_by_seed": at_end,
        "unallocated_gpus_mean": round(_mean(unallocated), 2),
        "unallocated_gpus_std": round(_std(unallocated), 2),
        "failed_pods_mean": round(_mean([float(run.failed_pods) for run in runs]), 1),
        "arrived_pods_mean": round(_mean([float(run.arrived_pods) for run in runs]), 1),
        "seconds_per_run_median": round(statistics.median(run.seconds for run in runs), 3),
        "curve": _curve_mean([run.curve for run in runs]),
    }


def group_runs(results: Iterable[RunResult]) -> dict[str, dict[str, list[RunResult]]]:
    """Results by workload, then policy, seeds in order."""
    grouped: dict[str, dict[str, list[RunResult]]] = defaultdict(lambda: defaultdict(list))
    for result in sorted(results, key=lambda r: (r.workload, r.policy, r.seed)):
        grouped[result.workload][result.policy].append(result)
    return grouped


def published_figures(figures: PublishedFigures) -> dict[str, Any]:
    """The published figures of one workload and policy as JSON."""
    return {
        "seeds": figures.seeds,
        "alloc_130_mean": figures.alloc_130_mean,
        "alloc_130_std": figures.alloc_130_std,
        "unallocated_gpus_mean": figures.unallocated_gpus_mean,
        "unallocated_gpus_std": figures.unallocated_gpus_std,
        "curve": list(figures.curve_mean),
    }


def reproduction_rows(
    ours: Mapping[str, Mapping[str, Mapping[str, Any]]],
    published: Mapping[str, Mapping[str, PublishedFigures]],
) -> list[dict[str, Any]]:
    """Ours vs published mean allocation at 130 %, per workload and policy."""
    rows: list[dict[str, Any]] = []
    for workload, policies in ours.items():
        for policy, figures in policies.items():
            reference = published.get(workload, {}).get(policy)
            if reference is None:
                continue
            gap = figures["alloc_130_mean"] - reference.alloc_130_mean
            rows.append(
                {
                    "workload": workload,
                    "policy": policy,
                    "ours": figures["alloc_130_mean"],
                    "published": reference.alloc_130_mean,
                    "gap_pp": round(gap, 3),
                    "within_1pp": abs(gap) <= TOLERANCE_PP,
                    "required": policy in REPRODUCED,
                }
            )
    return rows


def against_fgd(
    ours: Mapping[str, Mapping[str, Mapping[str, Any]]],
    published: Mapping[str, Mapping[str, PublishedFigures]],
) -> dict[str, Any]:
    """Slicewise against published FGD (and our FGD of the same run), per workload."""
    rows: list[dict[str, Any]] = []
    for workload, policies in ours.items():
        mine = policies.get(OURS)
        reference = published.get(workload, {}).get("FGD")
        if mine is None or reference is None:
            continue
        fewer = 1.0 - mine["unallocated_gpus_mean"] / reference.unallocated_gpus_mean
        same_run = policies.get("FGD")
        fewer_same_run = (
            round(
                100.0 * (1.0 - mine["unallocated_gpus_mean"] / same_run["unallocated_gpus_mean"]), 2
            )
            if same_run
            else None
        )
        rows.append(
            {
                "workload": workload,
                "slicewise_alloc_130": mine["alloc_130_mean"],
                "published_fgd_alloc_130": reference.alloc_130_mean,
                "beats_published_fgd": mine["alloc_130_mean"] > reference.alloc_130_mean,
                "slicewise_unallocated_gpus": mine["unallocated_gpus_mean"],
                "published_fgd_unallocated_gpus": reference.unallocated_gpus_mean,
                "fewer_unallocated_pct": round(100.0 * fewer, 2),
                "our_fgd_unallocated_gpus": same_run["unallocated_gpus_mean"] if same_run else None,
                "fewer_unallocated_than_our_fgd_pct": fewer_same_run,
            }
        )
    average = _mean([row["fewer_unallocated_pct"] for row in rows])
    return {
        "rows": rows,
        "beats_published_fgd_everywhere": bool(rows)
        and all(r["beats_published_fgd"] for r in rows),
        "fewer_unallocated_pct_mean": round(average, 2) if rows else None,
    }
