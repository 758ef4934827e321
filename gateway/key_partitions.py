"""Partitions chosen by message key exactly as Kafka's default partitioner chooses them, with each
key's murmur2 hash worked out once per process.

Every upload of a cluster carries the same key (`tenant_id/cluster_id`), and aiokafka's
partitioner hashes it in pure Python on every message, which costs about as much as the rest of
handing the message to the producer.
"""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner, murmur2

DEFAULT_MAX_KEYS = 100_000
"""Keys whose hash a process keeps at most (about 100 bytes each); the oldest go first."""


class KeyPartitioner:
    """An aiokafka partitioner: `DefaultPartitioner`'s choice, each key hashed once."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._max_keys = max_keys
        self._hashes: dict[bytes, int] = {}
        self._keyless = DefaultPartitioner()

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        """The partition of `key` among `all_partitions` (sorted by id); a keyless message goes
        where the default partitioner sends it (at random among `available`)."""
        if key is None:
            partition: int = self._keyless(key, all_partitions, available)
            return partition
        hashed = self._hashes.get(key)
        if hashed is None:
            hashed = murmur2(key) & 0x7FFFFFFF
            if len(self._hashes) >= self._max_keys:
                del self._hashes[next(iter(self._hashes))]
            self._hashes[key] = hashed
        return all_partitions[hashed % len(all_partitions)]
