"""Choosing our rightsizing parameters on the tuning half of the VMs only.

1. The memory tail prior is estimated from the tuning windows: its rate is the share of scored
   samples above the learning period's maximum, its exponent the maximum-likelihood Pareto
   exponent of their ratios to that maximum (n / sum of log ratios).
2. Each penalty is the smallest on a grid of ISO 3 preferred numbers (the R40 series, 6 %
   steps) whose pooled exceedance share on the tuning windows is within its budget: the
   penalty is the Lagrange multiplier of that budget, found on data the held-out half never
   contributes to.

The same sweep, scored on every subset, is the frontier the JSON reports: slack and risk of
every grid penalty, for the tuning half, the held-out half and all VMs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bench.rightsizing_policies import slicewise_estimate
from bench.rightsizing_score import SUBSETS, Tally, Window, subsets_of
from recommender.rightsizing.estimate import has_evidence
from recommender.rightsizing.policy import GIB, RightsizingPolicy
from recommender.rightsizing.tail import TailPrior

R40: tuple[float, ...] = (1.0, 1.06, 1.12, 1.18, 1.25, 1.32, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9)
R40 += (2.0, 2.12, 2.24, 2.36, 2.5, 2.65, 2.8, 3.0, 3.15, 3.35, 3.55, 3.75, 4.0, 4.25, 4.5)
R40 += (4.75, 5.0, 5.3, 5.6, 6.0, 6.3, 6.7, 7.1, 7.5, 8.0, 8.5, 9.0, 9.5)
CPU_RISK_BUDGET = 0.05
"""At most 5 % of samples above the CPU request (a 95th percentile, as KRR's CPU target)."""
MEMORY_RISK_BUDGET = 0.0017
"""At most 0.17 % of samples (about 2.5 minutes a day) above the memory request."""


def preferred_numbers(low: float, high: float) -> list[float]:
    """The R40 series from `low` to `high` (both powers of ten), inclusive."""
    decades = range(round(math.log10(low)), round(math.log10(high)))
    return [round(m * 10**d, 6) for d in decades for m in R40] + [high]


CPU_GRID = preferred_numbers(1.0, 100.0)
"""Candidate CPU penalties, in cores."""
MEMORY_GRID = preferred_numbers(100.0, 10_000.0)
"""Candidate memory penalties, in GiB."""


def significant(value: float, digits: int = 2) -> float:
    """`value` rounded to `digits` significant figures (what 300-odd windows support)."""
    return float(f"{value:.{digits - 1}e}")


def fit_tail(windows: Sequence[Window], policy: RightsizingPolicy) -> TailPrior | None:
    """The memory tail prior from how scored samples exceeded their learning maximum.

    Only windows we would recommend on count: the prior describes histories with evidence.
    """
    above = total = 0
    log_ratios = 0.0
    for window in windows:
        top = window.state.memory.max_value()
        if top <= 0.0 or not has_evidence(window.state, policy):
            continue
        used = window.memory_used
        ratios = used[used > top] / top
        total += used.size
        above += ratios.size
        log_ratios += float(np.log(ratios).sum())
    if above == 0 or log_ratios <= 0.0:
        return None
    return TailPrior(rate=significant(above / total), exponent=significant(above / log_ratios))


@dataclass(frozen=True, slots=True)
class GridPoint:
    """One pair of candidate penalties and how they score on every subset."""

    cpu_penalty_cores: float
    memory_penalty_gib: float
    tallies: dict[str, Tally]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: penalties, then slack and exceedance shares per subset."""
        return {
            "cpu_penalty_cores": self.cpu_penalty_cores,
            "memory_penalty_gib": self.memory_penalty_gib,
            **{
                subset: {
                    "cpu_slack_share": round(t.cpu()["slack_share"], 5),
                    "cpu_under_provision_share": round(t.cpu()["under_provision_share"], 5),
                    "memory_slack_share": round(t.memory()["slack_share"], 5),
                    "memory_risk_share": round(t.memory()["risk_share"], 6),
                }
                for subset, t in self.tallies.items()
            },
        }


def sweep(windows: Sequence[Window], base: RightsizingPolicy) -> list[GridPoint]:
    """Score ours at every grid pair of penalties (CPU and memory targets are independent)."""
    points = []
    for cpu, memory in zip(CPU_GRID, MEMORY_GRID, strict=True):
        policy = replace(base, cpu_penalty_cores=cpu, memory_penalty_bytes=memory * GIB)
        tallies = {subset: Tally() for subset in SUBSETS}
        for window in windows:
            outcome = slicewise_estimate(window.state, policy, window.end)
            for subset in subsets_of(window):
                tallies[subset].add(outcome, window)
        points.append(GridPoint(cpu, memory, tallies))
    return points


def _smallest_within(points: Sequence[GridPoint], share: str, budget: float) -> GridPoint:
    """The first grid point whose tuning share is within budget (else the most cautious)."""
    for point in points:
        tally = point.tallies["tuning"]
        figures = tally.cpu() if share == "under_provision_share" else tally.memory()
        if tally.samples and figures[share] <= budget:
            return point
    return points[-1]


def choose(
    windows: Sequence[Window], base: RightsizingPolicy
) -> tuple[RightsizingPolicy, dict[str, object]]:
    """Our policy with parameters chosen on the tuning windows, and the record of the choice."""
    tuning = [w for w in windows if w.tuning]
    tail = fit_tail(tuning, base) if tuning else base.memory_tail
    points = sweep(windows, replace(base, memory_tail=tail))
    cpu = _smallest_within(points, "under_provision_share", CPU_RISK_BUDGET).cpu_penalty_cores
    memory = _smallest_within(points, "risk_share", MEMORY_RISK_BUDGET).memory_penalty_gib
    chosen = replace(
        base, cpu_penalty_cores=cpu, memory_penalty_bytes=memory * GIB, memory_tail=tail
    )
    record: dict[str, object] = {
        "rule": (
            "on the tuning half only: fit the memory tail prior, then take the smallest R40 "
            "penalty whose pooled exceedance share is within budget"
        ),
        "cpu_risk_budget": CPU_RISK_BUDGET,
        "memory_risk_budget": MEMORY_RISK_BUDGET,
        "tuning_windows": len(tuning),
        "chosen": _parameters(chosen),
        "policy_defaults": _parameters(base),
        "defaults_are_chosen": _parameters(chosen) == _parameters(base),
        "frontier": [point.to_dict() for point in points],
    }
    return chosen, record


def _parameters(policy: RightsizingPolicy) -> dict[str, object]:
    tail = policy.memory_tail
    return {
        "cpu_penalty_cores": policy.cpu_penalty_cores,
        "memory_penalty_gib": policy.memory_penalty_bytes / GIB,
        "memory_tail": None if tail is None else {"rate": tail.rate, "exponent": tail.exponent},
    }
