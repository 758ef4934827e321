"""Per-workload GPU sharing advice from observed usage.

A workload's need is its peak GPU memory and its busiest-minutes duty cycle (the 99.5th
percentile), each times a headroom factor. Every option gives the workload a budget of memory and
of duty cycle (as a share of one GPU):

- a MIG profile: the profile's usable memory and its share of the GPU's compute slices, with
  hardware isolation; the smallest profile holding the need is taken;
- time-slicing or MPS with N replicas per GPU: 1/N of the GPU's memory and of its time. MPS runs
  kernels concurrently and suits many small, steady inference processes; time-slicing lets a
  bursty, mostly idle workload borrow the whole GPU between its neighbours' bursts.

MIG is preferred whenever it saves as much as the alternatives (isolation is worth having); a
bursty workload goes to time-slicing when that packs it tighter; tiny or many-replica steady
workloads go to MPS when that packs tighter than the smallest MIG slice. Otherwise the workload
keeps its whole GPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from protocol.changes import WorkloadRef
from protocol.recommendation import Risk
from recommender.gpu.mig_geometry import instances_that_fit, profiles_holding
from recommender.gpu.mig_layouts import MigConfig
from recommender.gpu.mig_profiles import MigProduct, MigProfile, product_named
from recommender.gpu.sharing_config import MAX_REPLICAS, SharingConfig, SharingMode
from recommender.gpu.usage_profile import GpuUsageProfile

HOURS_PER_MONTH = 730.0
GIB = 1024**3
MPS_MIN_REPLICAS = 3
"""A workload running at least this many replicas counts as "many inference processes"."""
MPS_MIN_PER_GPU = 4
"""MPS is worth its weaker fault isolation only when at least this many replicas share a GPU."""


class AdviceKind(StrEnum):
    """What to do with one workload's GPU."""

    WHOLE_GPU = "whole-gpu"
    MIG = "mig"
    TIME_SLICING = "time-slicing"
    MPS = "mps"


@dataclass(frozen=True, slots=True)
class Headroom:
    """Factors applied to observed peaks before sizing a budget."""

    memory: float = 1.15
    duty: float = 1.25


@dataclass(frozen=True, slots=True)
class GpuWorkload:
    """One GPU container of a workload, with where it runs and how it used its GPU."""

    workload: WorkloadRef
    container: str
    replicas: int
    gpus_per_replica: int
    gpu_product: str
    """GPU feature discovery's product label or a table name (`NVIDIA-A100-SXM4-80GB`)."""
    gpu_memory_bytes: int
    usage: GpuUsageProfile
    nodes: tuple[str, ...] = ()
    resource_version: str = ""


@dataclass(frozen=True, slots=True)
class SharingAdvice:
    """The advice for one workload, with its budget, evidence, risk and price."""

    subject: GpuWorkload
    kind: AdviceKind
    reason: str
    risk: Risk
    risk_note: str
    memory_budget_bytes: float
    duty_budget: float
    gpu_share: float
    """Share of one GPU each replica takes under the advice (1.0 for a whole GPU)."""
    monthly_saving_usd: float
    evidence: Mapping[str, float | int | str] = field(default_factory=dict)
    mig_profile: str | None = None
    mig_layout: str | None = None
    sharing: SharingConfig | None = None

    @property
    def gpus_freed(self) -> float:
        """Whole GPUs the workload no longer holds."""
        return self.subject.replicas * (self.subject.gpus_per_replica - self.gpu_share)


@dataclass(frozen=True, slots=True)
class _Need:
    memory_bytes: float
    duty: float


def _mig_product(name: str) -> MigProduct | None:
    try:
        return product_named(name)
    except KeyError:
        return None


