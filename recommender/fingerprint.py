"""Recommendation fingerprints: what a recommendation is about, stable across analyses.

A new analysis updates the open recommendation with the same fingerprint instead of adding a
second one, so the fingerprint names the kind and the target (workload and/or node), never
figures that change from one analysis to the next.
"""

from __future__ import annotations

from protocol.recommendation import Recommendation, RecommendationKind

MAX_FINGERPRINT = 512


def fingerprint(recommendation: Recommendation) -> str:
    """`kind|workload kind/namespace/name|node`, with absent parts left empty."""
    workload = recommendation.workload
    target = (
        "" if workload is None else f"{workload.kind.value}/{workload.namespace}/{workload.name}"
    )
    parts = [recommendation.kind.value, target, recommendation.node or ""]
    if recommendation.kind is RecommendationKind.SPOT_EVACUATION:
        # Every notice is its own evacuation, even for a node noticed twice.
        parts.append(
            str(recommendation.evidence.get("notice_id", recommendation.recommendation_id))
        )
    return "|".join(parts)[:MAX_FINGERPRINT]
