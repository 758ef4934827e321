"""Workloads with synthetic usage for the advice, change-set and plan tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from protocol.changes import WorkloadRef
from protocol.snapshot import WorkloadKind
from recommender.gpu.advice import GpuWorkload
from recommender.gpu.mig_layouts import MigConfig, parse_mig_config
from recommender.gpu.usage_profile import profile_usage

GIB = 1024**3
CONFIG = (
    Path(__file__).resolve().parents[4].parent / "shared/data/mig/mig-parted-config-default.yaml"
)


@cache
def mig_config() -> MigConfig:
    """NVIDIA's default mig-parted layouts (parsed once: the config is immutable)."""
    return parse_mig_config(CONFIG.read_text())


def workload(
    name: str,
    memory_gib: float,
    duty: float | list[float],
    *,
    replicas: int = 1,
    product: str = "A100-80GB",
    gpu_memory_gib: int = 80,
    gpus: int = 1,
) -> GpuWorkload:
    """A Deployment whose container used a steady (or given) duty cycle and memory."""
    duty_series = np.full(200, duty) if isinstance(duty, float) else np.array(duty)
    usage = profile_usage(duty_series, np.full(duty_series.size, memory_gib * GIB))
    return GpuWorkload(
        workload=WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="ml", name=name),
        container="server",
        replicas=replicas,
        gpus_per_replica=gpus,
        gpu_product=product,
        gpu_memory_bytes=gpu_memory_gib * GIB,
        usage=usage,
        nodes=("gpu-a", "gpu-b"),
        resource_version="17",
    )


def bursty_duty() -> list[float]:
    """190 idle minutes and 10 at 35 %: active 5 % of the time, peaks 20x the mean."""
    return [0.0] * 190 + [0.35] * 10
