"""Multi-zone spot availability traces with counts, built from the 1-node SkyPilot traces.

The format is the one `bench.spot_traces` reads (one `<zone>_<resource>.json` per zone,
`{"metadata": {"gap_seconds": N}, "data": [...]}`), but each value counts instances, and the
zones of one scenario differ in length. A built zone is a group of measured 1-node zones: its
count at a tick is how many of them had an instance (so a region of four zones offers 0-4).
Scenarios are cut so that no two share a tick of the same measured zone and resource:

* `aws-02-15-2023` (v100_1, nine zones, 195 s ticks) is cut into three consecutive thirds;
  the first and last group its zones by region (three zones offering up to 4, 2 and 3), the
  middle one into four pairs and triples;
* `aws-10-26-2022` (two zones, 600 s ticks) gives one scenario per accelerator: each zone
  offers the 1-GPU and the 8-GPU instance of it (0-2), priced as the 1-GPU instance type.

Zone i of a scenario is cut `i * LENGTH_STEP` ticks shorter, so zones differ in length; a
replay covers the span all of them observed.

    python -m bench.spot_multizone [--source DIR] --out DIR
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.spot_traces import read_trace

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = (
    REPO_ROOT.parent / "shared" / "data" / "spot" / "skypilot-spot-traces" / "availability-1-node"
)
LENGTH_STEP = 37


@dataclass(frozen=True, slots=True)
class BuiltZone:
    """A built zone: the measured 1-node traces (file names) whose instances it counts."""

    name: str
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BuiltScenario:
    """One scenario to build: a source folder, a slice of its ticks, zones and a resource."""

    name: str
    folder: str
    resource: str
    part: int
    parts: int
    zones: tuple[BuiltZone, ...]


def _z(name: str, *members: str) -> BuiltZone:
    return BuiltZone(name, tuple(f"{m}_v100_1.json" for m in members))


BY_REGION = (
    _z("us-east-1a", "us-east-1a", "us-east-1c", "us-east-1d", "us-east-1f"),
    _z("us-east-2a", "us-east-2a", "us-east-2b"),
    _z("us-west-2a", "us-west-2a", "us-west-2b", "us-west-2c"),
)
BY_PAIRS = (
    _z("us-east-1a", "us-east-1a", "us-east-1c"),
    _z("us-east-1d", "us-east-1d", "us-east-1f"),
    _z("us-east-2a", "us-east-2a", "us-east-2b"),
    _z("us-west-2a", "us-west-2a", "us-west-2b", "us-west-2c"),
)


def _gpu_zones(accelerator: str) -> tuple[BuiltZone, ...]:
    return tuple(
        BuiltZone(zone, (f"{zone}_{accelerator}_1.json", f"{zone}_{accelerator}_8.json"))
        for zone in ("us-west-2a", "us-west-2b")
    )


SCENARIOS = (
    BuiltScenario("mz-02-15-2023-p1", "aws-02-15-2023", "v100_1", 0, 3, BY_REGION),
    BuiltScenario("mz-02-15-2023-p2", "aws-02-15-2023", "v100_1", 1, 3, BY_PAIRS),
    BuiltScenario("mz-02-15-2023-p3", "aws-02-15-2023", "v100_1", 2, 3, BY_REGION),
    BuiltScenario("mz-10-26-2022-v100", "aws-10-26-2022", "v100_1", 0, 1, _gpu_zones("v100")),
    BuiltScenario("mz-10-26-2022-k80", "aws-10-26-2022", "k80_1", 0, 1, _gpu_zones("k80")),
)


def _slice(values: NDArray[np.int64], part: int, parts: int) -> NDArray[np.int64]:
    size = len(values) // parts
    return values[part * size : (part + 1) * size]


def build(source: Path, out: Path, scenarios: Sequence[BuiltScenario] = SCENARIOS) -> list[Path]:
    """Write every scenario's zone files under `out`; returns the folders written."""
    written = []
    for scenario in scenarios:
        folder = out / scenario.name
        folder.mkdir(parents=True, exist_ok=True)
        for index, zone in enumerate(scenario.zones):
            traces = [read_trace(source / scenario.folder / m) for m in zone.members]
            gap = traces[0][0]
            span = min(len(v) for _, v in traces)
            counts = np.sum(
                [_slice(v[:span], scenario.part, scenario.parts) for _, v in traces], axis=0
            )
            kept = counts[: max(len(counts) - index * LENGTH_STEP, 0)]
            doc = {"metadata": {"gap_seconds": gap}, "data": [int(x) for x in kept]}
            (folder / f"{zone.name}_{scenario.resource}.json").write_text(json.dumps(doc))
        written.append(folder)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """Build the traces into --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    for folder in build(args.source, args.out):
        print(folder)


if __name__ == "__main__":
    main()
