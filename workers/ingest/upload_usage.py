"""Fold one upload's usage samples into the histories of the containers they belong to.

The histories come from the batch's pending writes when the batch holds them (an earlier upload
of the batch read or folded them, or the worker kept them from its last batch of the cluster:
`usage_cache`), else from the stored rows; what the upload changed goes back to the pending
writes, which the batch writes once at its end.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot, Pod
from recommender.usage.container_history import ContainerHistory, ContainerHistoryError
from recommender.usage.state import UsageSettings
from store.repositories.usage_states import UsageStateRecord, UsageStateRepository
from workers.ingest.pending_writes import PendingWrites
from workers.ingest.pod_attribution import Attributions, PodRef, StoredChanges
from workers.ingest.series_layout import SeriesLayouts
from workers.ingest.upload_samples import UploadSamples
from workers.ingest.usage_batch import usage_batch
from workers.ingest.usage_fold import fold_batch, from_record, stored_key

log = structlog.get_logger(__name__)


async def fold_usage(
    usage: UsageStateRepository,
    pending: PendingWrites,
    upload: ClusterSnapshot | ClusterDelta,
    samples: UploadSamples,
    stored_pods: Mapping[PodRef, Pod],
    *,
    settings: UsageSettings | None = None,
    attributions: Attributions | None = None,
    layouts: SeriesLayouts | None = None,
    changes: StoredChanges | None = None,
) -> None:
    """Fold the upload's `samples`, attributing those of pods it does not list to
    `stored_pods` (which `changes` may say came from an earlier mapping); `layouts` keeps
    each cluster's series layout for its next upload."""
    cluster_id = upload.cluster.cluster_id
    previous = None if layouts is None else layouts.get(cluster_id)
    batch = usage_batch(upload, stored_pods, samples, attributions, previous, changes=changes)
    if layouts is not None:
        layouts.put(cluster_id, batch.layout)
    if batch.unattributed:
        log.info(
            "usage samples of unknown pods dropped",
            cluster_id=str(cluster_id),
            count=batch.unattributed,
        )
    keys = batch.keys
    if not keys:
        return
    states = pending.histories(cluster_id, keys)
    unread = keys - states.keys()
    if unread:
        records = await usage.get_many(cluster_id, (stored_key(key) for key in unread))
        read = {
            key: state
            for key in unread
            if (record := records.get(stored_key(key))) is not None
            and (state := _restore(record)) is not None
        }
        pending.learn(cluster_id, read)
        states.update(read)
    changed = fold_batch(batch, states, settings)
    pending.forget(cluster_id, keys - changed.keys())
    pending.keep_histories(cluster_id, changed, upload.taken_at)


def _restore(record: UsageStateRecord) -> ContainerHistory | None:
    try:
        return from_record(record)
    except ContainerHistoryError:
        # An unreadable state must not block the cluster's ingest forever: start it afresh.
        log.warning("unreadable usage state discarded", container=str(record.key))
        return None
