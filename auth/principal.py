"""Who is calling: the verified content of an access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

USER_SUBJECT_PREFIX = "user:"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller bound to one tenant and, for agents and executors, one cluster."""

    subject: str
    client_id: str
    tenant_id: uuid.UUID
    cluster_id: uuid.UUID | None
    scopes: frozenset[str]
    token_id: str
    expires_at: datetime

    @property
    def user_id(self) -> uuid.UUID | None:
        """The console user's id when the token was issued at sign-in, else None."""
        if not self.subject.startswith(USER_SUBJECT_PREFIX):
            return None
        return uuid.UUID(self.subject.removeprefix(USER_SUBJECT_PREFIX))

    def has_scopes(self, required: frozenset[str]) -> bool:
        """Whether every scope in `required` was granted."""
        return required <= self.scopes


def user_subject(user_id: uuid.UUID) -> str:
    """The `sub` claim of a console user's token."""
    return f"{USER_SUBJECT_PREFIX}{user_id}"
