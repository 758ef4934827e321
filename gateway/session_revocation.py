"""Sign-out: revoke the session's token server-side, so neither its cookie nor its bearer works."""

from __future__ import annotations

from auth.errors import InvalidTokenError
from gateway.wiring import Wiring


async def revoke_session(wiring: Wiring, token: str | None) -> bool:
    """Revoke `token` if it is a valid console session; False when there was nothing to revoke.

    Only a verified token is listed: an arbitrary string must not let anyone fill the deny-list.
    """
    if not token:
        return False
    try:
        principal = await wiring.verifier.verify(token)
    except InvalidTokenError:
        return False
    return await wiring.revoked.revoke(principal)
