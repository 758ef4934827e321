"""Which workload container each of an upload's series belongs to, kept for the next upload.

Working out, series by series, the container a sample belongs to, and the order the folds take
them in, costs about as much as folding them. A cluster's uploads minute after minute carry the
same series (the same containers of the same pods, in the same order, of the same lengths)
naming pods whose attribution did not change; a layout made for one upload is used for the next
when `refit` finds exactly that: the series' names, devices and lengths equal, and every pod
they name attributed from the very model it was (or one that says the same owner and requests).
Everything in a layout is a function of those, so an upload folds as it would with a new one.
The layout used again names the models of the upload it was used for, so each minute only the
pods whose model changed since the last minute have their owner and requests compared.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import compress

import numpy as np
from numpy.typing import NDArray

from protocol.snapshot import Pod
from recommender.cost.sample_hours import ContainerRef
from recommender.usage.key import ContainerKey
from store.repositories.inventory import PodOwnership
from workers.ingest.bounded_entries import BoundedEntries
from workers.ingest.grouped_samples import (
    GpuDevice,
    Grouping,
    container_grouping,
    gpu_grouping,
)
from workers.ingest.inventory_cache import DEFAULT_OBJECTS
from workers.ingest.pod_attribution import Attribution, PodAttributions, PodRef
from workers.ingest.upload_samples import Device, UploadSamples

DEFAULT_SERIES = 2 * DEFAULT_OBJECTS
"""Container and GPU series held (a pod's containers and GPUs each a series), for about the
clusters whose inventories are kept."""


@dataclass(frozen=True)
class SeriesLayout:
    """An upload's series, the pods they name, and what follows from them."""

    container_refs: list[ContainerRef]
    container_series: NDArray[np.int64]
    gpu_refs: list[ContainerRef | None]
    devices: list[Device]
    gpu_series: NDArray[np.int64]
    pods: list[PodRef]
    """The pods the series name, each once."""
    places: dict[PodRef, int]
    """Each named pod's place in `pods`."""
    sources: list[Pod | PodOwnership | None]
    """Per named pod, the model (or stored ownership) it was attributed from."""
    stored: Mapping[PodRef, Pod | PodOwnership]
    """The stored pods the layout was made or last fitted with."""
    stored_sources: list[Pod | PodOwnership | None]
    """Per named pod, what `stored` holds of it."""
    attributions: list[Attribution | None]
    """Per named pod, its attribution (None: neither listed nor stored)."""
    containers: Grouping
    gpus: Grouping
    cpu_request_millis: dict[ContainerKey, int]
    unattributed: int


def _container_keys(
    refs: Sequence[ContainerRef], pods: PodAttributions, sampled: set[PodRef]
) -> tuple[list[ContainerKey | None], list[str]]:
    """Each series' workload container (None: its pod is unknown) and pod; adds the pods
    sampled to `sampled`."""
    keys: list[ContainerKey | None] = []
    names: list[str] = []
    last: PodRef | None = None
    attribution: Attribution | None = None
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
    samples: UploadSamples, pods: PodAttributions
) -> tuple[list[ContainerKey | None], list[GpuDevice | None]]:
    """Each GPU series' workload container and device (None: not a known container's)."""
    keys: list[ContainerKey | None] = []
    devices: list[GpuDevice | None] = []
    for ref, (node, index, gpu_uuid, profile) in zip(
        samples.gpus.refs, samples.devices, strict=True
    ):
        # A device nobody was using is node-level, not a container's history.
        attribution = None if ref is None or not ref[2] else pods.get((ref[0], ref[1]))
        if ref is None or attribution is None:
            keys.append(None)
            devices.append(None)
            continue
        keys.append(attribution.key(ref[2]))
        devices.append((ref[1], node, index, gpu_uuid, profile))
    return keys, devices


def _unattributed(series: NDArray[np.int64], missing: Sequence[bool]) -> int:
    """Samples of the series `missing` marks."""
    if not any(missing):
        return 0
    return int(np.asarray(missing, dtype=bool)[series].sum())


def _cpu_requests(pods: PodAttributions, sampled: set[PodRef]) -> dict[ContainerKey, int]:
    """Each sampled pod's containers' CPU requests (the last pod by namespace and name wins)."""
    found: dict[ContainerKey, int] = {}
    for ref in sorted(sampled):
        attribution = pods.known[ref]
        if attribution is None:
            continue
        for name, millis in attribution.cpu_requests.items():
            if millis is not None:
                found[attribution.key(name)] = millis
    return found


