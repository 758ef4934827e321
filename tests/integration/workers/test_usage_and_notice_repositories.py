"""Usage-state and spot-notice repositories: behaviour and tenant isolation."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from store.database import Database
from store.errors import NotFoundError
from store.repositories.clusters import ClusterView
from store.repositories.snapshots import SnapshotRepository
from store.repositories.spot_notices import SpotNoticeRepository
from store.repositories.tenants import TenantView
from store.repositories.usage_states import ContainerKey, UsageStateRecord, UsageStateRepository
from tests.integration.workers.conftest import new_cluster
from tests.unit.workers.factories import T0

KEY = ContainerKey("shop", "Deployment", "web0", "app")
OTHER_KEY = ContainerKey("shop", "StatefulSet", "db0", "app")


def _state(payload: bytes, samples: int) -> UsageStateRecord:
    return UsageStateRecord(KEY, payload, samples, T0, T0 + timedelta(minutes=samples))


async def _put(
    database: Database, tenant: TenantView, cluster: ClusterView, record: UsageStateRecord
) -> None:
    async with database.tenant(tenant.id) as session:
        await UsageStateRepository(session, tenant.id).put_many(cluster.id, [record])


async def test_put_overwrites_the_state_of_the_same_container(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A second put of one key replaces state and counters; a missing key is absent."""
    await _put(database, tenant, cluster, _state(b"first", 1))
    await _put(database, tenant, cluster, _state(b"second", 5))
    other = ContainerKey("shop", "Deployment", "web9", "app")
    async with database.tenant(tenant.id) as session:
        found = await UsageStateRepository(session, tenant.id).get_many(cluster.id, [KEY, other])
    assert list(found) == [KEY]
    assert (found[KEY].state, found[KEY].sample_count) == (b"second", 5)
    assert found[KEY].last_sample_at == T0 + timedelta(minutes=5)


async def test_every_write_advances_the_clusters_usage_generation(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Two writes return generations 1 and 2, the locked row reads 2; an empty write is none."""
    async with database.tenant(tenant.id) as session:
        repository = UsageStateRepository(session, tenant.id)
        written = [
            await repository.put_many(cluster.id, [_state(b"first", 1)]),
            await repository.put_many(cluster.id, [_state(b"second", 2)]),
            await repository.put_many(cluster.id, []),
        ]
        locked = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert written == [1, 2, None]
    assert locked is not None
    assert locked.usage_generation == 2


async def test_demand_is_stored_and_listed_beside_the_state(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """The demand column round-trips through put, get and list."""
    await _put(database, tenant, cluster, replace(_state(b"state", 1), demand=b"demand"))
    async with database.tenant(tenant.id) as session:
        repository = UsageStateRepository(session, tenant.id)
        found = await repository.get_many(cluster.id, [KEY])
        listed = await repository.list(cluster.id)
    assert found[KEY].demand == b"demand"
    assert [r.demand for r in listed] == [b"demand"]


async def test_usage_states_are_invisible_to_other_tenants(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant neither lists nor gets this tenant's usage states."""
    await _put(database, tenant, cluster, _state(b"mine", 1))
    async with database.tenant(other_tenant.id) as session:
        repository = UsageStateRepository(session, other_tenant.id)
        assert await repository.list(cluster.id) == []
        assert await repository.get_many(cluster.id, [KEY]) == {}


async def test_other_tenant_put_cannot_overwrite_a_state(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """A put naming this tenant's cluster from another tenant writes nothing and advances
    nothing: the cluster is invisible to the other tenant, so none of its rows go in."""
    await _put(database, tenant, cluster, _state(b"mine", 1))
    async with database.tenant(other_tenant.id) as session:
        written = await UsageStateRepository(session, other_tenant.id).put_many(
            cluster.id, [_state(b"theirs", 9), replace(_state(b"new", 2), key=OTHER_KEY)]
        )
    assert written is None
    async with database.tenant(tenant.id) as session:
        found = await UsageStateRepository(session, tenant.id).get_many(
            cluster.id, [KEY, OTHER_KEY]
        )
        locked = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert {key: record.state for key, record in found.items()} == {KEY: b"mine"}
    assert locked is not None
    assert locked.usage_generation == 1


async def test_put_clusters_writes_each_clusters_states_and_advances_each_once(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """One write of two clusters stores each one's states under it and returns each one's
    new generation; a cluster with nothing to write is left out and not advanced."""
    second = await new_cluster(database, tenant, "second")
    async with database.tenant(tenant.id) as session:
        repository = UsageStateRepository(session, tenant.id)
        await repository.put_many(second, [_state(b"before", 1)])
        written = await repository.put_clusters(
            {
                cluster.id: [_state(b"a", 1), replace(_state(b"b", 2), key=OTHER_KEY)],
                second: [replace(_state(b"c", 3), demand=b"ring")],
                uuid.uuid4(): [],
            }
        )
        listed = [await repository.list(cluster.id), await repository.list(second)]
    assert written == {cluster.id: 1, second: 2}
    assert [(r.key, r.state, r.sample_count) for r in listed[0]] == [
        (KEY, b"a", 1),
        (OTHER_KEY, b"b", 2),
    ]
    assert [(r.key, r.state, r.demand) for r in listed[1]] == [(KEY, b"c", b"ring")]


async def _notice(
    database: Database, tenant: TenantView, cluster: ClusterView, notice_id: uuid.UUID
) -> None:
    async with database.tenant(tenant.id) as session:
        await SpotNoticeRepository(session, tenant.id).record(
            notice_id=notice_id, cluster_id=cluster.id, body={"kind": "termination"}, received_at=T0
        )


async def test_recording_a_notice_twice_keeps_the_first_row(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A redelivered notice returns the stored row, handled state included."""
    notice_id = uuid.uuid4()
    recommendation_id = uuid.uuid4()
    await _notice(database, tenant, cluster, notice_id)
    async with database.tenant(tenant.id) as session:
        await SpotNoticeRepository(session, tenant.id).mark_handled(
            notice_id, handled_at=T0, recommendation_id=recommendation_id
        )
    async with database.tenant(tenant.id) as session:
        again = await SpotNoticeRepository(session, tenant.id).record(
            notice_id=notice_id, cluster_id=cluster.id, body={"kind": "other"}, received_at=T0
        )
        listed = await SpotNoticeRepository(session, tenant.id).list(cluster.id)
    assert again.body == {"kind": "termination"}
    assert again.recommendation_id == recommendation_id
    assert [n.notice_id for n in listed] == [notice_id]


async def test_spot_notices_are_invisible_to_other_tenants(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant can neither read, list nor mark this tenant's notice."""
    notice_id = uuid.uuid4()
    await _notice(database, tenant, cluster, notice_id)
    async with database.tenant(other_tenant.id) as session:
        repository = SpotNoticeRepository(session, other_tenant.id)
        with pytest.raises(NotFoundError):
            await repository.get(notice_id)
        with pytest.raises(NotFoundError):
            await repository.mark_handled(notice_id, handled_at=T0, recommendation_id=None)
        assert await repository.list(cluster.id) == []
    async with database.tenant(tenant.id) as session:
        assert (await SpotNoticeRepository(session, tenant.id).get(notice_id)).handled_at is None


async def test_other_tenant_cannot_record_over_a_notice(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Recording this tenant's notice id as another tenant finds nothing of it."""
    notice_id = uuid.uuid4()
    await _notice(database, tenant, cluster, notice_id)
    with pytest.raises(NotFoundError):
        await _notice(database, other_tenant, cluster, notice_id)
