"""Hostile names on every console page are text, and `next=` never leaves the console."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from store.database import Database
from store.repositories.clusters import ClusterRepository
from tests.integration.console.harness import bearer, sign_in
from tests.integration.console.seed import PASSWORD, XSS_NAME, SeededTenant
from tests.integration.gateway.harness import RunningGateway

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')

PAGES = {
    "overview": "/console",
    "recommendations": "/console/recommendations?status=",
    "recommendation": "/console/recommendations/{rec}",
    "instructions": "/console/instructions",
    "audit": "/console/audit",
}


@pytest.fixture
async def hostile_token(
    console_gateway: RunningGateway, database: Database, seeded: SeededTenant
) -> str:
    """An approver's token of a tenant with a script-named cluster and an approved script-named
    recommendation (so that its instruction and audit entry carry the name too)."""
    async with database.tenant(seeded.tenant_id) as session:
        await ClusterRepository(session, seeded.tenant_id).create(XSS_NAME)
    token = await sign_in(console_gateway, seeded.users["approver"], PASSWORD)
    rec = seeded.recommendations["xss"]
    async with console_gateway.client() as http:
        approved = await http.post(
            f"/v1/console/recommendations/{rec}/approve", headers=bearer(token), json={}
        )
    assert approved.status_code == 200
    return token


@pytest.mark.parametrize("page", sorted(PAGES))
async def test_script_names_are_escaped_on_every_page(
    console_gateway: RunningGateway, seeded: SeededTenant, hostile_token: str, page: str
) -> None:
    """The page shows the escaped name and never the raw script tag."""
    path = PAGES[page].format(rec=seeded.recommendations["xss"])
    async with console_gateway.client(cookies={"slicewise_session": hostile_token}) as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert XSS_NAME not in response.text
    assert ESCAPED in response.text


HOSTILE_NEXT = [
    "https://evil.example/console",
    "//evil.example/console",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
    "/console\r\nLocation: https://evil.example",
    "%2F%2Fevil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
async def test_sign_in_redirect_stays_on_the_console(
    console_gateway: RunningGateway, seeded: SeededTenant, target: str
) -> None:
    """Whatever `next` says, the redirect after sign-in is a path on this site."""
    async with console_gateway.client() as http:
        form = await http.get("/console/signin")
        found = _HIDDEN.search(form.text)
        assert found is not None
        response = await http.post(
            "/console/signin",
            data={
                "email": seeded.users["viewer"],
                "password": PASSWORD,
                "csrf_token": found.group(1),
                "next": target,
            },
        )
    location = response.headers["location"]
    parts = urlsplit(location)
    assert response.status_code == 303
    assert (parts.scheme, parts.netloc) == ("", "")
    assert location.startswith("/console")
    assert "\n" not in location
    assert "\\" not in location.split("?")[0][:2]


@pytest.mark.parametrize("target", ['/console"><script>alert(1)</script>', *HOSTILE_NEXT])
async def test_sign_in_form_echoes_next_only_as_a_safe_path(
    console_gateway: RunningGateway, target: str
) -> None:
    """The form's hidden `next` is an escaped console path, never markup or another site."""
    async with console_gateway.client() as http:
        response = await http.get("/console/signin", params={"next": target})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "evil.example" not in response.text
