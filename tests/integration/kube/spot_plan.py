"""A spot fleet in the local control plane, the product's spot plan for one workload, and
a reclaim as a cloud delivers it (node deletion, its pods gone with it).

The plan is the one the product computes: the cluster is read into a snapshot with the agent's
converters and `recommend_spot` returns the change set; the executor applies it
(`tests.integration.kube.spot_product`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from lightkube import ApiError, Client
from lightkube.models.apps_v1 import DeploymentSpec, StatefulSetSpec
from lightkube.models.core_v1 import (
    Container,
    PodSpec,
    PodTemplateSpec,
    ResourceRequirements,
    Taint,
)
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget as KubePdb
from lightkube.types import PatchType

from agent.convert.nodes import to_node
from agent.convert.pods import to_pod
from agent.convert.policies import to_pdb
from agent.convert.workloads import deployment_to_workload, statefulset_to_workload
from executor.kube.api import POLICY_V1BETA1, as_json
from protocol.recommendation import Recommendation
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_INSTANCE_TYPE,
    LABEL_REGION,
    LABEL_ZONE,
    ClusterSnapshot,
    OwnerRef,
    Workload,
)
from recommender.spot.recommend import recommend_spot
from tests.integration.kube.shapes import POOL_LABEL, make_node, unique, wait_for
from tests.unit.recommender.factories import NOW, pricebook, snapshot

SPOT_TAINT = Taint(key=LABEL_CAPACITY, value="spot", effect="NoSchedule")
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
SETTLE_SECONDS = 90.0


@dataclass(frozen=True)
class Fleet:
    """Two on-demand nodes and one spot pool (one node) per zone, all of one test's pool."""

    pool: str
    on_demand: tuple[str, ...]
    spot: Mapping[str, tuple[str, ...]]

    @property
    def spot_nodes(self) -> set[str]:
        """Every spot node."""
        return {n for nodes in self.spot.values() for n in nodes}


def make_fleet(cluster: Client) -> Fleet:
    """Create the fleet's Nodes, labelled as AWS labels them."""
    pool = unique("spotplan")

    def labels(capacity: str, zone: str, instance_type: str) -> dict[str, str]:
        return {
            LABEL_CAPACITY: capacity,
            LABEL_ZONE: zone,
            LABEL_REGION: "us-east-1",
            LABEL_INSTANCE_TYPE: instance_type,
        }

    on_demand = tuple(
        make_node(cluster, pool, labels("on-demand", zone, "m5.4xlarge")) for zone in ZONES[:2]
    )
    spot = {
        zone: (make_node(cluster, pool, labels("spot", zone, "m5.xlarge"), [SPOT_TAINT]),)
        for zone in ZONES
    }
    fleet = Fleet(pool, on_demand, spot)
    names = {*on_demand, *fleet.spot_nodes}
    wait_for(lambda: names <= ready_nodes(cluster), "the fleet's nodes Ready")
    return fleet


def ready_nodes(cluster: Client) -> set[str]:
    """Names of the Nodes whose Ready condition is True."""
    return {
        n.metadata.name
        for n in cluster.list(Node)
        if n.metadata is not None
        and n.metadata.name is not None
        and n.status is not None
        and any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    }


def _template(app: str, pool: str, annotations: Mapping[str, str]) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": app}),
        spec=PodSpec(
            nodeSelector={POOL_LABEL: pool},
            terminationGracePeriodSeconds=30,
            containers=[
                Container(
                    name="main",
                    image="registry.invalid/none:0",
                    resources=ResourceRequirements(requests={"cpu": "500m", "memory": "1Gi"}),
                )
            ],
        ),
    )


def make_workload(
    cluster: Client,
    namespace: str,
    fleet: Fleet,
    kind: str,
    replicas: int,
    *,
    annotations: Mapping[str, str] | None = None,
) -> str:
    """A Deployment or StatefulSet of `replicas` on the fleet's on-demand nodes; its app label."""
    app = unique(kind.lower())
    meta = ObjectMeta(name=app, namespace=namespace, annotations=dict(annotations or {}))
    selector = LabelSelector(matchLabels={"app": app})
    template = _template(app, fleet.pool, annotations or {})
    if kind == "Deployment":
        cluster.create(
            Deployment(
                metadata=meta,
                spec=DeploymentSpec(replicas=replicas, selector=selector, template=template),
            )
        )
    else:
        cluster.create(
            StatefulSet(
                metadata=meta,
                spec=StatefulSetSpec(
                    replicas=replicas, selector=selector, serviceName=app, template=template
                ),
            )
        )
    wait_for(lambda: settled(cluster, namespace, kind, app, replicas), "the workload ready")
    return app


