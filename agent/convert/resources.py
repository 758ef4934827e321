"""Kubernetes ResourceLists (`{"cpu": "250m", "memory": "1Gi"}`) as `protocol.Resources`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from protocol.quantity import QuantityError, cpu_millis, memory_bytes, parse_quantity
from protocol.resources import Resources

MAX_EXTENDED = 32
"""`Resources.extended` holds at most this many entries (the wire bound)."""


def to_resources(resource_list: Mapping[str, str] | None) -> Resources:
    """Normalise a ResourceList: CPU in millicores, memory in bytes, the rest as integer counts.

    Quantities that do not parse are left out rather than failing the whole object: one odd
    extended resource must not hide a node or a pod from the snapshot.
    """
    if not resource_list:
        return Resources()
    cpu = _parsed(cpu_millis, resource_list.get("cpu"))
    memory = _parsed(memory_bytes, resource_list.get("memory"))
    extended: dict[str, int] = {}
    # Sorted so that, when a list carries more than the wire bound, the same entries survive.
    for name in sorted(resource_list):
        if name in {"cpu", "memory"} or len(extended) >= MAX_EXTENDED:
            continue
        count = _parsed(_count, resource_list[name])
        if count is not None:
            extended[name] = count
    return Resources(cpu_millis=cpu, memory_bytes=memory, extended=extended)


def _count(text: str) -> int:
    """An extended resource quantity as an integer (rounded up, like the kubelet)."""
    return math.ceil(parse_quantity(text))


def _parsed(parse: Callable[[str], int], text: str | None) -> int | None:
    """`parse(text)`, or None when the text is missing, not a quantity or negative."""
    if text is None:
        return None
    try:
        value = parse(text)
    except QuantityError:
        return None
    return value if value >= 0 else None
