"""PDBs and HPAs convert with their bounds, targets and live status."""

from __future__ import annotations

from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.policy_v1 import PodDisruptionBudget

from agent.convert.policies import to_hpa, to_pdb
from tests.unit.agent.kube_objects import kube


def test_pdb_bounds_selector_and_status() -> None:
    """minAvailable, selector and the disruption status are kept."""
    pdb = to_pdb(
        kube(
            PodDisruptionBudget,
            {
                "metadata": {"name": "web", "namespace": "shop", "uid": "pdb-uid"},
                "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}},
                "status": {
                    "currentHealthy": 5,
                    "desiredHealthy": 3,
                    "disruptionsAllowed": 2,
                    "expectedPods": 6,
                },
            },
        )
    )
    assert (pdb.min_available, pdb.max_unavailable, pdb.selector) == ("50%", None, {"app": "web"})
    assert (
        pdb.current_healthy,
        pdb.desired_healthy,
        pdb.disruptions_allowed,
        pdb.expected_pods,
    ) == (5, 3, 2, 6)


def test_hpa_target_bounds_and_metrics() -> None:
    """Scale target, replica bounds, status and every metric type's target are converted."""
    hpa = to_hpa(
        kube(
            HorizontalPodAutoscaler,
            {
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "web",
                    },
                    "minReplicas": 2,
                    "maxReplicas": 10,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70},
                            },
                        },
                        {
                            "type": "Pods",
                            "pods": {
                                "metric": {"name": "requests_per_second"},
                                "target": {"type": "AverageValue", "averageValue": "1k"},
                            },
                        },
                        {
                            "type": "External",
                            "external": {
                                "metric": {"name": "queue_depth"},
                                "target": {"type": "Value", "value": "30"},
                            },
                        },
                    ],
                },
                "status": {"currentReplicas": 4, "desiredReplicas": 5},
            },
        )
    )
    assert (hpa.target_kind, hpa.target_name) == ("Deployment", "web")
    assert (hpa.min_replicas, hpa.max_replicas) == (2, 10)
    assert (hpa.current_replicas, hpa.desired_replicas) == (4, 5)
    assert [(m.type, m.name, m.target_utilization, m.target_value) for m in hpa.metrics] == [
        ("Resource", "cpu", 70, None),
        ("Pods", "requests_per_second", None, "1k"),
        ("External", "queue_depth", None, "30"),
    ]


def test_hpa_min_replicas_defaults_to_one() -> None:
    """An HPA without minReplicas has the Kubernetes default of 1."""
    hpa = to_hpa(
        kube(
            HorizontalPodAutoscaler,
            {
                "metadata": {"name": "w", "namespace": "n"},
                "spec": {
                    "scaleTargetRef": {"kind": "StatefulSet", "name": "db"},
                    "maxReplicas": 3,
                },
            },
        )
    )
    assert (hpa.min_replicas, hpa.metrics, hpa.desired_replicas) == (1, [], 0)
