"""The `slicewise` command: local stack, migrations and administration."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import admin, local_stack, migrate_command


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="slicewise", description="Slicewise: cheaper Kubernetes for AI workloads, safely."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    local_stack.register(commands)
    migrate_command.register(commands)
    admin.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
