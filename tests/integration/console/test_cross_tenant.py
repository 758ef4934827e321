"""Another tenant's ids, through every console API route and page, find nothing of the victim.

The intruder is an admin of their own tenant (every console scope) who knows the victim's
recommendation, instruction and cluster ids; each route either answers 404 or shows none of
the victim's data, and no decision reaches the victim's recommendations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from auth.provisioning import Provisioning
from gateway.console.security import csrf_token
from store.database import Database
from store.repositories.tenants import create_tenant
from tests.integration.console.harness import bearer, get_json, sign_in
from tests.integration.console.seed import PASSWORD, SeededTenant, seed_tenant
from tests.integration.gateway.harness import RunningGateway

KINDS = ("rightsizing", "xss", "spot", "consolidation", "gpu")


@dataclass(frozen=True)
class Intrusion:
    """The two seeded tenants, the intruder's token and one of the victim's instruction ids."""

    victim: SeededTenant
    intruder: SeededTenant
    token: str
    victim_instruction: str

    def victim_ids(self) -> set[str]:
        """Every id and cluster name of the victim that must not show up for the intruder."""
        ids = {str(i) for i in self.victim.recommendations.values()}
        ids |= {str(c.id) for c in self.victim.clusters.values()}
        ids |= {c.name for c in self.victim.clusters.values()}
        return ids | {self.victim_instruction}


async def _seed(database: Database, provisioning: Provisioning, label: str) -> SeededTenant:
    tenant = await create_tenant(database, f"{label}-{uuid.uuid4().hex[:8]}")
    return await seed_tenant(
        database, provisioning, tenant.id, now=datetime.now(UTC), label=tenant.name[-6:]
    )


@pytest.fixture(scope="module")
async def intrusion(
    console_gateway: RunningGateway, database: Database, provisioning: Provisioning
) -> Intrusion:
    """Two tenants seeded once for this module's requests (none of which changes them)."""
    victim = await _seed(database, provisioning, "victim")
    intruder = await _seed(database, provisioning, "intruder")
    victim_token = await sign_in(console_gateway, victim.users["viewer"], PASSWORD)
    listed = await get_json(console_gateway, "/v1/console/instructions", victim_token)
    token = await sign_in(console_gateway, intruder.users["admin"], PASSWORD)
    return Intrusion(victim, intruder, token, listed.json()["items"][0]["id"])


def _rec(intrusion: Intrusion, kind: str, suffix: str = "") -> str:
    return f"/v1/console/recommendations/{intrusion.victim.recommendations[kind]}{suffix}"


NOT_FOUND_API: dict[str, tuple[str, object]] = {
    **{f"api-detail-{kind}": ("GET", kind) for kind in KINDS},
    "api-export-kustomize": ("GET", "/export/kustomize"),
    "api-export-kustomize-zip": ("GET", "/export/kustomize.zip"),
    "api-export-patch-yaml": ("GET", "/export/patch.yaml"),
    "api-approve": ("POST", "/approve"),
    "api-reject": ("POST", "/reject"),
    "api-snooze": ("POST", "/snooze"),
}


def _api_path(intrusion: Intrusion, name: str) -> str:
    _, what = NOT_FOUND_API[name]
    if name.startswith("api-detail-"):
        return _rec(intrusion, str(what))
    # `spot` is exportable (a workload patch), so only the tenant check can make these 404.
    return _rec(intrusion, "spot" if name.startswith("api-export") else "gpu", str(what))


@pytest.mark.parametrize("name", sorted(NOT_FOUND_API))
async def test_api_route_with_a_victims_recommendation_is_404(
    console_gateway: RunningGateway, intrusion: Intrusion, name: str
) -> None:
    """Reading, exporting or deciding on the victim's recommendation is a 404 problem."""
    method, _ = NOT_FOUND_API[name]
    body = {"days": 7} if name == "api-snooze" else {}
    async with console_gateway.client() as http:
        response = await http.request(
            method, _api_path(intrusion, name), headers=bearer(intrusion.token), json=body
        )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_api_instruction_of_the_victim_is_404(
    console_gateway: RunningGateway, intrusion: Intrusion
) -> None:
    """The victim's instruction by id is a 404 problem."""
    path = f"/v1/console/instructions/{intrusion.victim_instruction}"
    response = await get_json(console_gateway, path, intrusion.token)
    assert response.status_code == 404


