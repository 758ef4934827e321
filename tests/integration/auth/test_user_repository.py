"""Console users: created, read, changed and found at sign-in, each within its own tenant."""

from __future__ import annotations

import uuid

import pytest

from store.database import Database
from store.errors import ConflictError, NotFoundError
from store.repositories.tenants import TenantView
from store.repositories.users import UserRepository, find_user_by_oidc, find_users_by_email


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


async def test_create_then_get(database: Database, tenant: TenantView) -> None:
    """A created user reads back with role and whether a password is set."""
    email = _email()
    async with database.tenant(tenant.id) as session:
        users = UserRepository(session, tenant.id)
        created = await users.create(email, role="viewer", password_hash="h")
        read = await users.get(created.id)
    assert (read.email, read.role, read.has_password, read.tenant_id) == (
        email,
        "viewer",
        True,
        tenant.id,
    )


async def test_email_is_unique_within_a_tenant(database: Database, tenant: TenantView) -> None:
    """A second user with the same address in the same tenant is a conflict."""
    email = _email()
    async with database.tenant(tenant.id) as session:
        await UserRepository(session, tenant.id).create(email, role="viewer")
    with pytest.raises(ConflictError):
        async with database.tenant(tenant.id) as session:
            await UserRepository(session, tenant.id).create(email, role="admin")


async def test_another_tenant_may_use_the_same_email(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """An address used in one tenant is free in another (no conflict tells them it exists)."""
    email = _email()
    async with database.tenant(tenant.id) as session:
        await UserRepository(session, tenant.id).create(email, role="viewer")
    async with database.tenant(other_tenant.id) as session:
        theirs = await UserRepository(session, other_tenant.id).create(email, role="admin")
    assert (theirs.email, theirs.tenant_id) == (email, other_tenant.id)


async def test_get_of_another_tenants_user_is_not_found(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A tenant cannot read another tenant's user."""
    async with database.tenant(other_tenant.id) as session:
        theirs = await UserRepository(session, other_tenant.id).create(_email(), role="viewer")
    with pytest.raises(NotFoundError):
        async with database.tenant(tenant.id) as session:
            await UserRepository(session, tenant.id).get(theirs.id)


async def test_list_shows_only_own_users(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Listing returns the session tenant's users only, by e-mail."""
    mine = sorted([_email(), _email()])
    async with database.tenant(tenant.id) as session:
        for email in reversed(mine):
            await UserRepository(session, tenant.id).create(email, role="viewer")
    async with database.tenant(other_tenant.id) as session:
        await UserRepository(session, other_tenant.id).create(_email(), role="viewer")
    async with database.tenant(tenant.id) as session:
        listed = [u.email for u in await UserRepository(session, tenant.id).list()]
    assert listed == mine


@pytest.mark.parametrize("change", ["set_role", "set_password_hash", "link_oidc"])
async def test_changes_to_another_tenants_user_are_not_found(
    database: Database, tenant: TenantView, other_tenant: TenantView, change: str
) -> None:
    """Role, password and identity changes cannot reach another tenant's user."""
    async with database.tenant(other_tenant.id) as session:
        theirs = await UserRepository(session, other_tenant.id).create(
            _email(), role="viewer", password_hash="h"
        )
    arguments = {
        "set_role": ("admin",),
        "set_password_hash": (None,),
        "link_oidc": ("https://idp", "sub"),
    }[change]
    with pytest.raises(NotFoundError):
        async with database.tenant(tenant.id) as session:
            await getattr(UserRepository(session, tenant.id), change)(theirs.id, *arguments)
    async with database.tenant(other_tenant.id) as session:
        still = await UserRepository(session, other_tenant.id).get(theirs.id)
    assert (still.role, still.has_password, still.oidc_subject) == ("viewer", True, None)


async def test_set_role_and_password_and_link(database: Database, tenant: TenantView) -> None:
    """Each change is visible on the next read."""
    async with database.tenant(tenant.id) as session:
        users = UserRepository(session, tenant.id)
        user = await users.create(_email(), role="viewer", password_hash="h")
        await users.set_role(user.id, "approver")
        await users.set_password_hash(user.id, None)
        await users.link_oidc(user.id, "https://idp", "subject-1")
        read = await users.get(user.id)
    assert (read.role, read.has_password, read.oidc_issuer, read.oidc_subject) == (
        "approver",
        False,
        "https://idp",
        "subject-1",
    )


async def test_find_by_email_crosses_tenants_case_insensitively(
    database: Database, tenant: TenantView
) -> None:
    """Sign-in finds the user by e-mail in any case, with the hash to check."""
    email = _email()
    async with database.tenant(tenant.id) as session:
        created = await UserRepository(session, tenant.id).create(
            email, role="approver", password_hash="argon"
        )
    async with database.system() as session:
        (found,) = await find_users_by_email(session, email.upper())
        missing = await find_users_by_email(session, _email())
    assert (found.id, found.tenant_id, found.password_hash) == (created.id, tenant.id, "argon")
    assert missing == []


async def test_find_by_oidc_needs_issuer_and_subject(
    database: Database, tenant: TenantView
) -> None:
    """The same subject at another issuer is someone else."""
    async with database.tenant(tenant.id) as session:
        users = UserRepository(session, tenant.id)
        user = await users.create(_email(), role="admin")
        subject = uuid.uuid4().hex
        await users.link_oidc(user.id, "https://idp-a", subject)
    async with database.system() as session:
        found = await find_user_by_oidc(session, "https://idp-a", subject)
        elsewhere = await find_user_by_oidc(session, "https://idp-b", subject)
    assert found is not None
    assert (found.id, found.role) == (user.id, "admin")
    assert elsewhere is None
