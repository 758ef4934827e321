"""Spot placement on measured spot availability traces: cost and availability per policy.

A service needs R ready replicas; a new replica serves after a warm-up. Every scenario (a
folder of per-zone traces of one resource) is replayed tick by tick under each policy (see
`bench.spot_policies`). Prices come from the bundled AWS catalogue (on-demand) and the spot
advisor (discount per region), for the instance type each trace's resource names. Figures:
cost relative to all on-demand, availability (share of time with at least R ready replicas),
preemptions suffered; per scenario and pooled over all scenarios (weighted by time).

Ours ("slicewise") is `recommender.spot.split.plan_split`, the function the live spot
recommendations call, under each setting of `SETTINGS_GRID`. Settings are chosen
leave-one-scenario-out: for each scenario, the cheapest setting (pooled over the other
scenarios, the held-in ones) that reaches the target availability on every held-in scenario;
the scenario itself is then scored with it (left-out). `policies.slicewise` pools those
left-out runs; `leave_one_out` lists both figures per scenario, and
`parameters.slicewise_chosen_on_all` the setting chosen on every scenario (the split settings of
which are the product's defaults).

SpotHedge is also swept over N_extra (0-3) and base on-demand replicas (0-R), each setting's
figures listed per scenario (`scenarios.<name>.spothedge_grid`); "SpotHedge at matched
availability" is the cheapest of those reaching at least our availability.

Our replay starts spot only as `recommender.spot.move.decide_move` allows (see
`bench.spot_policies`), the rule the live recommendations follow: its cost never exceeds
always-on-demand's, on any scenario and at any tick.

    python -m bench.spot [--traces DIR] [--advisor FILE] [--replicas R] [--warmup S] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from itertools import product
from pathlib import Path

from bench.json_output import emit
from bench.spot_policies import (
    CheapestZone,
    EvenSpread,
    OnDemandOnly,
    RoundRobin,
    Slicewise,
    SpotHedge,
)
from bench.spot_sim import Outcome, Policy, Prices, replay
from bench.spot_traces import Scenario, load_scenarios, region_of
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.spot_advisor import parse_spot_advisor
from recommender.spot.move import MoveRule
from recommender.spot.split import SplitSettings
from recommender.spot.world import TraceAssumptions

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data" / "spot"
DEFAULT_TRACES = DATA / "skypilot-spot-traces" / "availability-1-node"
DEFAULT_ADVISOR = DATA / "spot-advisor-data.json"
RESOURCE_TYPES = {
    "v100_1": "p3.2xlarge",
    "v100_4": "p3.8xlarge",
    "v100_8": "p3.16xlarge",
    "k80_1": "p2.xlarge",
    "k80_8": "p2.8xlarge",
    "k80_16": "p2.16xlarge",
}
"""The AWS instance type of each accelerator resource in the SkyPilot trace names."""
TARGET_AVAILABILITY = 0.999
QUICK_TICKS = 1500


def instance_type_for(resource: str, pricebook: PriceBook, default: str) -> str:
    """The instance type a trace resource stands for (the resource itself if catalogued)."""
    if resource in RESOURCE_TYPES:
        return RESOURCE_TYPES[resource]
    if any(c.spec(resource) is not None for c in pricebook.catalogues.values()):
        return resource
    return default


def scenario_prices(
    scenario: Scenario, pricebook: PriceBook, instance_type: str
) -> tuple[Prices, dict[str, object]]:
    """Prices of a scenario (on-demand in its cheapest region, spot per zone) and their basis."""
    offers = [pricebook.price("aws", region_of(zone), instance_type) for zone in scenario.zones]
    if any(o is None for o in offers):
        raise ValueError(f"cannot price {instance_type} in {scenario.name}")
    known = [o for o in offers if o is not None]
    prices = Prices(
        on_demand=min(o.on_demand_hourly for o in known),
        spot=tuple(o.spot_hourly for o in known),
    )
    basis = {
        "instance_type": instance_type,
        "on_demand_hourly_usd": prices.on_demand,
        "zones": {
            zone: {
                "region": o.region,
                "spot_hourly_usd": round(o.spot_hourly, 4),
                "spot_discount": o.spot_savings,
                "interruption": o.interruption.label if o.interruption else None,
                "estimated": o.estimated or o.spot_savings_estimated,
            }
            for zone, o in zip(scenario.zones, known, strict=True)
        },
    }
    return prices, basis


def _figures(outcome: Outcome) -> dict[str, float | int]:
    return {
        "cost_relative": round(outcome.cost / outcome.on_demand_cost, 6)
        if outcome.on_demand_cost
        else 0.0,
        "availability": round(outcome.availability, 6),
        "preemptions": outcome.preemptions,
        "spot_hours": round(outcome.spot_hours, 2),
        "on_demand_hours": round(outcome.on_demand_hours, 2),
    }


def _pool(outcomes: Sequence[tuple[Outcome, float]]) -> dict[str, float | int]:
    """Figures pooled over scenarios, each tick weighted by its length in seconds."""
    cost = sum(o.cost for o, _ in outcomes)
    baseline = sum(o.on_demand_cost for o, _ in outcomes)
    up = sum(o.available_ticks * gap for o, gap in outcomes)
    scored = sum(o.scored_ticks * gap for o, gap in outcomes)
    return {
        "cost_relative": round(cost / baseline, 6) if baseline else 0.0,
        "availability": round(up / scored, 6) if scored else 0.0,
        "preemptions": sum(o.preemptions for o, _ in outcomes),
        "spot_hours": round(sum(o.spot_hours for o, _ in outcomes), 2),
        "on_demand_hours": round(sum(o.on_demand_hours for o, _ in outcomes), 2),
    }


def policies_for(scenario: Scenario, prices: Prices, replicas: int) -> list[Policy]:
    """The compared policies, fresh for one scenario."""
    zones = len(scenario.zones)
    return [
        OnDemandOnly(replicas),
        CheapestZone(replicas, prices.spot),
        EvenSpread(replicas, zones),
        RoundRobin(replicas, zones),
        SpotHedge(replicas, prices.spot, extra=1),
    ]


SETTINGS_GRID = tuple(
    (
        SplitSettings(spare_pools=k, risk_hours=h),
        TraceAssumptions(cooldown_hours=c, on_demand_share=f),
        MoveRule(payback_share=m),
    )
    for k, h, f, c, m in product((1, 2), (0.5, 2.0), (0.0, 0.5, 0.75), (0.0, 3.0), (0.5, 1.0))
)
QUICK_SETTINGS_GRID = SETTINGS_GRID[:2]


def settings_name(settings: SplitSettings, prior: TraceAssumptions, rule: MoveRule) -> str:
    """How one setting of our policy is named in the JSON."""
    return (
        f"slicewise(spare_pools={settings.spare_pools},risk_hours={settings.risk_hours},"
        f"on_demand_share={prior.on_demand_share},cooldown_hours={prior.cooldown_hours},"
        f"payback_share={rule.payback_share})"
    )


def slicewise_grid(
    scenario: Scenario, prices: Prices, replicas: int, warmup_seconds: float, *, quick: bool
) -> list[Slicewise]:
    """Our policy under every setting the leave-one-out choice picks from."""
    return [
        Slicewise(
            replicas,
            prices.spot,
            prices.on_demand,
            scenario.gap_seconds / 3600,
            warmup_seconds / 3600,
            settings=settings,
            assumptions=prior,
            rule=rule,
            name=settings_name(settings, prior, rule),
        )
        for settings, prior, rule in (QUICK_SETTINGS_GRID if quick else SETTINGS_GRID)
    ]


def choose_setting(
    runs: dict[str, dict[str, list[tuple[Outcome, float]]]], scenarios: Sequence[str]
) -> str:
    """The cheapest setting (pooled over `scenarios`) reaching the target on each of them;
    when none does, the one whose worst scenario is the most available."""
    pooled = {
        name: _pool([o for s in scenarios for o in per_scenario[s]])
        for name, per_scenario in runs.items()
    }
    worst = {
        name: min(float(_pool(per_scenario[s])["availability"]) for s in scenarios)
        for name, per_scenario in runs.items()
    }
    reaching = [n for n in runs if worst[n] >= TARGET_AVAILABILITY]
    if reaching:
        return min(reaching, key=lambda n: (float(pooled[n]["cost_relative"]), n))
    return max(runs, key=lambda n: (worst[n], -float(pooled[n]["cost_relative"]), n))


def spothedge_grid(replicas: int, prices: Prices, *, quick: bool) -> list[SpotHedge]:
    """SpotHedge over N_extra and base on-demand replicas."""
    extras = (0, 1) if quick else (0, 1, 2, 3)
    return [
        SpotHedge(
            replicas, prices.spot, extra=e, base_on_demand=b, name=f"SpotHedge(extra={e},base={b})"
        )
        for b in range(replicas + 1)
        for e in extras
    ]


def matched(grid: dict[str, dict[str, float | int]], availability: float) -> dict[str, object]:
    """The cheapest SpotHedge configuration reaching `availability`, if any."""
    reaching = [
        (float(f["cost_relative"]), name, f)
        for name, f in grid.items()
        if float(f["availability"]) >= availability
    ]
    if not reaching:
        return {"config": None}
    _cost, name, figures = min(reaching, key=lambda x: (x[0], x[1]))
    return {"config": name, **figures}


def run(
    traces: Path,
    advisor: Path,
    *,
    replicas: int,
    warmup_seconds: float,
    default_type: str,
    quick: bool,
) -> dict[str, object]:
    """Replay every policy on every scenario under `traces`."""
    started = time.perf_counter()
    pricebook = PriceBook(bundled_catalogues(), parse_spot_advisor(advisor.read_bytes()))
    scenarios = load_scenarios(traces)
    per_scenario: dict[str, object] = {}
    pooled: dict[str, list[tuple[Outcome, float]]] = {}
    pooled_grid: dict[str, list[tuple[Outcome, float]]] = {}
    ours_runs: dict[str, dict[str, list[tuple[Outcome, float]]]] = {}
    grids: dict[str, dict[str, dict[str, float | int]]] = {}
    for scenario in scenarios:
        availability = scenario.availability[:, :QUICK_TICKS] if quick else scenario.availability
        instance_type = instance_type_for(scenario.resource, pricebook, default_type)
        prices, basis = scenario_prices(scenario, pricebook, instance_type)
        figures: dict[str, object] = {}
        for policy in policies_for(scenario, prices, replicas):
            outcome = replay(
                policy,
                availability,
                prices,
                replicas=replicas,
                warmup_seconds=warmup_seconds,
                gap_seconds=scenario.gap_seconds,
            )
            figures[policy.name] = _figures(outcome)
            pooled.setdefault(policy.name, []).append((outcome, scenario.gap_seconds))
        grid: dict[str, dict[str, float | int]] = {}
        for policy in spothedge_grid(replicas, prices, quick=quick):
            outcome = replay(
                policy,
                availability,
                prices,
                replicas=replicas,
                warmup_seconds=warmup_seconds,
                gap_seconds=scenario.gap_seconds,
            )
            grid[policy.name] = _figures(outcome)
            pooled_grid.setdefault(policy.name, []).append((outcome, scenario.gap_seconds))
        for policy in slicewise_grid(scenario, prices, replicas, warmup_seconds, quick=quick):
            outcome = replay(
                policy,
                availability,
                prices,
                replicas=replicas,
                warmup_seconds=warmup_seconds,
                gap_seconds=scenario.gap_seconds,
            )
            figures[policy.name] = _figures(outcome)
            ours_runs.setdefault(policy.name, {})[scenario.name] = [(outcome, scenario.gap_seconds)]
        grids[scenario.name] = grid
        per_scenario[scenario.name] = {
            "zones": list(scenario.zones),
            "ticks": int(availability.shape[1]),
            "gap_seconds": scenario.gap_seconds,
            "mean_zone_availability": [round(float(x), 4) for x in availability.mean(axis=1)],
            "prices": basis,
            "policies": figures,
            "spothedge_grid": grid,
        }
        print(f"{scenario.name}: done", file=sys.stderr)
    names = [s.name for s in scenarios]
    left_out = leave_one_out(ours_runs, names, grids, per_scenario)
    chosen_outcomes = [o for name in names for o in ours_runs[str(left_out[name]["setting"])][name]]
    pooled["slicewise"] = chosen_outcomes
    policies = {name: _pool(outcomes) for name, outcomes in pooled.items()}
    grid_pooled = {name: _pool(outcomes) for name, outcomes in pooled_grid.items()}
    ours = policies.get("slicewise", {"availability": 0.0, "cost_relative": 0.0})
    reference = matched(grid_pooled, float(ours["availability"]))
    return {
        "bench": "spot",
        "inputs": {
            "traces": str(traces),
            "advisor": str(advisor),
            "scenarios": [s.name for s in scenarios],
            "replicas": replicas,
            "warmup_seconds": warmup_seconds,
            "capacity": "each trace value is how many of our instances a zone holds at that tick",
            "on_demand": "always obtainable, priced in the scenario's cheapest region",
            "quick": quick,
        },
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "parameters": {
            "SpotHedge": "N_extra=1, base on-demand 0, dynamic on-demand fallback",
            "slicewise_grid": [settings_name(s, p, r) for s, p, r in SETTINGS_GRID],
            "slicewise_chosen_on_all": choose_setting(ours_runs, names),
            "slicewise": "per scenario, the setting chosen on the other scenarios",
            "instance_types": RESOURCE_TYPES,
            "default_instance_type": default_type,
        },
        "policies": policies,
        "policies_per_setting": {
            name: _pool([o for n in names for o in per_scenario_runs[n]])
            for name, per_scenario_runs in ours_runs.items()
        },
        "spothedge_grid": grid_pooled,
        "spothedge_matched": reference,
        "scenarios": per_scenario,
        "leave_one_out": left_out,
        "acceptance_left_out": {
            name: {
                "availability_at_least_target": float(f["left_out"]["availability"])  # type: ignore[index]
                >= TARGET_AVAILABILITY,
                "not_above_on_demand": float(f["left_out"]["cost_relative"]) <= 1.0,  # type: ignore[index]
                "cheaper_than_every_spothedge_as_available": bool(
                    f["cheaper_than_every_spothedge_as_available"]
                ),
            }
            for name, f in left_out.items()
        },
        "acceptance": {
            "target_availability": TARGET_AVAILABILITY,
            "slicewise_reaches_target": float(ours["availability"]) >= TARGET_AVAILABILITY,
            "spothedge_matched_config": reference.get("config"),
            "spothedge_matched_cost": reference.get("cost_relative"),
            "slicewise_cost": ours["cost_relative"],
            "slicewise_cheaper_than_matched_spothedge": reference.get("config") is not None
            and float(ours["cost_relative"]) < float(reference["cost_relative"]),  # type: ignore[arg-type]
            "slicewise_cheaper_than_spothedge_default_and_more_available": (
                float(ours["cost_relative"]) < float(policies["SpotHedge"]["cost_relative"])
                and float(ours["availability"]) >= float(policies["SpotHedge"]["availability"])
            )
            if "SpotHedge" in policies
            else False,
        },
        "elapsed_seconds": round(time.perf_counter() - started, 2),
    }


def leave_one_out(
    runs: dict[str, dict[str, list[tuple[Outcome, float]]]],
    names: Sequence[str],
    grids: dict[str, dict[str, dict[str, float | int]]],
    per_scenario: dict[str, object],
) -> dict[str, dict[str, object]]:
    """Per scenario: the setting chosen on the others, its held-in and its left-out figures."""
    result: dict[str, dict[str, object]] = {}
    for name in names:
        others = [n for n in names if n != name] or [name]
        setting = choose_setting(runs, others)
        held_in = _pool([o for n in others for o in runs[setting][n]])
        left = _pool(runs[setting][name])
        reference = matched(grids[name], float(left["availability"]))
        cheaper = reference.get("config") is None or float(left["cost_relative"]) < float(
            reference["cost_relative"]  # type: ignore[arg-type]
        )
        result[name] = {
            "setting": setting,
            "held_in": held_in,
            "left_out": left,
            "spothedge_matched": reference,
            "cheaper_than_every_spothedge_as_available": cheaper,
        }
        scenario = per_scenario[name]
        if isinstance(scenario, dict):
            scenario["spothedge_matched"] = reference
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Parse flags, run, print the JSON document (and write it with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--traces", type=Path, default=DEFAULT_TRACES)
    parser.add_argument("--advisor", type=Path, default=DEFAULT_ADVISOR)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=600.0, help="seconds before serving")
    parser.add_argument("--instance-type", default="p3.2xlarge", help="for unknown resources")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true", help=f"first {QUICK_TICKS} ticks")
    parser.add_argument("--seeds", type=int, default=1, help="unused: the replay is deterministic")
    args = parser.parse_args(argv)
    result = run(
        args.traces,
        args.advisor,
        replicas=args.replicas,
        warmup_seconds=args.warmup,
        default_type=args.instance_type,
        quick=args.quick,
    )
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
