"""Read spot availability traces: one JSON file per zone, grouped into scenarios.

Each file is `{"metadata": {"gap_seconds": N}, "data": [...]}` where each value is how many
instances were obtainable in that zone at that tick. A file named `<zone>_<resource>.json`
(for example `us-east-1a_v100_1.json`) belongs to the scenario of its folder and resource;
files without an underscore form a scenario of their folder. Zones of one scenario may have
traces of different lengths: a scenario covers the span all of them observed (the shortest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


class TraceError(ValueError):
    """A trace file is malformed."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """Zones offering one resource, observed together."""

    name: str
    resource: str
    gap_seconds: float
    zones: tuple[str, ...]
    availability: NDArray[np.int64]
    """Shape (zones, ticks): instances obtainable per zone per tick."""

    @property
    def ticks(self) -> int:
        """Observed ticks."""
        return int(self.availability.shape[1])


def split_name(path: Path) -> tuple[str, str]:
    """(zone, resource) from a trace file name."""
    stem = path.name.removesuffix(".json")
    zone, _, resource = stem.partition("_")
    return zone, resource or "default"


def read_trace(path: Path) -> tuple[float, NDArray[np.int64]]:
    """(gap seconds, availability per tick) of one file."""
    try:
        doc = json.loads(path.read_bytes())
        gap = float(doc["metadata"]["gap_seconds"])
        values = np.asarray(doc["data"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as e:
        raise TraceError(f"{path}: not a spot availability trace: {e}") from e
    if values.ndim != 1 or gap <= 0:
        raise TraceError(f"{path}: data must be a list and gap_seconds positive")
    return gap, np.maximum(np.nan_to_num(values), 0).astype(np.int64)


def load_scenarios(root: Path) -> list[Scenario]:
    """Every scenario under `root`, by folder and resource."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(root.rglob("*.json")):
        _zone, resource = split_name(path)
        folder = str(path.parent.relative_to(root)) if path.parent != root else "."
        groups.setdefault((folder, resource), []).append(path)
    scenarios = []
    for (folder, resource), paths in sorted(groups.items()):
        traces = [read_trace(p) for p in paths]
        gaps = {gap for gap, _ in traces}
        if len(gaps) != 1:
            raise TraceError(f"{folder}/{resource}: zones disagree on gap_seconds {sorted(gaps)}")
        span = min(len(values) for _, values in traces)
        if span == 0:
            continue
        scenarios.append(
            Scenario(
                name=f"{folder}/{resource}",
                resource=resource,
                gap_seconds=gaps.pop(),
                zones=tuple(split_name(p)[0] for p in paths),
                availability=np.stack([values[:span] for _, values in traces]),
            )
        )
    return scenarios


def region_of(zone: str) -> str:
    """The region of a zone: `us-east-1f` -> `us-east-1`, `us-central1-a` -> `us-central1`."""
    if len(zone) > 2 and zone[-2] == "-" and zone[-1].isalpha():
        return zone[:-2]
    if zone and zone[-1].isalpha() and zone[-2:-1].isdigit():
        return zone[:-1]
    return zone
