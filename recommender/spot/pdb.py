"""PodDisruptionBudget arithmetic, rounding as the Kubernetes disruption controller does.

`minAvailable` and `maxUnavailable` are integers or percentages of the expected pod count.
Both percentages round up (`GetScaledValueFromIntOrPercent(..., roundUp=true)`): a 50 %
minAvailable of 3 pods is 2, and a 50 % maxUnavailable of 3 pods is also 2.
"""

from __future__ import annotations

import math

from protocol.snapshot import PodDisruptionBudget

IntOrPercent = int | str


class PdbValueError(ValueError):
    """A PDB value is neither an integer nor a percentage."""


def scaled_value(value: IntOrPercent, total: int, *, round_up: bool = True) -> int:
    """An int-or-percent value applied to `total` pods."""
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        try:
            percent = int(text[:-1])
        except ValueError as e:
            raise PdbValueError(f"not a percentage: {value!r}") from e
        exact = percent * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    if text.isdigit():
        return int(text)
    raise PdbValueError(f"not an integer or a percentage: {value!r}")


def desired_healthy(
    min_available: IntOrPercent | None, max_unavailable: IntOrPercent | None, expected: int
) -> int:
    """How many of `expected` pods the budget requires to stay healthy."""
    if max_unavailable is not None:
        return max(expected - scaled_value(max_unavailable, expected), 0)
    if min_available is not None:
        return scaled_value(min_available, expected)
    return 0


def allowed_disruptions(
    min_available: IntOrPercent | None,
    max_unavailable: IntOrPercent | None,
    expected: int,
    healthy: int,
) -> int:
    """Evictions the budget allows with `healthy` of `expected` pods healthy."""
    return max(healthy - desired_healthy(min_available, max_unavailable, expected), 0)


def pdb_desired_healthy(pdb: PodDisruptionBudget, expected: int) -> int:
    """`desired_healthy` of a PDB object."""
    return desired_healthy(pdb.min_available, pdb.max_unavailable, expected)


def budget_at_full_health(pdbs: list[PodDisruptionBudget], replicas: int) -> tuple[int, int]:
    """(minimum available, disruptions allowed) of `replicas` healthy pods under all `pdbs`."""
    minimum = max((pdb_desired_healthy(p, replicas) for p in pdbs), default=0)
    return minimum, max(replicas - minimum, 0)
