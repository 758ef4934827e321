"""The Kubernetes API client: from a kubeconfig file, or the pod's service account."""

from __future__ import annotations

import httpx2
from lightkube import AsyncClient, KubeConfig
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ConfigError

from agent.errors import PermanentError, TemporaryError
from agent.settings import AgentSettings

VERSION_MAX_LENGTH = 64
"""`ClusterInfo.kubernetes_version` holds at most this much."""


def kube_config(settings: AgentSettings) -> SingleConfig:
    """The cluster, user and namespace the agent talks to the API server with."""
    source = str(settings.kubeconfig or "the pod's service account")
    try:
        if settings.kubeconfig is not None:
            config = KubeConfig.from_file(settings.kubeconfig).get()
        else:
            config = KubeConfig.from_service_account().get()
    except ConfigError as e:
        raise PermanentError(f"cannot use {source}: {e}") from e
    if config is None:
        raise PermanentError(f"cannot use {source}: it names no context")
    return config


def kube_client(settings: AgentSettings) -> AsyncClient:
    """A lightkube `AsyncClient` for the configured cluster; the caller closes it."""
    return AsyncClient(kube_config(settings), timeout=httpx2.Timeout(settings.http_timeout_seconds))


async def server_version(settings: AgentSettings) -> str:
    """The API server's `gitVersion` (`GET /version`, which every authenticated user may read).

    lightkube has no call for it, so it is read with an HTTP client built from the same config.
    Raises TemporaryError when the server cannot be asked or does not say.
    """
    params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(settings.http_timeout_seconds))
    try:
        async with client_adapter.AsyncClient(kube_config(settings), params) as http:
            response = await http.get("/version")
            response.raise_for_status()
            version = response.json().get("gitVersion")
    except (httpx2.HTTPError, ValueError, AttributeError) as e:
        raise TemporaryError(f"Kubernetes version not readable ({type(e).__name__})") from e
    if not isinstance(version, str) or not version:
        raise TemporaryError("Kubernetes version not readable (no gitVersion in /version)")
    return version[:VERSION_MAX_LENGTH]
