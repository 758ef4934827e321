"""OpenAPI for operations that read their body themselves (streamed, limited, maybe gzip)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_REF = "#/components/schemas/{model}"


def json_body(model: type[BaseModel], *, gzip: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a required JSON body of `model`."""
    description = "JSON body; may be sent with `Content-Encoding: gzip`." if gzip else None
    body: dict[str, Any] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }
    if description:
        body["description"] = description
    return {"requestBody": body}


def form_body(fields: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    """`openapi_extra` documenting an `application/x-www-form-urlencoded` body."""
    schema = {"type": "object", "properties": fields, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def install_openapi(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Generate the document with the JSON Schemas of `models` in its components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            schema = model.model_json_schema(ref_template=_REF, mode="validation")
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas[model.__name__] = schema
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented customisation
