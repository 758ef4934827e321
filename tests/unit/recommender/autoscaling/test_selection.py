"""Choosing a workload's autoscaling settings by replaying candidates over its history."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.hpa_algorithm import replay_hpa
from recommender.autoscaling.plan import replay_plan
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.selection import (
    Assessment,
    Candidate,
    ReplayFigures,
    assess_candidates,
    candidate_policies,
    candidate_score,
    choose_plan,
    dominates,
    reference_plan,
    reference_settings,
    select_plan,
)
from recommender.autoscaling.signal import DemandSignal
from tests.unit.recommender.autoscaling.series import daily

POLICY = ScalingPolicy()
DOMINANT = ScalingPolicy(require_dominance=True)
REFERENCE = ReplayFigures(replica_hours=100.0, under_provisioned_share=0.02)


def _office_hours_with_noise(days: float = 10) -> DemandSeries:
    series = daily(1.0, 5.0, days)
    jitter = np.random.default_rng(3).normal(0.0, 0.4, series.values.size)
    return DemandSeries(series.start, series.step_seconds, np.maximum(series.values + jitter, 0))


def _hand_scored(*figures: ReplayFigures) -> Assessment:
    """The real reference and candidate plans of a history, with the figures given."""
    assessment = assess_candidates(_office_hours_with_noise(), 1.0, POLICY)
    plans = [c.plan for c in assessment.candidates]
    return Assessment(
        assessment.reference_plan,
        REFERENCE,
        tuple(Candidate(p, f) for p, f in zip(plans, figures, strict=False)),
        assessment.history_seconds,
    )


def test_every_target_quantile_and_window_is_a_candidate() -> None:
    """The candidates are the product of the policy's grids."""
    expected = (
        len(POLICY.candidate_targets)
        * len(POLICY.candidate_floor_quantiles)
        * len(POLICY.candidate_dip_stabilisation)
    )
    assert len(candidate_policies(POLICY)) == expected


def test_the_reference_plan_replays_as_the_reference_hpa() -> None:
    """The reference as a plan scales exactly as the 70 % HPA the candidates are measured by."""
    demand = _office_hours_with_noise()
    plan = replay_plan(reference_plan(demand, 1.0, POLICY), demand, 1.0)
    hpa = replay_hpa(demand, 1.0, reference_settings(demand, 1.0))
    assert np.array_equal(plan.replicas, hpa.replicas)
    assert np.array_equal(plan.ready, hpa.ready)


def test_fewer_hours_at_more_short_minutes_does_not_dominate() -> None:
    """Saving replica-hours by being short more often is not eligible."""
    assert not dominates(ReplayFigures(50.0, 0.021), REFERENCE)
    assert not dominates(ReplayFigures(101.0, 0.0), REFERENCE)
    assert dominates(ReplayFigures(100.0, 0.02), REFERENCE)


def test_a_cheaper_but_riskier_candidate_is_not_chosen_under_dominance() -> None:
    """Requiring dominance, the lower-scoring candidate with more short minutes is passed over."""
    riskier = ReplayFigures(replica_hours=50.0, under_provisioned_share=0.021)
    dominating = ReplayFigures(replica_hours=95.0, under_provisioned_share=0.019)
    assessment = _hand_scored(riskier, dominating)
    assert candidate_score(riskier, REFERENCE, POLICY) < candidate_score(
        dominating, REFERENCE, POLICY
    )
    assert select_plan(assessment, DOMINANT) == assessment.candidates[1].plan


def test_without_dominance_the_lowest_score_wins_even_if_riskier() -> None:
    """By default the cheaper, riskier candidate wins on its lower score."""
    riskier = ReplayFigures(replica_hours=50.0, under_provisioned_share=0.021)
    dominating = ReplayFigures(replica_hours=95.0, under_provisioned_share=0.019)
    assessment = _hand_scored(riskier, dominating)
    assert select_plan(assessment, POLICY) == assessment.candidates[0].plan


def test_without_a_dominating_candidate_the_reference_is_advised() -> None:
    """Requiring dominance, when every candidate is worse on one count the reference is chosen."""
    assessment = _hand_scored(ReplayFigures(50.0, 0.03), ReplayFigures(120.0, 0.0))
    assert select_plan(assessment, DOMINANT) == assessment.reference_plan


@pytest.mark.parametrize("policy", [POLICY, DOMINANT], ids=["default", "dominance"])
def test_less_than_a_day_of_history_plans_the_reference(policy: ScalingPolicy) -> None:
    """Half a day of history is too little to see a cycle: the plan is the reference HPA."""
    demand = _office_hours_with_noise(days=0.5)
    assert choose_plan(demand, 1.0, policy) == reference_plan(demand, 1.0, policy)


def test_candidates_on_a_signal_scale_on_it_and_the_reference_does_not() -> None:
    """Assessed for KEDA's signal, every candidate carries it; the reference stays plain."""
    signal = DemandSignal(300.0, 1.0)
    assessment = assess_candidates(_office_hours_with_noise(), 1.0, POLICY, signal=signal)
    assert {c.plan.signal for c in assessment.candidates} == {signal}
    assert assessment.reference_plan.signal is None


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


def test_the_plan_chosen_under_dominance_is_the_best_dominating_candidate() -> None:
    """Requiring dominance, the best-scoring plan among those that dominate the reference wins."""
    demand = _office_hours_with_noise()
    assessment = assess_candidates(demand, 1.0, DOMINANT)
    eligible = [c for c in assessment.candidates if dominates(c.figures, assessment.reference)]
    assert eligible
    best = min(candidate_score(c.figures, assessment.reference, DOMINANT) for c in eligible)
    chosen = choose_plan(demand, 1.0, DOMINANT)
    [scored] = [c for c in eligible if c.plan == chosen]
    assert candidate_score(scored.figures, assessment.reference, DOMINANT) == best


def test_a_heavier_risk_weight_never_chooses_a_riskier_plan() -> None:
    """Weighing risk more picks a plan under-provisioned no more often on the history."""
    assessment = assess_candidates(_office_hours_with_noise(), 1.0, POLICY)
    figures = {c.plan: c.figures for c in assessment.candidates}
    figures[assessment.reference_plan] = assessment.reference

    def risk_of(weight: float) -> float:
        plan = select_plan(assessment, replace(POLICY, risk_weight=weight))
        return figures[plan].under_provisioned_share

    assert risk_of(2.0) <= risk_of(0.5)