def live_pods(cluster: Client, namespace: str, app: str) -> list[Pod]:
    """The app's Pods that are not terminating."""
    return [
        p
        for p in cluster.list(Pod, namespace=namespace, labels={"app": app})
        if p.metadata is not None and p.metadata.deletionTimestamp is None
    ]


def is_ready(pod: Pod) -> bool:
    """Ready condition True and not terminating."""
    if pod.metadata is None or pod.metadata.deletionTimestamp is not None or pod.status is None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def settled(cluster: Client, namespace: str, kind: str, app: str, replicas: int) -> bool:
    """Every replica of the current template Ready, and nothing else left."""
    resource = Deployment if kind == "Deployment" else StatefulSet
    obj = cluster.get(resource, app, namespace=namespace).to_dict()  # type: ignore[attr-defined]
    status: dict[str, Any] = obj.get("status") or {}
    current = status.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
    updated = status.get("updatedReplicas", 0) == replicas
    if kind == "StatefulSet":
        updated = updated and status.get("currentRevision") == status.get("updateRevision")
    pods = cluster.list(Pod, namespace=namespace, labels={"app": app})
    every = list(pods)
    return current and updated and len(every) == replicas and all(is_ready(p) for p in every)


def _to_workload(cluster: Client, namespace: str, kind: str, app: str) -> Workload:
    if kind == "Deployment":
        return deployment_to_workload(cluster.get(Deployment, app, namespace=namespace))
    return statefulset_to_workload(cluster.get(StatefulSet, app, namespace=namespace))


def cluster_snapshot(
    cluster: Client, namespace: str, kind: str, app: str, fleet: Fleet
) -> ClusterSnapshot:
    """The fleet's nodes, the app's live pods, the workload and the namespace's PDBs, read with
    the agent's converters into the snapshot the product reasons on."""
    workload = _to_workload(cluster, namespace, kind, app)
    nodes = [
        to_node(n)
        for n in cluster.list(Node)
        if n.metadata is not None and (n.metadata.labels or {}).get(POOL_LABEL) == fleet.pool
    ]
    owners = [OwnerRef(kind=kind, name=app)]
    if kind == "Deployment":
        owners = [OwnerRef(kind="ReplicaSet", name=f"{app}-rs"), *owners]
    pods = [
        to_pod(p).model_copy(update={"owners": owners}) for p in live_pods(cluster, namespace, app)
    ]
    pdbs = [
        to_pdb(cast(KubePdb, KubePdb.from_dict(as_json(p))))
        for p in cluster.list(POLICY_V1BETA1.pdb, namespace=namespace)
    ]
    return snapshot(nodes, pods, [workload], pdbs)


def spot_recommendation(
    cluster: Client, namespace: str, kind: str, app: str, fleet: Fleet
) -> Recommendation:
    """The product's spot recommendation for the workload, computed from the live cluster."""
    recs = recommend_spot(cluster_snapshot(cluster, namespace, kind, app, fleet), pricebook(), NOW)
    assert len(recs) == 1, "the product recommends nothing for this workload"
    return recs[0]


def wait_rollout(cluster: Client, namespace: str, kind: str, app: str) -> None:
    """Wait for the workload's current template to be rolled out, every replica Ready."""
    replicas = _replicas(cluster, namespace, kind, app)
    wait_for(
        lambda: settled(cluster, namespace, kind, app, replicas),
        "the rollout to settle",
        SETTLE_SECONDS,
    )


def _replicas(cluster: Client, namespace: str, kind: str, app: str) -> int:
    resource = Deployment if kind == "Deployment" else StatefulSet
    obj = cluster.get(resource, app, namespace=namespace).to_dict()  # type: ignore[attr-defined]
    return int(obj["spec"].get("replicas") or 0)


