"""`bench.approval --quick`: approval to applied through the gateway, against applying directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import approval
from devstack.services import ServiceUrls
from tests.unit.bench.service_flags import quick_run

pytestmark = pytest.mark.kube


def test_quick_run_reports_latencies_of_both_paths_and_their_ratio(
    services: ServiceUrls, tmp_path: Path
) -> None:
    """Three applied samples per path; the total spans its parts; the ratio is p50 over p50."""
    out = tmp_path / "approval.json"

    result = approval.main(quick_run(services, out))

    assert json.loads(out.read_text()) == result
    assert result["inputs"]["approvals"] == 3
    slicewise = result["policies"]["slicewise"]
    direct = result["baselines"]["direct-apply"]
    assert slicewise["outcomes"] == {"applied": 3}
    assert direct["outcomes"] == {"applied": 3}
    total = slicewise["approval_to_applied_ms"]
    assert total["n"] == direct["apply_ms"]["n"] == 3
    assert 0 < total["min"] <= total["p50"] <= total["p99"] <= total["max"]
    # Approval starts before delivery, delivery before the result: the parts fit in the whole.
    assert slicewise["delivered_to_completed_ms"]["min"] < total["min"]
    assert slicewise["executor_apply_ms"]["max"] < slicewise["delivered_to_completed_ms"]["max"]
    figures = result["figures"]
    assert figures["ratio_p50"] == total["p50"] / direct["apply_ms"]["p50"]
    assert figures["approval_to_applied_p99_ms"] == total["p99"]
    assert result["machine"]["cores"] >= 1
