"""The evacuation plan for a spot interruption notice."""

from __future__ import annotations

import uuid
from datetime import timedelta

from protocol.changes import Cordon, Drain, Scale
from protocol.recommendation import RecommendationKind, Risk
from protocol.snapshot import ClusterSnapshot, Provider, WorkloadKind
from protocol.spot import NoticeKind, SpotNotice
from recommender.spot.evacuation import plan_spot_evacuation
from tests.unit.recommender.factories import (
    CLUSTER_ID,
    GIB,
    NOW,
    container,
    node,
    pdb,
    pod_of,
    snapshot,
    spec,
    workload,
)


def _notice(kind: NoticeKind = NoticeKind.TERMINATION) -> SpotNotice:
    return SpotNotice(
        notice_id=uuid.UUID(int=9),
        cluster_id=CLUSTER_ID,
        provider=Provider.AWS,
        kind=kind,
        node_name="spot-a",
        detected_at=NOW,
        deadline=NOW + timedelta(seconds=120) if kind is NoticeKind.TERMINATION else None,
    )


def _cluster(other_cpu: int = 16_000, allowed: int = 1) -> ClusterSnapshot:
    web = workload("web", replicas=4)
    agent = workload(
        "agent",
        kind=WorkloadKind.DAEMON_SET,
        replicas=None,
        template=spec(container(cpu=100, memory=GIB // 4)),
    )
    nodes = [node("spot-a", spot=True), node("od-1", cpu=other_cpu, memory=64 * GIB)]
    pods = [
        pod_of(web, 0, "spot-a"),
        pod_of(web, 1, "spot-a"),
        pod_of(web, 2, "od-1"),
        pod_of(web, 3, "od-1"),
        pod_of(agent, 0, "spot-a"),
    ]
    return snapshot(
        nodes, pods, [web, agent], [pdb("web", "web", min_available=3, disruptions_allowed=allowed)]
    )


def test_change_set_cordons_scales_then_drains_within_the_deadline() -> None:
    """Cordon, scale web from 4 to 5 (two pods leave, PDB allows one), drain in 120 s."""
    plan = plan_spot_evacuation(_cluster(), _notice(), NOW)
    actions = plan.change_set.actions
    assert [type(a) for a in actions] == [Cordon, Scale, Drain]
    scale, drain = actions[1], actions[2]
    assert isinstance(scale, Scale)
    assert isinstance(drain, Drain)
    assert (scale.target.name, scale.replicas) == ("web", 5)
    assert scale.precondition.fields == {"/spec/replicas": 4}
    assert (drain.deadline_seconds, drain.grace_period_seconds) == (120, None)


def test_daemonset_pods_are_not_moved() -> None:
    """Only the two web pods leave; the DaemonSet pod goes with the node."""
    plan = plan_spot_evacuation(_cluster(), _notice(), NOW)
    assert sorted(m.pod for m in plan.moves) == ["web-0", "web-1"]


def test_pods_are_placed_on_nodes_with_room() -> None:
    """Both web pods fit on od-1."""
    plan = plan_spot_evacuation(_cluster(), _notice(), NOW)
    assert {m.target_node for m in plan.moves} == {"od-1"}
    assert not plan.needs_on_demand_scale_up


def test_full_cluster_needs_on_demand_capacity_first() -> None:
    """With od-1 full the pods have nowhere to go: high risk, their requests missing."""
    plan = plan_spot_evacuation(_cluster(other_cpu=1000), _notice(), NOW)
    assert plan.needs_on_demand_scale_up
    assert plan.missing_capacity.cpu_millis == 1000
    assert plan.recommendation.risk is Risk.HIGH


def test_pdb_with_headroom_needs_no_scale() -> None:
    """Two disruptions allowed for two pods: cordon and drain only."""
    plan = plan_spot_evacuation(_cluster(allowed=2), _notice(), NOW)
    assert [type(a) for a in plan.change_set.actions] == [Cordon, Drain]
    assert plan.recommendation.risk is Risk.LOW


def test_rebalance_notice_drains_within_ten_minutes() -> None:
    """No deadline: the drain gets 600 seconds."""
    plan = plan_spot_evacuation(_cluster(allowed=2), _notice(NoticeKind.REBALANCE), NOW)
    drain = plan.change_set.actions[-1]
    assert isinstance(drain, Drain)
    assert drain.deadline_seconds == 600


def test_long_grace_is_cut_to_fit_the_deadline() -> None:
    """Pods asking 300 s of grace get 110 s: the deadline less a 10 s margin."""
    slow = workload("web", replicas=2, template=spec(termination_grace_seconds=300))
    snap = snapshot([node("spot-a", spot=True), node("od-1")], [pod_of(slow, 0, "spot-a")], [slow])
    drain = plan_spot_evacuation(snap, _notice(), NOW).change_set.actions[-1]
    assert isinstance(drain, Drain)
    assert drain.grace_period_seconds == 110


def test_plan_is_also_a_spot_evacuation_recommendation() -> None:
    """The recommendation names the node and carries the same change set."""
    plan = plan_spot_evacuation(_cluster(), _notice(), NOW)
    rec = plan.recommendation
    assert (rec.kind, rec.node, rec.monthly_saving_usd) == (
        RecommendationKind.SPOT_EVACUATION,
        "spot-a",
        0.0,
    )
    assert rec.change_set == plan.change_set


def test_cordon_pins_the_instance_not_the_resource_version() -> None:
    """The precondition names the provider id of the noticed node."""
    cordon = plan_spot_evacuation(_cluster(), _notice(), NOW).change_set.actions[0]
    assert isinstance(cordon, Cordon)
    assert cordon.precondition.fields == {"/spec/providerID": "aws:///us-east-1a/i-spot-a"}


def test_evacuation_expires_at_the_notice_deadline() -> None:
    """A termination notice's evacuation can be approved until the instance is reclaimed."""
    plan = plan_spot_evacuation(_cluster(), _notice(), NOW)
    assert plan.recommendation.expires_at == NOW + timedelta(seconds=120)


def test_rebalance_evacuation_expires_after_ten_minutes() -> None:
    """A rebalance recommendation has no deadline: its evacuation expires ten minutes on."""
    plan = plan_spot_evacuation(_cluster(), _notice(NoticeKind.REBALANCE), NOW)
    assert plan.recommendation.expires_at == NOW + timedelta(minutes=10)


def test_evacuation_says_what_it_protects() -> None:
    """It saves nothing, so its evidence says which pods and workloads it keeps running."""
    plan = plan_spot_evacuation(_cluster(), _notice(), NOW)
    assert plan.recommendation.monthly_saving_usd == 0.0
    assert plan.recommendation.evidence["protects"] == (
        "2 pods of 1 workload moved off spot-a before the cloud reclaims it"
    )
