"""`bench.workers --quick`: one and two real worker processes on the session's services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import workers
from devstack.services import ServiceUrls
from tests.unit.bench.service_flags import quick_run
from workers.settings import WorkerSettings


def _check_stream(summary: dict[str, Any], setup_per_process: float) -> None:
    for key in ("workers_1", "workers_2"):
        [run] = summary[key]["runs"]
        assert run["cluster_minutes"] == 8
        assert run["cluster_minutes_per_second"] > 0
        assert run["worker_cpu_ms_per_cluster_minute"] > 0
        assert sum(run["messages_per_process"]) == 8 + 2 * setup_per_process
    assert summary["workers_2"]["runs"][0]["messages_per_process"] == [
        4.0 + setup_per_process,
        4.0 + setup_per_process,
    ]
    ratio = (
        summary["workers_2"]["cluster_minutes_per_second"]
        / summary["workers_1"]["cluster_minutes_per_second"]
    )
    assert summary["speedup_2_over_1"] == ratio
    assert summary["direct_fold_in_process"]["cluster_minutes_per_second"] > 0
    assert summary["wire_bytes_per_cluster_minute"] > 0


def test_quick_run_reports_both_streams_side_by_side(services: ServiceUrls, tmp_path: Path) -> None:
    """Every upload of each run is folded; rates, CPU and bytes are positive; ratios are of them;
    deltas with series rows are folded in-process beside, larger on the wire than compact ones."""
    out = tmp_path / "workers.json"
    result = workers.main(quick_run(services, out))
    assert json.loads(out.read_text()) == result
    assert result["inputs"]["cluster_minutes_per_run"] == 8
    assert result["inputs"]["delta_cluster_minutes_per_run"] == 8
    assert result["inputs"]["usage_traces"]["vm_series"] > 0
    full = result["baselines"]["full_snapshots_every_minute"]
    deltas = result["policies"]["slicewise"]["deltas"]
    _check_stream(full, 0.0)
    # Each cluster's opening full snapshot is folded before the measured deltas.
    _check_stream(deltas, 2.0)
    ratios = result["ratios"]
    assert ratios["full_over_deltas_wire_bytes_per_cluster_minute"] == (
        full["wire_bytes_per_cluster_minute"] / deltas["wire_bytes_per_cluster_minute"]
    )
    assert ratios["full_over_deltas_wire_bytes_per_cluster_minute"] > 1
    assert result["machine"]["cores"] >= 1
    rows = result["baselines"]["deltas_with_series_rows"]
    assert rows["direct_fold_in_process"]["cluster_minutes_per_second"] > 0
    assert ratios["deltas_with_series_rows_over_deltas_wire_bytes_per_cluster_minute"] == (
        rows["wire_bytes_per_cluster_minute"] / deltas["wire_bytes_per_cluster_minute"]
    )
    assert ratios["deltas_with_series_rows_over_deltas_wire_bytes_per_cluster_minute"] > 1
    # The deltas again, one upload of each cluster a transaction, as a worker of many clusters.
    [batched] = deltas["direct_fold_in_process"]["runs"]
    [each] = deltas["direct_fold_one_upload_per_cluster"]["runs"]
    assert batched["uploads_per_transaction"] == WorkerSettings.model_fields["max_batch"].default
    assert each["uploads_per_transaction"] == workers.CLUSTERS
    assert each["cluster_minutes"] == batched["cluster_minutes"]
    assert deltas["direct_fold_one_upload_per_cluster"]["cpu_ms_per_cluster_minute"] > 0


def test_direct_only_steady_demand_run_folds_in_process_on_filled_rings(
    services: ServiceUrls, tmp_path: Path
) -> None:
    """`--direct-only --steady-demand`: no worker process runs; every stored demand ring is
    filled before the in-process folds, whose worker and database CPU are both reported."""
    out = tmp_path / "workers.json"
    result = workers.main([*quick_run(services, out), "--direct-only", "--steady-demand"])
    assert result["inputs"]["worker_processes"] == []
    assert result["inputs"]["steady_demand"] is True
    deltas = result["policies"]["slicewise"]["deltas"]
    assert "workers_1" not in deltas
    assert deltas["cluster_minutes_per_second_per_process"] is None
    direct = deltas["direct_fold_in_process"]
    [run] = direct["runs"]
    assert run["demand_rings_filled"] > 0
    assert run["cpu_ms_per_cluster_minute"] > 0
    # The bench's PostgreSQL (a local service or the embedded server) runs on this machine.
    assert run["database_cpu_ms_per_cluster_minute"] is not None
    assert direct["database_cpu_ms_per_cluster_minute"] == run["database_cpu_ms_per_cluster_minute"]
