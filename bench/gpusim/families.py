"""Pod lists of the published trace families, derived from a base list by their recipes.

The Alibaba GPU trace publishes, beside its default pod list, lists "sampled from the default one,
emphasising certain types of workloads" and lists whose GPU pods carry GPU-model constraints. The
lists we have show each recipe (`tests/unit/bench/test_gpu_families.py` compares them with what
this module derives from the default list):

* `cpuP`: the GPU pods are kept and the CPU-only pods are sampled so that they make P/10 % of
  all pods (cpu050: 375 of 7,439 pods, a subset of the default's 1,088).
* `gpushareP`: CPU-only pods and the number of GPU pods are kept; GPU pods are drawn so that
  GPU-sharing pods (one GPU, under 1,000 milli) ask for P % of the GPU milli (gpushare40: 4,001
  sharing pods drawn with replacement, 3,063 others without).
* `multigpuP`: every pod is kept and pods asking for several GPUs are cloned until they ask for
  P % of the GPU milli (multigpu20: 172 clones added to the 75 multi-GPU pods).
* `gpuspecP`: P % of the GPU pods, drawn at random, get a GPU-model constraint drawn from the
  constraints that pods of the same kind carry in a list that has them (gpuspec10).

A group is sampled without replacement when the recipe wants no more of it than the base holds,
and with replacement (clones) otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.tables import MILLI, PodTable, allowed_models

FAMILIES = ("cpu", "gpushare", "multigpu", "gpuspec")


@dataclass(frozen=True, slots=True)
class FamilyList:
    """One derived list: its family, the percent its recipe targets, and the generator seed."""

    family: str
    percent: float
    seed: int

    @property
    def published_name(self) -> str:
        """The published list this recipe makes: `cpu050` (5.0 %), `gpushare60` (60 %)."""
        if self.family == "cpu":
            return f"cpu{round(self.percent * 10):03d}"
        return f"{self.family}{round(self.percent):02d}"

    @property
    def name(self) -> str:
        """`gpushare60-s1`: the published list's name and the generator seed."""
        return f"{self.published_name}-s{self.seed}"


def parse_list_name(name: str, seed: int = 0) -> FamilyList:
    """`cpu250` -> cpu at 25.0 %, `gpuspec33` -> gpuspec at 33 %: a published list's recipe."""
    for family in FAMILIES:
        digits = name.removeprefix(family)
        if digits != name and digits.isdigit():
            scale = 10.0 if family == "cpu" else 1.0
            return FamilyList(family, int(digits) / scale, seed)
    raise ValueError(f"{name!r} is not a list of the families {', '.join(FAMILIES)}")


def kinds(pods: PodTable) -> NDArray[np.str_]:
    """Kind of each pod: `cpu` (no GPU), `share` (a fraction of one GPU), `whole`, `multi`."""
    k = pods.num_gpu
    m = pods.gpu_milli
    gpu = (k > 0) & (m > 0)
    return np.where(
        ~gpu, "cpu", np.where((k == 1) & (m < MILLI), "share", np.where(k == 1, "whole", "multi"))
    )


