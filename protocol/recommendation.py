"""Priced recommendations produced by the recommender."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, JsonValue

from protocol.base import Fraction, Name, Namespace, ShortText, WireModel
from protocol.changes import ChangeSet, WorkloadRef


class RecommendationKind(StrEnum):
    """What kind of saving (or safety action) a recommendation is."""

    GPU_SHARING = "gpu-sharing"
    SPOT = "spot"
    RIGHTSIZING = "rightsizing"
    CONSOLIDATION = "consolidation"
    SPOT_EVACUATION = "spot-evacuation"
    AUTOSCALING = "autoscaling"


class Risk(StrEnum):
    """How likely applying the change is to hurt the workload."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class SavingBasis(StrEnum):
    """How a recommendation's saving turns into a smaller bill."""

    DIRECT = "direct"
    """Applying the change alone lowers the bill: it removes or replaces priced capacity."""
    NODE_REMOVAL = "node_removal"
    """The change frees requested resources; the bill falls only when nodes are then removed,
    so the saving is counted on the consolidation that removes them."""


class ObjectVersion(WireModel):
    """An object and the resourceVersion a recommendation was computed from."""

    kind: Annotated[str, Field(max_length=64)]
    namespace: Namespace | None = None
    name: Name
    resource_version: Annotated[str, Field(max_length=64)]


class Recommendation(WireModel):
    """One priced, explained, applicable recommendation."""

    schema_version: Literal["1"] = "1"
    recommendation_id: UUID
    cluster_id: UUID
    kind: RecommendationKind
    workload: WorkloadRef | None = None
    node: Name | None = None
    title: ShortText
    reason: ShortText
    evidence: Annotated[
        dict[Annotated[str, Field(max_length=64)], JsonValue], Field(max_length=64)
    ] = Field(default_factory=dict)
    risk: Risk
    risk_note: ShortText = ""
    monthly_saving_usd: Annotated[float, Field(ge=-1e9, le=1e9)]
    confidence: Fraction = 1.0
    saving_basis: SavingBasis = SavingBasis.DIRECT
    price_book_version: Annotated[str, Field(max_length=64)] | None = None
    """The version of the price book the saving was computed with; the analysis re-prices a
    recommendation only when this or the versions in `computed_from` change."""
    change_set: ChangeSet
    computed_from: Annotated[list[ObjectVersion], Field(max_length=256)] = Field(
        default_factory=list
    )
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    """After this moment the recommendation can no longer be approved (a spot evacuation's
    notice deadline); instructions carrying it out expire then at the latest."""
