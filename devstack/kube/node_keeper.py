"""The kubelet stand-in: keeps Nodes Ready and reports bound Pods as a kubelet would.

There is no container runtime here, so nothing runs; everything else a kubelet tells the API
server is real API traffic: Node Ready conditions and heartbeats, Leases in ``kube-node-lease``
(what the node-lifecycle controller watches before it taints a node unreachable), Pod statuses
(Running and Ready, or failing on demand through :data:`FAIL_ANNOTATION`), and the final
deletion of Pods whose graceful deletion began (evictions, drains, scale-downs). Optionally it
also stands in for Cluster Autoscaler / Karpenter (:mod:`devstack.kube.node_autoscaler`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
import httpx2
from lightkube import ApiError, Client, codecs
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import PatchType

from devstack.kube.dcgm_exporter import DcgmExporter, gpu_placements
from devstack.kube.errors import KubeHarnessError
from devstack.kube.identity import KubeIdentity
from devstack.kube.node_autoscaler import NodeAutoscaler, unschedulable
from devstack.kube.pod_processes import PodProcesses
from devstack.kube.pod_status import (
    FAIL_ANNOTATION,
    failed_status,
    reported_failure,
    running_status,
    wanted_failure,
)

LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40
KUBELET_VERSION = "v1.20.2"

__all__ = ["FAIL_ANNOTATION", "LEASE_NAMESPACE", "NodeKeeper"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_status_patch(node: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The status a healthy kubelet reports for ``node``: Ready, no pressure, allocatable set.

    Capacity is whatever the Node was created with; allocatable defaults to it, as on a kubelet
    that reserves nothing.
    """
    status = node.get("status") or {}
    capacity = status.get("capacity") or {}
    # A condition's transition time moves only when its status changes, as a kubelet keeps it.
    since = {
        c.get("type"): (c.get("status"), c.get("lastTransitionTime"))
        for c in status.get("conditions") or []
    }
    healthy = [
        ("Ready", "True", "KubeletReady", "node keeper is posting ready status"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", ""),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", ""),
        ("PIDPressure", "False", "KubeletHasSufficientPID", ""),
    ]
    patch: dict[str, Any] = {
        "conditions": [
            {
                "type": kind,
                "status": flag,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": (
                    since[kind][1] if since.get(kind, ("", None))[0] == flag else None
                )
                or now,
            }
            for kind, flag, reason, message in healthy
        ],
        "nodeInfo": {**(status.get("nodeInfo") or {}), "kubeletVersion": KUBELET_VERSION},
    }
    if not status.get("allocatable") and capacity:
        patch["allocatable"] = capacity
    if not status.get("addresses"):
        patch["addresses"] = [{"type": "InternalIP", "address": "127.0.0.1"}]
    return {"status": patch}


def _host_ip(node: Mapping[str, Any]) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return "127.0.0.1"


