"""A cluster's current inventory: one row per node, pod, workload, PDB and HPA."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.column_arrays import json_texts, unnested_texts
from store.tables import InventoryObject

# Only the few fields attribution needs leave the database: decoding whole pod bodies costs more
# than the rest of a delta's fold.
_POD_OWNERSHIPS = text(
    """
    SELECT o.namespace, o.name,
           o.body -> 'owners' -> -1 ->> 'kind',
           o.body -> 'owners' -> -1 ->> 'name',
           (SELECT coalesce(jsonb_object_agg(c ->> 'name', c -> 'requests' -> 'cpu_millis'), '{}')
              FROM jsonb_array_elements(o.body -> 'spec' -> 'containers') AS c)
    FROM inventory_objects AS o
    JOIN unnest(CAST(:namespaces AS text[]), CAST(:names AS text[])) AS wanted(n, m)
      ON o.namespace = wanted.n AND o.name = wanted.m
    WHERE o.cluster_id = :cluster AND o.kind = 'Pod'
    """
)
# Rows of one or several clusters, each row naming its own cluster (and, for upserts, the upload
# that wrote it). Upserts overwrite a stored object only where uid, version or body differ; they
# travel as one array per column (`column_arrays`), the bodies, JSON texts already, as one JSON
# array of them, parsed once by the server (the driver would encode a dict to JSON once more).
_DELETE_NAMED_ROWS = text(
    """
    DELETE FROM inventory_objects
    WHERE (cluster_id, kind, namespace, name) IN (
          SELECT c, k, n, m FROM unnest(
              CAST(:clusters AS uuid[]), CAST(:kinds AS text[]), CAST(:namespaces AS text[]),
              CAST(:names AS text[])
          ) AS gone(c, k, n, m)
      )
    RETURNING name
    """
)
_DELETE_UNKEPT = text(
    """
    DELETE FROM inventory_objects
    WHERE cluster_id = ANY(CAST(:replaced AS uuid[]))
      AND (cluster_id, kind, namespace, name) NOT IN (
          SELECT c, k, n, m FROM unnest(
              CAST(:clusters AS uuid[]), CAST(:kinds AS text[]), CAST(:namespaces AS text[]),
              CAST(:names AS text[])
          ) AS kept(c, k, n, m)
      )
    RETURNING name
    """
)
_UPSERT_ROWS = text(
    f"""
    INSERT INTO inventory_objects AS o (cluster_id, kind, namespace, name, tenant_id, uid,
                                        resource_version, body, snapshot_id, observed_at)
    SELECT r.cluster_id, r.kind, r.namespace, r.name, :tenant, r.uid, r.resource_version,
           r.body, r.snapshot_id, r.observed_at
    FROM unnest(CAST(:clusters AS uuid[]), {unnested_texts("kinds")},
                {unnested_texts("namespaces")}, {unnested_texts("names")},
                {unnested_texts("uids")}, {unnested_texts("versions")},
                ARRAY(SELECT jsonb_array_elements(CAST(CAST(:bodies AS text) AS jsonb))),
                CAST(:snapshots AS uuid[]), CAST(:observed AS timestamptz[]))
         AS r(cluster_id, kind, namespace, name, uid, resource_version, body, snapshot_id,
              observed_at)
    ON CONFLICT (cluster_id, kind, namespace, name) DO UPDATE
    SET uid = EXCLUDED.uid, resource_version = EXCLUDED.resource_version, body = EXCLUDED.body,
        snapshot_id = EXCLUDED.snapshot_id, observed_at = EXCLUDED.observed_at
    WHERE o.body IS DISTINCT FROM EXCLUDED.body
       OR o.uid IS DISTINCT FROM EXCLUDED.uid
       OR o.resource_version IS DISTINCT FROM EXCLUDED.resource_version
    """  # noqa: S608 - parameter-name constants only
)


@dataclass(frozen=True)
class InventoryItem:
    """One object as a snapshot reported it."""

    kind: str
    namespace: str
    """Empty for cluster-scoped objects (nodes)."""
    name: str
    uid: str
    resource_version: str
    body: str
    """The object as JSON text (stored as jsonb)."""


@dataclass(frozen=True)
class InventoryObjectView:
    """One stored object and the snapshot that last changed it."""

    kind: str
    namespace: str
    name: str
    uid: str
    resource_version: str
    body: dict[str, Any]
    snapshot_id: uuid.UUID
    """The snapshot that last changed the object."""
    observed_at: datetime


@dataclass(frozen=True)
class PodOwnership:
    """What usage attribution reads of a stored pod: its top-most owner and CPU requests."""

    owner_kind: str | None
    """The last link of the pod's owner chain (its workload); None for a bare pod."""
    owner_name: str | None
    cpu_requests: dict[str, int | None]
    """CPU request (millicores) of each container, by name."""