def series_layout(samples: UploadSamples, pods: PodAttributions) -> SeriesLayout:
    """The layout of `samples`, their pods attributed by `pods`."""
    sampled: set[PodRef] = set()
    keys, names = _container_keys(samples.containers.refs, pods, sampled)
    gpu_keys, devices = _gpu_keys(samples, pods)
    unattributed = _unattributed(samples.containers.series, [key is None for key in keys])
    unattributed += _unattributed(
        samples.gpus.series,
        [
            # Node-level devices (no container) are not a container's history to miss.
            key is None and ref is not None and bool(ref[2])
            for key, ref in zip(gpu_keys, samples.gpus.refs, strict=True)
        ],
    )
    return SeriesLayout(
        container_refs=list(samples.containers.refs),
        container_series=samples.containers.series,
        gpu_refs=list(samples.gpus.refs),
        devices=list(samples.devices),
        gpu_series=samples.gpus.series,
        pods=list(pods.sources),
        places={ref: place for place, ref in enumerate(pods.sources)},
        sources=list(pods.sources.values()),
        stored=pods.stored,
        stored_sources=list(map(pods.stored.get, pods.sources)),
        attributions=[pods.known[ref] for ref in pods.sources],
        containers=container_grouping(samples.containers, keys, names),
        gpus=gpu_grouping(samples.gpus, gpu_keys, devices),
        cpu_request_millis=_cpu_requests(pods, sampled),
        unattributed=unattributed,
    )


def _same(one: Attribution | None, other: Attribution | None) -> bool:
    if one is None or other is None:
        return one is other
    return (one.namespace, one.kind, one.workload) == (
        other.namespace,
        other.kind,
        other.workload,
    ) and dict(one.cpu_requests) == dict(other.cpu_requests)


_Sources = list[Pod | PodOwnership | None]


def _stored_sources(layout: SeriesLayout, pods: PodAttributions) -> _Sources:
    """What the stored pods hold now of each pod the layout names: looked up again only for the
    pods touched since the mapping the layout was fitted with, where that is known."""
    if pods.stored is layout.stored:
        return layout.stored_sources
    changes = pods.changes
    if changes is None or changes.since is not layout.stored:
        return list(map(pods.stored.get, layout.pods))
    found = list(layout.stored_sources)
    for ref in changes.touched:
        place = layout.places.get(ref)
        if place is not None:
            found[place] = pods.stored.get(ref)
    return found


def _sources(layout: SeriesLayout, pods: PodAttributions, stored: _Sources) -> _Sources:
    """What each pod the layout names would be attributed from now (`stored`: what the stored
    pods hold of them)."""
    found = stored
    for ref, pod in pods.listed.items():
        place = layout.places.get(ref)
        if place is not None:
            if found is stored:
                found = list(stored)
            found[place] = pod
    return found


def refit(
    layout: SeriesLayout, samples: UploadSamples, pods: PodAttributions
) -> SeriesLayout | None:
    """`layout` as the layout of `samples` with their pods attributed by `pods` (naming the
    models they are attributed from now), or None where it is not their layout."""
    if (
        layout.container_refs != samples.containers.refs
        or layout.gpu_refs != samples.gpus.refs
        or layout.devices != list(samples.devices)
        or not np.array_equal(layout.container_series, samples.containers.series)
        or not np.array_equal(layout.gpu_series, samples.gpus.series)
    ):
        return None
    stored = _stored_sources(layout, pods)
    sources = _sources(layout, pods, stored)
    if all(map(operator.is_, sources, layout.sources)):
        if pods.stored is layout.stored:
            return layout
        return replace(layout, stored=pods.stored, stored_sources=stored)
    attributions = list(layout.attributions)
    changed = compress(range(len(sources)), map(operator.is_not, sources, layout.sources))
    for place in changed:
        now = sources[place]
        if now is None or layout.sources[place] is None:
            return None
        attribution = pods.attribution(layout.pods[place], now)
        if not _same(attribution, attributions[place]):
            return None
        attributions[place] = attribution
    return replace(
        layout,
        sources=sources,
        attributions=attributions,
        stored=pods.stored,
        stored_sources=stored,
    )


class SeriesLayouts:
    """The layout of the last upload of clusters of at most `series` series in all; least
    recently used clusters forgotten."""

    def __init__(self, series: int = DEFAULT_SERIES) -> None:
        """Hold no layout yet."""
        self._layouts: BoundedEntries[SeriesLayout] = BoundedEntries(series)

    def get(self, cluster_id: uuid.UUID) -> SeriesLayout | None:
        """The layout of the cluster's last upload folded here, if any."""
        return self._layouts.get(cluster_id)

    def put(self, cluster_id: uuid.UUID, layout: SeriesLayout | None) -> None:
        """Hold `layout` as the cluster's."""
        if layout is not None:
            size = len(layout.container_refs) + len(layout.gpu_refs)
            self._layouts.put(cluster_id, layout, size)
