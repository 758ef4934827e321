"""`metrics.k8s.io` PodMetrics and NodeMetrics (plain JSON objects) as usage samples."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from protocol.quantity import QuantityError, memory_bytes, parse_quantity
from protocol.snapshot import ContainerUsage, NodeUsage

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT_SECONDS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}
MAX_WINDOW = 86_400
MAX_CORES = 4096.0


def go_duration_seconds(text: str) -> float | None:
    """Seconds in a Go duration string ("30s", "1m30.5s", "1h0m0s"), or None if malformed."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def pod_usage(item: Mapping[str, Any]) -> list[ContainerUsage]:
    """One sample per container of a PodMetrics object; malformed entries are skipped."""
    meta = item.get("metadata") or {}
    namespace, pod = meta.get("namespace"), meta.get("name")
    timestamp, window = _when(item)
    if not namespace or not pod or timestamp is None:
        return []
    samples = []
    for container in item.get("containers") or []:
        usage = _cpu_memory(container.get("usage") or {})
        if container.get("name") and usage is not None:
            samples.append(
                ContainerUsage(
                    namespace=namespace,
                    pod=pod,
                    container=container["name"],
                    timestamp=timestamp,
                    window_seconds=window,
                    cpu_cores=usage[0],
                    memory_bytes=usage[1],
                )
            )
    return samples


def node_usage(item: Mapping[str, Any]) -> NodeUsage | None:
    """The sample of a NodeMetrics object, or None when it is malformed."""
    name = (item.get("metadata") or {}).get("name")
    timestamp, _ = _when(item)
    usage = _cpu_memory(item.get("usage") or {})
    if not name or timestamp is None or usage is None:
        return None
    return NodeUsage(node=name, timestamp=timestamp, cpu_cores=usage[0], memory_bytes=usage[1])


def _when(item: Mapping[str, Any]) -> tuple[datetime | None, int]:
    """The sample's timestamp (timezone-aware) and its window in whole seconds (at least 1)."""
    try:
        timestamp = datetime.fromisoformat(str(item.get("timestamp")))
    except ValueError:
        return None, 1
    if timestamp.tzinfo is None:
        return None, 1
    seconds = go_duration_seconds(str(item.get("window") or "")) or 1.0
    return timestamp, min(MAX_WINDOW, max(1, math.ceil(seconds)))


def _cpu_memory(usage: Mapping[str, Any]) -> tuple[float, int] | None:
    """(cores, bytes) from a usage ResourceList, or None if either is missing or malformed."""
    try:
        cores = float(parse_quantity(str(usage["cpu"])))
        memory = memory_bytes(str(usage["memory"]))
    except (KeyError, QuantityError):
        return None
    if not 0.0 <= cores <= MAX_CORES or memory < 0:
        return None
    return cores, memory
