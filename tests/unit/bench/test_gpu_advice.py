"""`bench.gpu_advice`: quick run on the GenAI trace, and a run on generated archives."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from bench import gpu_advice
from bench.gpu_genai import DUTY_ARCHIVE, MEMORY_ARCHIVE

GIB = 1024**3


def _archive(path: Path, header: str, rows: list[str]) -> None:
    data = ("\n".join([header, *rows]) + "\n").encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(path.name.removesuffix(".tar.gz") + ".csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def genai(tmp_path: Path) -> Path:
    """Two containers, 200 minutes: a small steady one (10 % duty, in percent) and a big one."""
    minutes = [1_662_858_720 + 60 * i for i in range(200)]
    duty = [f"10.0,{t},small" for t in minutes] + [f"90.0,{t},big" for t in minutes]
    memory = [f"{t},{8 * GIB},small" for t in minutes] + [f"{t},{70 * GIB},big" for t in minutes]
    _archive(tmp_path / DUTY_ARCHIVE, "value,timestamp_anon,container_ip", duty)
    _archive(tmp_path / MEMORY_ARCHIVE, "timestamp_anon,value,container_ip", memory)
    return tmp_path


def test_quick_run_on_the_genai_trace_stays_under_one_percent() -> None:
    """--quick advises some containers, counts them by kind, and exceeds < 1 % of minutes."""
    result = gpu_advice.main(["--quick"])
    ours = result["policies"]["slicewise"]
    assert set(result["policies"]) == {"slicewise", "whole-gpu", "default-headroom", "no-headroom"}
    assert sum(ours["containers_per_kind"].values()) == ours["containers_advised"] > 0
    assert 0 <= ours["exceed_share_pct"] < 1.0
    assert result["exceed_share_under_1pct"] is True
    assert result["inputs"]["gpu_product"] == "A100-80GB"


def test_generated_trace_gives_mps_to_the_small_and_keeps_the_big(genai: Path) -> None:
    """8 GiB at 10 %: nine MPS clients per GPU (0.89 GPU freed); 70 GiB keeps its GPU."""
    result = gpu_advice.main(["--genai", str(genai)])
    ours = result["policies"]["slicewise"]
    assert ours["containers_per_kind"] == {"mps": 1, "whole-gpu": 1}
    assert ours["gpus_freed"] == pytest.approx(1 - 1 / 9, abs=0.01)
    assert ours["exceed_share_pct"] == 0.0
    assert result["inputs"]["duty_unit_detected"] == "percent"
