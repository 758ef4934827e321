"""Check at start that the agent may list and watch every kind, and name what is missing."""

from __future__ import annotations

import asyncio

import httpx2
import structlog
from lightkube import AsyncClient
from lightkube.models.authorization_v1 import ResourceAttributes, SelfSubjectAccessReviewSpec
from lightkube.resources.authorization_v1 import SelfSubjectAccessReview

from agent.errors import MissingPermissionError
from agent.rbac import Permission, required_permissions


async def missing_permissions(
    client: AsyncClient, permissions: list[Permission] | None = None
) -> list[Permission]:
    """The permissions the API server's authorizer does not grant the agent's identity.

    Asks with SelfSubjectAccessReviews, which every authenticated identity may create.
    """
    wanted = required_permissions() if permissions is None else permissions
    allowed = await asyncio.gather(*(_allowed(client, p) for p in wanted))
    return [p for p, ok in zip(wanted, allowed, strict=True) if not ok]


async def check_permissions(client: AsyncClient) -> None:
    """Raise `MissingPermissionError` naming every missing permission.

    If the server refuses the review itself, the check is skipped: the watchers then report
    the first refused list or watch the same way.
    """
    try:
        missing = await missing_permissions(client)
    except httpx2.HTTPStatusError as e:
        structlog.get_logger("agent.rbac").warning("permission_check_skipped", error=str(e))
        return
    if missing:
        raise MissingPermissionError([str(p) for p in missing])


async def _allowed(client: AsyncClient, permission: Permission) -> bool:
    """One SelfSubjectAccessReview: may we `verb` `resource` in `group`, cluster-wide?"""
    review = SelfSubjectAccessReview(
        spec=SelfSubjectAccessReviewSpec(
            resourceAttributes=ResourceAttributes(
                verb=permission.verb, resource=permission.resource, group=permission.group
            )
        )
    )
    result = await client.create(review)
    return bool(result.status is not None and result.status.allowed)
