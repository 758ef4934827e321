"""Group a snapshot's usage samples and OOM kills by the workload container they belong to.

Samples name a pod; the pod's owner chain names the workload (a Deployment's replicas share one
history). A workload container's samples become arrays (`SampleColumns`), read either from
per-sample models (`usage.containers`) or straight from a delta's rows (`container_series`),
without an object per sample. Within a container they are ordered by pod, stably, whichever form
they came in, so a delta folds its samples exactly as a full snapshot of them does.

Pods are looked up in the snapshot itself and, for a sample whose pod the snapshot does not
list (rare for a snapshot, the rule for a delta), in the stored inventory the caller passes in,
read as just the pod's owner and its containers' CPU requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from protocol.delta import ContainerSeries, GpuSeries
from protocol.snapshot import ContainerUsage, GpuUsage, Pod, Usage
from recommender.usage.key import BARE_POD_KIND, ContainerKey, container_key, pod_owner
from store.repositories.inventory import PodOwnership

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


_EMPTY_ROWS = np.empty((0, 4), dtype=np.float64)


def _rows(samples: Sequence[ContainerUsage]) -> NDArray[np.float64]:
    return np.array(
        [
            (
                s.timestamp.timestamp(),
                s.cpu_cores,
                s.memory_bytes,
                np.nan if s.cpu_throttled_fraction is None else s.cpu_throttled_fraction,
            )
            for s in samples
        ],
        dtype=np.float64,
    ).reshape(-1, 4)


def _columns(chunks: list[tuple[str, NDArray[np.float64]]]) -> SampleColumns:
    """One container's samples from per-pod chunks of rows, ordered by pod (stably)."""
    chunks.sort(key=lambda chunk: chunk[0])
    rows = np.concatenate([rows for _, rows in chunks]) if chunks else _EMPTY_ROWS
    pods = tuple(pod for pod, chunk in chunks for _ in range(chunk.shape[0]))
    return SampleColumns(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], pods)


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


Device = tuple[str, str, int, str, str]
"""(pod, node, GPU index, GPU uuid, MIG profile): the order a container's GPU samples fold in."""


def _gpu_columns(chunks: list[tuple[Device, NDArray[np.float64]]]) -> GpuColumns:
    chunks.sort(key=lambda chunk: chunk[0])
    rows = np.concatenate([rows for _, rows in chunks]) if chunks else _EMPTY_ROWS
    devices = [_device_key(device) for device, part in chunks for _ in range(len(part))]
    return GpuColumns(rows[:, 0], rows[:, 1], rows[:, 2], devices)


def _device_key(device: Device) -> str:
    pod, node, index, uuid, profile = device
    return f"{pod}/{uuid or f'{node}/{index}/{profile}'}"


def _gpu_chunks(
    samples: Sequence[GpuUsage],
    series: Sequence[GpuSeries],
    pods: Mapping[PodRef, _Attribution],
    batch: UsageBatch,
) -> dict[ContainerKey, list[tuple[Device, NDArray[np.float64]]]]:
    """Each workload container's GPU samples as (device, rows) chunks; counts the unattributed."""
    per_device: defaultdict[tuple[ContainerKey, Device], list[GpuUsage]] = defaultdict(list)
    for sample in samples:
        if sample.namespace is None or sample.pod is None or sample.container is None:
            continue  # a device nobody was using: node-level, not a container's history
        pod = pods.get((sample.namespace, sample.pod))
        if pod is None:
            batch.unattributed += 1
            continue
        device = (
            sample.pod,
            sample.node,
            sample.gpu_index,
            sample.gpu_uuid or "",
            sample.mig_profile or "",
        )
        per_device[(pod.key(sample.container), device)].append(sample)
    chunks: defaultdict[ContainerKey, list[tuple[Device, NDArray[np.float64]]]] = defaultdict(list)
    for (key, device), found in per_device.items():
        rows = np.array(
            [(s.timestamp.timestamp(), s.utilization, s.memory_used_bytes) for s in found],
            dtype=np.float64,
        ).reshape(-1, 3)
        chunks[key].append((device, rows))
    for one in series:
        pod = pods.get((one.namespace, one.pod))
        if pod is None:
            batch.unattributed += len(one.samples)
            continue
        device = (one.pod, one.node, one.gpu_index, one.gpu_uuid or "", one.mig_profile or "")
        # The total memory (a row's last item, possibly null) is not folded.
        rows = np.array([row[:3] for row in one.samples], dtype=np.float64).reshape(-1, 3)
        chunks[pod.key(one.container)].append((device, rows))
    return dict(chunks)


