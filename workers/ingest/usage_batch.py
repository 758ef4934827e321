"""Group a snapshot's usage samples and OOM kills by the workload container they belong to.

Samples name a pod; the pod's owner chain names the workload (a Deployment's replicas share one
history). Pods are looked up in the snapshot itself and, for a sample whose pod the snapshot
does not list (rare for a snapshot, the rule for a delta), in the stored inventory the caller
passes in, read as just the pod's owner and its containers' CPU requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

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


@dataclass
class UsageBatch:
    """A snapshot's usage evidence, keyed by workload container."""

    samples: dict[ContainerKey, list[ContainerUsage]] = field(default_factory=dict)
    gpu_samples: dict[ContainerKey, list[GpuUsage]] = field(default_factory=dict)
    oom_kills: dict[ContainerKey, list[OomKill]] = field(default_factory=dict)
    cpu_request_millis: dict[ContainerKey, int] = field(default_factory=dict)
    unattributed: int = 0
    """Samples whose pod is unknown (neither in the snapshot nor in the stored inventory)."""

    @property
    def keys(self) -> set[ContainerKey]:
        """Every container the batch has evidence for."""
        return {*self.samples, *self.gpu_samples, *self.oom_kills}


def missing_pods(snapshot: Observation) -> set[PodRef]:
    """Pods that samples name but the snapshot does not list."""
    listed = {(pod.namespace, pod.name) for pod in snapshot.pods}
    named = {(s.namespace, s.pod) for s in snapshot.usage.containers}
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


def usage_batch(
    snapshot: Observation, stored_pods: Mapping[PodRef, Pod | PodOwnership]
) -> UsageBatch:
    """Group the samples and OOM kills by workload container.

    A container's CPU request is read from the pods its samples name (the last by namespace and
    name wins among replicas), listed or stored, so a delta (which lists changed pods only, the
    rest being stored) weighs samples as a full snapshot of the same state does.
    """
    pods = {ref: _stored(ref, pod) for ref, pod in stored_pods.items()}
    pods.update({(pod.namespace, pod.name): _listed(pod) for pod in snapshot.pods})
    batch = UsageBatch()
    samples: defaultdict[ContainerKey, list[ContainerUsage]] = defaultdict(list)
    sampled: set[PodRef] = set()
    for sample in snapshot.usage.containers:
        pod = pods.get((sample.namespace, sample.pod))
        if pod is None:
            batch.unattributed += 1
            continue
        sampled.add((sample.namespace, sample.pod))
        samples[pod.key(sample.container)].append(sample)
    gpu: defaultdict[ContainerKey, list[GpuUsage]] = defaultdict(list)
    for gpu_sample in snapshot.usage.gpus:
        if gpu_sample.namespace is None or gpu_sample.pod is None or gpu_sample.container is None:
            continue  # a device nobody was using: node-level, not a container's history
        pod = pods.get((gpu_sample.namespace, gpu_sample.pod))
        if pod is None:
            batch.unattributed += 1
            continue
        gpu[pod.key(gpu_sample.container)].append(gpu_sample)
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
    batch.samples = dict(samples)
    batch.gpu_samples = dict(gpu)
    # Oldest first: a kill older than the last one folded is treated as already seen.
    batch.oom_kills = {key: sorted(found, key=lambda k: k.at) for key, found in kills.items()}
    return batch
