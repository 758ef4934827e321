"""Fixtures for executor tests against a real kube-apiserver (devstack/kube/).

The executor acts with a minted identity that holds exactly the RBAC rules its chart grants, so
a missing permission fails here rather than in a customer's cluster. Test setup acts as admin.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from lightkube import AsyncClient

from auth.instruction_signing import (
    InstructionKeyring,
    InstructionSigningKey,
    generate_signing_key,
    instruction_body_for,
)
from devstack.kube import KubeApiServer, KubeIdentity, running_kube_apiserver
from executor.audit import AuditTrail
from executor.drain import Backoff
from executor.execution import InstructionExecutor, VerificationWindow, utc_now
from executor.gateway_client import GatewayClient, TokenSource
from executor.kube.api import (
    AutoscalingApi,
    KubeObjects,
    PolicyApi,
    discover_autoscaling_api,
    discover_policy_api,
)
from executor.readiness import PodHealthCheck, ReadinessCheck
from executor.runner import Runner
from executor.settings import Mode
from executor.state import ExecutorState
from executor.verification import VerificationPolicy, load_trusted_keys
from protocol.changes import Action, ActionType, ChangeSet
from protocol.instruction import Approval, Instruction
from tests.integration.executor.cluster_objects import make_namespace
from tests.integration.executor.gateway_stand_in import (
    Credentials,
    GatewayStandIn,
    MemoryBackend,
)

EXECUTOR_RULES: list[dict[str, list[str]]] = [
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets", "daemonsets"],
        "verbs": ["get", "patch"],
    },
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "patch"]},
    {
        "apiGroups": ["policy"],
        "resources": ["poddisruptionbudgets"],
        "verbs": ["get", "list", "create", "patch", "delete"],
    },
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": ["get", "list", "create", "patch", "delete"],
    },
    {
        "apiGroups": ["keda.sh"],
        "resources": ["scaledobjects"],
        "verbs": ["get", "create", "patch", "delete"],
    },
]
"""What the executor's ClusterRole must grant (and all it needs)."""

FAST_BACKOFF = Backoff(initial_seconds=0.05, max_seconds=0.4)
SHORT_WINDOW = VerificationWindow(seconds=0.3, poll_seconds=0.1)


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[KubeApiServer]:
    """One etcd + kube-apiserver for the executor tests of this session."""
    with running_kube_apiserver() as server:
        yield server


@pytest.fixture(scope="session")
def executor_identity(kube_apiserver: KubeApiServer) -> KubeIdentity:
    """A user holding exactly the executor's RBAC rules."""
    return kube_apiserver.mint_identity(EXECUTOR_RULES, name="slicewise-executor-test")


@pytest.fixture
async def admin(kube_apiserver: KubeApiServer) -> AsyncIterator[AsyncClient]:
    """An admin client for test setup, closed afterwards."""
    client = kube_apiserver.admin_async_client()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def kube_client(executor_identity: KubeIdentity) -> AsyncIterator[AsyncClient]:
    """The executor's own client (its RBAC identity), closed afterwards."""
    client = executor_identity.async_client()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def policy_api(kube_client: AsyncClient) -> PolicyApi:
    """The policy group version the API server serves, as the executor discovers it."""
    return await discover_policy_api(kube_client)


@pytest.fixture
def kube(kube_client: AsyncClient, policy_api: PolicyApi) -> KubeObjects:
    """Object access as the executor."""
    return KubeObjects(kube_client, policy_api)


@pytest.fixture
async def autoscaling_api(kube_client: AsyncClient) -> AutoscalingApi:
    """The autoscaling group version the API server serves, as the executor discovers it."""
    return await discover_autoscaling_api(kube_client)


@pytest.fixture
def autoscaling_kube(
    kube_client: AsyncClient, policy_api: PolicyApi, autoscaling_api: AutoscalingApi
) -> KubeObjects:
    """Object access as the executor, speaking the served autoscaling version."""
    return KubeObjects(kube_client, policy_api, autoscaling_api)


@pytest.fixture
async def namespace(admin: AsyncClient) -> str:
    """A namespace of this test's own."""
    return await make_namespace(admin)


