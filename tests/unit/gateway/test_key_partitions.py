"""The gateway's partitioner chooses every key's partition as Kafka's default partitioner does."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner

from gateway.key_partitions import KeyPartitioner


def _cases(seed: int, count: int) -> list[tuple[bytes, list[int]]]:
    rng = random.Random(seed)  # noqa: S311 - seeded cases, reproducible
    cases = []
    for _ in range(count):
        key = rng.randbytes(rng.randint(0, 120))
        partitions = list(range(rng.randint(1, 64)))
        cases.append((key, partitions))
    return cases


def test_every_key_goes_where_the_default_partitioner_sends_it() -> None:
    """Random keys and partition counts, each asked twice (hashed, then remembered)."""
    reference, partitioner = DefaultPartitioner(), KeyPartitioner()
    for key, partitions in _cases(seed=19, count=3000):
        expected = reference(key, partitions, partitions)
        assert partitioner(key, partitions, partitions) == expected
        assert partitioner(key, partitions, partitions[:1]) == expected


def test_keys_forgotten_beyond_the_bound_are_partitioned_the_same() -> None:
    """With room for a few keys only, keys asked again after being forgotten still agree."""
    reference, partitioner = DefaultPartitioner(), KeyPartitioner(max_keys=4)
    cases = _cases(seed=7, count=50)
    for key, partitions in cases + cases:
        assert partitioner(key, partitions, partitions) == reference(key, partitions, partitions)
    assert len(partitioner._hashes) == 4


def test_keyless_message_goes_to_an_available_partition() -> None:
    """A message without a key goes to one of the available partitions, as by default."""
    partitioner = KeyPartitioner()
    assert {partitioner(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
