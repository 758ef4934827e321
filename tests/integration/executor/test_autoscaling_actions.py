"""HPA and KEDA ScaledObject changes applied by the executor to a real API server, and undone."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest
from lightkube import ApiError, AsyncClient
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from devstack.keda import scaled_object_crd
from executor.execution import InstructionExecutor
from executor.kube.api import (
    SCALED_OBJECT_RESOURCE,
    AutoscalingApi,
    KubeObjects,
    as_json,
)
from protocol.autoscaling import (
    CronTrigger,
    HpaSpec,
    ResourceUtilisationTarget,
    ScaledObjectSpec,
)
from protocol.changes import (
    ApplyHpa,
    ApplyScaledObject,
    ContainerResources,
    PatchResources,
    WorkloadRef,
)
from protocol.instruction import Outcome
from protocol.min_replicas_schedule import MIN_REPLICAS_SCHEDULE_ANNOTATION
from protocol.resources import Resources
from protocol.snapshot import WorkloadKind
from recommender.autoscaling.change_sets import autoscaling_change_set
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.gpu_scaling import DEFAULT_PROMETHEUS_ADDRESS, gpu_trigger
from recommender.autoscaling.plan import plan_autoscaling
from recommender.autoscaling.policy import ScalingPolicy
from tests.integration.executor.cluster_objects import make_pod, make_workload
from tests.integration.executor.conftest import Saas, make_executor

pytestmark = pytest.mark.kube

SPEC = HpaSpec(
    min_replicas=2,
    max_replicas=10,
    metrics=[ResourceUtilisationTarget(resource="cpu", average_utilisation=80)],
    scale_down_stabilisation_seconds=900,
)


@pytest.fixture
async def keda_crd(admin: AsyncClient) -> None:
    """The ScaledObject CRD, from the schema written from KEDA's documentation."""
    # lightkube types from_dict as returning its base mixin.
    crd = cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(scaled_object_crd()))
    try:
        await admin.create(crd)
    except ApiError as e:
        if e.status.code != 409:
            raise
    await admin.wait(
        CustomResourceDefinition, "scaledobjects.keda.sh", for_conditions=["Established"]
    )


def _ref(workload: dict[str, Any]) -> WorkloadRef:
    metadata = workload["metadata"]
    return WorkloadRef(
        kind=WorkloadKind.DEPLOYMENT, namespace=metadata["namespace"], name=metadata["name"]
    )


async def _live_hpa(admin: AsyncClient, api: AutoscalingApi, namespace: str) -> dict[str, Any]:
    return as_json(await admin.get(api.hpa, "serve", namespace=namespace))


