"""What one group of related recommendations counts: its best alternative, or its sequence.

Some recommendations in a group are not alternatives but a sequence: the analysis rightsizes
first and plans consolidation on the cluster as the request cuts leave it, draining nodes one
after another, each on the cluster the drains before it leave. The sequence's combined effect is
each step's saving priced on the cluster its predecessors leave: the nodes it removes. A request
cut (or fewer replicas) is not money until a node goes (`SavingBasis.NODE_REMOVAL`), so it adds
nothing of its own; the drains add their nodes' prices, all of them, since each was priced
after the others. Independent estimates are never added: spot or GPU-sharing advice in the group
was priced on today's cluster and is an alternative to the whole sequence.

A group counts its best option by expected saving (combined saving x the least confidence of its
steps, the request cuts a drain assumed included), a tie going to the sequence. Works on anything
priced like a recommendation, so a caller holding only the console's list of advice decides alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from protocol.recommendation import RecommendationKind, SavingBasis


class PricedAdvice(Protocol):
    """What counting reads of a recommendation."""

    @property
    def recommendation_id(self) -> UUID: ...
    @property
    def kind(self) -> RecommendationKind: ...
    @property
    def monthly_saving_usd(self) -> float: ...
    @property
    def confidence(self) -> float: ...
    @property
    def saving_basis(self) -> SavingBasis: ...


def expected_saving(recommendation: PricedAdvice) -> float:
    """Monthly saving times confidence: what the ranking and the headline go by."""
    return recommendation.monthly_saving_usd * recommendation.confidence


def counts_directly(recommendation: PricedAdvice) -> bool:
    """Whether the saving is realised by the change itself, not by a later node removal."""
    return recommendation.saving_basis is SavingBasis.DIRECT


def _rank(rec: PricedAdvice) -> tuple[float, float, str]:
    return (-expected_saving(rec), -rec.monthly_saving_usd, str(rec.recommendation_id))


@dataclass(frozen=True, slots=True)
class SavingOption:
    """What a group may count: one alternative alone, or a sequence of steps applied in order."""

    steps: tuple[PricedAdvice, ...]

    @property
    def combined_usd(self) -> float:
        """Each step's saving as priced on the cluster the steps before it leave, added up.

        A step realised only by a later node removal adds nothing of its own: the drain that
        removes the node, priced after it, carries that money.
        """
        return sum(r.monthly_saving_usd for r in self.steps if counts_directly(r))

    @property
    def confidence(self) -> float:
        """The least confidence of any step: a drain planned after a request cut saves only if
        the cut holds too, so the sequence is as sure as its least sure step."""
        return min((r.confidence for r in self.steps), default=0.0)

    @property
    def expected_usd(self) -> float:
        """The combined saving times the sequence's confidence (one step: its expected saving)."""
        return self.combined_usd * self.confidence


def sequence_of(recommendations: Sequence[PricedAdvice]) -> SavingOption | None:
    """The group's drains, after the request cuts the consolidation plan assumed applied.

    None when the group drains no node.
    """
    drains = [r for r in recommendations if r.kind is RecommendationKind.CONSOLIDATION]
    if not drains:
        return None
    first = sorted((r for r in recommendations if not counts_directly(r)), key=_rank)
    return SavingOption((*first, *sorted(drains, key=_rank)))


def options(recommendations: Sequence[PricedAdvice]) -> list[SavingOption]:
    """The sequence of drains (if any) and each other direct alternative alone, best first."""
    sequence = sequence_of(recommendations)
    alone = [
        SavingOption((r,))
        for r in sorted(recommendations, key=_rank)
        if counts_directly(r) and r.kind is not RecommendationKind.CONSOLIDATION
    ]
    found = [sequence, *alone] if sequence is not None else alone
    # Sorting is stable: on a tie the sequence, first, stays first (the store decides alike).
    return sorted(found, key=lambda o: (-o.expected_usd, -o.combined_usd))


def counted_option(recommendations: Sequence[PricedAdvice]) -> SavingOption | None:
    """The option a group of related recommendations counts: the best that saves anything."""
    return next((o for o in options(recommendations) if o.combined_usd > 0), None)


def counted_saving(recommendations: Sequence[PricedAdvice]) -> float:
    """What a group of related recommendations adds to the headline, once."""
    counted = counted_option(recommendations)
    return 0.0 if counted is None else counted.combined_usd
