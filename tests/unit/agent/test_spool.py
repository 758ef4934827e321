"""The spool keeps order, caps snapshots by dropping the oldest, and never drops notices."""

from __future__ import annotations

from pathlib import Path

from agent.uplink.spool import Lane, Spool, tag_of


def _contents(spool: Spool, lane: Lane) -> list[bytes]:
    return [p.read_bytes() for p in spool.pending(lane)]


def test_payloads_come_back_oldest_first(tmp_path: Path) -> None:
    """Pending payloads are in the order they were put."""
    spool = Spool(tmp_path, max_snapshot_bytes=10_000)
    for payload in (b"one", b"two", b"three"):
        spool.put(Lane.SNAPSHOTS, payload)
    assert _contents(spool, Lane.SNAPSHOTS) == [b"one", b"two", b"three"]


def test_oldest_snapshots_are_dropped_over_the_cap(tmp_path: Path) -> None:
    """With a 25-byte cap and 10-byte snapshots, only the newest two stay."""
    spool = Spool(tmp_path, max_snapshot_bytes=25)
    for i in range(5):
        spool.put(Lane.SNAPSHOTS, f"snapshot-{i}".encode())
    assert _contents(spool, Lane.SNAPSHOTS) == [b"snapshot-3", b"snapshot-4"]
    assert spool.dropped_snapshots == 3


def test_newest_snapshot_is_kept_even_if_alone_over_the_cap(tmp_path: Path) -> None:
    """A single snapshot larger than the cap is still kept (it is the current inventory)."""
    spool = Spool(tmp_path, max_snapshot_bytes=4)
    spool.put(Lane.SNAPSHOTS, b"old")
    spool.put(Lane.SNAPSHOTS, b"much larger")
    assert _contents(spool, Lane.SNAPSHOTS) == [b"much larger"]


def test_notices_are_never_dropped(tmp_path: Path) -> None:
    """The cap applies to snapshots only."""
    spool = Spool(tmp_path, max_snapshot_bytes=1)
    for i in range(20):
        spool.put(Lane.NOTICES, f"notice-{i}".encode())
    spool.put(Lane.SNAPSHOTS, b"s")
    assert len(spool.pending(Lane.NOTICES)) == 20


def test_order_continues_across_a_restart(tmp_path: Path) -> None:
    """A reopened spool sends what was left first, then what is new."""
    first = Spool(tmp_path, max_snapshot_bytes=10_000)
    first.put(Lane.SNAPSHOTS, b"before")
    second = Spool(tmp_path, max_snapshot_bytes=10_000)
    second.put(Lane.SNAPSHOTS, b"after")
    assert _contents(second, Lane.SNAPSHOTS) == [b"before", b"after"]


def test_half_written_files_are_discarded_on_open(tmp_path: Path) -> None:
    """A temporary file left by a crash mid-write is removed, not sent."""
    Spool(tmp_path, max_snapshot_bytes=10_000)
    (tmp_path / "snapshots" / "0000000000000009.tmp").write_bytes(b"partial")
    reopened = Spool(tmp_path, max_snapshot_bytes=10_000)
    assert reopened.pending(Lane.SNAPSHOTS) == []
    assert list((tmp_path / "snapshots").iterdir()) == []


def test_remove_forgets_a_payload(tmp_path: Path) -> None:
    """A delivered payload is gone from the lane and its size."""
    spool = Spool(tmp_path, max_snapshot_bytes=10_000)
    path = spool.put(Lane.NOTICES, b"12345")
    assert spool.size(Lane.NOTICES) == 5
    spool.remove(path)
    assert (spool.pending(Lane.NOTICES), spool.size(Lane.NOTICES)) == ([], 0)


def test_tagged_payloads_keep_their_place_and_tag(tmp_path: Path) -> None:
    """A delta spooled between snapshots is pending in that order, and read back as a delta."""
    spool = Spool(tmp_path, max_snapshot_bytes=1 << 20)
    spool.put(Lane.SNAPSHOTS, b"full")
    spool.put(Lane.SNAPSHOTS, b"change", tag="delta")
    spool.put(Lane.SNAPSHOTS, b"next")
    pending = spool.pending(Lane.SNAPSHOTS)
    assert [Spool.read(p) for p in pending] == [b"full", b"change", b"next"]
    assert [tag_of(p) for p in pending] == ["", "delta", ""]
    assert (
        Spool(tmp_path, max_snapshot_bytes=1 << 20)
        .put(Lane.SNAPSHOTS, b"x")
        .name.startswith("0000000000000004")
    )
