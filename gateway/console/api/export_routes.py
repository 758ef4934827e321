"""Console API exports of a recommendation for GitOps: Kustomize overlay or plain YAML patches."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.console.api.auth import Reader
from gateway.console.api.schemas import ExportOut
from gateway.console.detail import RecommendationView, load_recommendation
from gateway.console.export import (
    ExportBundle,
    ExportUnavailableError,
    kustomize_overlay,
    overlay_zip,
    plain_patches,
)
from gateway.deps import WiringDep
from gateway.problems import Problem

router = APIRouter(prefix="/v1/console/recommendations", tags=["console"])

Base = Annotated[str, Query(max_length=200, pattern=r"^[A-Za-z0-9._/-]+$")]


async def _view(
    wiring: WiringDep, tenant_id: uuid.UUID, recommendation_id: uuid.UUID
) -> RecommendationView:
    async with wiring.database.tenant(tenant_id) as session:
        view = await load_recommendation(session, tenant_id, recommendation_id, now=wiring.clock())
    if view.preview is None:
        raise Problem(422, "unapplicable", "Recommendation cannot be exported")
    return view


def _stem(recommendation_id: uuid.UUID) -> str:
    return f"slicewise-{str(recommendation_id)[:8]}"


def _overlay(view: RecommendationView, base: str) -> ExportBundle:
    if view.preview is None:  # pragma: no cover - _view refused it already
        raise Problem(422, "unapplicable", "Recommendation cannot be exported")
    try:
        return kustomize_overlay(
            view.preview,
            recommendation_id=view.detail.summary.id,
            title=view.detail.summary.title,
            base=base,
        )
    except ExportUnavailableError as e:
        raise Problem(409, "not-exportable", "Nothing to export for GitOps", str(e)) from e


@router.get("/{recommendation_id}/export/kustomize", response_model=ExportOut)
async def export_kustomize(
    recommendation_id: uuid.UUID, principal: Reader, wiring: WiringDep, base: Base = "../base"
) -> ExportOut:
    """A Kustomize overlay (kustomization.yaml + strategic-merge patches) over `base`."""
    view = await _view(wiring, principal.tenant_id, recommendation_id)
    bundle = _overlay(view, base)
    return ExportOut(files=bundle.files, skipped=bundle.skipped)


@router.get(
    "/{recommendation_id}/export/kustomize.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export_kustomize_zip(
    recommendation_id: uuid.UUID, principal: Reader, wiring: WiringDep, base: Base = "../base"
) -> Response:
    """The Kustomize overlay as a zip archive."""
    view = await _view(wiring, principal.tenant_id, recommendation_id)
    directory = _stem(recommendation_id)
    archive = overlay_zip(_overlay(view, base), directory=directory)
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{directory}.zip"'},
    )


@router.get(
    "/{recommendation_id}/export/patch.yaml",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}},
)
async def export_patch(
    recommendation_id: uuid.UUID, principal: Reader, wiring: WiringDep
) -> Response:
    """The change as plain strategic-merge patches (one YAML document per object)."""
    view = await _view(wiring, principal.tenant_id, recommendation_id)
    if view.preview is None:  # pragma: no cover - _view refused it already
        raise Problem(422, "unapplicable", "Recommendation cannot be exported")
    try:
        text = plain_patches(
            view.preview, recommendation_id=recommendation_id, title=view.detail.summary.title
        )
    except ExportUnavailableError as e:
        raise Problem(409, "not-exportable", "Nothing to export for GitOps", str(e)) from e
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{_stem(recommendation_id)}.yaml"'},
    )
