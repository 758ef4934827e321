"""The vocabularies of the recommendations list: kinds, statuses and sort orders."""

from __future__ import annotations

from enum import StrEnum

from protocol.recommendation import RecommendationKind
from store.repositories.console_queries import RecommendationSort


class StatusFilter(StrEnum):
    """Recommendation statuses one can filter by."""

    OPEN = "open"
    SNOOZED = "snoozed"
    APPROVED = "approved"
    APPLIED = "applied"
    FAILED = "failed"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


KINDS = [kind.value for kind in RecommendationKind]
STATUSES = [status.value for status in StatusFilter]
SORTS = {
    RecommendationSort.EXPECTED_DESC.value: "Expected saving (saving x confidence)",
    RecommendationSort.SAVING_DESC.value: "Largest saving",
    RecommendationSort.SAVING_ASC.value: "Smallest saving",
    RecommendationSort.NEWEST.value: "Newest",
    RecommendationSort.OLDEST.value: "Oldest",
    RecommendationSort.RISK_ASC.value: "Lowest risk",
    RecommendationSort.RISK_DESC.value: "Highest risk",
    RecommendationSort.CLUSTER.value: "Cluster",
    RecommendationSort.KIND.value: "Kind",
}
"""Sort orders with their labels, in menu order."""
