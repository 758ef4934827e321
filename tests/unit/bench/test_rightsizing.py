"""`bench.rightsizing`: quick run on the real traces and a run on generated files."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from bench import rightsizing
from bench.rightsizing_data import tuning_half
from bench.rightsizing_score import Window
from bench.rightsizing_tuning import CPU_GRID, MEMORY_GRID, fit_tail, preferred_numbers
from recommender.rightsizing.policy import RightsizingPolicy
from recommender.usage.state import ContainerUsageState

DAY = 86_400
T0 = 1_372_629_804
HEADER = (
    "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];"
    "\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];"
    "\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];"
    "\tNetwork transmitted throughput [KB/s]"
)


def _rows(start_day: int, end_day: int, used_kib: int = 2097152) -> str:
    # 4 cores of 2000 MHz, 1 core busy; 8 GiB provisioned, 2 GiB used (by default).
    row = f";\t4;\t8000.0;\t2000.0;\t25.0;\t8388608.0;\t{used_kib}.0;\t0.0;\t0.0;\t0.0;\t0.0"
    lines = [HEADER, *(f"{t}{row}" for t in range(T0 + start_day * DAY, T0 + end_day * DAY, 300))]
    return "\n".join(lines) + "\n"


@pytest.fixture
def vms(tmp_path: Path) -> Path:
    """One VM split over two month folders, plain and gzipped."""
    (tmp_path / "m1").mkdir()
    (tmp_path / "m2").mkdir()
    (tmp_path / "m1" / "7.csv").write_text(_rows(0, 12))
    with gzip.open(tmp_path / "m2" / "7.csv.gz", "wt") as handle:
        handle.write(_rows(12, 25))
    return tmp_path


def test_quick_run_on_real_data_reports_every_policy(tmp_path: Path) -> None:
    """--quick prints figures for VPA, KRR-simple, slicewise and the original requests."""
    out = tmp_path / "r.json"
    result = rightsizing.main(["--quick", "--out", str(out)])
    for key in ("policies", "held_out", "tuning"):
        policies = result[key]
        assert isinstance(policies, dict)
        assert set(policies) == {"VPA", "KRR-simple", "slicewise", "original"}
        for figures in policies.values():
            assert 0.0 <= figures["cpu"]["under_provision_share"] <= 1.0
            assert 0.0 <= figures["memory"]["risk_share"] <= 1.0
    assert out.read_text().startswith("{")


def test_quick_run_holds_out_the_even_vms(tmp_path: Path) -> None:
    """VMs 1 and 3 choose the parameters; 2 and 4 are held out, two windows each."""
    result = rightsizing.main(["--quick"])
    inputs, held_out = result["inputs"], result["held_out"]
    assert isinstance(inputs, dict)
    assert isinstance(held_out, dict)
    assert (inputs["tuning_vms"], inputs["held_out_vms"]) == (["1", "3"], ["2", "4"])
    assert held_out["slicewise"]["windows"] == 4


def test_selection_records_budgets_choice_and_frontier() -> None:
    """The choice names its budgets, picks from the grid and lists the whole frontier."""
    selection = rightsizing.main(["--quick"])["selection"]
    assert isinstance(selection, dict)
    assert (selection["cpu_risk_budget"], selection["memory_risk_budget"]) == (0.05, 0.0017)
    chosen = selection["chosen"]
    assert chosen["cpu_penalty_cores"] in CPU_GRID
    assert chosen["memory_penalty_gib"] in MEMORY_GRID
    assert len(selection["frontier"]) == len(CPU_GRID) == 81


def test_other_files_of_the_format_are_read_as_one_vm(vms: Path) -> None:
    """Two files named 7 are one VM of 25 days: one 14+7-day window."""
    result = rightsizing.main(["--vms", str(vms)])
    inputs = result["inputs"]
    assert isinstance(inputs, dict)
    assert (inputs["vms"], inputs["files"], inputs["windows"]) == (1, 2, 1)


def test_figures_on_generated_files_match_hand_computation(vms: Path) -> None:
    """Steady 1 of 4 cores and 2 of 8 GiB: KRR leaves no CPU slack and 0.3 GiB memory slack."""
    policies = rightsizing.main(["--vms", str(vms)])["policies"]
    assert isinstance(policies, dict)
    krr, original = policies["KRR-simple"], policies["original"]
    assert krr["cpu"]["slack_share"] == pytest.approx(0.0)
    assert krr["memory"]["slack_share"] == pytest.approx(0.15 * 2 / 8)
    assert original["cpu"]["slack_share"] == pytest.approx(0.75)
    assert policies["slicewise"]["memory"]["risk_share"] == 0.0


def test_steady_usage_selects_the_smallest_penalties(vms: Path) -> None:
    """Steady usage never exceeds its bucket end: 1 core and 100 GiB already meet the budgets."""
    selection = rightsizing.main(["--vms", str(vms)])["selection"]
    assert isinstance(selection, dict)
    chosen = selection["chosen"]
    assert (chosen["cpu_penalty_cores"], chosen["memory_penalty_gib"]) == (1.0, 100.0)
    assert chosen["memory_tail"] is None


def test_held_out_figures_come_from_the_other_half_only(vms: Path) -> None:
    """VM 8 (3 of 8 GiB used) is held out: KRR's memory slack there is 0.15 x 3 / 8."""
    (vms / "m1" / "8.csv").write_text(_rows(0, 25, used_kib=3 * 2**20))
    result = rightsizing.main(["--vms", str(vms)])
    held_out, tuning = result["held_out"], result["tuning"]
    assert isinstance(held_out, dict)
    assert isinstance(tuning, dict)
    assert held_out["KRR-simple"]["memory"]["slack_share"] == pytest.approx(0.15 * 3 / 8)
    assert tuning["KRR-simple"]["memory"]["slack_share"] == pytest.approx(0.15 * 2 / 8)


