"""Autoscaling quality: replica-hours and under-provisioned minutes of slicewise vs baselines.

Demand series: every Bitbrains-format VM's CPU usage (`--vms DIR`) as one service's demand, and
the GenAI trace's GPU duty summed over containers dealt into `--genai-services` services
(`--genai DIR`). Each policy learns on the first part of a series (`--learn-fraction`) and is
replayed on the rest (`bench.autoscaling_policies`): static peak provisioning, the Kubernetes
HPA algorithm, a business-hours KEDA cron schedule and ours (on the GPU series as KEDA runs it,
on the demand signal, and as the cluster without KEDA gets it, `slicewise-no-keda`).

Two folds: our parameters are chosen on the services with odd ids and scored on the even ones,
then the other way round (`bench.autoscaling_tuning`). "policies" pools every service scored by
the fold that did not see it; each fold also reports the half it was tuned on.

    python -m bench.autoscaling [--vms DIR] [--genai DIR] [--out FILE] [--quick]
                                [--require-dominance]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench.autoscaling_policies import (
    BASELINE_PARAMETERS,
    BASELINES,
    NO_KEDA,
    Assessments,
    Case,
    Tally,
    make_case,
    slicewise,
    slicewise_without_keda,
)
from bench.autoscaling_series import ServiceDemand, genai_services, vm_services
from bench.autoscaling_tuning import choose
from bench.gpu_genai import read_containers
from bench.json_output import emit
from bench.rightsizing_data import tuning_half
from recommender.autoscaling.pattern import detect_pattern
from recommender.autoscaling.policy import ScalingPolicy

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_VMS = DATA / "bitbrains-rnd"
DEFAULT_GENAI = DATA / "alibaba-genai-v2026"
QUICK_VMS = 4
QUICK_GENAI_ROWS = 40_000
FOLDS = ("odd", "even")


def score(
    cases: Sequence[Case], ours: ScalingPolicy, assessments: Assessments, *, gpu: bool = False
) -> dict[str, Tally]:
    """Every policy's pooled tally over `cases` (with `gpu`, also our variant without KEDA)."""
    tallies: dict[str, Tally] = {}
    for case in cases:
        for name, policy in BASELINES.items():
            tallies.setdefault(name, Tally()).add(case.name, policy(case), case)
        replay = slicewise(case, ours, assessments, gpu=gpu)
        tallies.setdefault("slicewise", Tally()).add(case.name, replay, case)
        if gpu:
            floor = slicewise_without_keda(case, ours, assessments)
            tallies.setdefault(NO_KEDA, Tally()).add(case.name, floor, case)
    return tallies


def merge(parts: Sequence[dict[str, Tally]]) -> dict[str, Tally]:
    """Tallies of disjoint service sets, pooled."""
    merged: dict[str, Tally] = {}
    for part in parts:
        for name, tally in part.items():
            into = merged.setdefault(name, Tally())
            into.replica_hours += tally.replica_hours
            into.minutes += tally.minutes
            into.under_minutes += tally.under_minutes
            into.per_service.update(tally.per_service)
    return merged


def comparison(figures: dict[str, dict[str, float]]) -> dict[str, object]:
    """Ours against each baseline: replica-hour ratio and the targets of issue #20."""
    if "slicewise" not in figures:
        return {}
    ours = figures["slicewise"]
    ratios = {
        name: {
            "replica_hours_ratio": round(ours["replica_hours"] / f["replica_hours"], 4)
            if f["replica_hours"]
            else None,
            "under_provisioned_delta": round(
                ours["under_provisioned_share"] - f["under_provisioned_share"], 5
            ),
        }
        for name, f in figures.items()
        if name not in {"slicewise", NO_KEDA}
    }
    hpa, static = figures["HPA"], figures["static-peak"]
    fewer_hours = ours["replica_hours"] < hpa["replica_hours"]
    no_more_risk = ours["under_provisioned_share"] <= hpa["under_provisioned_share"]
    less_risk = ours["under_provisioned_share"] < hpa["under_provisioned_share"]
    no_more_hours = ours["replica_hours"] <= hpa["replica_hours"]
    return {
        "vs": ratios,
        "beats_hpa": (fewer_hours and no_more_risk) or (less_risk and no_more_hours),
        "at_least_30pct_fewer_than_static_peak": ours["replica_hours"]
        <= 0.7 * static["replica_hours"],
    }


