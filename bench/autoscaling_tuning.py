"""Choose our autoscaling parameters on one half of the services, never on the half reported.

The parameters chosen are the risk weight of the per-workload choice (`selection.choose_plan`)
and, on GPU series (scaled by KEDA), the safety margin `gpu_signal_z` of the demand signal KEDA
scales on (`signal`; 0 scales on demand itself).
The choice: the fewest pooled replica-hours among the weights whose policy uses no more
replica-hours than the HPA baseline on the same services and is under-provisioned in at most
`RISK_MARGIN` of its share of minutes (a margin, so that the choice is not one that only just
passes on the half it was made on); failing that, the fewest replica-hours at no more
under-provisioned minutes; failing that, the fewest under-provisioned minutes.

The candidate grids and the weights tried were set after looking at both halves of the Rnd
trace, and the signal's 5-minute window and margins tried after looking at both parts of the
GenAI series; the weight and the margin are the only figures chosen per fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace

from bench.autoscaling_policies import Assessments, Case, Tally, hpa, slicewise
from recommender.autoscaling.policy import ScalingPolicy

RISK_WEIGHTS = (0.7, 0.85, 1.0, 1.4)
SIGNAL_MARGINS = (0.0, 0.5, 1.0, 1.5)
RISK_MARGIN = 0.9


def grid(quick: bool, base: ScalingPolicy, *, gpu: bool = False) -> list[ScalingPolicy]:
    """`base` at each risk weight tried (two in a quick run), on GPU series at each margin."""
    weights = RISK_WEIGHTS[:2] if quick else RISK_WEIGHTS
    margins = SIGNAL_MARGINS if gpu else (base.gpu_signal_z,)
    return [replace(base, risk_weight=w, gpu_signal_z=z) for w in weights for z in margins]


def tally_policy(
    cases: Sequence[Case], policy: ScalingPolicy, assessments: Assessments, *, gpu: bool = False
) -> Tally:
    """Our policy's pooled figures over `cases`."""
    tally = Tally()
    for case in cases:
        tally.add(case.name, slicewise(case, policy, assessments, gpu=gpu), case)
    return tally


def choose(
    cases: Sequence[Case],
    quick: bool,
    assessments: Assessments,
    base: ScalingPolicy,
    *,
    gpu: bool = False,
) -> tuple[ScalingPolicy, dict[str, object]]:
    """The chosen policy and every candidate's figures on `cases`."""
    baseline = Tally()
    for case in cases:
        baseline.add(case.name, hpa(case), case)
    hpa_figures = baseline.figures()
    risk, hours = hpa_figures["under_provisioned_share"], hpa_figures["replica_hours"]
    candidates = [
        (policy, tally_policy(cases, policy, assessments, gpu=gpu).figures())
        for policy in grid(quick, base, gpu=gpu)
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
        "candidates": [
            {"risk_weight": p.risk_weight, "gpu_signal_z": p.gpu_signal_z, **f}
            for p, f in candidates
        ],
        "chosen": asdict(chosen[0]),
    }