async def _with_hpa(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> tuple[dict[str, Any], InstructionExecutor, ApplyHpa]:
    """A Deployment on which the executor has created the HPA of `SPEC`."""
    workload = await make_workload(admin, namespace)
    executor = make_executor(kube)
    create = ApplyHpa(name="serve", target=_ref(workload), spec=SPEC)
    created = await executor.execute(saas.instruction([create]))
    assert created.outcome is Outcome.APPLIED, created.reason
    return workload, executor, create


async def test_apply_hpa_creates_then_patches_the_hpa(
    admin: AsyncClient,
    autoscaling_kube: KubeObjects,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """A missing HPA is created on the Deployment; applying again changes its floor only."""
    workload, executor, create = await _with_hpa(admin, autoscaling_kube, namespace, saas)
    retune = create.model_copy(update={"spec": SPEC.model_copy(update={"min_replicas": 1})})
    patched = await executor.execute(saas.instruction([retune]))
    assert patched.outcome is Outcome.APPLIED, patched.reason
    spec = (await _live_hpa(admin, autoscaling_api, namespace))["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 10)
    assert spec["scaleTargetRef"]["name"] == workload["metadata"]["name"]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 900


async def test_rollback_restores_the_hpa_spec(
    admin: AsyncClient,
    autoscaling_kube: KubeObjects,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """When the instruction rolls back, the retuned HPA gets its previous floor back."""
    workload, executor, create = await _with_hpa(admin, autoscaling_kube, namespace, saas)
    await make_pod(admin, namespace, labels={"app": workload["metadata"]["name"]}, ready=False)
    retune = create.model_copy(update={"spec": SPEC.model_copy(update={"min_replicas": 5})})
    shrink = PatchResources(
        target=_ref(workload),
        containers=[ContainerResources(container="main", requests=Resources(memory_bytes=2**28))],
    )
    result = await executor.execute(saas.instruction([retune, shrink]))

    assert result.outcome is Outcome.ROLLED_BACK
    spec = (await _live_hpa(admin, autoscaling_api, namespace))["spec"]
    assert spec["minReplicas"] == 2


@pytest.mark.usefixtures("keda_crd")
async def test_apply_scaled_object_creates_the_cron_schedule(
    admin: AsyncClient, autoscaling_kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """A ScaledObject with a business-hours cron trigger is created as KEDA's CRD stores it."""
    workload = await make_workload(admin, namespace)
    spec = ScaledObjectSpec(
        min_replica_count=1,
        max_replica_count=8,
        cron=[CronTrigger(start="0 9 * * 1-5", end="0 17 * * 1-5", desired_replicas=4)],
        resources=SPEC.metrics,
    )
    action = ApplyScaledObject(name="serve", target=_ref(workload), spec=spec)
    result = await make_executor(autoscaling_kube).execute(saas.instruction([action]))

    assert result.outcome is Outcome.APPLIED, result.reason
    live = as_json(await admin.get(SCALED_OBJECT_RESOURCE, "serve", namespace=namespace))
    proposed = action.manifest()["spec"]
    assert isinstance(proposed, dict)
    assert live["spec"]["triggers"] == proposed["triggers"]


@pytest.mark.usefixtures("keda_crd")
async def test_a_gpu_scaled_object_with_a_prometheus_trigger_is_stored_as_proposed(
    admin: AsyncClient, autoscaling_kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """GPU advice where KEDA runs: the Prometheus and cron triggers reach the API server intact."""
    workload = await make_workload(admin, namespace)
    hours = np.arange(14 * 288) * 300 / 3600 % 24
    demand = DemandSeries(0.0, 300.0, np.where((hours >= 9) & (hours < 17), 5.0, 1.0))
    plan = plan_autoscaling(demand, 1.0, ScalingPolicy(), "gpu")
    ref = _ref(workload)
    trigger = gpu_trigger(ref, plan.hpa.target_utilisation, DEFAULT_PROMETHEUS_ADDRESS)
    [action] = autoscaling_change_set(plan, ref, keda=True, gpu=trigger).actions
    assert isinstance(action, ApplyScaledObject)

    result = await make_executor(autoscaling_kube).execute(saas.instruction([action]))

    assert result.outcome is Outcome.APPLIED, result.reason
    live = as_json(await admin.get(SCALED_OBJECT_RESOURCE, ref.name, namespace=namespace))
    proposed = action.manifest()["spec"]
    assert isinstance(proposed, dict)
    assert live["spec"]["triggers"] == proposed["triggers"]
    assert "prometheus" in [t["type"] for t in live["spec"]["triggers"]]


async def test_advice_change_set_applies_and_validates_on_the_api_server(
    admin: AsyncClient,
    autoscaling_kube: KubeObjects,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """The ChangeSet autoscaling advice writes for an office-hours workload creates its HPA."""
    workload = await make_workload(admin, namespace)
    hours = np.arange(14 * 288) * 300 / 3600 % 24
    demand = DemandSeries(0.0, 300.0, np.where((hours >= 9) & (hours < 17), 5.0, 1.0))
    plan = plan_autoscaling(demand, 1.0, ScalingPolicy())
    change_set = autoscaling_change_set(plan, _ref(workload), keda=False)
    result = await make_executor(autoscaling_kube).execute(saas.instruction(change_set.actions))

    assert result.outcome is Outcome.APPLIED, result.reason
    live = as_json(
        await admin.get(autoscaling_api.hpa, workload["metadata"]["name"], namespace=namespace)
    )
    assert live["spec"]["maxReplicas"] == plan.hpa.max_replicas
    assert [a.type.value for a in change_set.actions] == ["apply_hpa", "schedule_hpa_min_replicas"]
    assert MIN_REPLICAS_SCHEDULE_ANNOTATION in live["metadata"]["annotations"]
