"""The OpenAPI document describes the ingest and token bodies the routes read themselves."""

from __future__ import annotations

from gateway.app import create_app
from gateway.settings import GatewaySettings


def _document() -> dict[str, object]:
    settings = GatewaySettings.model_validate({"key_encryption_key": "A" * 43 + "="})
    app = create_app(settings)
    document: dict[str, object] = app.openapi()
    return document


def test_snapshot_body_references_the_wire_schema() -> None:
    """The ingest operation's body is the ClusterSnapshot schema, present in components."""
    document = _document()
    operation = document["paths"]["/v1/clusters/{cluster_id}/snapshots"]["post"]  # type: ignore[index]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    components = document["components"]["schemas"]  # type: ignore[index]
    assert schema == {"$ref": "#/components/schemas/ClusterSnapshot"}
    assert {"ClusterSnapshot", "Node", "Pod", "SpotNotice"} <= set(components)
    assert operation["security"] == [{"HTTPBearer": ["ingest"]}]


def test_token_body_is_a_form() -> None:
    """The token endpoint documents an x-www-form-urlencoded body with grant_type required."""
    operation = _document()["paths"]["/oauth/token"]["post"]  # type: ignore[index]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["grant_type"]
    assert form["properties"]["grant_type"]["enum"] == ["client_credentials"]
