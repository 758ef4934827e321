"""An interval's usage samples as one compact block (`protocol.compact_usage`), pure.

Samples are grouped as the row form groups them (a container's per namespace, pod, container
and window; a device's per device and container), in order of first appearance, and a series
longer than `MAX_SERIES_LENGTH` is split. Figures are rounded up onto the block's integer grids,
so nothing the server sizes from reads lower than measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from protocol.compact_usage import (
    MAX_SERIES_LENGTH,
    CompactContainerSamples,
    CompactDevice,
    CompactGpuSamples,
    CompactUsage,
)
from protocol.snapshot import ContainerUsage, GpuUsage

MIB = 1024 * 1024
_FUZZ = 1e-6
"""Float error forgiven before rounding up (0.57 * 1000 is 570.0000000000001)."""


def per_mille(fraction: float) -> int:
    """A fraction (0..1) in per-mille, rounded up."""
    return min(1000, max(0, math.ceil(fraction * 1000 - _FUZZ)))


def millicores(cores: float) -> int:
    """Cores in millicores, rounded up."""
    return max(0, math.ceil(cores * 1000 - _FUZZ))


def mebibytes(size: int) -> int:
    """Bytes in MiB, rounded up."""
    return -(-size // MIB)


class _Tables:
    def __init__(self) -> None:
        self.strings: dict[str, int] = {}
        self.times: dict[float, int] = {}
        self.devices: dict[tuple[int, int, str | None, str | None, int | None], int] = {}

    def string(self, value: str) -> int:
        return self.strings.setdefault(value, len(self.strings))

    def time(self, seconds: float) -> int:
        return self.times.setdefault(seconds, len(self.times))

    def device(self, sample: GpuUsage) -> int:
        key = (
            self.string(sample.node),
            sample.gpu_index,
            sample.gpu_uuid,
            sample.mig_profile,
            sample.memory_total_bytes,
        )
        return self.devices.setdefault(key, len(self.devices))


def _spans(count: int) -> list[tuple[int, int]]:
    return [
        (start, min(count, start + MAX_SERIES_LENGTH))
        for start in range(0, count, MAX_SERIES_LENGTH)
    ]


def _containers(samples: Sequence[ContainerUsage], tables: _Tables) -> CompactContainerSamples:
    grouped: dict[tuple[str, str, str, int], list[ContainerUsage]] = {}
    for s in samples:
        grouped.setdefault((s.namespace, s.pod, s.container, s.window_seconds), []).append(s)
    block = CompactContainerSamples()
    for (namespace, pod, container, window), found in grouped.items():
        for start, end in _spans(len(found)):
            block.series_namespace.append(tables.string(namespace))
            block.series_pod.append(tables.string(pod))
            block.series_container.append(tables.string(container))
            block.series_window_seconds.append(window)
            block.series_length.append(end - start)
            for s in found[start:end]:
                block.time.append(tables.time(s.timestamp.timestamp()))
                block.cpu_millicores.append(millicores(s.cpu_cores))
                block.memory_mib.append(mebibytes(s.memory_bytes))
                throttled = s.cpu_throttled_fraction
                block.throttled_permille.append(None if throttled is None else per_mille(throttled))
    return block


def _gpus(samples: Sequence[GpuUsage], tables: _Tables) -> CompactGpuSamples:
    grouped: dict[tuple[int, str, str, str], list[GpuUsage]] = {}
    for s in samples:
        if s.namespace is None or s.pod is None or s.container is None:
            continue
        grouped.setdefault((tables.device(s), s.namespace, s.pod, s.container), []).append(s)
    block = CompactGpuSamples()
    for (device, namespace, pod, container), found in grouped.items():
        for start, end in _spans(len(found)):
            block.series_device.append(device)
            block.series_namespace.append(tables.string(namespace))
            block.series_pod.append(tables.string(pod))
            block.series_container.append(tables.string(container))
            block.series_length.append(end - start)
            for s in found[start:end]:
                block.time.append(tables.time(s.timestamp.timestamp()))
                block.duty_permille.append(per_mille(s.utilization))
                block.memory_used_mib.append(mebibytes(s.memory_used_bytes))
    return block


def compact_usage(
    containers: Sequence[ContainerUsage], gpus: Sequence[GpuUsage]
) -> tuple[CompactUsage, list[GpuUsage]]:
    """The block of the container samples and of the DCGM samples of devices a container uses,
    and the other DCGM samples (devices nobody was using) as they were."""
    tables = _Tables()
    container_block = _containers(containers, tables)
    gpu_block = _gpus(gpus, tables)
    unattributed = [s for s in gpus if s.namespace is None or s.pod is None or s.container is None]
    # The UUID only keeps devices apart here; the device's table entry does that on the wire.
    devices = [
        CompactDevice(node=node, gpu_index=index, mig_profile=mig, memory_total_bytes=total)
        for node, index, _, mig, total in tables.devices
    ]
    block = CompactUsage(
        times=list(tables.times),
        strings=list(tables.strings),
        devices=devices,
        containers=container_block,
        gpus=gpu_block,
    )
    return block, unattributed
