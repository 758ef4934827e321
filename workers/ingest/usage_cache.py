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
its row. Each cluster's entry is about 50 kB a container, so few clusters are kept.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping

from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey

DEFAULT_CLUSTERS = 16
"""About 50 MB a 1,000-container cluster."""

Histories = dict[ContainerKey, ContainerHistory]


class UsageCache:
    """The histories of up to `clusters` clusters, least recently used ones forgotten."""

    def __init__(self, clusters: int = DEFAULT_CLUSTERS) -> None:
        """Keep at most `clusters` entries."""
        self._clusters = clusters
        self._entries: OrderedDict[uuid.UUID, tuple[int, Histories]] = OrderedDict()

    def take(self, cluster_id: uuid.UUID, generation: int) -> Histories:
        """The cluster's histories if they are generation `generation` (else none), given away:
        the entry is gone until `put` again."""
        entry = self._entries.pop(cluster_id, None)
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
        if self._clusters <= 0:
            return
        self._entries[cluster_id] = (generation, dict(histories))
        self._entries.move_to_end(cluster_id)
        while len(self._entries) > self._clusters:
            self._entries.popitem(last=False)
