"""`slicewise admin ...`: create tenants, clusters (with their agent and executor credentials)
and console users, straight against the database.

Connection: `--database-url`; else, while `slicewise up` runs from this checkout, that stack's
database as the application role (from its `.slicewise/stack.json`, said on stderr); else
`SLICEWISE_DATABASE_URL` (used as given; normally the application role's URL); else
`DATABASE_URL` (the schema owner's URL, as for `slicewise migrate`) with the application role's
credentials substituted. Either way row-level security applies to what these commands do.
The running stack comes before the environment because `DATABASE_URL` is often exported for
every shell, while a stack running from this very checkout is what the command was run beside.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auth.errors import InvalidRequestError
from auth.hashing import SecretHasher
from auth.instruction_keys import (
    DEFAULT_KEEP_PREVIOUS,
    rotate_instruction_key,
    trusted_instruction_keys,
)
from auth.provisioning import Provisioning
from auth.sealing import KeyEncryptionKey
from auth.signing_keys import rotate_signing_key
from auth.tenants import resolve_tenant
from cli.stack_connection import CHECKOUT_FILE, running_stack
from store.database import Database
from store.errors import ConflictError, NotFoundError, StoreError
from store.roles import DEFAULT_APP_ROLE, app_url

_KEK_ENV = "SLICEWISE_GATEWAY_KEY_ENCRYPTION_KEY"


def register(commands: Any) -> None:
    """Add the `admin` sub-command and its own sub-commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "admin", help="create tenants, clusters and console users"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help=(
            "database URL (default: the running `slicewise up` of this checkout, else "
            "$SLICEWISE_DATABASE_URL, else $DATABASE_URL as app role)"
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    tenant = actions.add_parser("create-tenant", help="create a tenant; prints its id")
    tenant.add_argument("name")
    tenant.set_defaults(handler=_runner(_create_tenant))

    cluster = actions.add_parser(
        "create-cluster", help="register a cluster; prints its id and its clients' credentials once"
    )
    cluster.add_argument("tenant", help="tenant name or id")
    cluster.add_argument("name")
    cluster.add_argument("--provider", default="other", choices=["aws", "gcp", "azure", "other"])
    cluster.add_argument("--region", default=None)
    cluster.set_defaults(handler=_runner(_create_cluster))

    user = actions.add_parser("create-user", help="add a console user")
    user.add_argument("tenant", help="tenant name or id")
    user.add_argument("email")
    user.add_argument("--role", required=True, choices=["viewer", "approver", "admin"])
    user.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else: OIDC sign-in only)",
    )
    user.set_defaults(handler=_runner(_create_user))

    rotate = actions.add_parser(
        "rotate-signing-key",
        help=f"rotate the access-token signing key (needs ${_KEK_ENV})",
    )
    rotate.set_defaults(handler=_runner(_rotate_signing_key))

    trusted = actions.add_parser(
        "instruction-keys",
        help="print the executors' trusted instruction keys (chart value executor.trustedKeys)",
    )
    trusted.set_defaults(handler=_runner(_instruction_keys))

    rotate_instructions = actions.add_parser(
        "rotate-instruction-key",
        help=f"add a new instruction-signing key (needs ${_KEK_ENV}); prints the trusted keys",
    )
    rotate_instructions.add_argument(
        "--activate-in-hours",
        type=float,
        default=0.0,
        help="sign with it only after this long, so executors can trust it first (default: 0)",
    )
    rotate_instructions.add_argument(
        "--keep-previous-hours",
        type=float,
        default=DEFAULT_KEEP_PREVIOUS.total_seconds() / 3600,
        help="how long the replaced keys stay trusted once it signs (default: %(default)g)",
    )
    rotate_instructions.set_defaults(handler=_runner(_rotate_instruction_key))


def database_url(
    explicit: str | None, env: dict[str, str], stack_file: Path = CHECKOUT_FILE
) -> str | None:
    """Where the admin commands connect (see the module docstring)."""
    if explicit:
        return explicit
    if stack := running_stack(stack_file):
        print(
            f"slicewise admin: using the local stack running from this checkout "
            f"(pid {stack.pid}, {stack_file})",
            file=sys.stderr,
        )
        return stack.app_database_url
    if direct := env.get("SLICEWISE_DATABASE_URL"):
        return direct
    if owner := env.get("DATABASE_URL"):
        role = env.get("SLICEWISE_DB_APP_ROLE", DEFAULT_APP_ROLE)
        url = app_url(owner, role, env.get("SLICEWISE_DB_APP_PASSWORD"))
        return url.render_as_string(hide_password=False)
    return None


