"""`bench.rightsizing`: quick run on the real traces and a run on generated files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bench import rightsizing

DAY = 86_400
T0 = 1_372_629_804
HEADER = (
    "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];"
    "\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];"
    "\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];"
    "\tNetwork transmitted throughput [KB/s]"
)


def _rows(start_day: int, end_day: int) -> str:
    # 4 cores of 2000 MHz, 1 core busy; 8 GiB provisioned, 2 GiB used.
    row = ";\t4;\t8000.0;\t2000.0;\t25.0;\t8388608.0;\t2097152.0;\t0.0;\t0.0;\t0.0;\t0.0"
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
    policies = result["policies"]
    assert isinstance(policies, dict)
    assert set(policies) == {"VPA", "KRR-simple", "slicewise", "original"}
    for figures in policies.values():
        assert 0.0 <= figures["cpu"]["under_provision_share"] <= 1.0
        assert 0.0 <= figures["memory"]["risk_share"] <= 1.0
    assert out.read_text().startswith("{")


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
