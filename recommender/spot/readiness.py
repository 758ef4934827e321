"""Is a workload ready to run (partly) on spot capacity, and if not, why not.

The reasons are facts about the workload; the annotation `slicewise.io/spot: allow|deny`
overrides the verdict (but not the facts, which stay visible). A StatefulSet is judged like a
Deployment: its placement keeps a count-based floor on on-demand (`recommender.spot.placement`);
local storage still rules it out. `STATEFUL_IDENTITY` stays a known value of stored evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from protocol.snapshot import ANNOTATION_SPOT_OPT, Workload, WorkloadKind
from recommender.inventory import Inventory, WorkloadId, workload_id
from recommender.spot.pdb import budget_at_full_health
from recommender.spot.policy import SpotPolicy

SUPPORTED_KINDS = frozenset({WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET})


class NotReadyReason(StrEnum):
    """Why a workload should not run on spot capacity."""

    SINGLE_REPLICA = "single-replica"
    PDB_TOO_TIGHT = "pdb-too-tight"
    LOCAL_STORAGE = "local-storage"
    STATEFUL_IDENTITY = "stateful-identity"
    LONG_TERMINATION_GRACE = "long-termination-grace"
    SLOW_START = "slow-start"
    UNSUPPORTED_KIND = "unsupported-kind"
    OPTED_OUT = "opted-out"


class SpotOverride(StrEnum):
    """Values of the `slicewise.io/spot` annotation."""

    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class SpotReadiness:
    """The verdict on one workload."""

    workload: WorkloadId
    ready: bool
    reasons: tuple[NotReadyReason, ...]
    override: SpotOverride | None
    replicas: int
    min_available: int
    """Pods the PDB keeps available at full health (0 when no PDB covers the workload)."""
    has_pdb: bool


def spot_override(workload: Workload) -> SpotOverride | None:
    """The annotation's value, if it is one of the two known ones."""
    raw = workload.annotations.get(ANNOTATION_SPOT_OPT, "").strip().lower()
    return SpotOverride(raw) if raw in {o.value for o in SpotOverride} else None


def startup_seconds_of(workload: Workload, observed: Mapping[WorkloadId, float] | None) -> float:
    """Time from start to serving: observed where known, else the declared minReadySeconds."""
    seen = (observed or {}).get(workload_id(workload))
    return max(seen or 0.0, float(workload.min_ready_seconds))


def assess_readiness(
    workload: Workload,
    inventory: Inventory,
    policy: SpotPolicy,
    observed_startup_seconds: Mapping[WorkloadId, float] | None = None,
) -> SpotReadiness:
    """Judge one workload; `observed_startup_seconds` comes from pod readiness history."""
    replicas = workload.replicas or 0
    pdbs = inventory.pdbs_for_workload(workload)
    minimum, allowed = budget_at_full_health(pdbs, replicas)
    reasons: list[NotReadyReason] = []
    if workload.kind not in SUPPORTED_KINDS:
        reasons.append(NotReadyReason.UNSUPPORTED_KIND)
    if replicas <= 1:
        reasons.append(NotReadyReason.SINGLE_REPLICA)
    if pdbs and allowed == 0:
        reasons.append(NotReadyReason.PDB_TOO_TIGHT)
    if workload.template.uses_local_storage:
        reasons.append(NotReadyReason.LOCAL_STORAGE)
    if workload.template.termination_grace_seconds > policy.max_termination_grace_seconds:
        reasons.append(NotReadyReason.LONG_TERMINATION_GRACE)
    if startup_seconds_of(workload, observed_startup_seconds) > policy.max_startup_seconds:
        reasons.append(NotReadyReason.SLOW_START)
    override = spot_override(workload)
    if override is SpotOverride.DENY:
        reasons.append(NotReadyReason.OPTED_OUT)
    # The annotation waives every judgement call, but cannot make a DaemonSet or Job placeable.
    if override is SpotOverride.ALLOW:
        ready = NotReadyReason.UNSUPPORTED_KIND not in reasons
    else:
        ready = not reasons
    return SpotReadiness(
        workload=workload_id(workload),
        ready=ready,
        reasons=tuple(reasons),
        override=override,
        replicas=replicas,
        min_available=minimum,
        has_pdb=bool(pdbs),
    )
