"""Problem documents (RFC 7807) and the offending fields they name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.problems import Problem, validation_problem
from protocol.spot import SpotNotice


def test_document_has_type_title_status_detail() -> None:
    """Only the members that were given appear."""
    problem = Problem(429, "rate-limited", "Too many requests", "slow down")
    assert problem.document() == {
        "type": "urn:slicewise:problem:rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": "slow down",
    }


def test_validation_problem_names_every_offending_field() -> None:
    """Dotted paths of each error; a JSON syntax error is named `body`."""
    with pytest.raises(ValidationError) as fields:
        SpotNotice.model_validate_json(b'{"notice_id": "x", "provider": "moon"}', strict=True)
    with pytest.raises(ValidationError) as syntax:
        SpotNotice.model_validate_json(b"{", strict=True)
    names = {p.name for p in validation_problem(fields.value).invalid_params or []}
    assert {"notice_id", "provider", "cluster_id", "kind", "node_name", "detected_at"} <= names
    assert [p.name for p in validation_problem(syntax.value).invalid_params or []] == ["body"]
    assert validation_problem(syntax.value).status == 422