@pytest.fixture(scope="session")
def signing_key() -> InstructionSigningKey:
    """The SaaS signing key of the session."""
    return generate_signing_key()


@dataclass(frozen=True)
class Saas:
    """The SaaS side of a test: its tenant, the executor's cluster, and its signing keyring."""

    tenant_id: uuid.UUID
    cluster_id: uuid.UUID
    keyring: InstructionKeyring

    def instruction(
        self,
        actions: Sequence[Action],
        *,
        cluster_id: uuid.UUID | None = None,
        ttl_seconds: float = 600,
        issued_at: datetime | None = None,
        approval: Approval = Approval.HUMAN,
    ) -> Instruction:
        """A signed instruction for the executor's cluster (or another)."""
        body = instruction_body_for(
            ChangeSet(actions=list(actions)),
            tenant_id=self.tenant_id,
            cluster_id=cluster_id or self.cluster_id,
            issued_at=issued_at or utc_now(),
            ttl=timedelta(seconds=ttl_seconds),
        ).model_copy(update={"approval": approval})
        return self.keyring.sign(body)

    def policy(
        self,
        allowed: Sequence[ActionType] = tuple(ActionType),
        *,
        mode: Mode = Mode.APPROVE_EACH,
        auto: Sequence[ActionType] = (),
    ) -> VerificationPolicy:
        """The executor's verification policy trusting this SaaS, in `mode`."""
        return VerificationPolicy(
            trusted_keys=load_trusted_keys(self.keyring.trusted_public_keys()),
            cluster_id=self.cluster_id,
            allowed_action_types=frozenset(allowed),
            tenant_id=self.tenant_id,
            mode=mode,
            auto_action_types=frozenset(auto),
        )


@pytest.fixture
def saas(signing_key: InstructionSigningKey) -> Saas:
    """A tenant and cluster of their own, signed for with the session key."""
    return Saas(uuid.uuid4(), uuid.uuid4(), InstructionKeyring(signing_key))


def make_executor(
    kube: KubeObjects,
    checks: Sequence[ReadinessCheck] | None = None,
    window: VerificationWindow = SHORT_WINDOW,
) -> InstructionExecutor:
    """An executor with short windows and backoff, checking pods only by default."""
    return InstructionExecutor(
        kube,
        [PodHealthCheck()] if checks is None else checks,
        window=window,
        backoff=FAST_BACKOFF,
    )


@dataclass
class ExecutorRig:
    """A runner wired to a gateway stand-in, with its state directory."""

    runner: Runner
    gateway: GatewayStandIn
    backend: MemoryBackend
    state_dir: Path

    def restarted(self, kube: KubeObjects, http: httpx.AsyncClient) -> Runner:
        """A new runner on the same state directory, as after a process restart."""
        return build_runner(
            kube,
            http,
            self.gateway,
            policy=self.runner.policy,
            state_dir=self.state_dir,
        )


def build_runner(
    kube: KubeObjects,
    http: httpx.AsyncClient,
    gateway: GatewayStandIn,
    *,
    policy: VerificationPolicy,
    state_dir: Path,
) -> Runner:
    """A runner talking to `gateway` over HTTP with the stand-in's credentials (and mode)."""
    creds = gateway.credentials
    tokens = TokenSource(http, f"{gateway.url}/oauth/token", creds.client_id, creds.client_secret)
    return Runner(
        gateway=GatewayClient(http, gateway.url, policy.cluster_id, tokens),
        executor=make_executor(kube),
        policy=policy,
        state=ExecutorState.load(state_dir),
        audit=AuditTrail(state_dir, utc_now),
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The executor's HTTP client to the gateway."""
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
async def rig(
    kube: KubeObjects, http: httpx.AsyncClient, saas: Saas, tmp_path: Path
) -> AsyncIterator[ExecutorRig]:
    """A runner (approve-each, every action type) against an in-memory gateway stand-in."""
    backend = MemoryBackend()
    stand_in = GatewayStandIn(
        backend, Credentials("executor-1", "executor-secret", saas.cluster_id)
    )
    async with stand_in.serving():
        runner = build_runner(kube, http, stand_in, policy=saas.policy(), state_dir=tmp_path)
        yield ExecutorRig(runner, stand_in, backend, tmp_path)
