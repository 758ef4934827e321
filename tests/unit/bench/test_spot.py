"""`bench.spot`: quick run on the real traces and a run on generated traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import spot


def _trace(path: Path, values: list[int]) -> None:
    path.write_text(json.dumps({"metadata": {"gap_seconds": 600}, "data": values}))


@pytest.fixture
def traces(tmp_path: Path) -> Path:
    """Three zones always offering one instance; one trace longer than the others."""
    folder = tmp_path / "aws-test"
    folder.mkdir()
    _trace(folder / "us-east-1a_v100_1.json", [1] * 100)
    _trace(folder / "us-east-1b_v100_1.json", [1] * 120)
    _trace(folder / "us-east-2a_v100_1.json", [1] * 100)
    return tmp_path


def test_quick_run_on_real_traces_reports_every_policy(tmp_path: Path) -> None:
    """--quick prints cost, availability and preemptions for all six policies."""
    result = spot.main(["--quick", "--out", str(tmp_path / "s.json")])
    policies = result["policies"]
    assert isinstance(policies, dict)
    assert set(policies) == {
        "on-demand",
        "spot-cheapest-zone",
        "even-spread",
        "round-robin",
        "SpotHedge",
        "slicewise",
    }
    assert policies["on-demand"]["availability"] == 1.0
    assert policies["on-demand"]["cost_relative"] == pytest.approx(1.0)


def test_generated_traces_cover_the_common_span(traces: Path) -> None:
    """Zones of different lengths are replayed over the shortest, 100 ticks."""
    result = spot.main(["--traces", str(traces)])
    scenario = result["scenarios"]["aws-test/v100_1"]  # type: ignore[index]
    assert scenario["ticks"] == 100
    assert scenario["prices"]["instance_type"] == "p3.2xlarge"


def test_cheapest_zone_cannot_hold_two_replicas(traces: Path) -> None:
    """One instance per zone: two replicas in one zone never serve together."""
    policies = spot.main(["--traces", str(traces)])["policies"]
    assert policies["spot-cheapest-zone"]["availability"] == 0.0  # type: ignore[index]


def test_spothedge_cost_on_steady_capacity_matches_hand_computation(traces: Path) -> None:
    """Three spot replicas from tick 0, two on-demand for the first (warm-up) tick only."""
    policies = spot.main(["--traces", str(traces)])["policies"]
    spot_hourly = 3.06 * 0.15 + 2 * 3.06 * 0.2
    expected = (2 * 3.06 + 100 * spot_hourly) / (2 * 3.06 * 100)
    assert policies["SpotHedge"]["cost_relative"] == pytest.approx(expected)  # type: ignore[index]
    assert policies["SpotHedge"]["availability"] == 1.0  # type: ignore[index]


def test_every_scenario_is_scored_with_the_setting_chosen_on_the_others(traces: Path) -> None:
    """The leave-one-out section names, per scenario, a setting and held-in/left-out figures."""
    second = traces / "aws-other"
    second.mkdir()
    _trace(second / "us-east-1a_v100_1.json", [1, 0] * 50)
    _trace(second / "us-east-1b_v100_1.json", [1] * 100)
    result = spot.main(["--traces", str(traces)])
    left_out = result["leave_one_out"]
    assert isinstance(left_out, dict)
    assert set(left_out) == {"aws-test/v100_1", "aws-other/v100_1"}
    for figures in left_out.values():
        assert figures["setting"] in result["policies_per_setting"]  # type: ignore[operator]
        assert set(figures["held_in"]) >= {"cost_relative", "availability"}
        assert set(figures["left_out"]) >= {"cost_relative", "availability"}


def test_steady_calm_zones_cost_no_more_than_on_demand(traces: Path) -> None:
    """Whatever setting is chosen, ours never pays more than always-on-demand here."""
    policies = spot.main(["--traces", str(traces)])["policies"]
    assert policies["slicewise"]["cost_relative"] <= 1.0  # type: ignore[index]