def mig_option(
    product: MigProduct, mig_config: MigConfig, need: _Need
) -> tuple[MigProfile, str, float] | None:
    """The profile, named layout and GPU share that hold `need` most cheaply, if any saves.

    A node's GPUs all take one named layout, so an instance costs 1/n of a GPU where n is how
    many instances of its profile the layout creates: `all-4g.40gb` makes one 4g instance and
    leaves the other three compute slices idle, which saves nothing.
    """
    best: tuple[MigProfile, str, float] | None = None
    for profile in profiles_holding(product, need.memory_bytes, need.duty):
        layout = mig_config.layout_for_profile(product, profile.name)
        devices = mig_config.devices_for(layout, product) if layout else None
        if layout is None or not devices:
            continue
        share = 1.0 / devices[profile.name]
        if share < 1.0 and (best is None or share < best[2]):
            best = (profile, layout, share)
    return best


def replicas_per_gpu(need: _Need, gpu_memory_bytes: int) -> int:
    """How many copies of a need one GPU holds when memory and time are split evenly."""
    by_duty = math.floor(1.0 / need.duty) if need.duty > 0 else MAX_REPLICAS
    by_memory = math.floor(gpu_memory_bytes / need.memory_bytes) if need.memory_bytes else 0
    return max(0, min(by_duty, by_memory, MAX_REPLICAS))


def _evidence(subject: GpuWorkload, need: _Need) -> dict[str, float | int | str]:
    usage = subject.usage
    return {
        "gpu_product": subject.gpu_product,
        "samples": usage.samples,
        "memory_peak_gib": round(usage.memory_peak_bytes / GIB, 2),
        "duty_mean": round(usage.duty_mean, 4),
        "duty_p99_5": round(usage.duty_quantile, 4),
        "duty_peak": round(usage.duty_peak, 4),
        "active_share": round(usage.active_share, 4),
        "memory_need_gib": round(need.memory_bytes / GIB, 2),
        "duty_need": round(need.duty, 4),
        "replicas": subject.replicas,
        "gpus_per_replica": subject.gpus_per_replica,
    }


def _saving(subject: GpuWorkload, share: float, gpu_hourly_usd: float) -> float:
    freed = subject.replicas * (subject.gpus_per_replica - share)
    return round(freed * gpu_hourly_usd * HOURS_PER_MONTH, 2)


def advise(
    subject: GpuWorkload,
    *,
    gpu_hourly_usd: float,
    mig_config: MigConfig | None,
    headroom: Headroom | None = None,
) -> SharingAdvice:
    """Advise one workload: whole GPU, a MIG profile, time-slicing or MPS."""
    headroom = headroom or Headroom()
    usage = subject.usage
    need = _Need(
        memory_bytes=usage.memory_peak_bytes * headroom.memory,
        duty=min(1.0, usage.duty_quantile * headroom.duty),
    )
    evidence = _evidence(subject, need)
    whole = SharingAdvice(
        subject=subject,
        kind=AdviceKind.WHOLE_GPU,
        reason=(
            f"needs {need.memory_bytes / GIB:.1f} GiB and {need.duty:.0%} of a GPU with headroom;"
            " no smaller share holds it"
        ),
        risk=Risk.LOW,
        risk_note="no change",
        memory_budget_bytes=float(subject.gpu_memory_bytes),
        duty_budget=1.0,
        gpu_share=float(subject.gpus_per_replica),
        monthly_saving_usd=0.0,
        evidence=evidence,
    )
    if subject.gpus_per_replica != 1:
        # Sharing splits one GPU; a pod spread over several keeps them.
        return replace(whole, reason=f"each replica spans {subject.gpus_per_replica} GPUs")
    product = _mig_product(subject.gpu_product)
    mig = (
        mig_option(product, mig_config, need)
        if product is not None and mig_config is not None
        else None
    )
    per_gpu = replicas_per_gpu(need, subject.gpu_memory_bytes)
    split_share = 1.0 / per_gpu if per_gpu >= 2 else 1.0
    many_small = per_gpu >= MPS_MIN_PER_GPU and (
        subject.replicas >= MPS_MIN_REPLICAS
        or per_gpu > (instances_that_fit(product, product.profiles[0]) if product else 1)
    )
    if many_small and not usage.bursty and (mig is None or split_share < mig[2]):
        return _split(subject, SharingMode.MPS, per_gpu, need, evidence, price=gpu_hourly_usd)
    if mig is not None and (not usage.bursty or mig[2] <= split_share):
        return _mig(subject, product, mig, need, evidence, price=gpu_hourly_usd)
    if per_gpu >= 2:
        return _split(
            subject, SharingMode.TIME_SLICING, per_gpu, need, evidence, price=gpu_hourly_usd
        )
    return whole


