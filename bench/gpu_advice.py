"""GPU sharing advice on real per-container GPU usage (Alibaba GenAI trace), learned then scored.

Each container's series is split in time: the advice is learned on the first half and scored on
the second. Figures: containers per advice kind, whole GPUs freed, the monthly saving, and the
share of scored minutes in which the container's GPU memory or duty cycle exceeded the budget
the advice gave it (must stay under 1 %). The GPU model is not in the trace: it is a flag.
Headroom is calibrated on the learning half only. Baselines from the same run: keeping every
GPU whole, the advice with the default headroom, and the advice with no headroom.

    python -m bench.gpu_advice [--genai DIR] [--gpu-product NAME] [--gpu-memory-gib N]
        [--gpu-hourly-usd X] [--memory-headroom X] [--duty-headroom X] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.gpu_genai import ContainerSeries, read_containers
from bench.json_output import emit
from protocol.changes import WorkloadRef
from protocol.snapshot import WorkloadKind
from recommender.gpu.advice import GpuWorkload, Headroom, SharingAdvice, advise
from recommender.gpu.mig_layouts import MigConfig, parse_mig_config
from recommender.gpu.usage_profile import profile_usage

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_GENAI = DATA / "alibaba-genai-v2026"
DEFAULT_MIG_CONFIG = DATA / "mig" / "mig-parted-config-default.yaml"
MIN_LEARN_SAMPLES = 60
"""A container needs an hour of samples in its learning half to be advised."""
QUICK_CONTAINERS = 24
QUICK_ROWS = 40_000
"""Rows per metric in a quick run: about the first six hours of every container."""
# Floors of 5 % (memory) and 10 % (duty): going over memory is an OOM kill, not a slowdown, and
# a learned percentile is itself a noisy estimate.
MEMORY_GRID = (1.05, 1.1, 1.15, 1.2, 1.3)
DUTY_GRID = (1.1, 1.25, 1.5)
CALIBRATION_TARGET_PCT = 0.5
"""Exceed share allowed on the calibration check: half the 1 % limit, as a safety margin."""
GIB = 1024**3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags (ARCHITECTURE.md section 6)."""
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_advice", description=__doc__)
    parser.add_argument("--genai", type=Path, default=DEFAULT_GENAI, help="GenAI trace folder")
    parser.add_argument("--mig-config", type=Path, default=DEFAULT_MIG_CONFIG)
    parser.add_argument(
        "--gpu-product", default="A100-80GB", help="GPU of the traced containers (not in data)"
    )
    parser.add_argument("--gpu-memory-gib", type=float, default=80.0)
    parser.add_argument("--gpu-hourly-usd", type=float, default=2.5)
    parser.add_argument(
        "--memory-headroom", type=float, help="fixed memory factor (default: calibrated)"
    )
    parser.add_argument(
        "--duty-headroom", type=float, help="fixed duty factor (default: calibrated)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="first hours of the first containers: a smoke run"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    return parser.parse_args(argv)


def duty_scale(containers: list[ContainerSeries]) -> float:
    """1.0 when duty cycles are fractions, 0.01 when the trace gives them in percent."""
    peak = max(
        (float(np.nanmax(c.duty)) for c in containers if np.any(~np.isnan(c.duty))), default=0
    )
    return 0.01 if peak > 1.0 else 1.0


def _subject(
    container: ContainerSeries, learn: slice, args: argparse.Namespace, scale: float
) -> GpuWorkload:
    usage = profile_usage(container.duty[learn] * scale, container.memory_bytes[learn])
    return GpuWorkload(
        workload=WorkloadRef(
            kind=WorkloadKind.DEPLOYMENT, namespace="genai", name=f"c-{container.container[:16]}"
        ),
        container="inference",
        replicas=1,
        gpus_per_replica=1,
        gpu_product=args.gpu_product,
        gpu_memory_bytes=int(args.gpu_memory_gib * GIB),
        usage=usage,
    )


def _score(
    container: ContainerSeries,
    scored: slice,
    scale: float,
    memory_budget: float,
    duty_budget: float,
) -> tuple[int, int, int, int]:
    """(scored minutes, exceeded minutes, memory-exceeded, duty-exceeded) of the second half."""
    duty = container.duty[scored] * scale
    memory = container.memory_bytes[scored]
    seen = ~(np.isnan(duty) & np.isnan(memory))
    over_memory = np.nan_to_num(memory, nan=0.0) > memory_budget
    over_duty = np.nan_to_num(duty, nan=0.0) > duty_budget + 1e-9
    over = (over_memory | over_duty) & seen
    return (
        int(seen.sum()),
        int(over.sum()),
        int((over_memory & seen).sum()),
        int((over_duty & seen).sum()),
    )


def evaluate(
    containers: list[ContainerSeries],
    args: argparse.Namespace,
    headroom: Headroom,
    mig_config: MigConfig,
    window: tuple[float, float, float] = (0.0, 0.5, 1.0),
) -> tuple[dict[str, Any], list[SharingAdvice]]:
    """Learn on one part of every series, score on the next; figures and the advice.

    `window` gives the start of learning, the split, and the end of scoring as shares of each
    series (default: learn on the first half, score on the second).
    """
    scale = duty_scale(containers)
    kinds: Counter[str] = Counter()
    totals = {"scored": 0, "exceeded": 0, "memory": 0, "duty": 0}
    by_kind: dict[str, dict[str, int]] = {}
    advice_list: list[SharingAdvice] = []
    skipped = 0
    for container in containers:
        size = container.minutes.size
        start, split, end = (int(size * share) for share in window)
        learn, scored = slice(start, split), slice(split, end)
        if np.count_nonzero(~np.isnan(container.duty[learn])) < MIN_LEARN_SAMPLES:
            skipped += 1
            continue
        advice = advise(
            _subject(container, learn, args, scale),
            gpu_hourly_usd=args.gpu_hourly_usd,
            mig_config=mig_config,
            headroom=headroom,
        )
        advice_list.append(advice)
        kinds[advice.kind.value] += 1
        counts = _score(container, scored, scale, advice.memory_budget_bytes, advice.duty_budget)
        kind_totals = by_kind.setdefault(advice.kind.value, {"scored": 0, "exceeded": 0})
        kind_totals["scored"] += counts[0]
        kind_totals["exceeded"] += counts[1]
        for key, value in zip(("scored", "exceeded", "memory", "duty"), counts, strict=True):
            totals[key] += value
    scored_minutes = max(totals["scored"], 1)
    figures = {
        "containers_advised": len(advice_list),
        "containers_skipped_short": skipped,
        "containers_per_kind": dict(sorted(kinds.items())),
        "gpus_freed": round(sum(a.gpus_freed for a in advice_list), 2),
        "monthly_saving_usd": round(sum(a.monthly_saving_usd for a in advice_list), 2),
        "scored_minutes": totals["scored"],
        "exceeded_minutes": totals["exceeded"],
        "exceed_share_pct": round(100.0 * totals["exceeded"] / scored_minutes, 3),
        "memory_exceed_share_pct": round(100.0 * totals["memory"] / scored_minutes, 3),
        "duty_exceed_share_pct": round(100.0 * totals["duty"] / scored_minutes, 3),
        "exceed_share_pct_by_kind": {
            kind: round(100.0 * t["exceeded"] / max(t["scored"], 1), 3)
            for kind, t in sorted(by_kind.items())
        },
        "mig_profiles": dict(Counter(a.mig_profile for a in advice_list if a.mig_profile)),
        "sharing_replicas": dict(
            Counter(f"{a.kind.value}x{a.sharing.replicas}" for a in advice_list if a.sharing)
        ),
    }
    return figures, advice_list


def calibrate_headroom(
    containers: list[ContainerSeries], args: argparse.Namespace, mig_config: MigConfig
) -> tuple[Headroom, list[dict[str, Any]]]:
    """Pick headroom on the learning half only: learn on its first half, check on its second.

    The smallest factors whose exceed share on that check stays within `CALIBRATION_TARGET_PCT`
    win (most GPUs freed); the held-out second half of every series is never looked at.
    """
    trials: list[dict[str, Any]] = []
    best: tuple[float, Headroom] | None = None
    for memory in MEMORY_GRID:
        for duty in DUTY_GRID:
            headroom = Headroom(memory=memory, duty=duty)
            figures, _ = evaluate(containers, args, headroom, mig_config, (0.0, 0.25, 0.5))
            trials.append(
                {
                    "memory": memory,
                    "duty": duty,
                    "exceed_share_pct": figures["exceed_share_pct"],
                    "gpus_freed": figures["gpus_freed"],
                }
            )
            if figures["exceed_share_pct"] <= CALIBRATION_TARGET_PCT and (
                best is None or figures["gpus_freed"] > best[0]
            ):
                best = (figures["gpus_freed"], headroom)
    return (best[1] if best else Headroom()), trials


def _whole_gpu(advised: int) -> dict[str, Any]:
    """Status quo for the same containers: each keeps its GPU; nothing freed, nothing exceeded."""
    return {
        "containers_advised": advised,
        "containers_per_kind": {"whole-gpu": advised},
        "gpus_freed": 0.0,
        "monthly_saving_usd": 0.0,
        "exceed_share_pct": 0.0,
    }


def _table(policies: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'policy':<17} {'kinds':<48} {'GPUs freed':>10} {'$/month':>10} {'exceed %':>9}"]
    for name, figures in policies.items():
        kinds = ", ".join(f"{k} {v}" for k, v in figures["containers_per_kind"].items())
        lines.append(
            f"{name:<17} {kinds:<48} {figures['gpus_freed']:>10.2f} "
            f"{figures['monthly_saving_usd']:>10.0f} {figures['exceed_share_pct']:>9.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the bench, print its table (stderr) and JSON document (stdout), and return it."""
    args = parse_args(argv)
    started = time.perf_counter()
    containers = read_containers(args.genai, QUICK_ROWS if args.quick else None)
    if args.quick:
        containers = containers[:QUICK_CONTAINERS]
    mig_config = parse_mig_config(args.mig_config.read_text())
    calibrated, trials = calibrate_headroom(containers, args, mig_config)
    headroom = Headroom(
        memory=args.memory_headroom or calibrated.memory,
        duty=args.duty_headroom or calibrated.duty,
    )
    ours, _ = evaluate(containers, args, headroom, mig_config)
    fixed, _ = evaluate(containers, args, Headroom(), mig_config)
    bare, _ = evaluate(containers, args, Headroom(memory=1.0, duty=1.0), mig_config)
    policies = {
        "slicewise": ours,
        "whole-gpu": _whole_gpu(ours["containers_advised"]),
        "default-headroom": fixed,
        "no-headroom": bare,
    }
    document: dict[str, Any] = {
        "bench": "gpu_advice",
        "inputs": {
            "genai": str(args.genai),
            "mig_config": str(args.mig_config),
            "gpu_product": args.gpu_product,
            "gpu_memory_gib": args.gpu_memory_gib,
            "gpu_hourly_usd": args.gpu_hourly_usd,
            "headroom": {"memory": headroom.memory, "duty": headroom.duty},
            "headroom_default": {"memory": Headroom().memory, "duty": Headroom().duty},
            "headroom_calibration": {
                "method": "learn on the first quarter, check on the second (learning half only)",
                "target_exceed_pct": CALIBRATION_TARGET_PCT,
                "trials": trials,
            },
            "duty_quantile_learned": 0.995,
            "split": "learn on the first half of each series, score on the second",
            "duty_unit_detected": "percent" if duty_scale(containers) < 1 else "fraction",
            "containers": len(containers),
            "quick": args.quick,
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "seconds": round(time.perf_counter() - started, 2),
        "policies": policies,
        "exceed_share_under_1pct": ours["exceed_share_pct"] < 1.0,
    }
    print(_table(policies), file=sys.stderr)
    emit(document, args.out)
    return document


if __name__ == "__main__":
    main()
