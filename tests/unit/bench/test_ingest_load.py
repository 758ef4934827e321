"""The ingest bench's timed closed loop: a warm-up no figure counts, then the measured run."""

from __future__ import annotations

import asyncio

from bench.ingest_load import Window, timed_loop


async def test_timed_loop_counts_only_what_the_measured_run_sent() -> None:
    """Items and CPU of the warm-up are left out; refused items are counted as failed."""
    sent: list[int] = []
    cpu = [0.0]

    async def send(index: int) -> bool:
        await asyncio.sleep(0.005)
        sent.append(index)
        cpu[0] += 1.0
        return len(sent) % 5 != 0

    result = await timed_loop(Window(seconds=0.2, warmup_seconds=0.1), 2, send, lambda: cpu[0])
    assert result.warmup_items > 0
    assert result.accepted + result.failed + result.warmup_items == len(sent)
    assert result.failed > 0
    assert result.cpu_seconds == result.accepted + result.failed
    assert len(result.latencies_ms) == result.accepted
    assert result.seconds >= 0.2
    assert set(sent) == {0, 1}


async def test_every_sender_sends_once_when_its_turn_comes_after_the_deadline() -> None:
    """A run whose senders first get the event loop after its end still measures one item of
    each, so that a held loop never reports a run with nothing in it."""
    sent: list[int] = []

    async def send(index: int) -> bool:
        sent.append(index)
        return True

    result = await timed_loop(Window(seconds=0.0, warmup_seconds=0.0), 3, send, lambda: 0.0)
    assert result.warmup_items == 3
    assert result.accepted == 3
    assert result.failed == 0
    assert sorted(sent) == [0, 0, 1, 1, 2, 2]
