"""`--cluster auto` runs the local control plane when it is built, else the replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.stack_cluster_mode import LOCAL, REPLAY, choose_cluster, missing_binaries
from cli.stack_options import DEFAULT_DATA


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A binary cache with nothing built in it."""
    monkeypatch.setenv("SLICEWISE_KUBE_CACHE", str(tmp_path))
    for name in ("APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"):
        monkeypatch.delenv(f"SLICEWISE_KUBE_{name}", raising=False)
    return tmp_path


def test_explicit_mode_is_kept(empty_cache: Path) -> None:
    """`--cluster local` stays local even when nothing is built (it builds on first use)."""
    assert choose_cluster(LOCAL, DEFAULT_DATA).mode == LOCAL
    assert choose_cluster(REPLAY, DEFAULT_DATA).mode == REPLAY


def test_auto_replays_when_the_binaries_are_not_built(empty_cache: Path) -> None:
    """Without cached binaries auto replays and names what is missing."""
    choice = choose_cluster("auto", DEFAULT_DATA)
    assert choice.mode == REPLAY
    assert "kube-apiserver" in choice.reason


@pytest.mark.skipif(bool(missing_binaries()), reason="the control plane is not built here")
def test_auto_runs_the_local_cluster_when_the_binaries_are_cached() -> None:
    """With every binary cached and the data present, auto chooses the local cluster."""
    if not DEFAULT_DATA.exists():
        pytest.skip("the shared data is not here")
    assert choose_cluster("auto", DEFAULT_DATA).mode == LOCAL


def test_auto_replays_when_the_data_is_missing(tmp_path: Path) -> None:
    """Without the demo data auto falls back to the replay, which then says what is missing."""
    assert choose_cluster("auto", tmp_path / "absent").mode == REPLAY