def _ready(node: Mapping[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class NodeKeeper:
    """A background thread that plays the kubelet of every Node in the cluster.

    Each ``poll_seconds`` it reports bound Pods and finalises deleted ones; each
    ``heartbeat_seconds`` (well inside the controller-manager's 40 s grace) it renews every
    Node's Ready condition and Lease. A Node that is not Ready is reported at once.
    """

    def __init__(
        self,
        identity: KubeIdentity,
        *,
        poll_seconds: float = 0.2,
        heartbeat_seconds: float = 10.0,
        exporter: DcgmExporter | None = None,
        processes: PodProcesses | None = None,
        autoscaler: NodeAutoscaler | None = None,
    ) -> None:
        """Prepare (not start) a keeper acting as ``identity`` (it needs node/pod/lease rights).

        With an ``exporter``, the GPUs of Running Pods are reported through it; with
        ``processes``, the product's containers of Running Pods run as local processes; with an
        ``autoscaler``, on-demand Nodes are added for Pods the scheduler cannot place.
        """
        self._exporter = exporter
        self._autoscaler = autoscaler
        self._processes = processes
        self._identity = identity
        self._poll = poll_seconds
        self._heartbeat = heartbeat_seconds
        self._beats: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def __enter__(self) -> NodeKeeper:
        """Start the keeper thread."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the keeper thread."""
        self.stop()

    def start(self) -> None:
        """Start the keeper thread."""
        if self._thread is not None:
            raise KubeHarnessError("the node keeper is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="node-keeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread; raise if it had died of an unexpected error."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)
        if thread.is_alive():
            raise KubeHarnessError("the node keeper did not stop")
        if self._processes is not None:
            self._processes.stop()
        if self._failure is not None:
            raise KubeHarnessError(f"the node keeper failed: {self._failure!r}") from self._failure

    @property
    def running(self) -> bool:
        """Whether the keeper thread is alive (it dies only of an unexpected error)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread_id(self) -> int | None:
        """The keeper thread's identifier (``threading.get_ident()`` inside it), once started."""
        return None if self._thread is None else self._thread.ident

    @property
    def failure(self) -> BaseException | None:
        """The error the keeper thread died of, if it did."""
        return self._failure

    def restart(self, timeout: float = 30.0) -> None:
        """Start the keeper thread again after it died; its error is dropped with it."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout)
            if thread.is_alive():
                raise KubeHarnessError("the node keeper did not stop")
        self._failure = None
        self.start()

    def _run(self) -> None:
        try:
            with self._identity.client() as client:
                while not self._stop.is_set():
                    # A race with another writer or an API restart: the next tick retries.
                    with contextlib.suppress(ApiError, httpx2.HTTPError, httpx.HTTPError):
                        self.tick(client)
                    self._stop.wait(self._poll)
        except Exception as exc:  # noqa: BLE001 - reported by stop(), never lost with the thread
            self._failure = exc

    def tick(self, client: Client) -> None:
        """One round: heartbeat Nodes that are due, report bound Pods, finalise deleted ones."""
        nodes: dict[str, dict[str, Any]] = {}
        for item in client.list(Node):
            node = item.to_dict()
            name = str(node["metadata"]["name"])
            nodes[name] = node
            last = self._beats.get(name)
            if last is None or time.monotonic() - last >= self._heartbeat or not _ready(node):
                self._heartbeat_node(client, node)
                self._beats[name] = time.monotonic()
        pods = [listed.to_dict() for listed in client.list(Pod, namespace="*")]
        for pod in pods:
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name:
                host = _host_ip(nodes.get(str(node_name)) or {})
                self._report_pod(client, pod, host)
        if self._exporter is not None:
            self._exporter.update(gpu_placements(pods, nodes))
        if self._processes is not None:
            self._processes.sync(pods)
            self._report_exits(client, pods, self._processes.exited_pods())
        if self._autoscaler is not None and self._autoscaler.due():
            self._scale_up(client, pods, nodes)

    def _scale_up(
        self, client: Client, pods: list[dict[str, Any]], nodes: Mapping[str, dict[str, Any]]
    ) -> None:
        """Create the on-demand Nodes the autoscaler stand-in plans for unschedulable Pods."""
        if self._autoscaler is None:
            return
        waiting = sum(1 for pod in pods if unschedulable(pod))
        for manifest in self._autoscaler.plan(pods, nodes):
            client.create(codecs.from_dict(manifest))
            self._autoscaler.added(manifest, waiting)

    def _heartbeat_node(self, client: Client, node: Mapping[str, Any]) -> None:
        now = _now()
        name = str(node["metadata"]["name"])
        client.patch(
            Node.Status, name, node_status_patch(node, _rfc3339(now)), patch_type=PatchType.MERGE
        )
        spec = LeaseSpec(holderIdentity=name, leaseDurationSeconds=LEASE_SECONDS, renewTime=now)
        try:
            client.patch(
                Lease,
                name,
                {"spec": {"renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}},
                namespace=LEASE_NAMESPACE,
                patch_type=PatchType.MERGE,
            )
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            owner = OwnerReference(
                apiVersion="v1", kind="Node", name=name, uid=str(node["metadata"]["uid"])
            )
            meta = ObjectMeta(name=name, namespace=LEASE_NAMESPACE, ownerReferences=[owner])
            client.create(Lease(metadata=meta, spec=spec))

    def _report_exits(self, client: Client, pods: list[dict[str, Any]], exited: set[str]) -> None:
        """Report Pods whose product process exited as failing, as a kubelet would."""
        for pod in pods:
            meta = pod["metadata"]
            if f"{meta['namespace']}/{meta['name']}" not in exited or reported_failure(pod):
                continue
            host = (pod.get("status") or {}).get("hostIP") or "127.0.0.1"
            status = failed_status(pod, host, _rfc3339(_now()), "Error")
            client.patch(
                Pod.Status,
                meta["name"],
                {"status": status},
                namespace=meta["namespace"],
                patch_type=PatchType.MERGE,
            )

    def _report_pod(self, client: Client, pod: Mapping[str, Any], host_ip: str) -> None:
        meta = pod["metadata"]
        name, namespace = str(meta["name"]), str(meta["namespace"])
        if meta.get("deletionTimestamp"):
            # A kubelet deletes the Pod for good once its containers stopped; none run here.
            client.delete(Pod, name, namespace=namespace, grace_period=0)
            return
        now = _rfc3339(_now())
        reason = wanted_failure(pod)
        phase = (pod.get("status") or {}).get("phase")
        if reason is not None and not reported_failure(pod):
            status = failed_status(pod, host_ip, now, reason)
        elif reason is None and phase in {None, "Pending"}:
            status = running_status(pod, host_ip, now)
        else:
            return
        client.patch(
            Pod.Status, name, {"status": status}, namespace=namespace, patch_type=PatchType.MERGE
        )