def test_numeric_ids_split_by_parity() -> None:
    """Odd ids tune; with --split even the roles swap; other names alternate in order."""
    assert tuning_half(["1", "2", "10", "13"]) == {"1", "13"}
    assert tuning_half(["1", "2", "10", "13"], "even") == {"2", "10"}
    assert tuning_half(["b", "a", "c"]) == {"a", "c"}


def test_penalty_grid_is_the_r40_series() -> None:
    """Forty values a decade, 6 % apart, ending on the upper power of ten."""
    grid = preferred_numbers(1.0, 10.0)
    assert len(grid) == 41
    assert grid[:4] == [1.0, 1.06, 1.12, 1.18]
    assert grid[-2:] == [9.5, 10.0]


def test_tail_fit_is_the_share_above_the_maximum_and_the_pareto_mle() -> None:
    """2 of 1000 samples above the 1027 MiB maximum, at 2x and 4x: rate 0.002, 2 / ln 8."""
    seconds = 1.7e9 + np.arange(0.0, 8 * 86_400.0, 300.0)
    state = ContainerUsageState()
    state.fold(seconds, np.full(seconds.size, 0.5), np.full(seconds.size, float(2**30)))
    top = state.memory.max_value()
    used = np.concatenate([np.full(998, 2.0**29), [2 * top * 1.0000001, 4 * top * 1.0000001]])
    window = Window(
        vm="1",
        tuning=True,
        end=float(seconds[-1]),
        baselines={},
        state=state,
        cpu_used=np.zeros(1000),
        memory_used=used,
        cpu_provisioned=np.ones(1000),
        memory_provisioned=np.full(1000, 2.0**33),
    )
    tail = fit_tail([window], RightsizingPolicy())
    assert tail is not None
    assert tail.rate == 0.002
    assert tail.exponent == round(2 / math.log(8), 2) == 0.96
