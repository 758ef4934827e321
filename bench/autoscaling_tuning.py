"""Choose our autoscaling parameters on one half of the services, never on the half reported.

The parameter chosen is the risk weight of the per-workload choice (`selection.choose_plan`).
The choice: the fewest pooled replica-hours among the weights whose policy uses no more
replica-hours than the HPA baseline on the same services and is under-provisioned in at most
`RISK_MARGIN` of its share of minutes (a margin, so that the choice is not one that only just
passes on the half it was made on); failing that, the fewest replica-hours at no more
under-provisioned minutes; failing that, the fewest under-provisioned minutes.

The candidate grids and the weights tried were set after looking at both halves of the Rnd
trace; the weight is the only figure chosen per fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace

from bench.autoscaling_policies import Assessments, Case, Tally, hpa, slicewise
from recommender.autoscaling.policy import ScalingPolicy

RISK_WEIGHTS = (0.7, 0.85, 1.0, 1.4)
RISK_MARGIN = 0.9


def grid(quick: bool, base: ScalingPolicy) -> list[ScalingPolicy]:
    """`base` at each risk weight tried (two in a quick run)."""
    weights = RISK_WEIGHTS[:2] if quick else RISK_WEIGHTS
    return [replace(base, risk_weight=w) for w in weights]


def tally_policy(cases: Sequence[Case], policy: ScalingPolicy, assessments: Assessments) -> Tally:
    """Our policy's pooled figures over `cases`."""
    tally = Tally()
    for case in cases:
        tally.add(case.name, slicewise(case, policy, assessments), case)
    return tally


def choose(
    cases: Sequence[Case], quick: bool, assessments: Assessments, base: ScalingPolicy
) -> tuple[ScalingPolicy, dict[str, object]]:
    """The chosen policy and every candidate's figures on `cases`."""
    baseline = Tally()
    for case in cases:
        baseline.add(case.name, hpa(case), case)
    hpa_figures = baseline.figures()
    risk, hours = hpa_figures["under_provisioned_share"], hpa_figures["replica_hours"]
    candidates = [
        (policy, tally_policy(cases, policy, assessments).figures()) for policy in grid(quick, base)
    ]
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
        "candidates": [{"risk_weight": p.risk_weight, **f} for p, f in candidates],
        "chosen": asdict(chosen[0]),
    }
