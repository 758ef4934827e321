"""`bench.agent --quick`: the agent's footprint on a small trace-shaped cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import agent as agent_bench

pytestmark = pytest.mark.kube


def test_quick_run_reports_cpu_and_rss_of_the_agent(tmp_path: Path) -> None:
    """--quick measures the agent on 200 trace pods and on the empty cluster, and says so."""
    out = tmp_path / "agent.json"
    result = agent_bench.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == result
    inputs = result["inputs"]
    assert isinstance(inputs, dict)
    assert inputs["pod_count"] == 200
    assert inputs["node_count"] == 10
    assert 0 < inputs["scheduled_pods"] <= 200
    figures = result["figures"]
    assert isinstance(figures, dict)
    # Sanity, not performance: a live Python process uses some memory and some CPU.
    assert 20.0 < figures["rss_median_mib"] <= figures["rss_peak_mib"] <= figures["rss_hwm_mib"]
    assert 0.0 < figures["cpu_cores_avg"] < 2.0
    assert figures["snapshot_gzip_bytes"] > 0
    policies = result["policies"]
    assert isinstance(policies, dict)
    assert set(policies) == {"slicewise"}
    baselines = result["baselines"]
    assert isinstance(baselines, dict)
    assert baselines["empty-cluster"]["pods"] == 0
    within = result["within_targets"]
    assert isinstance(within, dict)
    assert set(within) == {"rss_peak_mib", "cpu_cores_avg"}
    machine = result["machine"]
    assert isinstance(machine, dict)
    assert machine["cores"] >= 1
