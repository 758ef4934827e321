"""`python -m bench.ingest --quick` runs end to end and reports both paths side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.ingest import main


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One quick run shared by the tests: where its JSON was written, and the document."""
    out = tmp_path_factory.mktemp("ingest") / "ingest.json"
    return out, main(["--quick", "--out", str(out)])


def test_quick_run_reports_gateway_and_bare_producer(quick: tuple[Path, dict[str, Any]]) -> None:
    """Every snapshot is accepted on both paths; figures, ratio and machine are reported."""
    out, document = quick
    gateway = document["policies"]["slicewise"]
    bare = document["policies"]["bare-producer"]
    inputs = document["inputs"]
    assert out.read_text().startswith("{")
    assert gateway["accepted"] > 0
    assert gateway["failed"] == 0
    assert bare["accepted"] > 0
    assert bare["failed"] == 0
    assert inputs["gateway_workers"] == inputs["product_gateway_workers"] == 1
    assert inputs["snapshot"]["pods"] == 100
    assert 0 < inputs["snapshot"]["gzip_bytes"] < inputs["snapshot"]["json_bytes"]
    assert 0 < gateway["p50_ms"] <= gateway["p99_ms"]
    assert gateway["cpu_ms_per_item"] > 0
    ratio = document["ratio"]["throughput_gateway_over_bare"]
    expected = gateway["accepted_per_s"] / bare["accepted_per_s"]
    assert abs(ratio - expected) < 0.01
    assert document["machine"]["cores"] >= 1
    assert document["target"]["met"] == (ratio >= 0.5)
    # Every snapshot, the senders' warm-up ones included, went through the fast mirror.
    warmed = gateway["accepted"] + gateway["warmup_items"]
    assert document["gateway_validated_by"] == {"mirror": warmed}


def test_quick_run_reports_deltas_beside_snapshots(quick: tuple[Path, dict[str, Any]]) -> None:
    """Deltas are accepted on both paths, through the mirror, and are smaller on the wire."""
    _, document = quick
    deltas = document["deltas"]
    gateway = deltas["policies"]["slicewise"]
    assert gateway["accepted"] > 0
    assert gateway["failed"] == 0
    assert deltas["policies"]["bare-producer"]["accepted"] > 0
    warmed = gateway["accepted"] + gateway["warmup_items"]
    assert deltas["gateway_validated_by"] == {"mirror": warmed}
    wire = document["wire_bytes_per_cluster_minute"]
    assert wire["full_snapshot_gzip"] == document["inputs"]["snapshot"]["gzip_bytes"]
    assert 0 < wire["delta_gzip"] < wire["full_snapshot_gzip"]


def test_quick_run_reports_compact_deltas_beside_ordinal_ones(
    quick: tuple[Path, dict[str, Any]],
) -> None:
    """Deltas with the earlier compact block are accepted too; the ordinal block is the smaller,
    and series rows the largest."""
    _, document = quick
    compact = document["deltas_compact"]
    gateway = compact["policies"]["slicewise"]
    assert gateway["accepted"] > 0
    assert gateway["failed"] == 0
    warmed = gateway["accepted"] + gateway["warmup_items"]
    assert compact["gateway_validated_by"] == {"mirror": warmed}
    wire = document["wire_bytes_per_cluster_minute"]
    assert 0 < wire["delta_gzip"] < wire["delta_compact_gzip"] < wire["delta_rows_gzip"]
    assert wire["random_figures"]["delta_gzip"] > 0
    assert wire["target"]["met"] == (wire["full_over_delta"] >= 10)
    cpu = document["gateway_cpu_ms_per_delta"]
    assert cpu["delta"] > 0
    assert cpu["delta_compact"] > 0


def test_quick_run_reads_real_usage_traces(quick: tuple[Path, dict[str, Any]]) -> None:
    """The samples' figures come from the Bitbrains and GenAI series, not random numbers."""
    _, document = quick
    traces = document["inputs"]["usage_traces"]
    assert traces["vm_series"] > 0
    assert traces["gpu_series"] > 0
    assert traces["minutes"] >= 2
