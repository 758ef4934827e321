"""Derived pod lists of the published trace families, and their bench's quick run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench import gpu_families
from bench.gpusim.families import (
    FamilyList,
    derive,
    kinds,
    list_statistics,
    parse_list_name,
)
from bench.gpusim.sliver_bound import guaranteed_remainders, unfillable_gpus
from bench.gpusim.trace import read_nodes, read_pods
from recommender.gpu.placement.slicewise import SlicewiseSettings
from recommender.gpu.placement.tables import PodTable, build_node_table, build_pod_table

MODELS = ("T4", "V100")
TRACE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"


def base_list() -> PodTable:
    """20 CPU-only, 40 sharing (500 milli), 30 whole-GPU and 10 four-GPU pods."""
    rows = [(4000, 0, 0)] * 20 + [(2000, 1, 500)] * 40 + [(8000, 1, 1000)] * 30
    rows += [(32_000, 4, 1000)] * 10
    return build_pod_table(
        names=[f"p{i:03d}" for i in range(len(rows))],
        cpu_milli=[r[0] for r in rows],
        memory_mib=[1024] * len(rows),
        num_gpu=[r[1] for r in rows],
        gpu_milli=[r[2] for r in rows],
        gpu_spec=[""] * len(rows),
        models=MODELS,
    )


def constrained_list() -> PodTable:
    """Two whole-GPU pods limited to T4 and one sharing pod limited to V100."""
    return build_pod_table(
        names=["a", "b", "c"],
        cpu_milli=[1, 1, 1],
        memory_mib=[1, 1, 1],
        num_gpu=[1, 1, 1],
        gpu_milli=[1000, 1000, 300],
        gpu_spec=["T4", "T4", "V100"],
        models=MODELS,
    )


def derived(name: str, seed: int = 0) -> PodTable:
    """`name` derived from the base list."""
    recipe = parse_list_name(name, seed)
    return derive(base_list(), recipe, constrained=constrained_list(), models=MODELS)


def test_published_names_parse_to_family_and_percent() -> None:
    """cpu250 is 25.0 % CPU-only pods; gpushare60 is 60 %; the name comes back out."""
    assert parse_list_name("cpu250") == FamilyList("cpu", 25.0, 0)
    assert parse_list_name("gpushare60", 3).name == "gpushare60-s3"
    assert parse_list_name("cpu050").published_name == "cpu050"
    with pytest.raises(ValueError, match="not a list"):
        parse_list_name("default")


def test_cpu_lists_keep_gpu_pods_and_sample_cpu_only_pods_to_the_percent() -> None:
    """cpu100 of 80 GPU pods: 9 CPU-only pods, all from the base; cpu500 clones them to 80."""
    fewer = derived("cpu100")
    assert np.count_nonzero(kinds(fewer) == "cpu") == 9
    assert np.count_nonzero(kinds(fewer) != "cpu") == 80
    more = derived("cpu500")
    assert np.count_nonzero(kinds(more) == "cpu") == 80


def test_gpushare_lists_keep_the_gpu_pod_count_and_reach_the_share_of_milli() -> None:
    """gpushare60: still 80 GPU pods and 20 CPU-only ones; 67 sharing pods (22 % in the base).

    The 13 other GPU pods are a random draw of whole- and four-GPU pods, so their milli, and the
    sharing pods' share of it, varies around 60 % in a list this small.
    """
    pods = derived("gpushare60")
    assert np.count_nonzero(kinds(pods) != "cpu") == 80
    assert np.count_nonzero(kinds(pods) == "cpu") == 20
    assert np.count_nonzero(kinds(pods) == "share") == 67
    assert list_statistics(pods)["share_pct_of_gpu_milli"] == pytest.approx(60.0, abs=10.0)


def test_gpushare100_has_no_whole_gpu_pods() -> None:
    """Every GPU pod of gpushare100 takes a fraction of one GPU."""
    assert set(kinds(derived("gpushare100")).tolist()) == {"cpu", "share"}


def test_multigpu_lists_keep_every_pod_and_add_clones() -> None:
    """multigpu60: the 100 base pods stay first; clones of four-GPU pods reach 60 % of milli."""
    pods = derived("multigpu60")
    assert pods.size > 100
    assert (pods.num_gpu[:100] == base_list().num_gpu).all()
    assert set(pods.num_gpu[100:].tolist()) == {4}
    assert list_statistics(pods)["multi_pct_of_gpu_milli"] >= 60.0


def test_gpuspec_lists_constrain_the_percent_of_gpu_pods_with_specs_of_their_kind() -> None:
    """gpuspec25: 20 of 80 GPU pods; sharing pods get V100 and whole-GPU pods T4."""
    pods = derived("gpuspec25")
    spec = np.array(pods.gpu_spec)
    kind = kinds(pods)
    assert np.count_nonzero(spec != "") == 20
    assert set(spec[(spec != "") & (kind == "share")].tolist()) <= {"V100"}
    assert set(spec[(spec != "") & (kind == "whole")].tolist()) <= {"T4"}
    assert not pods.allowed[spec == "T4"][:, MODELS.index("V100")].any()


def test_a_derivation_depends_on_its_seed_only() -> None:
    """Same seed, same list; another seed, another draw."""
    assert derived("cpu100", 1).cpu_milli.tolist() == derived("cpu100", 1).cpu_milli.tolist()
    assert derived("gpuspec25", 1).gpu_spec != derived("gpuspec25", 2).gpu_spec


@pytest.mark.parametrize(
    ("name", "figure"),
    [
        ("cpu050", "cpu_only_pct_of_pods"),
        ("gpushare40", "share_pct_of_gpu_milli"),
        ("multigpu20", "multi_pct_of_gpu_milli"),
        ("gpuspec10", "constrained_pct_of_gpu_pods"),
    ],
)
def test_recipes_reproduce_the_published_lists_we_have(name: str, figure: str) -> None:
    """Derived from the default list, each family's list is within 0.5 points of the real one."""
    nodes = read_nodes(TRACE / "openb_node_list_gpu_node.csv")
    base = read_pods(TRACE / "openb_pod_list_default.csv", nodes.models)
    constrained = read_pods(TRACE / "openb_pod_list_gpuspec10.csv", nodes.models)
    real = list_statistics(read_pods(TRACE / f"openb_pod_list_{name}.csv", nodes.models))
    made = list_statistics(
        derive(base, parse_list_name(name), constrained=constrained, models=nodes.models)
    )
    assert made[figure] == pytest.approx(real[figure], abs=0.5)
    assert made["pods"] == pytest.approx(real["pods"], rel=0.01)


