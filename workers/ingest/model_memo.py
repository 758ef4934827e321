"""What was worked out of immutable models, remembered while the models live.

A worker folds a cluster's deltas against the same stored node and pod models minute after
minute (`InventoryCache`): working out each pod's owner and requests every minute would cost
more than folding its samples (`pod_attribution`; priced inventories are kept per cluster by
`priced_clusters`). Models are immutable, so a result is remembered under the
identities of the models it came from, with weak references to them: an entry is used only
while it still names those very models, and goes when either model is freed, so the memo holds
no model alive and grows no larger than the models the worker holds anyway.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

_V = TypeVar("_V")
_Key = tuple[int, int]


class ModelMemo(Generic[_V]):
    """Results of a computation over one model, or a pair, by the models' identities."""

    def __init__(self) -> None:
        """An empty memo."""
        self._known: dict[_Key, tuple[weakref.ref[object], weakref.ref[object] | None, _V]] = {}

    def get(self, first: object, second: object | None, make: Callable[[], _V]) -> _V:
        """The result for (`first`, `second`), made by `make` if not remembered."""
        key = (id(first), id(second))
        found = self._known.get(key)
        if (
            found is not None
            and found[0]() is first
            and (None if found[1] is None else found[1]()) is second
        ):
            return found[2]
        made = make()
        forget = partial(self._forget, key)
        self._known[key] = (
            weakref.ref(first, forget),
            None if second is None else weakref.ref(second, forget),
            made,
        )
        return made

    def _forget(self, key: _Key, gone: weakref.ref[object]) -> None:
        """Drop the entry of a model that was freed (unless a newer entry took its key)."""
        found = self._known.get(key)
        if found is not None and (gone is found[0] or gone is found[1]):
            # Models may be freed on another thread than the one filling the memo.
            self._known.pop(key, None)

    def __len__(self) -> int:
        """How many results are remembered."""
        return len(self._known)
