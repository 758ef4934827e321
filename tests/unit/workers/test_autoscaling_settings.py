"""Where KEDA finds Prometheus: the cluster's own address, the tenant's, or none."""

from __future__ import annotations

import uuid

from workers.autoscaling_settings import (
    PROMETHEUS_SERVER_ADDRESS,
    PROMETHEUS_SERVER_ADDRESSES,
    prometheus_address,
)

CLUSTER = uuid.UUID(int=7)
TENANT_WIDE = "http://prometheus.monitoring:9090"
OWN = "https://thanos.example.com"


def test_a_cluster_address_wins_over_the_tenant_default() -> None:
    """The per-cluster map names this cluster: its address is used."""
    settings = {
        PROMETHEUS_SERVER_ADDRESS: TENANT_WIDE,
        PROMETHEUS_SERVER_ADDRESSES: {str(CLUSTER): OWN},
    }
    assert prometheus_address(settings, CLUSTER) == OWN


def test_other_clusters_get_the_tenant_default() -> None:
    """A cluster missing from the map uses the tenant's address."""
    settings = {
        PROMETHEUS_SERVER_ADDRESS: TENANT_WIDE,
        PROMETHEUS_SERVER_ADDRESSES: {str(uuid.UUID(int=8)): OWN},
    }
    assert prometheus_address(settings, CLUSTER) == TENANT_WIDE


def test_nothing_set_or_malformed_reads_as_unset() -> None:
    """No setting, or one that is not an http(s) URL, leaves the recommender's default."""
    assert prometheus_address({}, CLUSTER) is None
    malformed = {PROMETHEUS_SERVER_ADDRESS: "prometheus:9090", PROMETHEUS_SERVER_ADDRESSES: []}
    assert prometheus_address(malformed, CLUSTER) is None
