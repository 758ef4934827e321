"""Results worked out of pod and node models are remembered while the models live, no longer."""

from __future__ import annotations

import gc
import uuid

from tests.unit.workers.factories import shop_snapshot
from workers.ingest.model_memo import ModelMemo


def test_a_result_is_worked_out_once_per_pair_of_models() -> None:
    """Asked again for the same models, the memo answers without working it out again."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    pod, node = snapshot.pods[0], snapshot.nodes[0]
    made: list[str] = []
    memo: ModelMemo[str] = ModelMemo()

    def make() -> str:
        made.append(pod.name)
        return pod.name

    assert memo.get(pod, node, make) == memo.get(pod, node, make) == pod.name
    assert made == [pod.name]
    memo.get(pod, snapshot.nodes[1], make)
    assert len(made) == 2


def test_an_entry_goes_when_its_model_is_freed() -> None:
    """The memo holds no model alive: once the pods are gone, so are their entries."""
    memo: ModelMemo[int] = ModelMemo()
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    for pod in snapshot.pods:
        memo.get(pod, None, lambda: 1)
    assert len(memo) == len(snapshot.pods)
    del snapshot, pod
    gc.collect()
    assert len(memo) == 0
