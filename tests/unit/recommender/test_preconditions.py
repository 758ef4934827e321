"""What a workload change pins: the spec's generation, not status churn."""

from __future__ import annotations

from executor.planning.preconditions import precondition_mismatches
from protocol.snapshot import Container, PodSpecSummary, Workload, WorkloadKind
from recommender.preconditions import GENERATION_POINTER, workload_precondition


def _workload(generation: int, resource_version: str = "41") -> Workload:
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace="shop",
        name="web",
        uid="u-1",
        resource_version=resource_version,
        generation=generation,
        replicas=3,
        template=PodSpecSummary(containers=[Container(name="app")]),
    )


def _live(generation: int, resource_version: str) -> dict[str, object]:
    return {"metadata": {"generation": generation, "resourceVersion": resource_version}}


def test_a_reported_generation_is_pinned_instead_of_the_resource_version() -> None:
    precondition = workload_precondition(_workload(7))
    assert precondition.resource_version is None
    assert precondition.fields == {GENERATION_POINTER: 7}


def test_status_churn_after_the_analysis_leaves_the_precondition_holding() -> None:
    precondition = workload_precondition(_workload(7, resource_version="41"))
    assert precondition_mismatches(precondition, _live(7, "58")) == []


def test_a_spec_change_after_the_analysis_breaks_the_precondition() -> None:
    precondition = workload_precondition(_workload(7))
    assert precondition_mismatches(precondition, _live(8, "59")) == [
        "/metadata/generation is 8, expected 7"
    ]


def test_without_a_generation_the_whole_resource_version_is_pinned() -> None:
    precondition = workload_precondition(_workload(0, resource_version="41"))
    assert precondition.resource_version == "41"
    assert precondition_mismatches(precondition, _live(7, "58")) == [
        "resourceVersion is 58, expected 41"
    ]
