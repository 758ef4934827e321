"""What was worked out of immutable models, remembered by the models' identities.

A worker folds a cluster's deltas against the same stored node and pod models minute after
minute (`InventoryCache`): working out each one's owner, requests or price every minute would
cost more than folding its samples. Models are immutable, so a result is remembered under the
identities of the models it came from, the models themselves held beside it so that an identity
is never reused while remembered; past `limit` results everything is forgotten at once and
worked out again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

_V = TypeVar("_V")
DEFAULT_LIMIT = 262_144


class ModelMemo(Generic[_V]):
    """Results of a computation over one or two models, by the models' identities."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        """Remember up to `limit` results."""
        self._limit = limit
        self._known: dict[tuple[int, int], tuple[object, object, _V]] = {}

    def get(self, first: object, second: object, make: Callable[[], _V]) -> _V:
        """The result for (`first`, `second`), made by `make` if not remembered."""
        found = self._known.get((id(first), id(second)))
        if found is not None and found[0] is first and found[1] is second:
            return found[2]
        if len(self._known) >= self._limit:
            self._known.clear()
        made = make()
        self._known[(id(first), id(second))] = (first, second, made)
        return made