def pdb_minimum(cluster: Client, namespace: str) -> int:
    """desiredHealthy of the namespace's one PDB, once the disruption controller judged it."""

    def judged() -> int | None:
        pdbs = list(cluster.list(POLICY_V1BETA1.pdb, namespace=namespace))
        if len(pdbs) != 1:
            return None
        status = pdbs[0].status or {}
        return int(status["desiredHealthy"]) if "desiredHealthy" in status else None

    return wait_for(judged, "the disruption controller to judge the PDB")


def on_spot(pods: list[Pod], fleet: Fleet) -> list[Pod]:
    """The pods bound to spot nodes."""
    return [p for p in pods if p.spec is not None and p.spec.nodeName in fleet.spot_nodes]


def busiest_pool(cluster: Client, namespace: str, app: str, fleet: Fleet) -> tuple[str, ...]:
    """The nodes of the spot pool running most of the app's pods."""
    pods = live_pods(cluster, namespace, app)
    counts = {
        zone: sum(1 for p in pods if p.spec is not None and p.spec.nodeName in nodes)
        for zone, nodes in fleet.spot.items()
    }
    zone = max(sorted(counts), key=lambda z: counts[z])
    assert counts[zone] > 0, "nothing runs on spot"
    return tuple(fleet.spot[zone])


@dataclass
class ReadyWatch:
    """Watches the app's Pods and keeps the fewest Ready seen since `arm()`."""

    client: Client
    namespace: str
    app: str
    ready: set[str] = field(default_factory=set)
    fewest: int | None = None
    _armed: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    failure: BaseException | None = None

    def _run(self) -> None:
        try:
            for kind, pod in self.client.watch(
                Pod, namespace=self.namespace, labels={"app": self.app}
            ):
                if self._stop.is_set():
                    return
                name = pod.metadata.name if pod.metadata else None
                with self._lock:
                    if kind != "DELETED" and is_ready(pod):
                        self.ready.add(str(name))
                    else:
                        self.ready.discard(str(name))
                    if self._armed:
                        count = len(self.ready)
                        self.fewest = count if self.fewest is None else min(self.fewest, count)
        except BaseException as exc:  # noqa: BLE001 - handed to the test by `stop()`
            self.failure = exc

    def start(self, expected: int) -> None:
        """Start watching; return once the watch has seen `expected` Ready pods."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_for(lambda: len(self.ready) >= expected, "the watch to see every ready pod")

    def arm(self) -> None:
        """Start recording the minimum."""
        with self._lock:
            self._armed = True
            self.fewest = len(self.ready)

    def stop(self) -> None:
        """Stop once the next event arrives."""
        self._stop.set()

    def join(self) -> None:
        """Wait for the watch thread to end; fail if it failed."""
        if self._thread is not None:
            self._thread.join(timeout=30)
            assert not self._thread.is_alive(), "the pod watch did not stop"
        if self.failure is not None:
            raise self.failure


@contextmanager
def watching(client: Client, namespace: str, app: str, expected: int) -> Iterator[ReadyWatch]:
    """A ReadyWatch running for the block, stopped and joined at its end."""
    watch = ReadyWatch(client, namespace, app)
    watch.start(expected)
    try:
        yield watch
    finally:
        watch.stop()
        # An event for the watch to wake on and see the stop: touch one of the app's pods.
        for pod in live_pods(client, namespace, app)[:1]:
            assert pod.metadata is not None
            assert pod.metadata.name is not None
            client.patch(
                Pod,
                pod.metadata.name,
                {"metadata": {"annotations": {"test.slicewise.dev/watch": "stop"}}},
                namespace=namespace,
                patch_type=PatchType.MERGE,
            )
        watch.join()


def delete_nodes(cluster: Client, namespace: str, nodes: tuple[str, ...]) -> None:
    """The reclaim: the nodes go, and with no kubelet left their pods go at once."""
    for name in nodes:
        cluster.delete(Node, name)
    for pod in cluster.list(Pod, namespace=namespace):
        if pod.spec is not None and pod.spec.nodeName in nodes and pod.metadata is not None:
            assert pod.metadata.name is not None
            try:
                cluster.delete(Pod, pod.metadata.name, namespace=namespace, grace_period=0)
            except ApiError as exc:
                if exc.status.code != 404:
                    raise
