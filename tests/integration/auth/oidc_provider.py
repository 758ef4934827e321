"""A small OpenID Connect provider for tests: discovery, JWKS, authorize (auto-consent), token.

It signs in whoever the test names in `next_identity`, checks the client's secret, the redirect
URI and the PKCE verifier, and issues RS256 ID tokens.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class Identity:
    """Who the provider signs in next."""

    subject: str
    email: str
    email_verified: bool = True


@dataclass
class _Grant:
    identity: Identity
    nonce: str
    challenge: str
    redirect_uri: str


@dataclass
class OidcProvider:
    """Provider state; `issuer` is set once the server listens."""

    client_id: str
    client_secret: str
    issuer: str = ""
    next_identity: Identity | None = None
    nonce_override: str | None = None
    """When set, ID tokens carry this nonce instead of the requested one."""
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
    )
    _grants: dict[str, _Grant] = field(default_factory=dict)

    def app(self) -> FastAPI:
        """The provider's HTTP API."""
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [{**self.key.as_dict(private=False), "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        async def authorize(  # noqa: PLR0917 - FastAPI maps each query parameter to one argument
            client_id: Annotated[str, Query()],
            redirect_uri: Annotated[str, Query()],
            state: Annotated[str, Query()],
            nonce: Annotated[str, Query()],
            code_challenge: Annotated[str, Query()],
            code_challenge_method: Annotated[str, Query()],
            response_type: Annotated[str, Query()],
        ) -> Response:
            usable = (client_id, response_type, code_challenge_method) == (
                self.client_id,
                "code",
                "S256",
            )
            if not usable or self.next_identity is None:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self._grants[code] = _Grant(self.next_identity, nonce, code_challenge, redirect_uri)
            query = urlencode({"code": code, "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

        @app.post("/token")
        async def token(
            grant_type: Annotated[str, Form()],
            code: Annotated[str, Form()],
            redirect_uri: Annotated[str, Form()],
            code_verifier: Annotated[str, Form()],
            authorization: Annotated[str | None, Header()] = None,
        ) -> Response:
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode())
            if authorization != f"Basic {expected.decode()}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self._grants.pop(code, None)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            valid = (
                grant is not None
                and grant_type == "authorization_code"
                and grant.redirect_uri == redirect_uri
                and grant.challenge == challenge
            )
            if grant is None or not valid:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "sub": grant.identity.subject,
                "aud": self.client_id,
                "iat": now,
                "exp": now + 300,
                "nonce": self.nonce_override or grant.nonce,
                "email": grant.identity.email,
                "email_verified": grant.identity.email_verified,
            }
            id_token = jwt.encode(
                {"alg": "RS256", "kid": "idp-1"}, claims, self.key, algorithms=["RS256"]
            )
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                }
            )

        return app
