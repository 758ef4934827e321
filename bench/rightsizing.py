"""Rightsizing quality on Bitbrains-format VM traces: VPA vs KRR-simple vs slicewise.

Rolling evaluation per VM (each VM's month files concatenated in time order): learn from 14
days, recommend CPU and memory once, score the recommendation on the next 7 days, slide by 7
(figures defined in `bench.rightsizing_score`; "original" scores the provisioned amounts).

The VMs are split in two halves by id (`--split odd`: odd ids tune, even ids are held out).
Our parameters are chosen on the tuning half alone (`bench.rightsizing_tuning`); "policies"
reports every VM, "held_out" the other half only, "tuning" the half the choice was made on.

    python -m bench.rightsizing [--vms DIR] [--split odd|even] [--out FILE] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.json_output import emit
from bench.rightsizing_data import VmSeries, iter_vms, trace_files, tuning_half
from bench.rightsizing_policies import (
    BASELINES,
    Training,
    fold_training,
    slicewise_estimate,
)
from bench.rightsizing_score import SUBSETS, Tally, Window, subsets_of
from bench.rightsizing_tuning import choose
from recommender.rightsizing.policy import RightsizingPolicy

DAY = 86_400.0
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VMS = REPO_ROOT.parent / "shared" / "data" / "bitbrains-rnd"
ORIGINAL = "original"
BASELINE_PARAMETERS = {
    "VPA": (
        "CPU p90 of a 24h-half-life histogram x1.15; memory p90 of daily peaks over "
        "8 days x1.15; minimums 25m / 250Mi"
    ),
    "KRR-simple": "CPU p95 of the 14-day history; memory max x1.15; min 10m / 100Mi",
}


def window_starts(seconds: np.ndarray, train: float, test: float, step: float) -> list[float]:
    """Start of every window whose test period lies within the series."""
    if seconds.size == 0:
        return []
    starts = []
    start, last = float(seconds[0]), float(seconds[-1])
    while start + train + test <= last + step / 7:
        starts.append(start)
        start += step
    return starts


def windows_of(
    vm: VmSeries, *, tuning: bool, train: float, test: float, step: float, limit: int | None
) -> Iterator[Window]:
    """Every window of one VM, with the baselines' recommendations and our folded state."""
    for start in window_starts(vm.seconds, train, test, step)[:limit]:
        learn = (vm.seconds >= start) & (vm.seconds < start + train)
        judge = (vm.seconds >= start + train) & (vm.seconds < start + train + test)
        if not learn.any() or not judge.any():
            continue
        training = Training(
            seconds=vm.seconds[learn],
            cpu_used=vm.cpu_used[learn],
            memory_used=vm.memory_used[learn],
            cpu_request=float(vm.cpu_cores[learn][-1]),
            memory_request=float(vm.memory_bytes[learn][-1]),
            end=start + train,
        )
        yield Window(
            vm=vm.vm,
            tuning=tuning,
            end=training.end,
            baselines={name: policy(training) for name, policy in BASELINES.items()},
            state=fold_training(training),
            cpu_used=vm.cpu_used[judge],
            memory_used=vm.memory_used[judge],
            cpu_provisioned=vm.cpu_cores[judge],
            memory_provisioned=vm.memory_bytes[judge],
        )


def score(windows: Sequence[Window], ours: RightsizingPolicy) -> dict[str, dict[str, Tally]]:
    """Tallies of every policy, per subset of VMs."""
    tallies: dict[str, dict[str, Tally]] = {subset: {} for subset in SUBSETS}
    for window in windows:
        outcomes = {
            **window.baselines,
            "slicewise": slicewise_estimate(window.state, ours, window.end),
            ORIGINAL: None,
        }
        for subset in subsets_of(window):
            for name, outcome in outcomes.items():
                tallies[subset].setdefault(name, Tally()).add(outcome, window)
    return tallies


