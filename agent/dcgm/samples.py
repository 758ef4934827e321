"""DCGM exporter samples as per-GPU (and per-MIG-device, per-pod) `GpuUsage`.

The exporter labels each series with the device (`gpu`, `UUID`, `modelName`), the node
(`Hostname`), the MIG instance (`GPU_I_PROFILE`, `GPU_I_ID`) and, when its Kubernetes mapping is
on, the pod using the device (`namespace`, `pod`, `container`). Whole GPUs report
`DCGM_FI_DEV_GPU_UTIL` (percent); MIG devices do not, and report the profiling metric
`DCGM_FI_PROF_GR_ENGINE_ACTIVE` (a ratio) instead, which is used when the former is absent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from agent.dcgm.exposition import Sample
from protocol.snapshot import GpuUsage

GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
ENGINE_ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
FB_USED = "DCGM_FI_DEV_FB_USED"
FB_FREE = "DCGM_FI_DEV_FB_FREE"
MIB = 2**20
MAX_GPU_INDEX = 64
_WANTED = frozenset({GPU_UTIL, ENGINE_ACTIVE, FB_USED, FB_FREE})

SeriesKey = tuple[str, int, str, str, str, str, str]
"""(node, gpu index, MIG instance id, MIG profile, namespace, pod, container)."""


def gpu_usage(
    samples: Iterable[Sample], timestamp: datetime, default_node: str | None = None
) -> list[GpuUsage]:
    """One `GpuUsage` per device and pod, for devices that report utilisation and memory.

    A device without a utilisation or a framebuffer-used sample is left out rather than
    reported as idle: a false zero would read as a GPU to reclaim.
    """
    series: dict[SeriesKey, dict[str, float]] = {}
    uuids: dict[SeriesKey, str] = {}
    for sample in samples:
        if sample.name not in _WANTED or math.isnan(sample.value):
            continue
        key = _series_key(sample.labels, default_node)
        if key is None:
            continue
        series.setdefault(key, {})[sample.name] = sample.value
        if sample.labels.get("UUID"):
            uuids[key] = sample.labels["UUID"]
    usages = []
    for key in sorted(series):
        usage = _usage(key, series[key], uuids.get(key), timestamp)
        if usage is not None:
            usages.append(usage)
    return usages


def _series_key(labels: dict[str, str], default_node: str | None) -> SeriesKey | None:
    """Which device and pod a sample belongs to; None when the device cannot be placed."""
    node = labels.get("Hostname") or default_node
    index = labels.get("gpu", "")
    if not node or not index.isdigit() or int(index) > MAX_GPU_INDEX:
        return None
    return (
        node,
        int(index),
        labels.get("GPU_I_ID", ""),
        labels.get("GPU_I_PROFILE", ""),
        labels.get("namespace", ""),
        labels.get("pod", ""),
        labels.get("container", ""),
    )


def _usage(
    key: SeriesKey, values: dict[str, float], uuid: str | None, timestamp: datetime
) -> GpuUsage | None:
    """The sample of one series group, or None when utilisation or memory is missing."""
    if GPU_UTIL in values:
        utilization = values[GPU_UTIL] / 100.0
    elif ENGINE_ACTIVE in values:
        utilization = values[ENGINE_ACTIVE]
    else:
        return None
    used = values.get(FB_USED)
    if used is None or used < 0:
        return None
    free = values.get(FB_FREE)
    node, index, _instance, profile, namespace, pod, container = key
    return GpuUsage(
        node=node,
        gpu_index=index,
        gpu_uuid=uuid[:128] if uuid else None,
        mig_profile=profile[:32] or None,
        namespace=namespace or None,
        pod=pod or None,
        container=container or None,
        timestamp=timestamp,
        utilization=min(1.0, max(0.0, utilization)),
        memory_used_bytes=round(used * MIB),
        memory_total_bytes=round((used + free) * MIB) if free is not None and free >= 0 else None,
    )
