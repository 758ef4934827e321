"""Consumer workers scale on their consumer lag: KEDA where present, an HPA otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.helm_tools import find, of_kind, render
from tests.unit.helm.scenarios import KEDA_API, NAMESPACE, RELEASE, SERVER

PREFIX = f"{RELEASE}-{SERVER}"
INGEST = f"{PREFIX}-ingest-worker"
SPOT = f"{PREFIX}-spot-worker"
# The gauge workers/metrics.py exports.
LAG = "slicewise_worker_consumer_lag"


def _render(values: dict[str, Any] | None = None, api_versions: tuple[str, ...] = ()) -> list[Any]:
    """The server chart rendered in the test namespace."""
    return render(SERVER, values, api_versions=api_versions, namespace=NAMESPACE, release=RELEASE)


def _lag_query(worker: str) -> str:
    """The Prometheus query a worker's ScaledObject should ask."""
    return f'sum({LAG}{{namespace="{NAMESPACE}",service="{worker}-metrics"}})'


def test_keda_scaled_objects_when_the_cluster_serves_keda() -> None:
    """With keda.sh/v1alpha1 served, each consumer gets a ScaledObject on its lag, and no HPA."""
    manifests = _render(api_versions=(KEDA_API,))
    ingest = find(manifests, "ScaledObject", INGEST)["spec"]
    assert ingest["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": INGEST,
    }
    assert (ingest["minReplicaCount"], ingest["maxReplicaCount"]) == (2, 12)
    assert ingest["triggers"] == [
        {
            "type": "prometheus",
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": "http://prometheus-operated.monitoring.svc:9090",
                "query": _lag_query(INGEST),
                "threshold": "1000",
            },
        }
    ]
    spot = find(manifests, "ScaledObject", SPOT)["spec"]
    assert spot["triggers"][0]["metadata"]["query"] == _lag_query(SPOT)
    assert spot["triggers"][0]["metadata"]["threshold"] == "10"
    hpas = {h["metadata"]["name"] for h in of_kind(manifests, "HorizontalPodAutoscaler")}
    assert hpas == {f"{PREFIX}-gateway"}


def test_lag_hpas_when_keda_is_absent() -> None:
    """Without KEDA each consumer gets an HPA on the per-pod consumer-lag metric."""
    manifests = _render()
    assert of_kind(manifests, "ScaledObject") == []
    for worker, (low, high, lag) in {INGEST: (2, 12, "1000"), SPOT: (2, 6, "10")}.items():
        spec = find(manifests, "HorizontalPodAutoscaler", worker)["spec"]
        assert spec["scaleTargetRef"]["name"] == worker
        assert (spec["minReplicas"], spec["maxReplicas"]) == (low, high)
        assert spec["metrics"] == [
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": LAG},
                    "target": {"type": "AverageValue", "averageValue": lag},
                },
            }
        ]


def test_external_metric_hpa_selects_the_worker_series() -> None:
    """metricType External reads the lag from an external adapter, selected by worker Service."""
    values = {"workers": {"autoscaling": {"hpa": {"metricType": "External"}}}}
    spec = find(_render(values), "HorizontalPodAutoscaler", INGEST)["spec"]
    assert spec["metrics"] == [
        {
            "type": "External",
            "external": {
                "metric": {
                    "name": LAG,
                    "selector": {
                        "matchLabels": {"namespace": NAMESPACE, "service": f"{INGEST}-metrics"}
                    },
                },
                "target": {"type": "AverageValue", "averageValue": "1000"},
            },
        }
    ]


@pytest.mark.parametrize(
    ("engine", "api_versions", "scaled_objects", "lag_hpas"),
    [
        ("keda", (), 2, 0),
        ("hpa", (KEDA_API,), 0, 2),
        ("none", (KEDA_API,), 0, 0),
    ],
    ids=["keda-forced", "hpa-forced", "none"],
)
def test_engine_switch_overrides_discovery(
    engine: str, api_versions: tuple[str, ...], scaled_objects: int, lag_hpas: int
) -> None:
    """workers.autoscaling.engine wins over what the cluster serves."""
    manifests = _render({"workers": {"autoscaling": {"engine": engine}}}, api_versions)
    hpas = [
        h
        for h in of_kind(manifests, "HorizontalPodAutoscaler")
        if h["metadata"]["name"] in {INGEST, SPOT}
    ]
    assert len(of_kind(manifests, "ScaledObject")) == scaled_objects
    assert len(hpas) == lag_hpas


def test_fixed_replicas_only_when_nothing_scales_the_workers() -> None:
    """An autoscaler owns the replica count; without one the Deployment carries it."""
    scaled = _render()
    fixed = _render({"workers": {"autoscaling": {"engine": "none"}, "ingest": {"replicas": 4}}})
    assert "replicas" not in find(scaled, "Deployment", INGEST)["spec"]
    assert find(fixed, "Deployment", INGEST)["spec"]["replicas"] == 4
    assert find(fixed, "Deployment", SPOT)["spec"]["replicas"] == 2


def test_workers_expose_metrics_on_port_9090() -> None:
    """Each consumer declares the metrics port its lag gauge is scraped from."""
    manifests = _render()
    for worker in (INGEST, SPOT):
        (container,) = find(manifests, "Deployment", worker)["spec"]["template"]["spec"][
            "containers"
        ]
        assert container["ports"] == [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
        service = find(manifests, "Service", f"{worker}-metrics")["spec"]
        assert service["clusterIP"] == "None"
        assert service["ports"] == [
            {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
        ]


def test_lag_metric_name_follows_values() -> None:
    """workers.autoscaling.lagMetric renames the series every scaler reads."""
    values = {"workers": {"autoscaling": {"lagMetric": "kafka_consumergroup_lag"}}}
    keda = find(_render(values, (KEDA_API,)), "ScaledObject", INGEST)["spec"]["triggers"][0]
    hpa = find(_render(values), "HorizontalPodAutoscaler", INGEST)["spec"]["metrics"][0]
    assert keda["metadata"]["query"].startswith("sum(kafka_consumergroup_lag{")
    assert hpa["pods"]["metric"] == {"name": "kafka_consumergroup_lag"}
