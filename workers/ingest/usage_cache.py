"""The usage histories a worker last wrote for a cluster, kept for the cluster's next batch.

A minute's upload of a 1,000-pod cluster folds into about a thousand histories; reading and
decoding them from their rows every batch costs the worker more than folding into them. The
worker that wrote them last still holds them. An entry names the cluster's usage generation
its histories are (`clusters.usage_generation`, advanced by every write of the cluster's usage
states in the same transaction); the fold compares it with the row it has locked, so a copy
another worker's writes have overtaken (after a rebalance, say) is never used.

A batch takes its clusters' entries out (`take`) and folds into those very histories; they come
back (`put`) only once its transaction has committed, so a batch that failed or was retried
leaves nothing behind that the database does not hold. A history the entry lacks is read from
its row. A history takes about 49 kB in memory (its histograms and two 14-day demand rings),
so the cache is bounded by the histories it holds, not by clusters: the least recently used
clusters are forgotten first, and a cluster larger than the whole bound is not kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from workers.ingest.bounded_entries import BoundedEntries

DEFAULT_HISTORIES = 4_000
"""About 200 MB: within the ingest worker's memory limit in the server chart (1 GiB) beside its
inventories, while it folds a batch."""

Histories = dict[ContainerKey, ContainerHistory]


class UsageCache:
    """Clusters' histories, at most `histories` in all; least recently used clusters forgotten."""

    def __init__(self, histories: int = DEFAULT_HISTORIES) -> None:
        """Keep at most `histories` histories over all clusters."""
        self._entries: BoundedEntries[tuple[int, Histories]] = BoundedEntries(histories)

    @property
    def held(self) -> int:
        """How many histories the cache holds now."""
        return self._entries.held

    def take(self, cluster_id: uuid.UUID, generation: int) -> Histories:
        """The cluster's histories if they are generation `generation` (else none), given away:
        the entry is gone until `put` again."""
        entry = self._entries.pop(cluster_id)
        if entry is None or entry[0] != generation:
            return {}
        return entry[1]

    def put(
        self,
        cluster_id: uuid.UUID,
        generation: int,
        histories: Mapping[ContainerKey, ContainerHistory],
    ) -> None:
        """Keep `histories` as the cluster's generation `generation` (after the transaction that
        wrote or read them committed)."""
        self._entries.put(cluster_id, (generation, dict(histories)), len(histories))
