"""The image's import check names every module that does not import, and only those."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "image" / "import_all.py"


def _package(root: Path, modules: dict[str, str]) -> None:
    """Write a package ``shop`` holding ``modules`` (dotted names under it, with their source)."""
    for name, source in {"__init__": "", **modules}.items():
        path = root / "shop" / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(root)},
    )


def test_a_module_needing_a_missing_distribution_fails_the_check(tmp_path: Path) -> None:
    """A module importing what is not installed, deep in a subpackage, is named; exit 1."""
    _package(
        tmp_path,
        {"ok": "import json\n", "sub.__init__": "", "sub.deep": "import not_in_the_lock_xyz\n"},
    )

    result = _run(tmp_path, "shop")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "shop.sub.deep: ModuleNotFoundError(\"No module named 'not_in_the_lock_xyz'\")"
    ]


def test_a_subpackage_that_fails_is_named(tmp_path: Path) -> None:
    """A subpackage whose __init__ raises is reported too."""
    _package(tmp_path, {"sub.__init__": "raise RuntimeError('boom')\n"})

    result = _run(tmp_path, "shop")

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["shop.sub: RuntimeError('boom')"]


def test_skipped_modules_are_not_imported(tmp_path: Path) -> None:
    """A module named with --skip is left alone; everything else imports: exit 0."""
    _package(tmp_path, {"ok": "", "env": "raise RuntimeError('only inside alembic')\n"})

    result = _run(tmp_path, "--skip", "shop.env", "shop")

    assert (result.returncode, result.stderr) == (0, "")
