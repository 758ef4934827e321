"""`bench.workers --quick`: one and two real worker processes on the session's services."""

from __future__ import annotations

import json
from pathlib import Path

from bench import workers
from devstack.services import ServiceUrls
from tests.unit.bench.service_flags import quick_run


def test_quick_run_reports_throughput_and_speedup(services: ServiceUrls, tmp_path: Path) -> None:
    """Every snapshot of each run is folded; rates are positive; the JSON file matches."""
    out = tmp_path / "workers.json"
    result = workers.main(quick_run(services, out))
    assert json.loads(out.read_text()) == result
    slicewise = result["policies"]["slicewise"]
    for key in ("workers_1", "workers_2"):
        [run] = slicewise[key]["runs"]
        assert run["snapshots"] == result["inputs"]["snapshots_per_run"] == 8
        assert run["snapshots_per_second"] > 0
        assert sum(run["messages_per_process"]) == 8
    assert slicewise["workers_2"]["runs"][0]["messages_per_process"] == [4.0, 4.0]
    ratio = (
        slicewise["workers_2"]["snapshots_per_second"]
        / slicewise["workers_1"]["snapshots_per_second"]
    )
    assert slicewise["speedup_2_over_1"] == ratio
    assert result["baselines"]["direct_fold_in_process"]["snapshots_per_second"] > 0
    assert result["machine"]["cores"] >= 1
