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
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from protocol.snapshot import Pod, Usage
from recommender.usage.key import ContainerKey, container_key
from store.repositories.inventory import PodOwnership
from workers.ingest.grouped_samples import (
    GroupedGpuSamples,
    GroupedSamples,
    grouped_containers,
    grouped_gpus,
)
from workers.ingest.pod_attribution import Attributions, PodAttributions, PodRef, StoredChanges
from workers.ingest.series_layout import SeriesLayout, refit, series_layout
from workers.ingest.upload_samples import UploadSamples, snapshot_samples


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
_NO_CODES = np.empty(0, dtype=np.int64)


@dataclass
class UsageBatch:
    """A snapshot's usage evidence, keyed by workload container."""

    grouped: GroupedSamples = field(
        default_factory=lambda: GroupedSamples(
            [], [0], _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, [], _NO_CODES
        )
    )
    """Every container's samples, container by container."""
    grouped_gpu: GroupedGpuSamples = field(
        default_factory=lambda: GroupedGpuSamples(
            [], [0], _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, [], _NO_CODES
        )
    )
    """Every container's DCGM samples, container by container."""
    oom_kills: dict[ContainerKey, list[OomKill]] = field(default_factory=dict)
    cpu_request_millis: dict[ContainerKey, int] = field(default_factory=dict)
    unattributed: int = 0
    """Samples whose pod is unknown (neither in the snapshot nor in the stored inventory)."""
    layout: SeriesLayout | None = None
    """Which container each sample belongs to, for the cluster's next upload."""

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


def usage_batch(
    snapshot: Observation,
    stored_pods: Mapping[PodRef, Pod | PodOwnership],
    samples: UploadSamples | None = None,
    attributions: Attributions | None = None,
    previous: SeriesLayout | None = None,
    *,
    changes: StoredChanges | None = None,
) -> UsageBatch:
    """Group the samples (the snapshot's own, or `samples`) and OOM kills by workload container.

    A container's CPU request is read from the pods its samples name (the last by namespace and
    name wins among replicas), listed or stored, so a delta (which lists changed pods only, the
    rest being stored) weighs samples as a full snapshot of the same state does. `attributions`
    remembers what pod models say between uploads; `previous`, the layout of the cluster's last
    upload, is used again where it fits this one (`series_layout.refit`); `changes` may say
    where `stored_pods` came from.
    """
    if samples is None:
        samples = snapshot_samples(snapshot.usage)
    pods = PodAttributions(snapshot.pods, stored_pods, attributions or Attributions(), changes)
    layout = None if previous is None else refit(previous, samples, pods)
    if layout is None:
        layout = series_layout(samples, pods)
    batch = UsageBatch(
        grouped=grouped_containers(layout.containers, samples.containers),
        grouped_gpu=grouped_gpus(layout.gpus, samples.gpus),
        cpu_request_millis=dict(layout.cpu_request_millis),
        unattributed=layout.unattributed,
        layout=layout,
    )
    kills: defaultdict[ContainerKey, list[OomKill]] = defaultdict(list)
    for listed in snapshot.pods:
        for container in listed.spec.containers:
            key = container_key(listed, container.name)
            if container.last_oom_kill_at is not None:
                allowed = container.limits.memory_bytes or container.requests.memory_bytes or 0
                kills[key].append(OomKill(container.last_oom_kill_at.timestamp(), float(allowed)))
    # Oldest first: a kill older than the last one folded is treated as already seen.
    batch.oom_kills = {key: sorted(found, key=lambda k: k.at) for key, found in kills.items()}
    return batch
