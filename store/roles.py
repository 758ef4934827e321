"""Database roles: the owner runs migrations, the application role is bound by RLS."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from store.database import async_url

DEFAULT_APP_ROLE = "slicewise_app"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_role_name(role: str) -> str:
    """Return `role` if it is a safe SQL identifier, else raise ValueError."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"invalid role name: {role!r}")
    return role


async def ensure_app_role(owner_url: str | URL, role: str, password: str | None = None) -> None:
    """Create (or update) the application login role: no superuser, no BYPASSRLS."""
    check_role_name(role)
    engine = create_async_engine(async_url(owner_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
            )
            verb = "ALTER" if exists else "CREATE"
            # Role names cannot be bound parameters; the name was checked above.
            await conn.execute(
                text(f"{verb} ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
            )
            if password is not None:
                await conn.execute(text(f"ALTER ROLE {role} PASSWORD {_literal(password)}"))
    finally:
        await engine.dispose()


def app_url(owner_url: str | URL, role: str, password: str | None = None) -> URL:
    """The owner's URL with the application role's credentials instead."""
    return make_url(owner_url).set(username=role, password=password)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
