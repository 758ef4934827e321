"""Apply a chart's accounts and roles to a real kube-apiserver, then act as those accounts.

Acting as a ServiceAccount uses impersonation: the admin's token with ``Impersonate-User:
system:serviceaccount:NS:NAME`` and the groups the apiserver gives every ServiceAccount, so RBAC
decides exactly as it would for the account's own token.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from lightkube import ApiError, Client, codecs
from lightkube.models.authorization_v1 import ResourceAttributes, SubjectAccessReviewSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.core_v1 import Namespace

from devstack.kube import KubeApiServer

RBAC_KINDS = frozenset(
    {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
)
# The authorizer reads RBAC objects from an informer cache, so new bindings apply a moment later.
RBAC_PROPAGATION_TIMEOUT = 15.0


@dataclass(frozen=True)
class Account:
    """A ServiceAccount by namespace and name."""

    namespace: str
    name: str

    @property
    def user(self) -> str:
        """The user name the apiserver gives the account."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups every token of the account carries."""
        return (
            "system:serviceaccounts",
            f"system:serviceaccounts:{self.namespace}",
            "system:authenticated",
        )


def rbac_manifests(manifests: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ServiceAccounts, roles and bindings among rendered manifests."""
    return [dict(m) for m in manifests if m["kind"] in RBAC_KINDS]


def ensure_namespace(client: Client, name: str) -> None:
    """Create a namespace unless it exists."""
    try:
        client.create(Namespace(metadata=ObjectMeta(name=name)))
    except ApiError as exc:
        if exc.status.code != 409:
            raise


@contextlib.contextmanager
def applied(client: Client, manifests: Iterable[Mapping[str, Any]]) -> Iterator[None]:
    """Create the manifests (their namespaces first) and delete them again afterwards."""
    resources = [codecs.from_dict(dict(m)) for m in manifests]
    for manifest in manifests:
        namespace = manifest["metadata"].get("namespace")
        if namespace:
            ensure_namespace(client, namespace)
    created = []
    try:
        # One at a time, so that a failure part-way still deletes what was created.
        for resource in resources:
            created.append(client.create(resource))  # noqa: PERF401
        yield
    finally:
        for resource in reversed(created):
            metadata = resource.metadata
            assert metadata is not None
            assert metadata.name is not None
            # lightkube types delete() per resource class; these come from dicts at run time.
            kind: Any = type(resource)
            with contextlib.suppress(ApiError):
                client.delete(kind, metadata.name, namespace=metadata.namespace)


def wait_until_allowed(
    client: Client, account: Account, group: str, resource: str, verb: str
) -> None:
    """Block until RBAC lets ``account`` do ``verb`` on ``resource`` (the binding has landed)."""
    spec = SubjectAccessReviewSpec(
        user=account.user,
        groups=list(account.groups),
        resourceAttributes=ResourceAttributes(group=group, resource=resource, verb=verb),
    )
    deadline = time.monotonic() + RBAC_PROPAGATION_TIMEOUT
    while True:
        status = client.create(SubjectAccessReview(spec=spec)).status
        if status is not None and status.allowed:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"RBAC never allowed {account.user} to {verb} {resource}")
        time.sleep(0.05)


@contextlib.contextmanager
def acting_as(server: KubeApiServer, account: Account) -> Iterator[httpx.Client]:
    """An HTTP client whose every request the apiserver authorizes as ``account``."""
    headers = [
        ("Authorization", f"Bearer {server.admin_token}"),
        ("Impersonate-User", account.user),
        *(("Impersonate-Group", group) for group in account.groups),
    ]
    context = ssl.create_default_context(cafile=str(server.ca_path))
    # trust_env=False: a proxy from the environment must never see loopback test traffic.
    with httpx.Client(
        base_url=server.server_url, headers=headers, verify=context, trust_env=False, timeout=10.0
    ) as http:
        yield http


def watch_status(http: httpx.Client, path: str) -> int:
    """Open a watch on a collection and return the status it was answered with."""
    with http.stream("GET", path, params={"watch": "true", "timeoutSeconds": "5"}) as response:
        return response.status_code
