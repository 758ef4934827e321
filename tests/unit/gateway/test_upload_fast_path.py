"""Which requests the upload fast path serves, and how it reads their path and token."""

from __future__ import annotations

import uuid

import pytest
from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.types import Scope

from gateway.deps import authenticated, get_wiring
from gateway.routes.ingest import UPLOAD_SCOPES, upload_routes
from gateway.upload_fast_path import bearer_token, canonical_uuid, served_upload

_CLUSTER = uuid.UUID("0b6c1f0e-8d1e-4c57-9a43-5a7c1e2d9f10")


def _scope(
    path: str = f"/v1/clusters/{_CLUSTER}/deltas",
    *,
    method: str = "POST",
    authorization: str | None = "Bearer token-1",
    root_path: str = "",
) -> Scope:
    headers = [(b"content-type", b"application/json")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode("latin-1")))
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": root_path,
        "headers": headers,
        "query_string": b"",
    }


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer abc", "bearer abc", "BEARER  abc ", "Bearer", "Bearer ", "Basic abc", "abc"],
)
async def test_bearer_token_is_read_as_fastapi_reads_it(authorization: str | None) -> None:
    """For each header value, the token is the one FastAPI's HTTPBearer (no auto error) reads."""
    credentials = await HTTPBearer(auto_error=False)(Request(_scope(authorization=authorization)))
    expected = credentials.credentials if credentials is not None else None
    assert bearer_token(authorization) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (str(_CLUSTER), _CLUSTER),
        (str(_CLUSTER).upper(), _CLUSTER),
        (_CLUSTER.hex, None),
        ("{" + str(_CLUSTER) + "}", None),
        (_CLUSTER.urn, None),
        (_CLUSTER.hex[:8] + "----" + _CLUSTER.hex[8:], None),
        ("not-a-uuid", None),
    ],
)
def test_only_the_canonical_uuid_spelling_is_parsed(text: str, expected: uuid.UUID | None) -> None:
    """The 8-4-4-4-12 form (either case) is read; other spellings are left to the app."""
    assert canonical_uuid(text) == expected


@pytest.mark.parametrize("upload", ["snapshots", "deltas", "spot-notices"])
def test_uploads_of_the_common_shape_are_served(upload: str) -> None:
    """A bearer POST on each upload route is served, with its route, cluster and token."""
    served = served_upload(_scope(f"/v1/clusters/{_CLUSTER}/{upload}"), upload_routes())
    assert served is not None
    assert (served.route.path, served.cluster_id, served.token) == (
        f"/v1/clusters/{{cluster_id}}/{upload}",
        _CLUSTER,
        "token-1",
    )


@pytest.mark.parametrize(
    "scope",
    [
        _scope(method="GET"),
        _scope(authorization=None),
        _scope(authorization="Basic abc"),
        _scope(f"/v1/clusters/{_CLUSTER.hex}/deltas"),
        _scope(f"/v1/clusters/{_CLUSTER}/deltas/"),
        _scope(f"/v1/clusters/{_CLUSTER}/instructions"),
        _scope("/v1/clusters/deltas"),
        _scope(root_path="/api"),
        {**_scope(), "type": "websocket"},
    ],
    ids=[
        "other-method",
        "no-authorization",
        "other-scheme",
        "hyphenless-cluster",
        "trailing-slash",
        "other-route",
        "no-cluster",
        "root-path",
        "websocket",
    ],
)
def test_requests_of_other_shapes_are_left_to_the_app(scope: Scope) -> None:
    """Another method, scheme, path spelling or route, or a mounted app: not served."""
    assert served_upload(scope, upload_routes()) is None


def test_the_fast_path_checks_the_scopes_the_upload_routes_declare() -> None:
    """Each upload route's authentication dependency asks for exactly UPLOAD_SCOPES."""
    declared = {
        path: frozenset(dependency.own_oauth_scopes or ())
        for path, route in upload_routes().items()
        for dependency in route.dependant.dependencies
        if dependency.call is authenticated
    }
    assert declared == dict.fromkeys(("snapshots", "deltas", "spot-notices"), UPLOAD_SCOPES)


def test_the_upload_routes_depend_on_nothing_the_fast_path_skips() -> None:
    """The fast path resolves only the caller and the wiring and passes the path's cluster and
    the request: a route that gained another dependency or parameter would go unchecked there."""
    for path, route in upload_routes().items():
        dependant = route.dependant
        assert [d.call for d in dependant.dependencies] == [authenticated, get_wiring], path
        assert [p.name for p in dependant.path_params] == ["cluster_id"], path
        others = (dependant.query_params, dependant.body_params, dependant.header_params)
        assert others == ([], [], []), path
        assert dependant.cookie_params == [], path
        assert dependant.request_param_name == "request", path
        assert route.dependencies == [], path
