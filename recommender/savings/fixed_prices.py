"""Prices fixed per analysis run: a recommendation is re-priced only when its inputs change.

Usage histories move with every snapshot, so two analyses minutes apart would price the same
advice a little differently, and a reviewer would see its saving drift while nothing they could
check had changed. A recommendation's priced inputs are the objects it was computed from (with
their resourceVersions) and the price book's version; while both are unchanged, the analysis
keeps the recommendation exactly as it was first priced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from protocol.recommendation import ObjectVersion, Recommendation


def _inputs(recommendation: Recommendation) -> tuple[str | None, frozenset[tuple[str, ...]]]:
    def key(version: ObjectVersion) -> tuple[str, ...]:
        return (version.kind, version.namespace or "", version.name, version.resource_version)

    return recommendation.price_book_version, frozenset(map(key, recommendation.computed_from))


def same_inputs(fresh: Recommendation, previous: Recommendation) -> bool:
    """Whether both were priced from the same objects' versions and the same price book."""
    return (
        fresh.price_book_version is not None
        and fresh.kind is previous.kind
        and bool(fresh.computed_from)
        and _inputs(fresh) == _inputs(previous)
    )


def keep_unchanged(
    fresh: Sequence[Recommendation],
    previous: Mapping[str, Recommendation],
    key: Callable[[Recommendation], str],
) -> list[Recommendation]:
    """`fresh`, with each one whose inputs match its predecessor's (by `key`) replaced by it."""
    kept: list[Recommendation] = []
    for recommendation in fresh:
        before = previous.get(key(recommendation))
        if before is not None and same_inputs(recommendation, before):
            kept.append(before)
        else:
            kept.append(recommendation)
    return kept
