"""GPUs of a node from the labels GPU feature discovery and the MIG manager put on it."""

from __future__ import annotations

from collections.abc import Mapping

from protocol.resources import GPU_RESOURCE
from protocol.snapshot import (
    LABEL_DEVICE_PLUGIN_CONFIG,
    LABEL_GPU_COUNT,
    LABEL_GPU_MEMORY,
    LABEL_GPU_PRODUCT,
    LABEL_MIG_CONFIG,
    LABEL_MIG_CONFIG_STATE,
    GpuInfo,
)

UNKNOWN_PRODUCT = "unknown"
"""Product reported for a node that advertises `nvidia.com/gpu` without GFD labels."""


def gpu_info(labels: Mapping[str, str], capacity: Mapping[str, int]) -> GpuInfo | None:
    """`GpuInfo` from GFD labels, or from the `nvidia.com/gpu` capacity when GFD is absent.

    `nvidia.com/gpu.memory` is in MiB (GFD's unit). With time-slicing or MPS the capacity counts
    replicas, not devices, so the label count wins whenever it is present.
    """
    product = labels.get(LABEL_GPU_PRODUCT)
    count = _int_label(labels.get(LABEL_GPU_COUNT))
    if count is None:
        count = capacity.get(GPU_RESOURCE)
    if product is None and not count:
        return None
    return GpuInfo(
        product=product or UNKNOWN_PRODUCT,
        count=count or 0,
        memory_mib=_int_label(labels.get(LABEL_GPU_MEMORY)),
        mig_config=labels.get(LABEL_MIG_CONFIG) or None,
        mig_config_state=labels.get(LABEL_MIG_CONFIG_STATE) or None,
        sharing_config=labels.get(LABEL_DEVICE_PLUGIN_CONFIG) or None,
    )


def _int_label(value: str | None) -> int | None:
    """A non-negative integer label value, or None."""
    if value is None or not value.isdigit():
        return None
    return int(value)
