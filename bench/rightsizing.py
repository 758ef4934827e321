"""Rightsizing quality on Bitbrains-format VM traces: VPA vs KRR-simple vs slicewise.

Rolling evaluation per VM (each VM's month files concatenated in time order): learn from 14
days, recommend CPU and memory once, score the recommendation on the next 7 days, slide by 7.
Figures pooled over every VM and window, per policy and resource:

* slack share: sum over test samples of max(recommended - used, 0), over the sum of the
  originally provisioned amount;
* CPU under-provision share / memory risk share: share of test samples whose use exceeds the
  recommendation.

A policy that makes no recommendation for a window (too little evidence) is scored with the
original provisioned amounts, as nothing would change. "original" scores those throughout.

    python -m bench.rightsizing [--vms DIR] [--out FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.rightsizing_data import VmSeries, iter_vms, trace_files
from bench.rightsizing_policies import POLICIES, Training
from recommender.rightsizing.policy import RightsizingPolicy

DAY = 86_400.0
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VMS = REPO_ROOT.parent / "shared" / "data" / "bitbrains-rnd"
ORIGINAL = "original"


@dataclass(slots=True)
class Tally:
    """Pooled sums of one policy over every scored window."""

    cpu_slack: float = 0.0
    cpu_provisioned: float = 0.0
    cpu_recommended: float = 0.0
    cpu_exceeded: int = 0
    memory_slack: float = 0.0
    memory_provisioned: float = 0.0
    memory_recommended: float = 0.0
    memory_exceeded: int = 0
    samples: int = 0
    windows: int = 0
    recommended: int = 0

    def cpu(self) -> dict[str, float]:
        """CPU shares from the sums."""
        return {
            "slack_share": self.cpu_slack / max(self.cpu_provisioned, 1e-12),
            "under_provision_share": self.cpu_exceeded / max(self.samples, 1),
            "recommended_over_provisioned": self.cpu_recommended / max(self.cpu_provisioned, 1e-12),
        }

    def memory(self) -> dict[str, float]:
        """Memory shares from the sums."""
        return {
            "slack_share": self.memory_slack / max(self.memory_provisioned, 1e-12),
            "risk_share": self.memory_exceeded / max(self.samples, 1),
            "recommended_over_provisioned": self.memory_recommended
            / max(self.memory_provisioned, 1e-12),
        }

    def figures(self) -> dict[str, object]:
        """Every figure of the policy."""
        return {
            "cpu": self.cpu(),
            "memory": self.memory(),
            "windows": self.windows,
            "windows_recommended": self.recommended,
            "test_samples": self.samples,
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


def score_vm(
    vm: VmSeries,
    tallies: dict[str, Tally],
    *,
    train: float,
    test: float,
    step: float,
    max_windows: int | None,
) -> int:
    """Score every policy on every window of one VM; returns the number of windows."""
    starts = window_starts(vm.seconds, train, test, step)[:max_windows]
    scored = 0
    for start in starts:
        learn = (vm.seconds >= start) & (vm.seconds < start + train)
        judge = (vm.seconds >= start + train) & (vm.seconds < start + train + test)
        if not learn.any() or not judge.any():
            continue
        scored += 1
        training = Training(
            seconds=vm.seconds[learn],
            cpu_used=vm.cpu_used[learn],
            memory_used=vm.memory_used[learn],
            cpu_request=float(vm.cpu_cores[learn][-1]),
            memory_request=float(vm.memory_bytes[learn][-1]),
            end=start + train,
        )
        cpu_used, memory_used = vm.cpu_used[judge], vm.memory_used[judge]
        cpu_prov, memory_prov = vm.cpu_cores[judge], vm.memory_bytes[judge]
        outcomes = {name: policy(training) for name, policy in POLICIES.items()}
        outcomes[ORIGINAL] = None
        for name, outcome in outcomes.items():
            tally = tallies.setdefault(name, Tally())
            cpu_rec = np.full(cpu_used.shape, outcome[0]) if outcome else cpu_prov
            memory_rec = np.full(memory_used.shape, outcome[1]) if outcome else memory_prov
            tally.cpu_slack += float(np.maximum(cpu_rec - cpu_used, 0).sum())
            tally.cpu_provisioned += float(cpu_prov.sum())
            tally.cpu_recommended += float(cpu_rec.sum())
            tally.cpu_exceeded += int((cpu_used > cpu_rec).sum())
            tally.memory_slack += float(np.maximum(memory_rec - memory_used, 0).sum())
            tally.memory_provisioned += float(memory_prov.sum())
            tally.memory_recommended += float(memory_rec.sum())
            tally.memory_exceeded += int((memory_used > memory_rec).sum())
            tally.samples += int(judge.sum())
            tally.windows += 1
            tally.recommended += outcome is not None
    return scored


def _verdict(ours: dict[str, float], base: dict[str, float], risk: str) -> dict[str, bool]:
    slack_better = ours["slack_share"] < base["slack_share"]
    risk_no_worse = ours[risk] <= base[risk]
    dominated = (
        base["slack_share"] <= ours["slack_share"]
        and base[risk] <= ours[risk]
        and (base["slack_share"] < ours["slack_share"] or base[risk] < ours[risk])
    )
    return {
        "less_slack_at_no_more_risk": slack_better and risk_no_worse,
        "less_risk_at_no_more_slack": ours[risk] < base[risk]
        and ours["slack_share"] <= base["slack_share"],
        "not_dominated": not dominated,
    }


def acceptance(tallies: dict[str, Tally]) -> dict[str, object]:
    """Ours against each baseline, per resource."""
    ours = tallies["slicewise"]
    verdicts: dict[str, dict[str, dict[str, bool]]] = {
        baseline: {
            "cpu": _verdict(ours.cpu(), tallies[baseline].cpu(), "under_provision_share"),
            "memory": _verdict(ours.memory(), tallies[baseline].memory(), "risk_share"),
        }
        for baseline in ("VPA", "KRR-simple")
    }
    passed = all(v["not_dominated"] for per in verdicts.values() for v in per.values())
    return {**verdicts, "passed": passed}


def run(
    vms_dir: Path, *, quick: bool, train_days: float, test_days: float, step_days: float
) -> dict[str, object]:
    """Evaluate every policy on every VM under `vms_dir`."""
    started = time.perf_counter()
    tallies: dict[str, Tally] = {}
    files = trace_files(vms_dir)
    vm_limit, window_limit = (4, 2) if quick else (None, None)
    vms = windows = 0
    for vm in iter_vms(vms_dir, limit=vm_limit):
        vms += 1
        windows += score_vm(
            vm,
            tallies,
            train=train_days * DAY,
            test=test_days * DAY,
            step=step_days * DAY,
            max_windows=window_limit,
        )
        print(f"{vm.vm}: {windows} windows so far", file=sys.stderr)
    policies = {name: tally.figures() for name, tally in tallies.items()}
    return {
        "bench": "rightsizing",
        "inputs": {
            "vms_dir": str(vms_dir),
            "vms": vms,
            "files": sum(len(paths) for paths in files.values()),
            "series": "each VM's files with the same name are concatenated in time order",
            "train_days": train_days,
            "test_days": test_days,
            "step_days": step_days,
            "windows": windows,
            "quick": quick,
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "parameters": {
            "VPA": (
                "CPU p90 of a 24h-half-life histogram x1.15; memory p90 of daily peaks over "
                "8 days x1.15; minimums 25m / 250Mi"
            ),
            "KRR-simple": "CPU p95 of the 14-day history; memory max x1.15; min 10m / 100Mi",
            "slicewise": asdict(RightsizingPolicy()),
        },
        "policies": policies,
        "acceptance": acceptance(tallies) if "slicewise" in tallies else {},
        "elapsed_seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Parse flags, run, print the JSON document (and write it with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--vms", type=Path, default=DEFAULT_VMS, help="folder of VM traces")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--quick", action="store_true", help="4 VMs, 2 windows each")
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
        train_days=args.train_days,
        test_days=args.test_days,
        step_days=args.step_days,
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
