"""`recommender.spot.world`: how a cluster and a trace replay state a split request."""

from __future__ import annotations

import pytest

from recommender.pricing.spot_advisor import InterruptionBucket
from recommender.spot.world import (
    HOURS_PER_MONTH,
    ClusterPool,
    TraceAssumptions,
    ZoneRecord,
    aged,
    observed_rate,
    reclaims_per_hour,
    request_for_cluster,
    request_for_trace,
)

LOW = InterruptionBucket(0, "<5%", 5.0)
TOP = InterruptionBucket(4, ">20%", 100.0)


def test_bucket_is_read_as_its_upper_bound_and_the_top_one_as_thirty_percent() -> None:
    """<5 % a month is 0.05 / 730 per hour; >20 % (max 100) counts as 30 %."""
    assert reclaims_per_hour(LOW) == pytest.approx(0.05 / HOURS_PER_MONTH)
    assert reclaims_per_hour(TOP) == pytest.approx(0.30 / HOURS_PER_MONTH)


def test_cluster_request_keeps_the_pdb_minimum_on_demand_within_the_replicas() -> None:
    """Many replicas: minAvailable after a pool's and after all spot's loss, fixed total."""
    request = request_for_cluster(
        replicas=6,
        min_available=4,
        surge_on_notice=False,
        pools=[ClusterPool("m5.xlarge/a", 0.4, LOW, 0)],
        on_demand_hourly=1.0,
        startup_seconds=360.0,
    )
    assert (request.serving, request.after_pool_loss, request.after_all_spot_loss) == (6, 4, 4)
    assert request.total_fixed
    assert request.warmup_hours == pytest.approx(0.1)


def test_single_replica_with_a_surge_promises_nothing_during_the_notice() -> None:
    """The surge covers the notice, so neither loss needs on-demand ahead of time."""
    request = request_for_cluster(
        replicas=1,
        min_available=1,
        surge_on_notice=True,
        pools=[ClusterPool("m5.xlarge/a", 0.4, LOW, 1)],
        on_demand_hourly=1.0,
        startup_seconds=60.0,
    )
    assert (request.after_pool_loss, request.after_all_spot_loss) == (0, 0)


def test_trace_request_caps_a_cooling_zone_at_what_runs_there() -> None:
    """R must survive a pool's loss; a zone that just reclaimed takes nothing new."""
    request = request_for_trace(
        replicas=4,
        zones=["a", "b"],
        spot_hourly=[0.3, 0.3],
        records={},
        prior=TraceAssumptions(on_demand_share=0.75),
        caps={"b": 2},
        running={"a": 1},
        on_demand_hourly=1.0,
        warmup_hours=0.2,
        cooling=frozenset({"a"}),
    )
    assert (request.after_pool_loss, request.after_all_spot_loss) == (4, 3)
    assert [p.obtainable for p in request.pools] == [1, 2]
    assert not request.total_fixed


def test_reclaim_evidence_fades_with_its_half_life() -> None:
    """After one half-life, reclaims and exposure weigh half; without one, nothing fades."""
    record = ZoneRecord(reclaims=4.0, exposure_hours=20.0)
    assert aged(record, 6.0, TraceAssumptions(half_life_hours=6.0)) == ZoneRecord(2.0, 10.0)
    assert aged(record, 6.0, TraceAssumptions()) == record
    assert observed_rate(record, TraceAssumptions()) == pytest.approx(5 / 30)