StoredKey = tuple[uuid.UUID, str, str, str]
"""(cluster, kind, namespace, name): one stored object."""


@dataclass(frozen=True, slots=True)
class InventoryWrite:
    """One object to store as `item` says, in the name of the upload `snapshot_id` (taken at
    `observed_at`) if that changes the stored row."""

    cluster_id: uuid.UUID
    item: InventoryItem
    snapshot_id: uuid.UUID
    observed_at: datetime


@dataclass(frozen=True)
class InventoryChanges:
    """What a batch of uploads does to the inventories of several clusters, in the order
    `InventoryRepository.write` applies it: delete the named objects, delete every object of
    the replaced clusters not kept, then upsert."""

    deletes: Sequence[StoredKey]
    replaced: Collection[uuid.UUID]
    """Clusters whose inventory becomes exactly the objects named in `kept`."""
    kept: Sequence[StoredKey]
    """Of the replaced clusters, the objects they keep (those upserted by the batch)."""
    upserts: Sequence[InventoryWrite]
    """At most one per object."""


@dataclass(frozen=True)
class ReplaceCounts:
    """What applying a full snapshot did to the stored inventory."""

    upserted: int
    deleted: int


def _view(row: InventoryObject) -> InventoryObjectView:
    return InventoryObjectView(
        row.kind,
        row.namespace,
        row.name,
        row.uid,
        row.resource_version,
        dict(row.body),
        row.snapshot_id,
        row.observed_at,
    )


