"""Savings counted once: alternatives on one workload or node are grouped, the best one counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from protocol.changes import ChangeSet, Cordon, Drain, PatchScheduling, WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind, Risk, SavingBasis
from protocol.snapshot import WorkloadKind
from recommender.savings.alternatives import (
    grouped,
    headline_saving,
    saving_groups,
    workload_key,
)
from recommender.savings.sequences import expected_saving

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NODE_REMOVAL = SavingBasis.NODE_REMOVAL
_FREES_REQUESTS = {RecommendationKind.RIGHTSIZING, RecommendationKind.AUTOSCALING}
CLUSTER = uuid.UUID(int=7)


def ref(name: str) -> WorkloadRef:
    """A Deployment in namespace ml."""
    return WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="ml", name=name)


def rec(
    kind: RecommendationKind,
    saving: float,
    *,
    confidence: float = 1.0,
    workload: str | None = None,
    node: str | None = None,
) -> Recommendation:
    """A recommendation about `workload` or `node` with the given saving and confidence.

    Rightsizing and autoscaling state that their saving needs a node removal, as the
    recommender's do.
    """
    action = (
        PatchScheduling(target=ref(workload), node_selector={"pool": "x"})
        if workload
        else Drain(node=node or "n")
    )
    return Recommendation(
        recommendation_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        kind=kind,
        workload=ref(workload) if workload else None,
        node=node,
        title="t",
        reason="r",
        risk=Risk.LOW,
        monthly_saving_usd=saving,
        confidence=confidence,
        saving_basis=NODE_REMOVAL if kind in _FREES_REQUESTS else SavingBasis.DIRECT,
        change_set=ChangeSet(actions=[action]),
        created_at=NOW,
    )


def test_two_recommendations_on_one_workload_are_not_both_counted() -> None:
    """GPU sharing ($900) and spot ($600) for one workload count as $900, not $1,500."""
    gpu = rec(RecommendationKind.GPU_SHARING, 900.0, workload="llm")
    spot = rec(RecommendationKind.SPOT, 600.0, workload="llm")
    assert headline_saving([gpu, spot]) == 900.0
    (group,) = grouped([gpu, spot])
    assert group.best is gpu
    assert group.key == workload_key(ref("llm"))


def test_best_alternative_is_chosen_by_expected_saving() -> None:
    """A $1,000 saving at 30 % confidence loses to a $600 one at 90 %."""
    shaky = rec(RecommendationKind.GPU_SHARING, 1000.0, confidence=0.3, workload="batch")
    sure = rec(RecommendationKind.SPOT, 600.0, confidence=0.9, workload="batch")
    assert expected_saving(shaky) == pytest.approx(300.0)
    assert headline_saving([shaky, sure]) == 600.0


def test_unrelated_recommendations_are_summed() -> None:
    """Recommendations on different workloads and nodes each count."""
    recs = [
        rec(RecommendationKind.SPOT, 100.0, workload="a"),
        rec(RecommendationKind.GPU_SHARING, 50.0, workload="b"),
        rec(RecommendationKind.CONSOLIDATION, 300.0, node="n1"),
    ]
    assert headline_saving(recs) == 450.0
    assert len(set(saving_groups(recs).values())) == 3


def test_consolidation_joins_the_workloads_on_its_node() -> None:
    """Draining n1 where `a` runs makes the drain and a's spot advice alternatives."""
    spot = rec(RecommendationKind.SPOT, 120.0, workload="a")
    drain = rec(RecommendationKind.CONSOLIDATION, 400.0, node="n1")
    other = rec(RecommendationKind.SPOT, 80.0, workload="b")
    on_node = {"n1": [workload_key(ref("a"))]}
    groups = saving_groups([spot, drain, other], on_node)
    assert groups[spot.recommendation_id] == groups[drain.recommendation_id]
    assert groups[other.recommendation_id] != groups[drain.recommendation_id]
    assert headline_saving([spot, drain, other], on_node) == 480.0


def test_node_removal_savings_count_on_the_consolidation_that_removes_the_node() -> None:
    """a's request cut ($900, more than the drain) is counted as the $400 drain of its node."""
    resize = rec(RecommendationKind.RIGHTSIZING, 900.0, workload="a")
    drain = rec(RecommendationKind.CONSOLIDATION, 400.0, node="n1")
    on_node = {"n1": [workload_key(ref("a"))]}
    (group,) = grouped([resize, drain], on_node)
    assert group.best is resize
    assert group.counted is not None
    assert group.counted.steps == (resize, drain)
    assert headline_saving([resize, drain], on_node) == 400.0


