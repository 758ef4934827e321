"""The agent's read-only GPU Operator discovery against a kube-apiserver without the operator."""

from __future__ import annotations

import pytest
from lightkube import AsyncClient

from agent.gpu_operator import read_gpu_operator

pytestmark = pytest.mark.kube


async def test_a_server_without_the_cluster_policy_kind_reports_no_operator(
    admin: AsyncClient,
) -> None:
    """nvidia.com/v1 not served (a plain-text 404): no operator state and no note."""
    assert await read_gpu_operator(admin) == (None, [])
