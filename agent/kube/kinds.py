"""The kinds the agent watches, the API versions tried for each, and their converters.

PodDisruptionBudgets and HPAs moved to new API versions over the Kubernetes releases
customers still run (policy/v1 from 1.21, autoscaling/v2 from 1.23). The older versions keep
the same shape, so they decode into the newest models through the subclasses below; the
watcher uses the first version the server serves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lightkube.core.resource import ApiInfo, ResourceDef
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget

from agent.changes import Entry
from agent.convert.metadata import controller_of, name_of, namespace_of, uid_of
from agent.convert.nodes import to_node
from agent.convert.owners import OwnerLink
from agent.convert.pods import to_pod
from agent.convert.policies import to_hpa, to_pdb
from agent.convert.workloads import (
    daemonset_to_workload,
    deployment_to_workload,
    job_to_workload,
    statefulset_to_workload,
)

_READ_VERBS = ["get", "global_list", "global_watch", "list", "watch"]


class PodDisruptionBudgetV1beta1(PodDisruptionBudget):
    """policy/v1beta1 PodDisruptionBudget (Kubernetes before 1.21), decoded as policy/v1."""

    _api_info = ApiInfo(
        resource=ResourceDef("policy", "v1beta1", "PodDisruptionBudget"),
        plural="poddisruptionbudgets",
        verbs=_READ_VERBS,
    )


class HorizontalPodAutoscalerV2beta2(HorizontalPodAutoscaler):
    """autoscaling/v2beta2 HPA (Kubernetes before 1.23), decoded as autoscaling/v2."""

    _api_info = ApiInfo(
        resource=ResourceDef("autoscaling", "v2beta2", "HorizontalPodAutoscaler"),
        plural="horizontalpodautoscalers",
        verbs=_READ_VERBS,
    )


@dataclass(frozen=True)
class KindSpec:
    """One watched kind: its RBAC resource and group, API versions to try, converter."""

    kind: str
    """The plural resource name (`pods`), also the RBAC resource."""
    group: str
    category: str
    """`nodes`, `pods`, `workloads`, `owners`, `pdbs` or `hpas` (see `agent.changes`)."""
    candidates: tuple[type[Any], ...]
    namespaced: bool
    convert: Callable[[Any], Entry]


def _model(convert: Callable[[Any], Any]) -> Callable[[Any], Entry]:
    """A converter whose result is the entry's wire model."""
    return lambda obj: Entry(convert(obj))


def _replicaset(obj: ReplicaSet) -> Entry:
    """ReplicaSets are only links in owner chains (their Deployment is the workload)."""
    meta = obj.metadata
    return Entry(
        None,
        OwnerLink(
            namespace_of(meta), "ReplicaSet", name_of(meta), uid_of(meta), controller_of(meta)
        ),
    )


def _job(obj: Job) -> Entry:
    """Jobs are workloads and links (to the CronJob that created them)."""
    meta = obj.metadata
    link = OwnerLink(namespace_of(meta), "Job", name_of(meta), uid_of(meta), controller_of(meta))
    return Entry(job_to_workload(obj), link)


KINDS: tuple[KindSpec, ...] = (
    KindSpec("nodes", "", "nodes", (Node,), False, _model(to_node)),
    KindSpec("pods", "", "pods", (Pod,), True, _model(to_pod)),
    KindSpec(
        "deployments", "apps", "workloads", (Deployment,), True, _model(deployment_to_workload)
    ),
    KindSpec(
        "statefulsets", "apps", "workloads", (StatefulSet,), True, _model(statefulset_to_workload)
    ),
    KindSpec("daemonsets", "apps", "workloads", (DaemonSet,), True, _model(daemonset_to_workload)),
    KindSpec("replicasets", "apps", "owners", (ReplicaSet,), True, _replicaset),
    KindSpec("jobs", "batch", "workloads", (Job,), True, _job),
    KindSpec(
        "poddisruptionbudgets",
        "policy",
        "pdbs",
        (PodDisruptionBudget, PodDisruptionBudgetV1beta1),
        True,
        _model(to_pdb),
    ),
    KindSpec(
        "horizontalpodautoscalers",
        "autoscaling",
        "hpas",
        (HorizontalPodAutoscaler, HorizontalPodAutoscalerV2beta2),
        True,
        _model(to_hpa),
    ),
)
"""Every kind the collector lists and watches (the RBAC rules in `agent.rbac` match these)."""