def test_a_sequence_counts_its_combined_effect_not_the_sum_of_estimates() -> None:
    """a's request cut ($900) frees n1 and n2 (drained one after the other, $400 and $300): the
    sequence counts the two nodes it removes, $700, neither $1,600 nor one drain's $400."""
    resize = rec(RecommendationKind.RIGHTSIZING, 900.0, workload="a")
    first = rec(RecommendationKind.CONSOLIDATION, 400.0, node="n1")
    second = rec(RecommendationKind.CONSOLIDATION, 300.0, node="n2")
    on_node = {"n1": [workload_key(ref("a"))], "n2": [workload_key(ref("a"))]}
    (group,) = grouped([resize, first, second], on_node)
    assert group.counted is not None
    assert group.counted.steps == (resize, first, second)
    assert headline_saving([resize, first, second], on_node) == 700.0


def test_an_alternative_better_than_the_whole_sequence_is_counted_instead() -> None:
    """Spot for a ($1,000 at 90 %: $900 expected) beats draining its two nodes ($700): $1,000."""
    spot = rec(RecommendationKind.SPOT, 1000.0, confidence=0.9, workload="a")
    first = rec(RecommendationKind.CONSOLIDATION, 400.0, node="n1")
    second = rec(RecommendationKind.CONSOLIDATION, 300.0, node="n2")
    on_node = {"n1": [workload_key(ref("a"))], "n2": [workload_key(ref("a"))]}
    (group,) = grouped([spot, first, second], on_node)
    assert group.counted is not None
    assert group.counted.steps == (spot,)
    assert headline_saving([spot, first, second], on_node) == 1000.0


def test_the_sequence_is_weighed_by_its_steps_confidence() -> None:
    """Drains of $600 and $500 at 50 % ($550 expected) lose to spot's $600 at 100 %."""
    spot = rec(RecommendationKind.SPOT, 600.0, workload="a")
    first = rec(RecommendationKind.CONSOLIDATION, 600.0, confidence=0.5, node="n1")
    second = rec(RecommendationKind.CONSOLIDATION, 500.0, confidence=0.5, node="n2")
    on_node = {"n1": [workload_key(ref("a"))], "n2": [workload_key(ref("a"))]}
    assert headline_saving([spot, first, second], on_node) == 600.0


def test_a_sequence_is_as_sure_as_the_request_cut_it_assumed() -> None:
    """Draining n1 and n2 ($700) needs a's request cut, 20 % sure: $140 expected, so spot for a
    ($300 at 90 %: $270 expected) is what the group counts."""
    resize = rec(RecommendationKind.RIGHTSIZING, 900.0, confidence=0.2, workload="a")
    spot = rec(RecommendationKind.SPOT, 300.0, confidence=0.9, workload="a")
    first = rec(RecommendationKind.CONSOLIDATION, 400.0, node="n1")
    second = rec(RecommendationKind.CONSOLIDATION, 300.0, node="n2")
    on_node = {"n1": [workload_key(ref("a"))], "n2": [workload_key(ref("a"))]}
    (group,) = grouped([resize, spot, first, second], on_node)
    assert group.counted is not None
    assert group.counted.steps == (spot,)
    assert headline_saving([resize, spot, first, second], on_node) == 300.0


def test_a_request_cut_no_node_removal_realises_adds_nothing() -> None:
    """Rightsizing and autoscaling on workloads no consolidation drains count $0 until one does."""
    recs = [
        rec(RecommendationKind.RIGHTSIZING, 300.0, workload="a"),
        rec(RecommendationKind.AUTOSCALING, 200.0, workload="b"),
        rec(RecommendationKind.SPOT, 50.0, workload="c"),
    ]
    assert headline_saving(recs) == 50.0


def test_groups_chain_through_shared_nodes() -> None:
    """A GPU plan cordoning n2 for workload c links c's spot advice to n2's consolidation."""
    plan = rec(RecommendationKind.GPU_SHARING, 500.0, workload="c")
    plan = plan.model_copy(
        update={"change_set": ChangeSet(actions=[*plan.change_set.actions, Cordon(node="n2")])}
    )
    spot = rec(RecommendationKind.SPOT, 200.0, workload="c")
    drain = rec(RecommendationKind.CONSOLIDATION, 700.0, node="n2")
    assert len(set(saving_groups([plan, spot, drain]).values())) == 1
    assert headline_saving([plan, spot, drain]) == 700.0


def test_group_names_do_not_depend_on_order() -> None:
    """The same recommendations in reverse order get the same group keys."""
    recs = [
        rec(RecommendationKind.SPOT, 1.0, workload="z"),
        rec(RecommendationKind.GPU_SHARING, 2.0, workload="z"),
        rec(RecommendationKind.CONSOLIDATION, 3.0, node="n9"),
    ]
    assert saving_groups(recs) == saving_groups(list(reversed(recs)))
