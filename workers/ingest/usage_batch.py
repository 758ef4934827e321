"""Group a snapshot's usage samples and OOM kills by the workload container they belong to.

Samples name a pod; the pod's owner chain names the workload (a Deployment's replicas share one
history). A workload container's samples become arrays (`SampleColumns`): slices of the upload's
sample columns (`upload_samples`), whatever form the upload sent them in, without an object per
sample. Within a container they are ordered by pod, stably, whichever form they came in, so a
delta folds its samples exactly as a full snapshot of them does.

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
from recommender.cost.sample_hours import ContainerColumns
from recommender.cost.sample_hours import GpuColumns as UploadGpuColumns
from recommender.usage.key import BARE_POD_KIND, ContainerKey, container_key, pod_owner
from store.repositories.inventory import PodOwnership
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


_EMPTY = np.empty(0, dtype=np.float64)

Chunk = tuple[str, int, int]
"""(pod, first sample, end): one series' samples in the upload's columns."""


def _take(column: NDArray[np.float64], chunks: list[Chunk]) -> NDArray[np.float64]:
    if len(chunks) == 1:
        _, start, end = chunks[0]
        return column[start:end]
    if not chunks:
        return _EMPTY
    return np.concatenate([column[start:end] for _, start, end in chunks])


def _columns(samples: ContainerColumns, chunks: list[Chunk]) -> SampleColumns:
    """One container's samples from its series' chunks, ordered by pod (stably)."""
    chunks.sort(key=lambda chunk: chunk[0])
    pods = tuple(pod for pod, start, end in chunks for _ in range(end - start))
    return SampleColumns(
        _take(samples.seconds, chunks),
        _take(samples.cpu_cores, chunks),
        _take(samples.memory_bytes, chunks),
        _take(samples.throttled_fraction, chunks),
        pods,
    )


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


GpuChunk = tuple[tuple[str, str, int, str, str], int, int]
"""((pod, node, GPU index, GPU uuid, MIG profile), first sample, end): the order a container's
GPU samples fold in, and where they are."""


def _gpu_columns(samples: UploadGpuColumns, chunks: list[GpuChunk]) -> GpuColumns:
    chunks.sort(key=lambda chunk: chunk[0])
    devices: list[str] = []
    for device, start, end in chunks:
        devices.extend([_device_key(device)] * (end - start))
    plain = [(device[0], start, end) for device, start, end in chunks]
    return GpuColumns(
        _take(samples.seconds, plain),
        _take(samples.duty, plain),
        _take(samples.memory_used_bytes, plain),
        devices,
    )


def _device_key(device: tuple[str, str, int, str, str]) -> str:
    pod, node, index, uuid, profile = device
    return f"{pod}/{uuid or f'{node}/{index}/{profile}'}"


def _bounds(series: NDArray[np.int64], count: int) -> list[int]:
    """Where each series' samples start, and the end of the last."""
    return [0, *np.cumsum(np.bincount(series, minlength=count)).tolist()]


def _gpu_chunks(
    samples: UploadSamples, pods: Mapping[PodRef, _Attribution], batch: UsageBatch
) -> dict[ContainerKey, list[GpuChunk]]:
    """Each workload container's GPU samples as chunks; counts the unattributed."""
    columns = samples.gpus
    bounds = _bounds(columns.series, len(columns.refs))
    chunks: defaultdict[ContainerKey, list[GpuChunk]] = defaultdict(list)
    for i, ref in enumerate(columns.refs):
        if ref is None or not ref[2]:
            continue  # a device nobody was using: node-level, not a container's history
        namespace, pod_name, container = ref
        start, end = bounds[i], bounds[i + 1]
        pod = pods.get((namespace, pod_name))
        if pod is None:
            batch.unattributed += end - start
            continue
        node, index, uuid, profile = samples.devices[i]
        chunks[pod.key(container)].append(((pod_name, node, index, uuid, profile), start, end))
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


def _container_chunks(
    samples: ContainerColumns,
    pods: Mapping[PodRef, _Attribution],
    batch: UsageBatch,
    sampled: set[PodRef],
) -> dict[ContainerKey, list[Chunk]]:
    """Each workload container's samples as chunks; counts the unattributed in `batch` and adds
    the pods sampled to `sampled`."""
    bounds = _bounds(samples.series, len(samples.refs))
    chunks: defaultdict[ContainerKey, list[Chunk]] = defaultdict(list)
    for i, (namespace, pod_name, container) in enumerate(samples.refs):
        start, end = bounds[i], bounds[i + 1]
        pod = pods.get((namespace, pod_name))
        if pod is None:
            batch.unattributed += end - start
            continue
        sampled.add((namespace, pod_name))
        chunks[pod.key(container)].append((pod_name, start, end))
    return dict(chunks)


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
    pods = {ref: _stored(ref, pod, known) for ref, pod in stored_pods.items()}
    pods.update({(pod.namespace, pod.name): known.of(pod) for pod in snapshot.pods})
    batch = UsageBatch()
    sampled: set[PodRef] = set()
    chunks = _container_chunks(samples.containers, pods, batch, sampled)
    gpu = _gpu_chunks(samples, pods, batch)
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
    batch.columns = {key: _columns(samples.containers, found) for key, found in chunks.items()}
    batch.gpu = {key: _gpu_columns(samples.gpus, found) for key, found in gpu.items()}
    # Oldest first: a kill older than the last one folded is treated as already seen.
    batch.oom_kills = {key: sorted(found, key=lambda k: k.at) for key, found in kills.items()}
    return batch
