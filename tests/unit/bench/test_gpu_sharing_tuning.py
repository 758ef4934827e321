"""`bench.gpu_sharing_tuning`: the quick leave-one-trace-out run on the real trace."""

from __future__ import annotations

from bench import gpu_sharing_tuning


def test_quick_run_chooses_parameters_per_left_out_list() -> None:
    """--quick: every list gets parameters chosen on the others and both figures."""
    result = gpu_sharing_tuning.main(["--quick"])
    rows = result["policies"]["slicewise"]
    assert len(rows) == 5
    grid = result["inputs"]["grid"]
    for row in rows.values():
        assert row["left_out_params"] in grid
        assert 0.0 < row["left_out_alloc_130"] <= 100.0
        assert 0.0 < row["in_sample_alloc_130"] <= 100.0
