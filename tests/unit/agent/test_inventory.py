"""The inventory applies watch events and lists, and flags significant changes."""

from __future__ import annotations

import asyncio

from agent.changes import Entry
from agent.inventory import Inventory
from protocol.snapshot import Container, Pod, PodSpecSummary

SPEC = PodSpecSummary(containers=[Container(name="c")])


def _pod(name: str, node: str | None = None) -> Entry:
    return Entry(Pod(namespace="n", name=name, uid=name, node_name=node, spec=SPEC))


def _inventory() -> Inventory:
    return Inventory([("pods", "pods"), ("nodes", "nodes")])


async def test_all_synced_waits_for_every_kind() -> None:
    """Listing one kind of two does not make the inventory synced."""
    inventory = _inventory()
    await inventory.replace("pods", {}, "10")
    assert not inventory.all_synced.is_set()
    await inventory.replace("nodes", {}, "11")
    assert inventory.all_synced.is_set()


async def test_events_update_entries_and_resource_version() -> None:
    """ADDED, MODIFIED and DELETED change the table and move its resourceVersion."""
    inventory = _inventory()
    await inventory.replace("pods", {"a": _pod("a")}, "10")
    await inventory.apply("pods", "ADDED", "b", _pod("b"), "11")
    await inventory.apply("pods", "MODIFIED", "a", _pod("a", "n1"), "12")
    await inventory.apply("pods", "DELETED", "b", None, "13")
    table = inventory.tables["pods"]
    assert list(table.entries) == ["a"]
    assert table.entries["a"].model == _pod("a", "n1").model
    assert table.resource_version == "13"


async def test_first_list_is_not_a_significant_change() -> None:
    """Loading the initial state does not count as a change to snapshot early."""
    inventory = _inventory()
    await inventory.replace("pods", {"a": _pod("a", "n1")}, "10")
    assert not inventory.significant.is_set()


async def test_relist_that_finds_a_deletion_is_significant_and_counted() -> None:
    """A relist missing a scheduled pod flags a change and counts as a relist."""
    inventory = _inventory()
    await inventory.replace("pods", {"a": _pod("a", "n1")}, "10")
    await inventory.replace("pods", {}, "20")
    assert inventory.significant.is_set()
    assert inventory.tables["pods"].relists == 1


async def test_unconvertible_object_keeps_the_last_good_entry() -> None:
    """A MODIFIED event whose object did not convert leaves the previous entry in place."""
    inventory = _inventory()
    await inventory.replace("pods", {"a": _pod("a")}, "10")
    await inventory.apply("pods", "MODIFIED", "a", None, "11")
    assert inventory.tables["pods"].entries["a"] == _pod("a")
    assert inventory.tables["pods"].resource_version == "11"


async def test_observers_wake_on_the_next_change() -> None:
    """wait_for_revision returns once a change is applied."""
    inventory = _inventory()
    waiter = asyncio.create_task(inventory.wait_for_revision(inventory.revision))
    await inventory.apply("pods", "ADDED", "a", _pod("a"), "1")
    assert await asyncio.wait_for(waiter, 5) == 1
