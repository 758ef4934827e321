"""Requests and limits keeping the workload's QoS class."""

from __future__ import annotations

from recommender.rightsizing.estimate import ContainerEstimate
from recommender.rightsizing.limits import container_resources, is_guaranteed
from recommender.rightsizing.policy import RightsizingPolicy
from tests.unit.recommender.factories import GIB, MIB, container

POLICY = RightsizingPolicy()
ESTIMATE = ContainerEstimate(
    cpu_millis=500,
    memory_bytes=1536 * MIB,
    gpu_memory_bytes=None,
    confidence=1.0,
    history_hours=200.0,
    samples=2000,
    bumps=(),
)


def test_guaranteed_container_keeps_limits_equal_to_requests() -> None:
    """2 cores / 4 GiB Guaranteed becomes 500m / 1.5 GiB, limits alike."""
    app = container(cpu=2000, memory=4 * GIB, cpu_limit=2000, memory_limit=4 * GIB)
    assert is_guaranteed([app])
    change = container_resources(app, ESTIMATE, POLICY, guaranteed=True)
    assert change is not None
    assert (change.requests.cpu_millis, change.requests.memory_bytes) == (500, 1536 * MIB)
    assert (change.limits.cpu_millis, change.limits.memory_bytes) == (500, 1536 * MIB)


def test_burstable_limit_keeps_its_ratio_to_the_request() -> None:
    """A 2x CPU limit and 1.5x memory limit stay 2x and 1.5x of the new requests."""
    app = container(cpu=1000, memory=2 * GIB, cpu_limit=2000, memory_limit=3 * GIB)
    change = container_resources(app, ESTIMATE, POLICY, guaranteed=False)
    assert change is not None
    assert (change.limits.cpu_millis, change.limits.memory_bytes) == (1000, 2304 * MIB)


def test_absent_limits_stay_absent() -> None:
    """Without limits only requests are set."""
    change = container_resources(
        container(cpu=1000, memory=2 * GIB), ESTIMATE, POLICY, guaranteed=False
    )
    assert change is not None
    assert (change.limits.cpu_millis, change.limits.memory_bytes) == (None, None)


def test_change_under_ten_percent_is_skipped() -> None:
    """520m and 1.55 GiB are within 10 % of the estimate: no patch."""
    app = container(cpu=520, memory=1587 * MIB)
    assert container_resources(app, ESTIMATE, POLICY, guaranteed=False) is None


def test_missing_request_counts_as_a_change() -> None:
    """A BestEffort container gets requests."""
    change = container_resources(
        container(cpu=None, memory=None), ESTIMATE, POLICY, guaranteed=False
    )
    assert change is not None
    assert change.requests.cpu_millis == 500


def test_burstable_pod_is_not_guaranteed() -> None:
    """Requests below limits make the pod Burstable."""
    assert not is_guaranteed([container(cpu=500, cpu_limit=1000, memory_limit=GIB)])
