"""The console's pages over HTTP: sign-in, cookies, CSRF, roles, paging, escaping, headers."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator

import httpx

from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.tenants import TenantView
from store.tables import Cluster as ClusterModel
from tests.integration.console.harness import serve_console
from tests.integration.console.seed import PASSWORD, XSS_NAME, SeededTenant
from tests.integration.gateway.fixtures import SettingsFactory
from tests.integration.gateway.harness import RunningGateway

_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextlib.asynccontextmanager
async def _signed_in(gateway: RunningGateway, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client that signed in through the form (keeps its cookies)."""
    async with gateway.client() as http:
        form = await http.get("/console/signin")
        token = _HIDDEN.search(form.text)
        assert token is not None
        response = await http.post(
            "/console/signin",
            data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert response.status_code == 303
        yield http


def _csrf(page: str) -> str:
    found = _HIDDEN.search(page)
    assert found is not None
    return found.group(1)


async def test_pages_send_signed_out_browsers_to_sign_in(console_gateway: RunningGateway) -> None:
    """A page without a session redirects to the sign-in form, remembering where it was."""
    async with console_gateway.client() as http:
        response = await http.get("/console/recommendations?kind=spot")
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "/console/signin?next=/console/recommendations%3Fkind%3Dspot"
    )


async def test_sign_in_sets_an_httponly_lax_cookie(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """The session cookie cannot be read by scripts and is not sent on cross-site posts."""
    async with console_gateway.client() as http:
        form = await http.get("/console/signin")
        response = await http.post(
            "/console/signin",
            data={
                "email": seeded.users["viewer"],
                "password": PASSWORD,
                "csrf_token": _csrf(form.text),
                "next": "/console/audit",
            },
        )
    cookie = next(c for c in response.headers.get_list("set-cookie") if "slicewise_session=" in c)
    assert response.headers["location"] == "/console/audit"
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # this test gateway serves plain HTTP


async def test_cookie_is_secure_when_configured(
    make_settings: SettingsFactory, seeded: SeededTenant
) -> None:
    """Behind TLS both the sign-in form's cookie and the session cookie are marked Secure."""
    settings = make_settings(session_cookie_secure=True)
    async with serve_console(settings) as gateway, gateway.client() as http:
        form = await http.get("/console/signin")
        form_cookie = form.headers["set-cookie"]
        value = form_cookie.split(";", 1)[0].split("=", 1)[1]
        # The client would not send a Secure cookie over plain HTTP; send it by hand.
        response = await http.post(
            "/console/signin",
            data={
                "email": seeded.users["viewer"],
                "password": PASSWORD,
                "csrf_token": _csrf(form.text),
            },
            headers={"Cookie": f"slicewise_signin_csrf={value}"},
        )
    session = next(c for c in response.headers.get_list("set-cookie") if "slicewise_session=" in c)
    assert "Secure" in form_cookie
    assert "Secure" in session


async def test_wrong_password_is_refused_on_the_page(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """401 with a message, and no session cookie."""
    async with console_gateway.client() as http:
        form = await http.get("/console/signin")
        response = await http.post(
            "/console/signin",
            data={
                "email": seeded.users["viewer"],
                "password": "nope",
                "csrf_token": _csrf(form.text),
            },
        )
    assert response.status_code == 401
    assert "Wrong e-mail address or password." in response.text
    assert "slicewise_session=" not in response.headers.get("set-cookie", "")


async def test_sign_in_without_its_csrf_cookie_is_refused(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A sign-in posted from elsewhere (no double-submit cookie) does not sign in."""
    async with console_gateway.client() as http:
        response = await http.post(
            "/console/signin",
            data={"email": seeded.users["viewer"], "password": PASSWORD, "csrf_token": "forged"},
        )
    assert response.status_code == 400


async def test_sign_in_never_redirects_off_site(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """`next` pointing at another site lands on the console instead."""
    async with console_gateway.client() as http:
        form = await http.get("/console/signin")
        response = await http.post(
            "/console/signin",
            data={
                "email": seeded.users["viewer"],
                "password": PASSWORD,
                "csrf_token": _csrf(form.text),
                "next": "https://evil.example/console",
            },
        )
    assert response.headers["location"] == "/console"


async def test_pages_carry_the_security_headers(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Content security policy without inline script, no framing, no caching."""
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        response = await http.get("/console")
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'")
    assert "'unsafe-inline'" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_pages_have_no_inline_script_or_style(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Every script is a file; no element carries a style or an event handler attribute."""
    rec = seeded.recommendations["gpu"]
    async with _signed_in(console_gateway, seeded.users["approver"]) as http:
        pages = [
            (await http.get(path)).text
            for path in ("/console", "/console/recommendations", f"/console/recommendations/{rec}")
        ]
    for page in pages:
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
        assert re.findall(r"\sstyle=|\son[a-z]+=", page) == []


async def test_values_from_a_cluster_are_escaped(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A workload named like a script tag is text in the list and on its page."""
    rec = seeded.recommendations["xss"]
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        listing = (await http.get("/console/recommendations")).text
        detail = (await http.get(f"/console/recommendations/{rec}")).text
    for page in (listing, detail):
        assert XSS_NAME not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_decision_form_without_csrf_token_is_refused(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """403, and the recommendation stays open."""
    rec = seeded.recommendations["spot"]
    async with _signed_in(console_gateway, seeded.users["approver"]) as http:
        refused = await http.post(
            f"/console/recommendations/{rec}/decision", data={"decision": "approve"}
        )
        page = await http.get(f"/console/recommendations/{rec}")
    assert refused.status_code == 403
    assert 'class="badge status status-open"' in page.text


async def test_viewer_cannot_decide_through_the_form(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """Even with a valid CSRF token, a viewer's approval is refused."""
    rec = seeded.recommendations["spot"]
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        page = await http.get(f"/console/recommendations/{rec}")
        refused = await http.post(
            f"/console/recommendations/{rec}/decision",
            data={"decision": "approve", "csrf_token": _csrf(page.text)},
        )
    assert "Approve…" not in page.text
    assert refused.status_code == 403


async def test_approver_approves_through_the_form(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """The confirmed form approves, redirects back and lists the new instruction."""
    rec = seeded.recommendations["spot"]
    async with _signed_in(console_gateway, seeded.users["approver"]) as http:
        page = await http.get(f"/console/recommendations/{rec}")
        response = await http.post(
            f"/console/recommendations/{rec}/decision",
            data={"decision": "approve", "comment": "spot is fine", "csrf_token": _csrf(page.text)},
        )
        after = await http.get(response.headers["location"])
    assert response.headers["location"] == f"/console/recommendations/{rec}?done=approved"
    assert "Approved. The instruction is signed" in after.text
    assert len(re.findall(r"<tr data-instruction=", after.text)) == 1
    assert "spot is fine" in after.text


async def test_another_tenants_recommendation_is_a_404_page(
    console_gateway: RunningGateway, seeded: SeededTenant, seeded_other: SeededTenant
) -> None:
    """Tenant B opening tenant A's recommendation gets a not-found page."""
    rec = seeded.recommendations["gpu"]
    async with _signed_in(console_gateway, seeded_other.users["admin"]) as http:
        response = await http.get(f"/console/recommendations/{rec}")
    assert response.status_code == 404
    assert "There is no such recommendation." in response.text


async def test_overview_of_a_tenant_without_clusters(
    console_gateway: RunningGateway, seeded: SeededTenant, database: Database
) -> None:
    """Zero clusters: the empty state explains how to add one."""
    async with database.tenant(seeded.tenant_id) as session:
        for cluster in seeded.clusters.values():
            await session.delete(await session.get_one(ClusterModel, cluster.id))
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        page = (await http.get("/console")).text
    assert "No clusters yet." in page
    assert "slicewise-agent" in page


async def test_overview_pages_through_hundreds_of_clusters(
    console_gateway: RunningGateway, seeded: SeededTenant, database: Database
) -> None:
    """230 clusters (2 seeded + 228): five pages of 50, the last holding 30 rows."""
    async with database.tenant(seeded.tenant_id) as session:
        clusters = ClusterRepository(session, seeded.tenant_id)
        for index in range(228):
            await clusters.create(f"zz-{index:03d}")
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        first = (await http.get("/console")).text
        last = (await http.get("/console?page=5")).text
    assert "230 clusters · page 1 of 5" in first
    assert "230 clusters · page 5 of 5" in last
    assert len(re.findall(r'<a href="/console/recommendations\?cluster=', last)) == 30


async def test_static_files_are_served(console_gateway: RunningGateway) -> None:
    """The stylesheet and script come from the gateway itself."""
    async with console_gateway.client() as http:
        css = await http.get("/console/static/console.css")
        js = await http.get("/console/static/console.js")
    assert css.headers["content-type"].startswith("text/css")
    assert "javascript" in js.headers["content-type"]


async def test_unknown_tenant_user_gets_no_page(
    console_gateway: RunningGateway, tenant: TenantView
) -> None:
    """A forged cookie is no session."""
    del tenant
    async with console_gateway.client(cookies={"slicewise_session": uuid.uuid4().hex}) as http:
        response = await http.get("/console")
    assert response.status_code == 303


async def test_an_applied_recommendation_shows_its_instruction_result(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A recommendation approved and applied weeks ago shows who decided and what happened."""
    rec = seeded.recommendations["applied-0"]
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        page = (await http.get(f"/console/recommendations/{rec}")).text
    assert "ops@example.com" in page
    assert 'class="badge status status-completed"' in page
    assert "<td>applied</td>" in page


async def test_sign_out_page_revokes_the_session_cookie(
    console_gateway: RunningGateway, seeded: SeededTenant
) -> None:
    """A copy of the cookie taken before signing out no longer opens a page."""
    async with _signed_in(console_gateway, seeded.users["viewer"]) as http:
        stolen = http.cookies["slicewise_session"]
        page = await http.get("/console")
        signed_out = await http.post("/console/signout", data={"csrf_token": _csrf(page.text)})
    async with console_gateway.client(cookies={"slicewise_session": stolen}) as replay:
        replayed = await replay.get("/console")
    assert signed_out.status_code == 303
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/console/signin")