def _mig(
    subject: GpuWorkload,
    product: MigProduct | None,
    mig: tuple[MigProfile, str, float],
    need: _Need,
    evidence: dict[str, float | int | str],
    *,
    price: float,
) -> SharingAdvice:
    profile, layout, share = mig
    fraction = product.compute_fraction(profile) if product else share
    return SharingAdvice(
        subject=subject,
        kind=AdviceKind.MIG,
        reason=(
            f"peak {subject.usage.memory_peak_bytes / GIB:.1f} GiB and {need.duty:.0%} duty cycle"
            f" (with headroom) fit MIG {profile.name}: "
            f"{profile.usable_memory_bytes / GIB:.1f} GiB, {fraction:.0%} of compute"
        ),
        risk=Risk.LOW,
        risk_note=(
            "hardware-isolated slice; pods restart onto it and repartitioning the node's GPUs "
            "needs them free of other pods"
        ),
        memory_budget_bytes=float(profile.usable_memory_bytes),
        duty_budget=fraction,
        gpu_share=share,
        monthly_saving_usd=_saving(subject, share, price),
        evidence={**evidence, "mig_profile": profile.name, "mig_layout": layout},
        mig_profile=profile.name,
        mig_layout=layout,
    )


def _split(
    subject: GpuWorkload,
    mode: SharingMode,
    replicas: int,
    need: _Need,
    evidence: dict[str, float | int | str],
    *,
    price: float,
) -> SharingAdvice:
    usage = subject.usage
    share = 1.0 / replicas
    budget_gib = subject.gpu_memory_bytes * share / GIB
    if mode is SharingMode.MPS:
        kind = AdviceKind.MPS
        reason = (
            f"small, steady inference process ({need.memory_bytes / GIB:.1f} GiB, "
            f"{need.duty:.0%} duty with headroom): {replicas} MPS clients share a GPU, "
            f"{budget_gib:.1f} GiB each"
        )
        note = "MPS clients share one GPU context: a fatal fault in one can stop the others"
    else:
        kind = AdviceKind.TIME_SLICING
        if usage.bursty:
            why = (
                f"bursty and mostly idle (active {usage.active_share:.0%} of minutes, "
                f"mean duty {usage.duty_mean:.0%})"
            )
        else:
            why = (
                f"needs {need.duty:.0%} of a GPU's time and {need.memory_bytes / GIB:.1f} GiB "
                "with headroom, and no MIG layout packs it tighter"
            )
        reason = f"{why}: {replicas} time-sliced replicas per GPU, {budget_gib:.1f} GiB each"
        note = (
            "no memory isolation between time-sliced replicas, and latency rises when "
            "neighbours' bursts overlap"
        )
    return SharingAdvice(
        subject=subject,
        kind=kind,
        reason=reason,
        risk=Risk.MEDIUM,
        risk_note=note,
        memory_budget_bytes=subject.gpu_memory_bytes * share,
        duty_budget=share,
        gpu_share=share,
        monthly_saving_usd=_saving(subject, share, price),
        evidence={**evidence, "replicas_per_gpu": replicas, "sharing": str(mode)},
        sharing=SharingConfig(mode=mode, replicas=replicas),
    )
