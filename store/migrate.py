"""Run Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from store.database import async_url
from store.roles import DEFAULT_APP_ROLE, check_role_name, ensure_app_role


def alembic_config(owner_url: str | URL, app_role: str = DEFAULT_APP_ROLE) -> Config:
    """Alembic configuration for our migrations, connecting as the schema owner."""
    config = Config()
    config.set_main_option("script_location", "store:migrations")
    config.attributes["url"] = async_url(owner_url)
    config.attributes["app_role"] = check_role_name(app_role)
    return config


def upgrade(
    owner_url: str | URL,
    app_role: str = DEFAULT_APP_ROLE,
    app_password: str | None = None,
    revision: str = "head",
) -> None:
    """Create the application role if needed and migrate the schema to `revision`."""
    asyncio.run(ensure_app_role(owner_url, app_role, app_password))
    command.upgrade(alembic_config(owner_url, app_role), revision)
