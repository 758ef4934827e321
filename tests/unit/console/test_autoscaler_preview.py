"""Console preview of autoscaler changes: a new HPA or ScaledObject is shown whole."""

from __future__ import annotations

from gateway.console.change_preview import describe, preview_change_set
from protocol.autoscaling import HpaSpec, ResourceUtilisationTarget
from protocol.changes import ApplyHpa, ChangeSet, WorkloadRef
from protocol.snapshot import WorkloadKind

ACTION = ApplyHpa(
    name="serve",
    target=WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="llm", name="serve"),
    spec=HpaSpec(
        min_replicas=2,
        max_replicas=8,
        metrics=[ResourceUtilisationTarget(resource="cpu", average_utilisation=75)],
    ),
)


def test_new_hpa_is_created_whole() -> None:
    """An HPA absent from the inventory is previewed as the whole manifest the executor creates."""
    change = preview_change_set(ChangeSet(actions=[ACTION]), {}).changes[0]
    assert change.creates
    assert change.patch == ACTION.manifest()


def test_hpa_action_is_described_with_its_target() -> None:
    """The description names the HPA and the workload it scales."""
    assert describe(ACTION) == ("Apply HorizontalPodAutoscaler llm/serve to Deployment llm/serve")