class InventoryRepository:
    """Replace and read the inventory of the session tenant's clusters."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def replace(
        self,
        cluster_id: uuid.UUID,
        *,
        snapshot_id: uuid.UUID,
        observed_at: datetime,
        items: Sequence[InventoryItem],
    ) -> ReplaceCounts:
        """Make the stored inventory exactly `items`: write what changed, delete what is gone.

        An object whose uid, resourceVersion and body are unchanged is left as it is (no new
        row version, no WAL), so `snapshot_id` and `observed_at` name the snapshot that last
        changed it. Objects of the cluster not among `items` are deleted.
        """
        writes = _latest(cluster_id, snapshot_id, observed_at, items)
        kept = [(cluster_id, w.item.kind, w.item.namespace, w.item.name) for w in writes]
        deleted = await self.write(InventoryChanges((), [cluster_id], kept, writes))
        return ReplaceCounts(upserted=len(items), deleted=deleted)

    async def apply_changes(
        self,
        cluster_id: uuid.UUID,
        *,
        snapshot_id: uuid.UUID,
        observed_at: datetime,
        upserts: Sequence[InventoryItem],
        deletes: Collection[tuple[str, str, str]],
    ) -> ReplaceCounts:
        """Delete the (kind, namespace, name) objects of `deletes`, then upsert `upserts`.

        Only the named objects are touched; an upsert whose uid, resourceVersion and body are
        unchanged is left as it is, so applying the same changes twice changes nothing.
        """
        gone = [(cluster_id, kind, namespace, name) for kind, namespace, name in deletes]
        writes = _latest(cluster_id, snapshot_id, observed_at, upserts)
        deleted = await self.write(InventoryChanges(gone, (), (), writes))
        return ReplaceCounts(upserted=len(upserts), deleted=deleted)

    async def write(self, changes: InventoryChanges) -> int:
        """Apply `changes`: at most one statement each for the named deletions, the objects the
        replaced clusters no longer hold, and the upserts, whatever the number of clusters;
        returns how many stored rows the deletions removed.

        An upsert whose uid, resourceVersion and body equal the stored row's leaves it as it is.
        """
        deleted = 0
        if changes.deletes:
            removed = await self._session.execute(_DELETE_NAMED_ROWS, _key_columns(changes.deletes))
            deleted += len(removed.all())
        if changes.replaced:
            removed = await self._session.execute(
                _DELETE_UNKEPT,
                {"replaced": sorted(changes.replaced)} | _key_columns(changes.kept),
            )
            deleted += len(removed.all())
        rows = changes.upserts
        if not rows:
            return deleted
        await self._session.execute(
            _UPSERT_ROWS,
            {
                "tenant": self._tenant_id,
                "clusters": [row.cluster_id for row in rows],
                "kinds": json_texts([row.item.kind for row in rows]),
                "namespaces": json_texts([row.item.namespace for row in rows]),
                "names": json_texts([row.item.name for row in rows]),
                "uids": json_texts([row.item.uid for row in rows]),
                "versions": json_texts([row.item.resource_version for row in rows]),
                "bodies": f"[{','.join(row.item.body for row in rows)}]",
                "snapshots": [row.snapshot_id for row in rows],
                "observed": [row.observed_at for row in rows],
            },
        )
        return deleted

    async def list(
        self, cluster_id: uuid.UUID, *, kinds: Collection[str] | None = None
    ) -> list[InventoryObjectView]:
        """The cluster's objects (optionally of some kinds), by kind, namespace and name."""
        query = select(InventoryObject).where(InventoryObject.cluster_id == cluster_id)
        if kinds is not None:
            query = query.where(InventoryObject.kind.in_(list(kinds)))
        query = query.order_by(
            InventoryObject.kind, InventoryObject.namespace, InventoryObject.name
        )
        rows = await self._session.execute(query)
        return [_view(row) for row in rows.scalars()]

    async def find(
        self, cluster_id: uuid.UUID, kind: str, names: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], InventoryObjectView]:
        """Objects of one kind by (namespace, name); names not stored are simply absent."""
        wanted = list(set(names))
        if not wanted:
            return {}
        rows = await self._session.execute(
            select(InventoryObject).where(
                InventoryObject.cluster_id == cluster_id,
                InventoryObject.kind == kind,
                tuple_(InventoryObject.namespace, InventoryObject.name).in_(wanted),
            )
        )
        return {(row.namespace, row.name): _view(row) for row in rows.scalars()}

    async def pod_ownerships(
        self, cluster_id: uuid.UUID, names: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], PodOwnership]:
        """Owner and CPU requests of stored pods by (namespace, name); unknown names are absent."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        rows = await self._session.execute(
            _POD_OWNERSHIPS,
            {
                "cluster": cluster_id,
                "namespaces": [namespace for namespace, _ in wanted],
                "names": [name for _, name in wanted],
            },
        )
        found: dict[tuple[str, str], PodOwnership] = {}
        for namespace, name, kind, owner, requests in rows:
            cpu = json.loads(requests) if isinstance(requests, str) else requests
            found[(namespace, name)] = PodOwnership(
                kind,
                owner,
                {str(c): int(v) if isinstance(v, int) else None for c, v in cpu.items()},
            )
        return found

    async def count(self, cluster_id: uuid.UUID) -> dict[str, int]:
        """How many objects of each kind the cluster has."""
        rows = await self._session.execute(
            select(InventoryObject.kind, func.count())
            .where(InventoryObject.cluster_id == cluster_id)
            .group_by(InventoryObject.kind)
        )
        return {kind: int(total) for kind, total in rows}


def _latest(
    cluster_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    observed_at: datetime,
    items: Sequence[InventoryItem],
) -> list[InventoryWrite]:
    """`items` as the upload's writes, one per object: of an object listed twice, the last
    stands (as writing them in turn would leave it)."""
    latest = {(item.kind, item.namespace, item.name): item for item in items}
    return [InventoryWrite(cluster_id, item, snapshot_id, observed_at) for item in latest.values()]


def _key_columns(keys: Sequence[StoredKey]) -> dict[str, list[Any]]:
    """Stored objects' keys as one array parameter per key column."""
    return {
        "clusters": [cluster for cluster, _, _, _ in keys],
        "kinds": [kind for _, kind, _, _ in keys],
        "namespaces": [namespace for _, _, namespace, _ in keys],
        "names": [name for _, _, _, name in keys],
    }
