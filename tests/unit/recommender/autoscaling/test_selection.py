"""Choosing a workload's autoscaling settings by replaying candidates over its history."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.selection import (
    assess_candidates,
    candidate_policies,
    candidate_score,
    choose_plan,
    select_plan,
)
from tests.unit.recommender.autoscaling.series import daily

POLICY = ScalingPolicy()


def _office_hours_with_noise() -> DemandSeries:
    series = daily(1.0, 5.0, 10)
    jitter = np.random.default_rng(3).normal(0.0, 0.4, series.values.size)
    return DemandSeries(series.start, series.step_seconds, np.maximum(series.values + jitter, 0))


def test_every_target_quantile_and_window_is_a_candidate() -> None:
    """The candidates are the product of the policy's grids."""
    expected = (
        len(POLICY.candidate_targets)
        * len(POLICY.candidate_floor_quantiles)
        * len(POLICY.candidate_dip_stabilisation)
    )
    assert len(candidate_policies(POLICY)) == expected


def test_the_chosen_plan_is_the_lowest_scoring_candidate() -> None:
    """`choose_plan` returns the plan of the candidate with the lowest score on the history."""
    demand = _office_hours_with_noise()
    assessment = assess_candidates(demand, 1.0, POLICY)
    best = min(
        candidate_score(c.figures, assessment.reference, POLICY) for c in assessment.candidates
    )
    chosen = choose_plan(demand, 1.0, POLICY)
    [scored] = [c for c in assessment.candidates if c.plan == chosen]
    assert candidate_score(scored.figures, assessment.reference, POLICY) == best


def test_a_heavier_risk_weight_never_chooses_a_riskier_plan() -> None:
    """Weighing risk more picks a candidate under-provisioned no more often on the history."""
    assessment = assess_candidates(_office_hours_with_noise(), 1.0, POLICY)

    def risk_of(weight: float) -> float:
        plan = select_plan(assessment, replace(POLICY, risk_weight=weight))
        [chosen] = [c for c in assessment.candidates if c.plan == plan]
        return chosen.figures.under_provisioned_share

    assert risk_of(2.0) <= risk_of(0.5)
