"""Reading and writing Kubernetes objects as plain JSON through lightkube.

Every object is handled as the dict the API server returns, so planning stays pure JSON. Writes
carry the executor's field manager, and library errors become executor errors: 404 is a missing
object, 409 a conflicting change, 429/5xx and transport failures are temporary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.core import resource as lk_resource
from lightkube.generic_resource import Generic, create_global_resource, create_namespaced_resource
from lightkube.resources.apps_v1 import DaemonSet, Deployment, StatefulSet
from lightkube.resources.autoscaling_v2 import (
    HorizontalPodAutoscaler as HorizontalPodAutoscalerV2,
)
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap, Node
from lightkube.resources.policy_v1 import PodDisruptionBudget as PodDisruptionBudgetV1
from lightkube.types import PatchType

from executor.errors import (
    ActionError,
    ConflictError,
    ObjectMissingError,
    TemporaryExecutorError,
)
from executor.planning.merge_patch import JsonObject
from executor.planning.targets import (
    CLUSTER_POLICY,
    CONFIG_MAP,
    HORIZONTAL_POD_AUTOSCALER,
    NODE,
    POD_DISRUPTION_BUDGET,
    SCALED_OBJECT,
    ObjectRef,
    PatchStyle,
)
from protocol.gpu_operator import (
    CLUSTER_POLICY_GROUP,
    CLUSTER_POLICY_KIND,
    CLUSTER_POLICY_PLURAL,
    CLUSTER_POLICY_VERSION,
)
from protocol.snapshot import WorkloadKind

FIELD_MANAGER = "slicewise-executor"

_PATCH_TYPES = {PatchStyle.MERGE: PatchType.MERGE, PatchStyle.STRATEGIC: PatchType.STRATEGIC}


class _EvictionV1beta1(lk_resource.NamespacedSubResource, Generic):  # type: ignore[misc]
    """The pods/eviction subresource with a policy/v1beta1 body (API servers before 1.22)."""

    _api_info = lk_resource.ApiInfo(
        resource=lk_resource.ResourceDef("policy", "v1beta1", "Eviction"),
        parent=lk_resource.ResourceDef("", "v1", "Pod"),
        plural="pods",
        verbs=["post"],
        action="eviction",
    )


class _EvictionV1(lk_resource.NamespacedSubResource, Generic):  # type: ignore[misc]
    """The pods/eviction subresource with a policy/v1 body."""

    _api_info = lk_resource.ApiInfo(
        resource=lk_resource.ResourceDef("policy", "v1", "Eviction"),
        parent=lk_resource.ResourceDef("", "v1", "Pod"),
        plural="pods",
        verbs=["post"],
        action="eviction",
    )


@dataclass(frozen=True)
class PolicyApi:
    """The `policy` group version this API server serves (v1 from 1.21, v1beta1 before)."""

    version: str
    pdb: Any
    eviction: Any

    @property
    def api_version(self) -> str:
        """`policy/<version>`."""
        return f"policy/{self.version}"


POLICY_V1 = PolicyApi("v1", PodDisruptionBudgetV1, _EvictionV1)
POLICY_V1BETA1 = PolicyApi(
    "v1beta1",
    create_namespaced_resource("policy", "v1beta1", "PodDisruptionBudget", "poddisruptionbudgets"),
    _EvictionV1beta1,
)


async def _serves(client: AsyncClient, resource: Any) -> bool:
    """Whether the API server serves `resource` (listing a name no object has in `default`)."""
    probe = client.list(
        resource, namespace="default", fields={"metadata.name": "-slicewise-probe-"}
    )
    try:
        async for _ in probe:
            pass
    except ApiError as e:
        if e.status.code == 404:
            return False
        raise_translated(e)
    except httpx2.TransportError as e:
        raise TemporaryExecutorError(f"API server unreachable: {e}") from e
    return True


async def discover_policy_api(client: AsyncClient) -> PolicyApi:
    """Ask the API server whether it serves policy/v1; fall back to policy/v1beta1."""
    return POLICY_V1 if await _serves(client, PodDisruptionBudgetV1) else POLICY_V1BETA1


@dataclass(frozen=True)
class AutoscalingApi:
    """The `autoscaling` group version served for HPAs (v2 from 1.23, v2beta2 before).

    v2beta2 has the same spec shape for what the executor writes (resource metrics, behavior).
    """

    version: str
    hpa: Any

    @property
    def api_version(self) -> str:
        """`autoscaling/<version>`."""
        return f"autoscaling/{self.version}"


AUTOSCALING_V2 = AutoscalingApi("v2", HorizontalPodAutoscalerV2)
AUTOSCALING_V2BETA2 = AutoscalingApi(
    "v2beta2",
    create_namespaced_resource(
        "autoscaling", "v2beta2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"
    ),
)
SCALED_OBJECT_RESOURCE = create_namespaced_resource(
    "keda.sh", "v1alpha1", "ScaledObject", "scaledobjects"
)
CLUSTER_POLICY_RESOURCE = create_global_resource(
    CLUSTER_POLICY_GROUP, CLUSTER_POLICY_VERSION, CLUSTER_POLICY_KIND, CLUSTER_POLICY_PLURAL
)


async def discover_autoscaling_api(client: AsyncClient) -> AutoscalingApi:
    """Ask the API server whether it serves autoscaling/v2; fall back to v2beta2.

    Without `apply_hpa` the executor may not list HPAs; it then never writes one, so the
    refusal just leaves the default.
    """
    try:
        served = await _serves(client, HorizontalPodAutoscalerV2)
    except ActionError:
        return AUTOSCALING_V2
    return AUTOSCALING_V2 if served else AUTOSCALING_V2BETA2


def raise_translated(error: ApiError) -> NoReturn:
    """Re-raise a lightkube API error as the executor error it means."""
    code = error.status.code or 0
    message = error.status.message or str(error)
    if code == 404:
        raise ObjectMissingError(message) from error
    if code == 409:
        raise ConflictError(message) from error
    if code == 429 or code >= 500:
        raise TemporaryExecutorError(f"API server answered {code}: {message}") from error
    raise ActionError(f"API server refused ({code}): {message}") from error


def as_json(obj: Any) -> JsonObject:
    """A lightkube object (typed model or generic) as a plain dict."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class KubeObjects:
    """Typed-by-kind access to the objects actions touch, as JSON."""

    def __init__(
        self,
        client: AsyncClient,
        policy: PolicyApi,
        autoscaling: AutoscalingApi = AUTOSCALING_V2,
    ) -> None:
        """Use `client` for every call; `policy` and `autoscaling` say which versions to speak."""
        self.client = client
        self.policy = policy
        self.autoscaling = autoscaling
        self._kinds: dict[str, Any] = {
            WorkloadKind.DEPLOYMENT.value: Deployment,
            WorkloadKind.STATEFUL_SET.value: StatefulSet,
            WorkloadKind.DAEMON_SET.value: DaemonSet,
            WorkloadKind.JOB.value: Job,
            NODE: Node,
            CONFIG_MAP: ConfigMap,
            POD_DISRUPTION_BUDGET: policy.pdb,
            HORIZONTAL_POD_AUTOSCALER: autoscaling.hpa,
            SCALED_OBJECT: SCALED_OBJECT_RESOURCE,
            CLUSTER_POLICY: CLUSTER_POLICY_RESOURCE,
        }

    def resource(self, kind: str) -> Any:
        """The lightkube resource class for a kind."""
        try:
            return self._kinds[kind]
        except KeyError:
            raise ActionError(f"the executor does not handle kind {kind!r}") from None

    async def read(self, ref: ObjectRef) -> JsonObject | None:
        """The live object, or None if it does not exist."""
        try:
            obj = await _call(
                self.client.get, self.resource(ref.kind), ref.name, namespace=ref.namespace
            )
        except ObjectMissingError:
            return None
        return as_json(obj)

    async def patch(
        self, ref: ObjectRef, patch: JsonObject, style: PatchStyle, *, dry_run: bool = False
    ) -> JsonObject:
        """Patch the object; returns it as the server stored (or, dry-run, would store) it."""
        obj = await _call(
            self.client.patch,
            self.resource(ref.kind),
            ref.name,
            patch,
            namespace=ref.namespace,
            patch_type=_PATCH_TYPES[style],
            field_manager=FIELD_MANAGER,
            dry_run=dry_run,
        )
        return as_json(obj)

    async def create(
        self, ref: ObjectRef, body: JsonObject, *, dry_run: bool = False
    ) -> JsonObject:
        """Create the object from `body` (apiVersion filled in for the served version)."""
        resource = self.resource(ref.kind)
        if ref.kind == POD_DISRUPTION_BUDGET:
            body = {**body, "apiVersion": self.policy.api_version}
        if ref.kind == HORIZONTAL_POD_AUTOSCALER:
            body = {**body, "apiVersion": self.autoscaling.api_version}
        obj = await _call(
            self.client.create,
            resource.from_dict(body),
            namespace=ref.namespace,
            field_manager=FIELD_MANAGER,
            dry_run=dry_run,
        )
        return as_json(obj)

    async def list_all(self, kind: str) -> list[JsonObject]:
        """Every object of `kind`, in every namespace."""
        try:
            listed = self.client.list(self.resource(kind), namespace="*")
            return [as_json(obj) async for obj in listed]
        except ApiError as e:
            raise_translated(e)
        except httpx2.TransportError as e:
            raise TemporaryExecutorError(f"API server unreachable: {e}") from e

    async def delete(self, ref: ObjectRef) -> None:
        """Delete the object; an object already gone is fine."""
        try:
            await _call(
                self.client.delete, self.resource(ref.kind), ref.name, namespace=ref.namespace
            )
        except ObjectMissingError:
            return


async def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await a lightkube call, translating its errors."""
    try:
        return await method(*args, **kwargs)
    except ApiError as e:
        raise_translated(e)
    except httpx2.TransportError as e:
        raise TemporaryExecutorError(f"API server unreachable: {e}") from e