def _draw(rng: np.random.Generator, members: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    """`count` of `members`: a subset when there are enough, else every one plus clones."""
    if count <= members.size:
        return np.sort(rng.choice(members, size=count, replace=False)).astype(np.int64)
    extra = rng.choice(members, size=count - members.size, replace=True)
    return np.concatenate([members, extra]).astype(np.int64)


def cpu_list(pods: PodTable, percent: float, rng: np.random.Generator) -> PodTable:
    """GPU pods kept; CPU-only pods sampled to `percent` % of all pods."""
    kind = kinds(pods)
    gpu = np.flatnonzero(kind != "cpu")
    share = percent / 100.0
    count = round(share / (1.0 - share) * gpu.size)
    return pods.take(np.r_[gpu, _draw(rng, np.flatnonzero(kind == "cpu"), count)])


def gpushare_list(pods: PodTable, percent: float, rng: np.random.Generator) -> PodTable:
    """GPU pods redrawn, as many as before, so sharing pods ask for `percent` % of GPU milli."""
    kind = kinds(pods)
    demand = pods.total_milli()
    sharing = np.flatnonzero(kind == "share")
    others = np.flatnonzero((kind == "whole") | (kind == "multi"))
    total = sharing.size + others.size
    target = percent / 100.0
    mean_share = float(demand[sharing].mean())
    mean_other = float(demand[others].mean()) if others.size else 0.0
    # S sharing pods of the mean share and total - S others of the mean other: S m_s = p x all.
    denominator = (1.0 - target) * mean_share + target * mean_other
    count = total if denominator == 0 else round(target * total * mean_other / denominator)
    count = min(total, max(0, count))
    chosen = np.r_[
        np.flatnonzero(kind == "cpu"),
        _draw(rng, sharing, count),
        _draw(rng, others, total - count),
    ]
    return pods.take(chosen.astype(np.int64))


def multigpu_list(pods: PodTable, percent: float, rng: np.random.Generator) -> PodTable:
    """Every pod kept; multi-GPU pods cloned until they ask for `percent` % of GPU milli."""
    kind = kinds(pods)
    demand = pods.total_milli()
    multi = np.flatnonzero(kind == "multi")
    rest = int(demand[kind != "multi"].sum())
    held = int(demand[multi].sum())
    target = percent / 100.0
    clones: list[int] = []
    while held < target * (held + rest):
        clone = int(multi[rng.integers(multi.size)])
        clones.append(clone)
        held += int(demand[clone])
    return pods.take(np.r_[np.arange(pods.size), np.asarray(clones, dtype=np.int64)])


def gpuspec_list(
    pods: PodTable,
    percent: float,
    rng: np.random.Generator,
    *,
    constrained: PodTable,
    models: Sequence[str],
) -> PodTable:
    """`percent` % of the GPU pods constrained to GPU models drawn from `constrained`'s pods.

    Each chosen pod gets a constraint carried by a pod of its own kind in `constrained` (any
    kind's, when its kind carries none there).
    """
    kind = kinds(pods)
    source_kind = kinds(constrained)
    has_spec = np.array([bool(spec) for spec in constrained.gpu_spec], dtype=np.bool_)
    gpu = np.flatnonzero(kind != "cpu")
    chosen = rng.choice(gpu, size=round(percent / 100.0 * gpu.size), replace=False)
    specs = list(pods.gpu_spec)
    for i in np.sort(chosen):
        pool = np.flatnonzero(has_spec & (source_kind == kind[i]))
        if pool.size == 0:
            pool = np.flatnonzero(has_spec)
        specs[int(i)] = constrained.gpu_spec[int(rng.choice(pool))]
    masks = {spec: allowed_models(spec, models) for spec in set(specs)}
    return PodTable(
        names=pods.names,
        cpu_milli=pods.cpu_milli,
        memory_mib=pods.memory_mib,
        num_gpu=pods.num_gpu,
        gpu_milli=pods.gpu_milli,
        gpu_spec=tuple(specs),
        allowed=np.array([masks[s] for s in specs], dtype=np.bool_).reshape(
            len(specs), len(models)
        ),
    )


def derive(
    pods: PodTable,
    spec: FamilyList,
    *,
    constrained: PodTable,
    models: Sequence[str],
) -> PodTable:
    """The list `spec` names, derived from `pods`; names are renumbered in list order."""
    rng = np.random.default_rng((spec.seed, FAMILIES.index(spec.family)))
    match spec.family:
        case "cpu":
            out = cpu_list(pods, spec.percent, rng)
        case "gpushare":
            out = gpushare_list(pods, spec.percent, rng)
        case "multigpu":
            out = multigpu_list(pods, spec.percent, rng)
        case "gpuspec":
            out = gpuspec_list(pods, spec.percent, rng, constrained=constrained, models=models)
        case _:
            raise ValueError(f"unknown family {spec.family!r}; known: {', '.join(FAMILIES)}")
    width = len(str(out.size))
    return PodTable(
        names=tuple(f"{spec.name}-pod-{i:0{width}d}" for i in range(out.size)),
        cpu_milli=out.cpu_milli,
        memory_mib=out.memory_mib,
        num_gpu=out.num_gpu,
        gpu_milli=out.gpu_milli,
        gpu_spec=out.gpu_spec,
        allowed=out.allowed,
    )


def list_statistics(pods: PodTable) -> dict[str, float]:
    """What the recipes steer: pods by kind, shares of GPU milli, constrained GPU pods."""
    kind = kinds(pods)
    demand = pods.total_milli()
    gpu_milli = float(demand.sum()) or 1.0
    gpu_pods = int(np.count_nonzero(kind != "cpu")) or 1
    constrained = sum(1 for s, k in zip(pods.gpu_spec, kind, strict=True) if s and k != "cpu")
    return {
        "pods": float(pods.size),
        "cpu_only_pct_of_pods": round(100.0 * np.count_nonzero(kind == "cpu") / pods.size, 2),
        "share_pct_of_gpu_milli": round(100.0 * demand[kind == "share"].sum() / gpu_milli, 2),
        "multi_pct_of_gpu_milli": round(100.0 * demand[kind == "multi"].sum() / gpu_milli, 2),
        "constrained_pct_of_gpu_pods": round(100.0 * constrained / gpu_pods, 2),
        "gpus_asked": round(gpu_milli / MILLI, 1),
    }
