"""Sharing advice as a priced, explained `Recommendation` of kind gpu-sharing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind
from recommender.gpu.advice import AdviceKind, SharingAdvice
from recommender.gpu.change_sets import DevicePluginConfigMap, advice_change_set

_TITLES = {
    AdviceKind.MIG: "Move {name} to a MIG {detail} slice",
    AdviceKind.TIME_SLICING: "Time-slice GPUs for {name} ({detail} replicas per GPU)",
    AdviceKind.MPS: "Share GPUs for {name} through MPS ({detail} clients per GPU)",
}


def _title(advice: SharingAdvice) -> str:
    if advice.kind is AdviceKind.MIG:
        detail = advice.mig_profile or ""
    else:
        detail = str(advice.sharing.replicas) if advice.sharing else ""
    return _TITLES[advice.kind].format(name=advice.subject.workload.name, detail=detail)


def to_recommendation(
    advice: SharingAdvice,
    *,
    recommendation_id: UUID,
    cluster_id: UUID,
    created_at: datetime,
    nodes: Sequence[str] | None = None,
    config_map: DevicePluginConfigMap | None = None,
) -> Recommendation:
    """The recommendation for one actionable piece of advice (not whole-GPU)."""
    change_set = advice_change_set(advice, nodes=nodes, config_map=config_map)
    subject = advice.subject
    computed_from = (
        [
            ObjectVersion(
                kind=subject.workload.kind.value,
                namespace=subject.workload.namespace,
                name=subject.workload.name,
                resource_version=subject.resource_version,
            )
        ]
        if subject.resource_version
        else []
    )
    return Recommendation(
        recommendation_id=recommendation_id,
        cluster_id=cluster_id,
        kind=RecommendationKind.GPU_SHARING,
        workload=subject.workload,
        title=_title(advice),
        reason=advice.reason,
        evidence=dict(advice.evidence),
        risk=advice.risk,
        risk_note=advice.risk_note,
        monthly_saving_usd=advice.monthly_saving_usd,
        change_set=change_set,
        computed_from=computed_from,
        created_at=created_at,
    )
