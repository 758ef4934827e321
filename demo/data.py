"""Where the demo's traces are, under one data folder (default `../shared/data`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class DemoData:
    """The four inputs of the demo cluster."""

    nodes: Path
    pods: Path
    vms: Path
    genai: Path

    @classmethod
    def under(cls, root: Path) -> DemoData:
        """The standard layout of the shared data folder."""
        gpu = root / "alibaba-gpu-v2023"
        return cls(
            nodes=gpu / "openb_node_list_gpu_node.csv",
            pods=gpu / "openb_pod_list_default.csv",
            vms=root / "bitbrains-rnd",
            genai=root / "alibaba-genai-v2026",
        )

    def missing(self) -> list[Path]:
        """Inputs that are not there."""
        return [path for path in (self.nodes, self.pods, self.vms, self.genai) if not path.exists()]