Listing = Callable[[SeededTenant], tuple[str, dict[str, str]]]


def _prod(victim: SeededTenant) -> str:
    return str(victim.clusters["prod"].id)


def _applied(victim: SeededTenant) -> str:
    return str(victim.recommendations["applied-0"])


LISTINGS: dict[str, Listing] = {
    "api-recommendations-by-cluster": lambda v: (
        "/v1/console/recommendations",
        {"cluster_id": _prod(v)},
    ),
    "api-instructions-by-cluster": lambda v: ("/v1/console/instructions", {"cluster_id": _prod(v)}),
    "api-instructions-by-recommendation": lambda v: (
        "/v1/console/instructions",
        {"recommendation_id": _applied(v)},
    ),
    "api-audit-by-subject": lambda v: ("/v1/console/audit", {"subject_id": _applied(v)}),
    "api-clusters": lambda _: ("/v1/console/clusters", {}),
    "api-savings": lambda _: ("/v1/console/savings", {}),
    "page-recommendations-by-cluster": lambda v: (
        "/console/recommendations",
        {"cluster": _prod(v)},
    ),
    "page-instructions-by-cluster": lambda v: ("/console/instructions", {"cluster": _prod(v)}),
    "page-audit": lambda _: ("/console/audit", {}),
    "page-overview": lambda _: ("/console", {}),
}


@pytest.mark.parametrize("name", sorted(LISTINGS))
async def test_listing_filtered_by_victims_ids_shows_none_of_them(
    console_gateway: RunningGateway, intrusion: Intrusion, name: str
) -> None:
    """The listing answers for the intruder's own tenant only: no victim id or cluster name."""
    path, params = LISTINGS[name](intrusion.victim)
    async with console_gateway.client(cookies={"slicewise_session": intrusion.token}) as http:
        response = await http.get(path, params=params, headers=bearer(intrusion.token))
    assert response.status_code == 200
    assert [i for i in intrusion.victim_ids() if i in response.text] == []


@pytest.mark.parametrize("kind", KINDS)
async def test_page_of_a_victims_recommendation_is_404(
    console_gateway: RunningGateway, intrusion: Intrusion, kind: str
) -> None:
    """The victim's recommendation page is a not-found page."""
    rec = intrusion.victim.recommendations[kind]
    async with console_gateway.client(cookies={"slicewise_session": intrusion.token}) as http:
        response = await http.get(f"/console/recommendations/{rec}")
    assert response.status_code == 404


async def test_decision_form_on_a_victims_recommendation_is_404(
    console_gateway: RunningGateway, intrusion: Intrusion
) -> None:
    """Approving the victim's recommendation through the form, with a valid CSRF token, is 404."""
    rec = intrusion.victim.recommendations["gpu"]
    async with console_gateway.client(cookies={"slicewise_session": intrusion.token}) as http:
        response = await http.post(
            f"/console/recommendations/{rec}/decision",
            data={"decision": "approve", "csrf_token": csrf_token(intrusion.token)},
        )
    assert response.status_code == 404


async def test_refused_decisions_leave_the_victims_recommendations_open(
    console_gateway: RunningGateway, intrusion: Intrusion
) -> None:
    """Approve, reject and snooze by the intruder change nothing the victim sees."""
    async with console_gateway.client() as http:
        for kind, verb in (("gpu", "/approve"), ("spot", "/reject"), ("xss", "/snooze")):
            await http.post(
                _rec(intrusion, kind, verb), headers=bearer(intrusion.token), json={"days": 7}
            )
    token = await sign_in(console_gateway, intrusion.victim.users["viewer"], PASSWORD)
    listed = await get_json(console_gateway, "/v1/console/recommendations", token, status="open")
    open_ids = {i["id"] for i in listed.json()["items"]}
    assert open_ids >= {str(intrusion.victim.recommendations[kind]) for kind in KINDS}