@dataclass
class UsageBatch:
    """A snapshot's usage evidence, keyed by workload container."""

    columns: dict[ContainerKey, SampleColumns] = field(default_factory=dict)
    gpu: dict[ContainerKey, GpuColumns] = field(default_factory=dict)
    oom_kills: dict[ContainerKey, list[OomKill]] = field(default_factory=dict)
    cpu_request_millis: dict[ContainerKey, int] = field(default_factory=dict)
    unattributed: int = 0
    """Samples whose pod is unknown (neither in the snapshot nor in the stored inventory)."""

    @property
    def keys(self) -> set[ContainerKey]:
        """Every container the batch has evidence for."""
        return {*self.columns, *self.gpu, *self.oom_kills}


def missing_pods(
    snapshot: Observation,
    series: Sequence[ContainerSeries] = (),
    gpu_series: Sequence[GpuSeries] = (),
) -> set[PodRef]:
    """Pods that samples (per-sample or in series) name but the snapshot does not list."""
    listed = {(pod.namespace, pod.name) for pod in snapshot.pods}
    named = {(s.namespace, s.pod) for s in snapshot.usage.containers}
    named |= {(s.namespace, s.pod) for s in series}
    named |= {(s.namespace, s.pod) for s in gpu_series}
    named |= {
        (s.namespace, s.pod)
        for s in snapshot.usage.gpus
        if s.namespace is not None and s.pod is not None and s.container is not None
    }
    return named - listed


@dataclass(frozen=True, slots=True)
class _Attribution:
    namespace: str
    kind: str
    workload: str
    cpu_requests: Mapping[str, int | None]

    def key(self, container: str) -> ContainerKey:
        return ContainerKey(self.namespace, self.kind, self.workload, container)


def _listed(pod: Pod) -> _Attribution:
    kind, workload = pod_owner(pod)
    requests = {c.name: c.requests.cpu_millis for c in pod.spec.containers}
    return _Attribution(pod.namespace, kind, workload, requests)


def _stored(ref: PodRef, pod: Pod | PodOwnership) -> _Attribution:
    if isinstance(pod, Pod):
        return _listed(pod)
    if pod.owner_kind is None or pod.owner_name is None:
        return _Attribution(ref[0], BARE_POD_KIND, ref[1], pod.cpu_requests)
    return _Attribution(ref[0], pod.owner_kind, pod.owner_name, pod.cpu_requests)


def _container_chunks(
    samples: Sequence[ContainerUsage],
    series: Sequence[ContainerSeries],
    pods: Mapping[PodRef, _Attribution],
    batch: UsageBatch,
    sampled: set[PodRef],
) -> dict[ContainerKey, list[tuple[str, NDArray[np.float64]]]]:
    """Each workload container's samples as (pod, rows) chunks; counts the unattributed in
    `batch` and adds the pods sampled to `sampled`."""
    per_pod: defaultdict[tuple[ContainerKey, str], list[ContainerUsage]] = defaultdict(list)
    for sample in samples:
        pod = pods.get((sample.namespace, sample.pod))
        if pod is None:
            batch.unattributed += 1
            continue
        sampled.add((sample.namespace, sample.pod))
        per_pod[(pod.key(sample.container), sample.pod)].append(sample)
    chunks: defaultdict[ContainerKey, list[tuple[str, NDArray[np.float64]]]] = defaultdict(list)
    for (key, pod_name), found in per_pod.items():
        chunks[key].append((pod_name, _rows(found)))
    for one in series:
        pod = pods.get((one.namespace, one.pod))
        if pod is None:
            batch.unattributed += len(one.samples)
            continue
        sampled.add((one.namespace, one.pod))
        # None (an unknown throttled fraction) becomes NaN in a float array.
        rows = np.array(one.samples, dtype=np.float64).reshape(-1, 4)
        chunks[pod.key(one.container)].append((one.pod, rows))
    return dict(chunks)


def usage_batch(
    snapshot: Observation,
    stored_pods: Mapping[PodRef, Pod | PodOwnership],
    series: Sequence[ContainerSeries] = (),
    gpu_series: Sequence[GpuSeries] = (),
) -> UsageBatch:
    """Group the samples (per-sample ones and series) and OOM kills by workload container.

    A container's CPU request is read from the pods its samples name (the last by namespace and
    name wins among replicas), listed or stored, so a delta (which lists changed pods only, the
    rest being stored) weighs samples as a full snapshot of the same state does.
    """
    pods = {ref: _stored(ref, pod) for ref, pod in stored_pods.items()}
    pods.update({(pod.namespace, pod.name): _listed(pod) for pod in snapshot.pods})
    batch = UsageBatch()
    sampled: set[PodRef] = set()
    chunks = _container_chunks(snapshot.usage.containers, series, pods, batch, sampled)
    gpu = _gpu_chunks(snapshot.usage.gpus, gpu_series, pods, batch)
    for ref in sorted(sampled):
        attribution = pods[ref]
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
    batch.columns = {key: _columns(found) for key, found in chunks.items()}
    batch.gpu = {key: _gpu_columns(found) for key, found in gpu.items()}
    # Oldest first: a kill older than the last one folded is treated as already seen.
    batch.oom_kills = {key: sorted(found, key=lambda k: k.at) for key, found in kills.items()}
    return batch
