"""Import every module of the given packages and name each one that fails to import.

`make image` runs it inside the unpacked image as the charts' user. `--help` imports little, so an
entrypoint can answer it while a module it loads later needs a distribution that
`requirements/image.lock` lacks; importing every module finds that at build time instead.

    python import_all.py [--skip MODULE ...] PACKAGE ...

Exits 1, printing ``module: error`` for each failure, if any module does not import. It uses the
standard library only, so it runs with the image's interpreter from any path.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Iterable, Sequence


def import_failures(packages: Iterable[str], skip: frozenset[str]) -> list[str]:
    """``module: error`` for every module of ``packages`` (not in ``skip``) that fails to import."""
    failures: list[str] = []
    for top in packages:
        try:
            package = importlib.import_module(top)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the walk
            failures.append(f"{top}: {e!r}")
            continue
        # walk_packages imports each subpackage to look inside; one that fails lands here.
        broken: dict[str, str] = {}

        def note(name: str, into: dict[str, str] = broken) -> None:
            into[name] = f"{name}: {sys.exc_info()[1]!r}"

        found = sorted(
            info.name for info in pkgutil.walk_packages(package.__path__, f"{top}.", onerror=note)
        )
        failures += broken.values()
        for module in found:
            if module in skip or module in broken:
                continue
            try:
                importlib.import_module(module)
            except Exception as e:  # noqa: BLE001 - as above
                failures.append(f"{module}: {e!r}")
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    """Print each failure to stderr; return 1 if there was one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="+")
    parser.add_argument("--skip", action="append", default=[], help="a module not to import")
    args = parser.parse_args(argv)
    failures = import_failures(args.packages, frozenset(args.skip))
    for failure in failures:
        sys.stderr.write(f"{failure}\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
