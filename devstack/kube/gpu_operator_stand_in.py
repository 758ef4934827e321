"""A stand-in for the GPU Operator's device plugin and MIG manager on the kubelet stand-in.

There are no GPUs here, so nothing is partitioned or shared; what the two daemons tell the API
server is played for real, from the same inputs they read:

- MIG manager: a node whose `nvidia.com/mig.config` names a layout of the mig-parted config in
  the ClusterPolicy's `spec.migManager.config` ConfigMap gets `nvidia.com/mig.config.state`
  `success` (or `failed` for a layout the config lacks or the stand-in is told to fail), and its
  GPUs are advertised as that layout's devices: `nvidia.com/mig-<profile>` under the `mixed`
  strategy, `nvidia.com/gpu` per device under `single`.
- Device plugin: a node whose `nvidia.com/device-plugin.config` names a config with a time-slicing
  or MPS section advertises `replicas` x its GPUs as `nvidia.com/gpu`.

A node's physical GPU count is GPU feature discovery's `nvidia.com/gpu.count` label; without a
set of nodes given, the stand-in acts for every node carrying that label, as the operator's
daemons run on every GPU node (nodes added later included).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import httpx
import httpx2
import yaml
from lightkube import ApiError, Client
from lightkube.generic_resource import create_global_resource
from lightkube.operators import exists
from lightkube.resources.core_v1 import ConfigMap, Node
from lightkube.types import PatchType

from devstack.gpu_operator import (
    CLUSTER_POLICY_GROUP,
    CLUSTER_POLICY_KIND,
    CLUSTER_POLICY_PLURAL,
    CLUSTER_POLICY_VERSION,
)
from devstack.kube.identity import KubeIdentity

ClusterPolicy = create_global_resource(
    CLUSTER_POLICY_GROUP, CLUSTER_POLICY_VERSION, CLUSTER_POLICY_KIND, CLUSTER_POLICY_PLURAL
)
MIG_PARTED_CONFIG_KEY = "config.yaml"
LABEL_GPU_COUNT = "nvidia.com/gpu.count"
LABEL_MIG_CONFIG = "nvidia.com/mig.config"
LABEL_MIG_CONFIG_STATE = "nvidia.com/mig.config.state"
LABEL_DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
GPU = "nvidia.com/gpu"
MIG_PREFIX = "nvidia.com/mig-"
UNPARTITIONED = frozenset({"", "all-disabled"})
CONFLICT = 409
TOO_MANY_REQUESTS = 429
SERVER_ERROR = 500


class GpuOperatorStandIn:
    """Plays the device plugin and MIG manager for the nodes one ClusterPolicy governs."""

    def __init__(
        self,
        cluster_policy: str,
        namespace: str,
        nodes: Collection[str] | None,
        *,
        failing_layouts: Collection[str] = (),
    ) -> None:
        """Act for `nodes` (None: every GPU node) under `cluster_policy`, whose ConfigMaps
        live in `namespace`."""
        self.cluster_policy = cluster_policy
        self.namespace = namespace
        self.nodes = frozenset(nodes) if nodes is not None else None
        self.failing_layouts = frozenset(failing_layouts)

    @contextlib.contextmanager
    def running(self, identity: KubeIdentity, poll_seconds: float = 0.2) -> Iterator[None]:
        """Reconcile every `poll_seconds` in a background thread while the block runs."""
        stop = threading.Event()
        failures: list[BaseException] = []

        def loop() -> None:
            with identity.client() as client:
                while not stop.is_set():
                    try:
                        self.tick(client)
                    except ApiError as error:
                        # A concurrent write (409) or a server starting or overloaded (429,
                        # 5xx): the next tick retries. Anything else is a bug to report.
                        code = error.status.code or 0
                        if code not in {CONFLICT, TOO_MANY_REQUESTS} and code < SERVER_ERROR:
                            failures.append(error)
                            return
                    except (httpx.TransportError, httpx2.TransportError):
                        pass  # the API server is restarting: the next tick retries
                    stop.wait(poll_seconds)

        thread = threading.Thread(target=loop, name="gpu-operator-stand-in", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(30)
        if failures:
            raise failures[0]

    def _config_map(self, client: Client, name: str | None) -> Mapping[str, str]:
        if not name:
            return {}
        try:
            found = client.get(ConfigMap, name, namespace=self.namespace)
        except ApiError as error:
            if error.status.code == 404:
                return {}
            raise
        return dict(found.data or {})

    def tick(self, client: Client) -> None:
        """Bring every governed node's labels and GPU resources in line with its config."""
        policy: dict[str, Any] = dict(client.get(ClusterPolicy, self.cluster_policy))
        spec = policy.get("spec") or {}
        strategy = (spec.get("mig") or {}).get("strategy", "single")
        plugin = self._config_map(
            client, ((spec.get("devicePlugin") or {}).get("config") or {}).get("name")
        )
        mig_text = self._config_map(
            client, ((spec.get("migManager") or {}).get("config") or {}).get("name")
        ).get(MIG_PARTED_CONFIG_KEY)
        layouts = (yaml.safe_load(mig_text) or {}).get("mig-configs", {}) if mig_text else {}
        for node in self._governed(client):
            self._reconcile(client, node, strategy, plugin, layouts)

    def _governed(self, client: Client) -> list[dict[str, Any]]:
        if self.nodes is None:
            listed = client.list(Node, labels={LABEL_GPU_COUNT: exists()})
            return sorted((n.to_dict() for n in listed), key=lambda n: n["metadata"]["name"])
        return [client.get(Node, name).to_dict() for name in sorted(self.nodes)]

    def _reconcile(
        self,
        client: Client,
        node: dict[str, Any],
        strategy: str,
        plugin: Mapping[str, str],
        layouts: Mapping[str, Any],
    ) -> None:
        labels = node["metadata"].get("labels") or {}
        gpus = int(labels.get(LABEL_GPU_COUNT, "0"))
        layout = labels.get(LABEL_MIG_CONFIG, "")
        resources: dict[str, int] = {GPU: gpus}
        state: str | None = None
        if layout not in UNPARTITIONED:
            devices = _layout_devices(layouts.get(layout))
            if devices is None or layout in self.failing_layouts:
                state = "failed"
            else:
                state = "success"
                resources = _mig_resources(devices, gpus, strategy)
        elif labels.get(LABEL_DEVICE_PLUGIN_CONFIG):
            replicas = _replicas(plugin.get(labels[LABEL_DEVICE_PLUGIN_CONFIG], ""))
            resources = {GPU: gpus * replicas}
        self._advertise(client, node, resources)
        if state is not None and labels.get(LABEL_MIG_CONFIG_STATE) != state:
            client.patch(
                Node,
                node["metadata"]["name"],
                {"metadata": {"labels": {LABEL_MIG_CONFIG_STATE: state}}},
                patch_type=PatchType.MERGE,
            )

    @staticmethod
    def _advertise(client: Client, node: dict[str, Any], resources: Mapping[str, int]) -> None:
        status = node.get("status") or {}
        capacity = dict(status.get("capacity") or {})
        wanted = {k: v for k, v in capacity.items() if k != GPU and not k.startswith(MIG_PREFIX)}
        wanted.update({k: str(v) for k, v in resources.items()})
        if wanted == capacity and status.get("allocatable") == capacity:
            return
        gone = {k: None for k in capacity if k not in wanted}
        body = {"status": {"capacity": {**gone, **wanted}, "allocatable": {**gone, **wanted}}}
        client.patch(Node.Status, node["metadata"]["name"], body, patch_type=PatchType.MERGE)


def _layout_devices(entries: Any) -> dict[str, int] | None:
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("devices", "all") == "all":
            if not entry.get("mig-enabled"):
                return {}
            return {str(k): int(v) for k, v in (entry.get("mig-devices") or {}).items()}
    return None


def _mig_resources(devices: Mapping[str, int], gpus: int, strategy: str) -> dict[str, int]:
    if not devices:
        return {GPU: gpus}
    if strategy == "mixed":
        return {f"{MIG_PREFIX}{profile}": count * gpus for profile, count in devices.items()}
    return {GPU: sum(devices.values()) * gpus}


def _replicas(text: str) -> int:
    document = yaml.safe_load(text) if text else None
    sharing = (document or {}).get("sharing") or {}
    for section in sharing.values():
        for resource in (section or {}).get("resources") or []:
            if resource.get("name") == GPU:
                return int(resource.get("replicas", 1))
    return 1
