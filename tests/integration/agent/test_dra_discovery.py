"""The agent's read-only DRA discovery against a real kube-apiserver.

The local kube-apiserver (1.20) serves no `resource.k8s.io`; to see the served case, a
CustomResourceDefinition serves `resource.k8s.io/v1` DeviceClasses the way a 1.34 server lists
them (the list is all the agent reads).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import create_global_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from agent.dra import read_dra

pytestmark = pytest.mark.kube

CRD_NAME = "deviceclasses.resource.k8s.io"
DEVICE_CLASS = create_global_resource("resource.k8s.io", "v1", "DeviceClass", "deviceclasses")
WAIT_SECONDS = 30.0


def _crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": CRD_NAME,
            # A *.k8s.io group needs this annotation to be served by a CRD.
            "annotations": {"api-approved.kubernetes.io": "unapproved, local test only"},
        },
        "spec": {
            "group": "resource.k8s.io",
            "scope": "Cluster",
            "names": {"plural": "deviceclasses", "singular": "deviceclass", "kind": "DeviceClass"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


async def _gone(admin: AsyncClient) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        try:
            await admin.get(CustomResourceDefinition, CRD_NAME)
        except ApiError as error:
            if error.status.code == 404:
                return
            raise
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the DeviceClass CRD was not removed")
        await asyncio.sleep(0.2)


@pytest.fixture
async def device_classes(admin: AsyncClient) -> AsyncIterator[None]:
    """`resource.k8s.io/v1` DeviceClasses served, with NVIDIA's two classes, for one test."""
    crd = cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(_crd()))
    await admin.create(crd)
    await admin.wait(CustomResourceDefinition, CRD_NAME, for_conditions=["Established"])
    try:
        for name in ("gpu.nvidia.com", "mig.nvidia.com"):
            await admin.create(DEVICE_CLASS.from_dict({"metadata": {"name": name}, "spec": {}}))
        yield
    finally:
        await admin.delete(CustomResourceDefinition, CRD_NAME)
        await _gone(admin)


async def test_a_server_without_the_dra_api_reports_no_dra(admin: AsyncClient) -> None:
    """resource.k8s.io/v1 not served: no DRA state and no note."""
    assert await read_dra(admin) == (None, [])


@pytest.mark.usefixtures("device_classes")
async def test_served_device_classes_are_reported_by_name(admin: AsyncClient) -> None:
    """NVIDIA's two DeviceClasses are read, and the state says the driver is there."""
    dra, notes = await read_dra(admin)
    assert notes == []
    assert dra is not None
    assert dra.device_classes == ["gpu.nvidia.com", "mig.nvidia.com"]
    assert dra.nvidia