def _verdict(ours: dict[str, float], base: dict[str, float], risk: str) -> dict[str, bool]:
    dominated = (
        base["slack_share"] <= ours["slack_share"]
        and base[risk] <= ours[risk]
        and (base["slack_share"] < ours["slack_share"] or base[risk] < ours[risk])
    )
    return {
        "less_slack_at_no_more_risk": ours["slack_share"] < base["slack_share"]
        and ours[risk] <= base[risk],
        "less_risk_at_no_more_slack": ours[risk] < base[risk]
        and ours["slack_share"] <= base["slack_share"],
        "not_dominated": not dominated,
    }


def acceptance(tallies: dict[str, Tally]) -> dict[str, object]:
    """Ours against each baseline, per resource."""
    if "slicewise" not in tallies:
        return {}
    ours = tallies["slicewise"]
    verdicts: dict[str, dict[str, dict[str, bool]]] = {
        baseline: {
            "cpu": _verdict(ours.cpu(), tallies[baseline].cpu(), "under_provision_share"),
            "memory": _verdict(ours.memory(), tallies[baseline].memory(), "risk_share"),
        }
        for baseline in BASELINES
    }
    passed = all(v["not_dominated"] for per in verdicts.values() for v in per.values())
    beats_both = {
        resource: all(per[resource]["less_slack_at_no_more_risk"] for per in verdicts.values())
        for resource in ("cpu", "memory")
    }
    return {**verdicts, "passed": passed, "less_slack_than_both_at_no_more_risk": beats_both}


def run(
    vms_dir: Path,
    *,
    quick: bool,
    split: str,
    train_days: float,
    test_days: float,
    step_days: float,
) -> dict[str, object]:
    """Choose our parameters on the tuning half, then evaluate every policy on every VM."""
    started = time.perf_counter()
    files = trace_files(vms_dir)
    vm_limit, window_limit = (4, 2) if quick else (None, None)
    tuning_vms = tuning_half(list(files), split)
    windows: list[Window] = []
    vms: list[str] = []
    for vm in iter_vms(vms_dir, limit=vm_limit):
        vms.append(vm.vm)
        windows.extend(
            windows_of(
                vm,
                tuning=vm.vm in tuning_vms,
                train=train_days * DAY,
                test=test_days * DAY,
                step=step_days * DAY,
                limit=window_limit,
            )
        )
        print(f"{vm.vm}: {len(windows)} windows so far", file=sys.stderr)
    ours, selection = choose(windows, RightsizingPolicy())
    tallies = score(windows, ours)
    figures = {
        subset: {name: t.figures() for name, t in per.items()} for subset, per in tallies.items()
    }
    return {
        "bench": "rightsizing",
        "inputs": {
            "vms_dir": str(vms_dir),
            "vms": len(vms),
            "files": sum(len(paths) for paths in files.values()),
            "series": "each VM's files with the same name are concatenated in time order",
            "train_days": train_days,
            "test_days": test_days,
            "step_days": step_days,
            "windows": len(windows),
            "split": f"VMs with {split} ids tune our parameters; the others are held out",
            "tuning_vms": [vm for vm in vms if vm in tuning_vms],
            "held_out_vms": [vm for vm in vms if vm not in tuning_vms],
            "quick": quick,
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "parameters": {**BASELINE_PARAMETERS, "slicewise": asdict(ours)},
        "selection": selection,
        "policies": figures["all"],
        "held_out": figures["held_out"],
        "tuning": figures["tuning"],
        "acceptance": acceptance(tallies["all"]),
        "acceptance_held_out": acceptance(tallies["held_out"]),
        "elapsed_seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Parse flags, run, print the JSON document (and write it with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--vms", type=Path, default=DEFAULT_VMS, help="folder of VM traces")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--quick", action="store_true", help="4 VMs, 2 windows each")
    parser.add_argument(
        "--split",
        choices=("odd", "even"),
        default="odd",
        help="which VM ids choose our parameters; the other half is held out",
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="unused: the evaluation is deterministic"
    )
    parser.add_argument("--train-days", type=float, default=14.0)
    parser.add_argument("--test-days", type=float, default=7.0)
    parser.add_argument("--step-days", type=float, default=7.0)
    args = parser.parse_args(argv)
    result = run(
        args.vms,
        quick=args.quick,
        split=args.split,
        train_days=args.train_days,
        test_days=args.test_days,
        step_days=args.step_days,
    )
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
