"""Choose our autoscaling parameters on one half of the services, never on the half reported.

The choice: the fewest pooled replica-hours among the grid's policies that use no more
replica-hours than the HPA baseline on the same services and are under-provisioned in at most
`RISK_MARGIN` of its share of minutes (a margin, so that the choice is not one that only just
passes on the half it was made on); failing that, the fewest replica-hours at no more
under-provisioned minutes; failing that, the fewest under-provisioned minutes.

The grid's values were set after looking at VMs 1-20 of the Rnd trace (both parities).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, replace

from bench.autoscaling_policies import Case, Tally, hpa, slicewise
from recommender.autoscaling.policy import ScalingPolicy

TARGETS = (0.7, 0.8, 0.9)
FLOOR_QUANTILES = (0.0, 0.3, 0.6)
FLOOR_UTILISATIONS = (1.0,)
RISK_MARGIN = 0.9


def grid(quick: bool) -> list[ScalingPolicy]:
    """The candidate policies (two in a quick run)."""
    base = ScalingPolicy()
    if quick:
        return [base, replace(base, target_utilisation=0.8)]
    return [
        replace(base, target_utilisation=t, floor_quantile=q, floor_utilisation=u)
        for t, q, u in itertools.product(TARGETS, FLOOR_QUANTILES, FLOOR_UTILISATIONS)
    ]


def tally_policy(cases: Sequence[Case], policy: ScalingPolicy) -> Tally:
    """Our policy's pooled figures over `cases`."""
    tally = Tally()
    for case in cases:
        tally.add(case.name, slicewise(case, policy), case)
    return tally


def choose(cases: Sequence[Case], quick: bool) -> tuple[ScalingPolicy, dict[str, object]]:
    """The chosen policy and every candidate's figures on `cases`."""
    baseline = Tally()
    for case in cases:
        baseline.add(case.name, hpa(case), case)
    hpa_figures = baseline.figures()
    risk, hours = hpa_figures["under_provisioned_share"], hpa_figures["replica_hours"]
    candidates = [(policy, tally_policy(cases, policy).figures()) for policy in grid(quick)]
    preferred = [
        c
        for c in candidates
        if c[1]["under_provisioned_share"] <= RISK_MARGIN * risk and c[1]["replica_hours"] <= hours
    ]
    feasible = preferred or [c for c in candidates if c[1]["under_provisioned_share"] <= risk]
    if feasible:
        chosen = min(feasible, key=lambda c: c[1]["replica_hours"])
    else:
        chosen = min(candidates, key=lambda c: c[1]["under_provisioned_share"])
    return chosen[0], {
        "rule": __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        "hpa": hpa_figures,
        "candidates": [{"policy": asdict(p), **f} for p, f in candidates],
    }
