"""Identities of the local API server: what a kubeconfig holds, and RBAC review of a new role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from lightkube import AsyncClient, Client, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.models.authorization_v1 import (
    NonResourceAttributes,
    ResourceAttributes,
    SubjectAccessReviewSpec,
)
from lightkube.models.rbac_v1 import PolicyRule

from devstack.kube.credentials import POOL_GROUP

RuleLike = PolicyRule | Mapping[str, Any]


@dataclass(frozen=True)
class KubeIdentity:
    """Credentials of one user of the local API server: everything a kubeconfig would hold."""

    user: str
    token: str
    server_url: str
    ca_path: Path

    def kubeconfig(self, namespace: str | None = None) -> KubeConfig:
        """Return a lightkube ``KubeConfig`` that authenticates as this identity."""
        return KubeConfig.from_one(
            cluster=Cluster(server=self.server_url, certificate_auth=str(self.ca_path)),
            user=User(token=self.token),
            namespace=namespace,
        )

    def kubeconfig_dict(self, namespace: str | None = None) -> dict[str, Any]:
        """Return the identity as a kubeconfig document (what ``kubectl`` would read)."""
        context: dict[str, Any] = {"cluster": "slicewise-test", "user": self.user}
        if namespace is not None:
            context["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "slicewise-test",
                    "cluster": {
                        "server": self.server_url,
                        "certificate-authority": str(self.ca_path),
                    },
                }
            ],
            "users": [{"name": self.user, "user": {"token": self.token}}],
            "contexts": [{"name": "slicewise-test", "context": context}],
            "current-context": "slicewise-test",
        }

    def client(self, namespace: str | None = None, timeout: float = 10.0) -> Client:
        """Return a lightkube ``Client`` for this identity; the caller closes it."""
        # trust_env=False: a proxy from the environment must never see loopback traffic.
        return Client(
            self.kubeconfig(namespace),
            timeout=httpx_timeout(timeout),
            trust_env=False,
        )

    def async_client(self, namespace: str | None = None, timeout: float = 10.0) -> AsyncClient:
        """Return a lightkube ``AsyncClient`` for this identity; the caller closes it."""
        return AsyncClient(
            self.kubeconfig(namespace),
            timeout=httpx_timeout(timeout),
            trust_env=False,
        )


def httpx_timeout(seconds: float) -> httpx2.Timeout:
    """Return the timeout object lightkube's HTTP layer expects (it uses the httpx2 fork)."""
    return httpx2.Timeout(seconds)


def review_spec(user: str, rule: PolicyRule) -> SubjectAccessReviewSpec:
    """A SubjectAccessReview spec asking whether ``user`` may do what ``rule`` grants first."""
    verb = rule.verbs[0] if rule.verbs else "get"
    if rule.nonResourceURLs:
        return SubjectAccessReviewSpec(
            user=user,
            groups=[POOL_GROUP],
            nonResourceAttributes=NonResourceAttributes(
                path=rule.nonResourceURLs[0].rstrip("*"), verb=verb
            ),
        )
    return SubjectAccessReviewSpec(
        user=user,
        groups=[POOL_GROUP],
        resourceAttributes=ResourceAttributes(
            group=(rule.apiGroups or [""])[0].replace("*", ""),
            resource=(rule.resources or ["*"])[0],
            name=rule.resourceNames[0] if rule.resourceNames else None,
            verb=verb,
        ),
    )