def test_quick_run_chooses_a_setting_per_left_out_family() -> None:
    """--quick: two derived lists, each family left out gets a grid setting and both figures."""
    result = gpu_families.main(["--quick", "--workers", "1"])
    assert set(result["leave_one_family_out"]) == {"cpu"}
    assert set(result["leave_one_list_out"]["lists"]) == set(result["inputs"]["derived"])
    for family in result["leave_one_family_out"].values():
        assert 0 <= family["setting"] < len(result["inputs"]["grid"])
        for row in family["lists"].values():
            assert set(row) == {"left_out_pct", "in_sample_pct"}
    assert set(result["derived_only_on_real_lists"]) == {
        "default",
        "cpu050",
        "gpushare40",
        "gpuspec10",
        "multigpu20",
    }


def test_remainders_of_shares_every_policy_places_bound_the_unallocated() -> None:
    """One 1-GPU node, a first 800 share (guaranteed) and a 100 share: 200 - 100 = 0.1 GPU."""
    nodes = build_node_table(["n0"], [64_000], [262_144], [1], ["T4"])
    arrivals = build_pod_table(
        names=["a", "b"],
        cpu_milli=[1000, 1000],
        memory_mib=[1024, 1024],
        num_gpu=[1, 1],
        gpu_milli=[800, 100],
        gpu_spec=["", ""],
        models=nodes.models,
    )
    assert guaranteed_remainders(nodes, arrivals).tolist() == [200]
    assert unfillable_gpus(nodes, arrivals) == pytest.approx(0.1)


def test_a_share_arriving_after_enough_to_block_every_node_is_not_counted() -> None:
    """Two 700 shares on one 1-GPU node: the second may find the GPU taken, so only one counts;
    a 300 pod after them could fill its remainder, so the bound is 0."""
    nodes = build_node_table(["n0"], [64_000], [262_144], [1], ["T4"])
    arrivals = build_pod_table(
        names=["a", "b", "c"],
        cpu_milli=[1000, 1000, 1000],
        memory_mib=[1024, 1024, 1024],
        num_gpu=[1, 1, 1],
        gpu_milli=[700, 700, 300],
        gpu_spec=["", "", ""],
        models=nodes.models,
    )
    assert guaranteed_remainders(nodes, arrivals).tolist() == [300]
    assert unfillable_gpus(nodes, arrivals) == 0.0


def test_a_list_left_out_is_scored_with_the_setting_best_on_the_other_recipes() -> None:
    """Setting 1 wins only through gpushare60's derivations: scoring either of them, setting 0
    (best on the other recipes) is used; scoring the others, where they weigh in, setting 1."""
    settings = len(gpu_families.GRID)
    gains = {
        "gpushare60-s0": [1.0, 9.0] + [0.0] * (settings - 2),
        "gpushare60-s1": [1.0, 9.0] + [0.0] * (settings - 2),
        "cpu100-s0": [5.0, 4.0] + [0.0] * (settings - 2),
        "cpu250-s0": [3.0, 3.0] + [0.0] * (settings - 2),
    }
    result = gpu_families.leave_one_list_out(gains, list(gains), in_sample=1)
    rows = result["lists"]
    assert rows["gpushare60-s0"] == {"setting": 0, "left_out_pct": 1.0, "in_sample_pct": 9.0}
    assert rows["gpushare60-s1"]["setting"] == 0
    assert rows["cpu100-s0"] == {"setting": 1, "left_out_pct": 4.0, "in_sample_pct": 4.0}
    assert rows["cpu250-s0"]["setting"] == 1
    assert result["mean_left_out_pct"] == pytest.approx((1.0 + 1.0 + 4.0 + 3.0) / 4)


def test_the_grid_holds_the_product_default_and_the_earlier_one() -> None:
    """The product's default settings are a grid setting (12), the earlier default is setting 8
    with no fresh-GPU rule, and settings 0-10 never use that rule whatever the defaults are."""
    grid = gpu_families.GRID
    assert grid[12] == SlicewiseSettings()
    assert grid[8] == replace(SlicewiseSettings(), fresh_gpu_fraction=0.0)
    assert grid[1] == grid[8]
    assert all(setting.fresh_gpu_fraction == 0.0 for setting in grid[:11])
