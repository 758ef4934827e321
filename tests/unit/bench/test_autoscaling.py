"""`bench.autoscaling`: quick run on the real traces, a run on generated files, and scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import autoscaling
from bench.autoscaling_policies import Case, Tally, business_hours, slicewise_without_keda
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.forecast import replicas_for
from recommender.autoscaling.gpu_scaling import GPU_FLOOR_QUANTILE
from recommender.autoscaling.hpa_algorithm import replay_fixed
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.selection import choose_plan

POLICIES = {"static-peak", "HPA", "KEDA-cron", "slicewise"}
DAY = 86_400
T0 = 1_372_636_800  # 2013-07-01 00:00 UTC, a Monday
HEADER = (
    "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];"
    "\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];"
    "\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];"
    "\tNetwork transmitted throughput [KB/s]"
)


def _office_hours_vm(days: int, busy_mhz: float) -> str:
    """A 4-core VM that is busy 09:00-17:00 UTC and nearly idle otherwise, every 5 minutes."""
    lines = [HEADER]
    for t in range(T0, T0 + days * DAY, 300):
        hour = (t % DAY) / 3600
        used = busy_mhz if 9 <= hour < 17 else busy_mhz / 10
        lines.append(f"{t};\t4;\t8000.0;\t{used};\t0.0;\t8388608.0;\t1048576.0;\t0;\t0;\t0;\t0")
    return "\n".join(lines) + "\n"


def test_quick_run_on_real_data_reports_every_policy(tmp_path: Path) -> None:
    """--quick reports replica-hours and under-provisioned share for all four policies."""
    out = tmp_path / "a.json"
    result = autoscaling.main(["--quick", "--out", str(out)])
    policies = result["policies"]
    assert isinstance(policies, dict)
    assert set(policies) == POLICIES
    for figures in policies.values():
        assert figures["replica_hours"] > 0
        assert 0.0 <= figures["under_provisioned_share"] <= 1.0
    assert out.read_text().startswith("{")


def test_any_folder_of_the_format_is_accepted(tmp_path: Path) -> None:
    """Generated office-hours VMs run through both folds and every policy."""
    for vm in (1, 2):
        (tmp_path / f"{vm}.csv").write_text(_office_hours_vm(21, 4000.0 * vm))
    result = autoscaling.main(
        ["--quick", "--vms", str(tmp_path), "--genai", str(tmp_path / "none")]
    )
    bitbrains = result["bitbrains"]
    assert isinstance(bitbrains, dict)
    assert set(bitbrains["folds"]) == {"tuned_on_odd", "tuned_on_even"}
    assert bitbrains["services"]["1"]["pattern"] == "daily"


def test_a_schedule_beats_static_peak_on_office_hours_demand(tmp_path: Path) -> None:
    """On a clean office-hours cycle ours costs at least 30 % less than static peak."""
    for vm in (1, 2):
        (tmp_path / f"{vm}.csv").write_text(_office_hours_vm(21, 4000.0))
    result = autoscaling.main(
        ["--quick", "--vms", str(tmp_path), "--genai", str(tmp_path / "none")]
    )
    comparison = result["comparison"]
    assert isinstance(comparison, dict)
    assert comparison["at_least_30pct_fewer_than_static_peak"] is True


def test_require_dominance_is_the_policy_both_folds_choose_around(tmp_path: Path) -> None:
    """--require-dominance is recorded and is part of the parameters each fold chose."""
    for vm in (1, 2):
        (tmp_path / f"{vm}.csv").write_text(_office_hours_vm(21, 4000.0 * vm))
    result = autoscaling.main(
        ["--quick", "--require-dominance", "--vms", str(tmp_path), "--genai", str(tmp_path / "no")]
    )
    inputs, bitbrains = result["inputs"], result["bitbrains"]
    assert isinstance(inputs, dict)
    assert isinstance(bitbrains, dict)
    assert inputs["require_dominance"] is True
    assert [f["parameters"]["require_dominance"] for f in bitbrains["folds"].values()] == [
        True,
        True,
    ]


def test_minutes_with_demand_above_serving_capacity_are_under_provisioned() -> None:
    """Two replicas of capacity 1 under demand 3 for half the time: half the minutes short."""
    demand = DemandSeries(float(T0), 60.0, np.array([1.0, 3.0]))
    case = Case("x", demand, demand, capacity=1.0)
    tally = Tally()
    tally.add("x", replay_fixed(demand, np.array([2, 2]), startup_seconds=0.0), case)
    figures = tally.figures()
    assert figures["under_provisioned_share"] == 0.5
    assert figures["replica_hours"] == round(2 * 2 / 60, 1)


def test_business_hours_are_weekdays_eight_to_eight() -> None:
    """Monday noon is inside, Monday 21:00 and Saturday noon are outside."""
    instants = np.array([T0 + 12 * 3600, T0 + 21 * 3600, T0 + 5 * DAY + 12 * 3600], dtype=float)
    assert business_hours(instants).tolist() == [True, False, False]


def test_the_gpu_variant_without_keda_holds_its_gpu_floor() -> None:
    """Without KEDA, half a day of GPU demand gets a flat floor for its 95th percentile."""
    rng = np.random.default_rng(5)
    learn = DemandSeries(float(T0), 60.0, rng.uniform(0.0, 4.0, 12 * 60))
    score = DemandSeries(float(T0 + DAY / 2), 60.0, rng.uniform(0.0, 4.0, 12 * 60))
    case = Case("gpu", learn, score, capacity=1.0)
    policy = ScalingPolicy()
    target = choose_plan(learn, 1.0, policy).hpa.target_utilisation
    replay = slicewise_without_keda(case, policy)
    floor = replicas_for(learn.quantile(GPU_FLOOR_QUANTILE), 1.0, target)
    assert set(replay.replicas.tolist()) == {floor}
