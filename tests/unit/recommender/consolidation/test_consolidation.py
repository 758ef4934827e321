"""Nodes whose pods fit elsewhere, and their recommendations."""

from __future__ import annotations

import uuid

import pytest

from protocol.changes import (
    ChangeSet,
    ContainerResources,
    Cordon,
    Drain,
    PatchResources,
    WorkloadRef,
)
from protocol.recommendation import Recommendation, RecommendationKind, Risk
from protocol.resources import Resources
from protocol.snapshot import ClusterSnapshot, WorkloadKind
from recommender.consolidation.recommend import recommend_consolidation
from tests.unit.recommender.factories import (
    CLUSTER_ID,
    GIB,
    NOW,
    container,
    node,
    pdb,
    pod_of,
    pricebook,
    snapshot,
    spec,
    workload,
)


def _cluster(
    a_cpu: int = 1000, b_cpu: int = 3000, allowed: int = 1, selector: dict[str, str] | None = None
) -> ClusterSnapshot:
    a = workload(
        "a",
        replicas=1,
        template=spec(container(cpu=a_cpu, memory=GIB), node_selector=selector or {}),
    )
    b = workload("b", replicas=1, template=spec(container(cpu=b_cpu, memory=GIB)))
    agent = workload(
        "agent",
        kind=WorkloadKind.DAEMON_SET,
        replicas=None,
        template=spec(container(cpu=0, memory=0)),
    )
    pods = [pod_of(a, 0, "n1"), pod_of(b, 0, "n2"), pod_of(agent, 0, "n1"), pod_of(agent, 1, "n2")]
    return snapshot(
        [node("n1", labels={"pool": "x"}), node("n2")],
        pods,
        [a, b, agent],
        [pdb("a", "a", max_unavailable=1, disruptions_allowed=allowed)],
    )


def _shrink_b(to_cpu: int) -> Recommendation:
    return Recommendation(
        recommendation_id=uuid.UUID(int=5),
        cluster_id=CLUSTER_ID,
        kind=RecommendationKind.RIGHTSIZING,
        title="shrink b",
        reason="test",
        risk=Risk.LOW,
        monthly_saving_usd=1.0,
        change_set=ChangeSet(
            actions=[
                PatchResources(
                    target=WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="b"),
                    containers=[
                        ContainerResources(
                            container="app", requests=Resources(cpu_millis=to_cpu, memory_bytes=GIB)
                        )
                    ],
                )
            ]
        ),
        created_at=NOW,
    )


def test_node_whose_pods_fit_elsewhere_is_emptied_for_its_price() -> None:
    """a (1 core) fits beside b (3 cores): n1 goes, saving an m5.xlarge month."""
    recs = recommend_consolidation(_cluster(), pricebook(), NOW)
    assert [r.node for r in recs] == ["n1"]
    assert recs[0].monthly_saving_usd == pytest.approx(0.192 * 730)


def test_change_set_cordons_then_drains() -> None:
    """Cordon and Drain of the emptied node, pinned to its provider id."""
    actions = recommend_consolidation(_cluster(), pricebook(), NOW)[0].change_set.actions
    assert [type(a) for a in actions] == [Cordon, Drain]
    assert actions[0].precondition.fields["/spec/providerID"] == "aws:///us-east-1a/i-n1"


def test_daemonset_pods_stay_behind() -> None:
    """The DaemonSet pod is not among the moves."""
    rec = recommend_consolidation(_cluster(), pricebook(), NOW)[0]
    assert rec.evidence["moves"] == {"shop/a-0": "n2"}
    assert rec.evidence["daemon_pods_staying"] == 1


def test_pods_that_do_not_fit_keep_their_node() -> None:
    """a (2 cores) does not fit beside b (3 cores of 4): nothing to empty."""
    assert recommend_consolidation(_cluster(a_cpu=2000), pricebook(), NOW) == []


def test_rightsizing_first_makes_room() -> None:
    """Shrunk to 1 core, b fits beside a (2 cores): n2 is emptied into n1."""
    recs = recommend_consolidation(
        _cluster(a_cpu=2000), pricebook(), NOW, rightsizing=[_shrink_b(1000)]
    )
    assert [(r.node, r.evidence["moves"]) for r in recs] == [("n2", {"shop/b-0": "n1"})]


def test_pdb_without_headroom_blocks_the_node() -> None:
    """a's PDB allows no eviction now: n1 is kept (n2, whose b fits on n1, goes instead)."""
    assert [r.node for r in recommend_consolidation(_cluster(allowed=0), pricebook(), NOW)] == [
        "n2"
    ]


def test_node_selector_pins_a_pod_to_its_node() -> None:
    """a must run on pool x, which only n1 has: n1 stays, n2 goes instead."""
    assert [
        r.node for r in recommend_consolidation(_cluster(selector={"pool": "x"}), pricebook(), NOW)
    ] == ["n2"]


def test_empty_node_is_released_first() -> None:
    """A node that runs no pod at all is the first to go, for its full price."""
    cluster = _cluster(a_cpu=2000)
    with_spare = cluster.model_copy(update={"nodes": [*cluster.nodes, node("spare")]})
    recs = recommend_consolidation(with_spare, pricebook(), NOW)
    assert [r.node for r in recs][:1] == ["spare"]
    assert recs[0].evidence["moves"] == {}
