"""Group a snapshot's usage samples and OOM kills by the workload container they belong to.

Samples name a pod; the pod's owner chain names the workload (a Deployment's replicas share one
history). The upload's sample columns (`upload_samples`, whatever form the upload sent them in)
are gathered container by container (`grouped_samples`), without an object per sample. Within a
container they are ordered by pod, stably, whichever form they came in, so a delta folds its
samples exactly as a full snapshot of them does.

Pods are looked up in the snapshot itself and, for a sample whose pod the snapshot does not
list (rare for a snapshot, the rule for a delta), in the stored inventory the caller passes in,
read as just the pod's owner and its containers' CPU requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from protocol.snapshot import Pod, Usage
from recommender.cost.sample_hours import ContainerRef
from recommender.usage.key import BARE_POD_KIND, ContainerKey, container_key, pod_owner
from store.repositories.inventory import PodOwnership
from workers.ingest.grouped_samples import (
    GpuDevice,
    GroupedGpuSamples,
    GroupedSamples,
    group_containers,
    group_gpus,
)
from workers.ingest.model_memo import ModelMemo
from workers.ingest.upload_samples import UploadSamples, snapshot_samples

PodRef = tuple[str, str]
"""(namespace, pod name)."""


class Observation(Protocol):
    """What a snapshot and a delta both carry for usage: listed pods and samples."""

    @property
    def pods(self) -> Sequence[Pod]: ...
    @property
    def usage(self) -> Usage: ...


@dataclass(frozen=True)
class OomKill:
    """One OOM kill of a container: when, and the memory it was allowed (bytes; 0 = unknown)."""

    at: float
    memory_bytes: float


@dataclass(frozen=True)
class SampleColumns:
    """The samples of one workload container as arrays, one row per sample."""

    seconds: NDArray[np.float64]
    cpu_cores: NDArray[np.float64]
    memory_bytes: NDArray[np.float64]
    throttled_fraction: NDArray[np.float64]
    """NaN where the agent did not know."""
    pods: tuple[str, ...]
    """The pod of each sample."""

    def __len__(self) -> int:
        """How many samples."""
        return int(self.seconds.size)


@dataclass(frozen=True)
class GpuColumns:
    """The DCGM samples of the devices one workload container used, as arrays."""

    seconds: NDArray[np.float64]
    duty: NDArray[np.float64]
    memory_used_bytes: NDArray[np.float64]
    devices: list[str]
    """Per sample, the pod and device it measured (`pod/uuid`, or `pod/node/index/profile`)."""

    def __len__(self) -> int:
        """How many samples."""
        return int(self.seconds.size)


_NO_SAMPLES = np.empty(0, dtype=np.float64)


@dataclass
class UsageBatch:
    """A snapshot's usage evidence, keyed by workload container."""

    grouped: GroupedSamples = field(
        default_factory=lambda: GroupedSamples(
            [], [0], _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, []
        )
    )
    """Every container's samples, container by container."""
    grouped_gpu: GroupedGpuSamples = field(
        default_factory=lambda: GroupedGpuSamples(
            [], [0], _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, []
        )
    )
    """Every container's DCGM samples, container by container."""
    oom_kills: dict[ContainerKey, list[OomKill]] = field(default_factory=dict)
    cpu_request_millis: dict[ContainerKey, int] = field(default_factory=dict)
    unattributed: int = 0
    """Samples whose pod is unknown (neither in the snapshot nor in the stored inventory)."""

    @property
    def columns(self) -> dict[ContainerKey, SampleColumns]:
        """Each container's samples on their own."""
        g = self.grouped
        return {
            key: SampleColumns(
                g.seconds[start:end],
                g.cpu_cores[start:end],
                g.memory_bytes[start:end],
                g.throttled_fraction[start:end],
                tuple(g.pods[start:end]),
            )
            for key, start, end in zip(g.keys, g.bounds, g.bounds[1:], strict=False)
        }

    @property
    def gpu(self) -> dict[ContainerKey, GpuColumns]:
        """Each container's DCGM samples on their own."""
        g = self.grouped_gpu
        return {
            key: GpuColumns(
                g.seconds[start:end],
                g.duty[start:end],
                g.memory_used_bytes[start:end],
                g.devices[start:end],
            )
            for key, start, end in zip(g.keys, g.bounds, g.bounds[1:], strict=False)
        }

    @property
    def keys(self) -> set[ContainerKey]:
        """Every container the batch has evidence for."""
        return {*self.grouped.keys, *self.grouped_gpu.keys, *self.oom_kills}


def missing_pods(snapshot: Observation, samples: UploadSamples | None = None) -> set[PodRef]:
    """Pods that samples (the snapshot's own, or `samples`) name but the snapshot does not
    list."""
    if samples is None:
        samples = snapshot_samples(snapshot.usage)
    listed = {(pod.namespace, pod.name) for pod in snapshot.pods}
    named = {(namespace, pod) for namespace, pod, _ in samples.containers.refs}
    named |= {(ref[0], ref[1]) for ref in samples.gpus.refs if ref is not None and ref[2]}
    return named - listed


@dataclass(frozen=True, slots=True)
class _Attribution:
    namespace: str
    kind: str
    workload: str
    cpu_requests: Mapping[str, int | None]
    keys: dict[str, ContainerKey] = field(default_factory=dict)
    """Keys made so far, by container name."""

    def key(self, container: str) -> ContainerKey:
        found = self.keys.get(container)
        if found is None:
            found = self.keys[container] = ContainerKey(
                self.namespace, self.kind, self.workload, container
            )
        return found


def _listed(pod: Pod) -> _Attribution:
    kind, workload = pod_owner(pod)
    requests = {c.name: c.requests.cpu_millis for c in pod.spec.containers}
    return _Attribution(pod.namespace, kind, workload, requests)


