"""The Kubernetes API client: from a kubeconfig file, or the pod's service account."""

from __future__ import annotations

import httpx2
from lightkube import AsyncClient, KubeConfig

from agent.settings import AgentSettings


def kube_client(settings: AgentSettings) -> AsyncClient:
    """A lightkube `AsyncClient` for the configured cluster; the caller closes it."""
    if settings.kubeconfig is not None:
        config = KubeConfig.from_file(settings.kubeconfig)
    else:
        config = KubeConfig.from_service_account()
    return AsyncClient(config, timeout=httpx2.Timeout(settings.http_timeout_seconds))
