"""`slicewise migrate`: create the application role and migrate the schema."""

from __future__ import annotations

import argparse
import os
from typing import Any

from store.migrate import upgrade
from store.roles import DEFAULT_APP_ROLE


def register(commands: Any) -> None:
    """Add the `migrate` sub-command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "migrate", help="create the application role and migrate the database schema"
    )
    parser.add_argument(
        "--owner-url",
        default=os.environ.get("SLICEWISE_MIGRATION_DATABASE_URL")
        or os.environ.get("DATABASE_URL"),
        help="schema owner's URL (default: $SLICEWISE_MIGRATION_DATABASE_URL or $DATABASE_URL)",
    )
    parser.add_argument(
        "--app-role",
        default=os.environ.get("SLICEWISE_DB_APP_ROLE", DEFAULT_APP_ROLE),
        help="login role the services use; row-level security applies to it",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Migrate to the newest revision."""
    if not args.owner_url:
        print("slicewise migrate: no database URL (set DATABASE_URL or pass --owner-url)")
        return 2
    upgrade(args.owner_url, args.app_role, os.environ.get("SLICEWISE_DB_APP_PASSWORD"))
    print("database migrated to the newest revision")
    return 0
