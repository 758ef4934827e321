"""`bench.spot_multizone`: multi-zone traces with counts, built from 1-node ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.spot_multizone import LENGTH_STEP, BuiltScenario, BuiltZone, build
from bench.spot_traces import load_scenarios


def _trace(path: Path, values: list[int]) -> None:
    path.write_text(json.dumps({"metadata": {"gap_seconds": 60}, "data": values}))


def test_built_zones_count_their_members_and_differ_in_length(tmp_path: Path) -> None:
    """Two members summed into a zone offer 0-2; the second zone is LENGTH_STEP ticks shorter."""
    source = tmp_path / "src" / "aws-x"
    source.mkdir(parents=True)
    _trace(source / "a_v100_1.json", [1, 0, 1, 1] * 30)
    _trace(source / "b_v100_1.json", [1, 1, 0, 1] * 30)
    _trace(source / "c_v100_1.json", [0, 1, 1, 1] * 30)
    scenario = BuiltScenario(
        "mz",
        "aws-x",
        "v100_1",
        1,
        2,
        (
            BuiltZone("us-east-1a", ("a_v100_1.json", "b_v100_1.json")),
            BuiltZone("us-east-1c", ("c_v100_1.json",)),
        ),
    )
    out = tmp_path / "out"
    build(tmp_path / "src", out, [scenario])
    first = json.loads((out / "mz" / "us-east-1a_v100_1.json").read_text())["data"]
    second = json.loads((out / "mz" / "us-east-1c_v100_1.json").read_text())["data"]
    assert first[:4] == [2, 1, 1, 2]
    assert len(first) - len(second) == LENGTH_STEP
    (loaded,) = load_scenarios(out)
    assert loaded.ticks == len(second)
    assert int(np.max(loaded.availability)) == 2
