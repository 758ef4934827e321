"""`bench.gpu_sharing`: the quick run on the real trace, and a run on files of the same format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import gpu_sharing

POLICIES = {"Random", "DotProd", "GpuClustering", "GpuPacking", "BestFit", "FGD", "slicewise"}
WORKLOAD = "openb_pod_list_default"


def test_quick_run_reports_every_policy_and_the_published_figures(tmp_path: Path) -> None:
    """--quick: one seed on a subsample, seven policies, full curves, published beside them."""
    out = tmp_path / "g.json"
    # As a command of its own: its process pool then lives and ends with that process.
    run = subprocess.run(
        [sys.executable, "-m", "bench.gpu_sharing", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
    policies = result["policies"]
    assert set(policies) == POLICIES
    for figures in policies.values():
        curve = figures[WORKLOAD]["curve"]
        assert len(curve) == 131
        assert 0 < figures[WORKLOAD]["alloc_130_mean"] <= 100
        assert curve[50] <= curve[100] <= curve[130]
    assert (
        policies["FGD"][WORKLOAD]["alloc_130_mean"] > policies["Random"][WORKLOAD]["alloc_130_mean"]
    )
    assert set(result["published"]) == POLICIES - {"slicewise"}
    assert result["published"]["FGD"][WORKLOAD]["alloc_130_mean"] == 95.391
    assert result["inputs"]["seeds"] == [42]
    assert result["machine"]["cores"] >= 1


def test_any_node_and_pod_files_of_the_format(tmp_path: Path) -> None:
    """Two pod lists, two policies, two seeds, one worker, no reference."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(
        "sn,cpu_milli,memory_mib,gpu,model\n"
        + "".join(f"n{i},32000,65536,4,T4\n" for i in range(4))
    )
    header = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
    shares = tmp_path / "shares.csv"
    shares.write_text(
        header + "".join(f"s{i},2000,1024,1,{300 + 100 * (i % 5)},\n" for i in range(30))
    )
    wholes = tmp_path / "wholes.csv"
    wholes.write_text(header + "".join(f"w{i},4000,1024,{1 + i % 2},1000,T4\n" for i in range(10)))
    result = gpu_sharing.main(
        [
            "--nodes",
            str(nodes),
            "--pods",
            str(shares),
            "--pods",
            str(wholes),
            "--policies",
            "BestFit",
            "slicewise",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--no-reference",
        ]
    )
    assert set(result["policies"]) == {"BestFit", "slicewise"}
    assert set(result["policies"]["slicewise"]) == {"shares", "wholes"}
    assert result["policies"]["BestFit"]["wholes"]["seeds"] == [42, 43]
    assert "published" not in result


def test_product_mode_reports_nodes_freed_beside_the_engine(tmp_path: Path) -> None:
    """--product --quick: the product's plan frees GPU nodes and never more than the engine."""
    result = gpu_sharing.main(
        ["--quick", "--product", "--policies", "slicewise", "--no-reference", "--workers", "1"]
    )
    figures = result["product"][WORKLOAD]["median"]
    assert figures["gpu_nodes_freed"] > 0
    assert figures["allocation_reached_pct"] > figures["allocation_before_pct"]
    assert (
        figures["gpu_nodes_in_use_before"] - figures["gpu_nodes_freed"]
        >= figures["engine_gpu_nodes_in_use"]
    )