Action = Callable[[argparse.Namespace, Database], Awaitable[None]]


def _runner(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        url = database_url(args.database_url, dict(os.environ))
        if url is None:
            print(
                "slicewise admin: no database URL (pass --database-url, set DATABASE_URL, "
                "or start the local stack with `slicewise up` in this checkout)",
                file=sys.stderr,
            )
            return 2
        try:
            asyncio.run(_with_database(url, action, args))
        except (ConflictError, NotFoundError, InvalidRequestError) as e:
            print(f"slicewise admin: {e}", file=sys.stderr)
            return 1
        except StoreError as e:
            print(f"slicewise admin: database error: {e}", file=sys.stderr)
            return 1
        return 0

    return run


async def _with_database(url: str, action: Action, args: argparse.Namespace) -> None:
    database = Database(url, pool_size=1)
    try:
        await action(args, database)
    finally:
        await database.dispose()


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


async def _create_tenant(args: argparse.Namespace, database: Database) -> None:
    tenant = await Provisioning(database, SecretHasher()).create_tenant(args.name, actor=_actor())
    print(f"tenant_id: {tenant.id}")
    print(f"name: {tenant.name}")


async def _create_cluster(args: argparse.Namespace, database: Database) -> None:
    tenant = await resolve_tenant(database, args.tenant)
    created = await Provisioning(database, SecretHasher()).create_cluster(
        tenant.id, args.name, actor=_actor(), provider=args.provider, region=args.region
    )
    print(f"cluster_id: {created.cluster.id}")
    print(f"client_id: {created.agent.client.client_id}")
    print(f"client_secret: {created.agent.secret}")
    print(f"executor_client_id: {created.executor.client.client_id}")
    print(f"executor_client_secret: {created.executor.secret}")


async def _create_user(args: argparse.Namespace, database: Database) -> None:
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    tenant = await resolve_tenant(database, args.tenant)
    user = await Provisioning(database, SecretHasher()).create_user(
        tenant.id, args.email, args.role, actor=_actor(), password=password
    )
    print(f"user_id: {user.id}")
    print(f"email: {user.email}")
    print(f"role: {user.role}")


async def _rotate_signing_key(_args: argparse.Namespace, database: Database) -> None:
    kek = os.environ.get(_KEK_ENV)
    if not kek:
        raise InvalidRequestError(f"set {_KEK_ENV} to the gateway's key-encryption key")
    record = await rotate_signing_key(
        database, KeyEncryptionKey.from_base64(kek), now=datetime.now(UTC)
    )
    print(f"kid: {record.kid}")


def _kek() -> KeyEncryptionKey:
    kek = os.environ.get(_KEK_ENV)
    if not kek:
        raise InvalidRequestError(f"set {_KEK_ENV} to the gateway's key-encryption key")
    return KeyEncryptionKey.from_base64(kek)


async def _instruction_keys(_args: argparse.Namespace, database: Database) -> None:
    # One JSON line: the value of SLICEWISE_EXECUTOR_TRUSTED_PUBLIC_KEYS, and valid YAML for
    # the chart's executor.trustedKeys.
    keys = await trusted_instruction_keys(database, now=datetime.now(UTC))
    print(json.dumps(keys))


async def _rotate_instruction_key(args: argparse.Namespace, database: Database) -> None:
    if args.activate_in_hours < 0 or args.keep_previous_hours < 0:
        raise InvalidRequestError("hours cannot be negative")
    now = datetime.now(UTC)
    record = await rotate_instruction_key(
        database,
        _kek(),
        now=now,
        activate_in=timedelta(hours=args.activate_in_hours),
        keep_previous_for=timedelta(hours=args.keep_previous_hours),
    )
    print(f"kid: {record.kid}")
    print(f"activates_at: {record.created_at.isoformat()}")
    print(f"trusted_keys: {json.dumps(await trusted_instruction_keys(database, now=now))}")
