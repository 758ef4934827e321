"""Instructions as the console lists them, with their results; tenants stay apart."""

from __future__ import annotations

import pytest

from store.database import Database
from store.errors import NotFoundError
from store.repositories.console_instructions import InstructionQueries
from store.repositories.console_paging import PageRequest
from store.repositories.tenants import TenantView
from tests.integration.console.seed import SeededTenant


async def test_applied_instructions_are_listed_newest_first_with_their_outcome(
    database: Database, seeded: SeededTenant
) -> None:
    """The three applied right-sizings, newest first, named after their recommendations."""
    async with database.tenant(seeded.tenant_id) as session:
        found = await InstructionQueries(session, seeded.tenant_id).instructions(
            PageRequest(), cluster_id=seeded.clusters["prod"].id, status="completed"
        )
    assert [i.recommendation_title for i in found.items] == [
        "Right-size fleet/worker-002",
        "Right-size fleet/worker-001",
        "Right-size fleet/worker-000",
    ]
    assert {i.outcome for i in found.items} == {"applied"}
    assert {i.cluster_name for i in found.items} == {seeded.clusters["prod"].name}


async def test_other_tenant_cannot_read_an_instruction(
    database: Database, seeded: SeededTenant, other_tenant: TenantView
) -> None:
    """Tenant B lists none of A's instructions and cannot open one by id."""
    async with database.tenant(seeded.tenant_id) as session:
        mine = await InstructionQueries(session, seeded.tenant_id).instructions(PageRequest())
    async with database.tenant(other_tenant.id) as session:
        queries = InstructionQueries(session, other_tenant.id)
        listed = await queries.instructions(PageRequest())
        with pytest.raises(NotFoundError):
            await queries.instruction(mine.items[0].id)
    assert (mine.total, listed.total) == (3, 0)