def evaluate(
    cases: list[Case], quick: bool, base: ScalingPolicy, *, gpu: bool = False
) -> dict[str, object]:
    """Two-fold evaluation of one set of services, our risk weight chosen around `base`.

    With `gpu` (the GPU-duty series) our variant without KEDA is scored beside the rest.
    """
    names = [c.name for c in cases]
    folds: dict[str, object] = {}
    held_out: list[dict[str, Tally]] = []
    assessments = Assessments()
    for parity in FOLDS:
        tune_names = tuning_half(names, parity)
        tune = [c for c in cases if c.name in tune_names]
        rest = [c for c in cases if c.name not in tune_names]
        ours, selection = choose(tune, quick, assessments, base, gpu=gpu) if tune else (base, {})
        tuned = score(tune, ours, assessments, gpu=gpu)
        unseen = score(rest, ours, assessments, gpu=gpu)
        held_out.append(unseen)
        tuned_f = {n: t.figures() for n, t in tuned.items()}
        unseen_f = {n: t.figures() for n, t in unseen.items()}
        folds[f"tuned_on_{parity}"] = {
            "parameters": asdict(ours),
            "tuning_services": sorted(tune_names, key=lambda n: (len(n), n)),
            "tuning": tuned_f,
            "held_out": unseen_f,
            "comparison_tuning": comparison(tuned_f),
            "comparison_held_out": comparison(unseen_f),
            "selection": selection,
        }
    pooled = {n: t.figures() for n, t in merge(held_out).items()}
    return {"policies": pooled, "comparison": comparison(pooled), "folds": folds}


def cases_of(
    services: list[ServiceDemand], learn_fraction: float, replicas_at_peak: int
) -> tuple[list[Case], dict[str, object]]:
    """Cases for the services that have demand, and what each service looked like."""
    cases: list[Case] = []
    described: dict[str, object] = {}
    for service in services:
        case = make_case(service.name, service.demand, learn_fraction, replicas_at_peak)
        if case is None:
            described[service.name] = {"skipped": "no demand in the learned part"}
            continue
        cases.append(case)
        pattern = detect_pattern(case.learn)
        described[service.name] = {
            "pattern": pattern.period.value,
            "daily_strength": round(pattern.daily_strength, 3),
            "weekly_strength": round(pattern.weekly_strength, 3),
            "capacity_per_replica": case.capacity,
        }
    return cases, described


def run(args: argparse.Namespace) -> dict[str, object]:
    """Load both data sets, evaluate each."""
    started = time.perf_counter()
    vms = list(vm_services(args.vms, limit=QUICK_VMS if args.quick else None))
    print(f"{len(vms)} VM services loaded", file=sys.stderr)
    vm_cases, vm_described = cases_of(vms, args.learn_fraction, args.replicas_at_peak)
    result: dict[str, object] = {
        "bench": "autoscaling",
        "inputs": {
            "vms_dir": str(args.vms),
            "genai_dir": str(args.genai) if args.genai else None,
            "learn_fraction": args.learn_fraction,
            "replicas_at_peak": args.replicas_at_peak,
            "quick": args.quick,
            "require_dominance": args.require_dominance,
            "folds": "parameters chosen on odd ids scored on even ids, and the other way round",
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "parameters": BASELINE_PARAMETERS,
    }
    base = ScalingPolicy(require_dominance=args.require_dominance)
    bitbrains = evaluate(vm_cases, args.quick, base)
    result["policies"] = bitbrains["policies"]
    result["comparison"] = bitbrains["comparison"]
    result["bitbrains"] = {**bitbrains, "services": vm_described}
    if args.genai and args.genai.exists():
        containers = read_containers(args.genai, QUICK_GENAI_ROWS if args.quick else None)
        services = genai_services(containers, args.genai_services)
        genai_cases, genai_described = cases_of(
            services, args.genai_learn_fraction, args.replicas_at_peak
        )
        genai = evaluate(genai_cases, args.quick, base, gpu=True)
        result["genai"] = {**genai, "services": genai_described}
    result["elapsed_seconds"] = round(time.perf_counter() - started, 2)
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Parse flags, run, print the JSON document (and write it with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--vms", type=Path, default=DEFAULT_VMS, help="folder of VM traces")
    parser.add_argument("--genai", type=Path, default=DEFAULT_GENAI, help="GenAI trace folder")
    parser.add_argument("--genai-services", type=int, default=8)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--quick", action="store_true", help="4 VMs, the GenAI trace's first rows")
    parser.add_argument("--seeds", type=int, default=1, help="unused: replays are deterministic")
    parser.add_argument("--learn-fraction", type=float, default=1 / 3)
    parser.add_argument("--genai-learn-fraction", type=float, default=0.5)
    parser.add_argument("--replicas-at-peak", type=int, default=8)
    parser.add_argument(
        "--require-dominance",
        action="store_true",
        help="our choice only among candidates that dominate the 70 %% HPA on the history",
    )
    args = parser.parse_args(argv)
    result = run(args)
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