class Attributions:
    """Which workload each pod's samples belong to, worked out once per pod model."""

    def __init__(self) -> None:
        """Remember nothing yet."""
        self._memo: ModelMemo[_Attribution] = ModelMemo()

    def of(self, pod: Pod) -> _Attribution:
        """The pod's attribution."""
        return self._memo.get(pod, None, partial(_listed, pod))


def _stored(ref: PodRef, pod: Pod | PodOwnership, attributions: Attributions) -> _Attribution:
    if isinstance(pod, Pod):
        return attributions.of(pod)
    if pod.owner_kind is None or pod.owner_name is None:
        return _Attribution(ref[0], BARE_POD_KIND, ref[1], pod.cpu_requests)
    return _Attribution(ref[0], pod.owner_kind, pod.owner_name, pod.cpu_requests)


class _Pods:
    """The attribution of each pod a sample names: listed by the upload, else stored."""

    def __init__(
        self,
        listed: Sequence[Pod],
        stored: Mapping[PodRef, Pod | PodOwnership],
        attributions: Attributions,
    ) -> None:
        self._stored = stored
        self._attributions = attributions
        self.known: dict[PodRef, _Attribution | None] = {
            (pod.namespace, pod.name): attributions.of(pod) for pod in listed
        }

    def get(self, ref: PodRef) -> _Attribution | None:
        """The pod's attribution; None for a pod neither listed nor stored."""
        try:
            return self.known[ref]
        except KeyError:
            pod = self._stored.get(ref)
            found = self.known[ref] = None if pod is None else _stored(ref, pod, self._attributions)
            return found


def _container_keys(
    refs: Sequence[ContainerRef], pods: _Pods, sampled: set[PodRef]
) -> tuple[list[ContainerKey | None], list[str]]:
    """Each series' workload container (None: its pod is unknown) and pod; adds the pods
    sampled to `sampled`."""
    keys: list[ContainerKey | None] = []
    names: list[str] = []
    last: PodRef | None = None
    attribution: _Attribution | None = None
    for namespace, pod_name, container in refs:
        if last is None or last[1] != pod_name or last[0] != namespace:
            last = (namespace, pod_name)
            attribution = pods.get(last)
            if attribution is not None:
                sampled.add(last)
        keys.append(None if attribution is None else attribution.key(container))
        names.append(pod_name)
    return keys, names


def _gpu_keys(
    samples: UploadSamples, pods: _Pods
) -> tuple[list[ContainerKey | None], list[GpuDevice | None]]:
    """Each GPU series' workload container and device (None: not a known container's)."""
    keys: list[ContainerKey | None] = []
    devices: list[GpuDevice | None] = []
    for ref, (node, index, uuid, profile) in zip(samples.gpus.refs, samples.devices, strict=True):
        # A device nobody was using is node-level, not a container's history.
        attribution = None if ref is None or not ref[2] else pods.get((ref[0], ref[1]))
        if ref is None or attribution is None:
            keys.append(None)
            devices.append(None)
            continue
        keys.append(attribution.key(ref[2]))
        devices.append((ref[1], node, index, uuid, profile))
    return keys, devices


def _unattributed(series: NDArray[np.int64], missing: Sequence[bool]) -> int:
    """Samples of the series `missing` marks."""
    if not any(missing):
        return 0
    return int(np.asarray(missing, dtype=bool)[series].sum())


def usage_batch(
    snapshot: Observation,
    stored_pods: Mapping[PodRef, Pod | PodOwnership],
    samples: UploadSamples | None = None,
    attributions: Attributions | None = None,
) -> UsageBatch:
    """Group the samples (the snapshot's own, or `samples`) and OOM kills by workload container.

    A container's CPU request is read from the pods its samples name (the last by namespace and
    name wins among replicas), listed or stored, so a delta (which lists changed pods only, the
    rest being stored) weighs samples as a full snapshot of the same state does. `attributions`
    remembers what pod models say between uploads.
    """
    if samples is None:
        samples = snapshot_samples(snapshot.usage)
    known = attributions or Attributions()
    pods = _Pods(snapshot.pods, stored_pods, known)
    batch = UsageBatch()
    sampled: set[PodRef] = set()
    keys, names = _container_keys(samples.containers.refs, pods, sampled)
    gpu_keys, devices = _gpu_keys(samples, pods)
    batch.unattributed = _unattributed(samples.containers.series, [key is None for key in keys])
    batch.unattributed += _unattributed(
        samples.gpus.series,
        [
            # Node-level devices (no container) are not a container's history to miss.
            key is None and ref is not None and bool(ref[2])
            for key, ref in zip(gpu_keys, samples.gpus.refs, strict=True)
        ],
    )
    for ref in sorted(sampled):
        attribution = pods.known[ref]
        if attribution is None:
            continue
        for name, millis in attribution.cpu_requests.items():
            if millis is not None:
                batch.cpu_request_millis[attribution.key(name)] = millis
    kills: defaultdict[ContainerKey, list[OomKill]] = defaultdict(list)
    for listed in snapshot.pods:
        for container in listed.spec.containers:
            key = container_key(listed, container.name)
            if container.last_oom_kill_at is not None:
                allowed = container.limits.memory_bytes or container.requests.memory_bytes or 0
                kills[key].append(OomKill(container.last_oom_kill_at.timestamp(), float(allowed)))
    batch.grouped = group_containers(samples.containers, keys, names)
    batch.grouped_gpu = group_gpus(samples.gpus, gpu_keys, devices)
    # Oldest first: a kill older than the last one folded is treated as already seen.
    batch.oom_kills = {key: sorted(found, key=lambda k: k.at) for key, found in kills.items()}
    return batch
