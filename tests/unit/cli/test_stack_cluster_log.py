"""Progress lines relayed from the local cluster's agent and executor logs."""

from __future__ import annotations

import json
from pathlib import Path

from cli.stack_cluster_log import ClusterLogRelay


def _append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


def test_snapshots_and_finished_instructions_are_relayed(tmp_path: Path) -> None:
    """A snapshot and an applied instruction each become one line; other events do not."""
    agent, executor = tmp_path / "agent.log", tmp_path / "executor.log"
    relay = ClusterLogRelay(agent, executor)
    _append(
        agent,
        json.dumps({"event": "sent", "lane": "snapshots"}),
        json.dumps({"event": "snapshot_taken", "nodes": 37, "pods": 200}),
    )
    _append(
        executor,
        json.dumps({"event": "started", "mode": "approve-each"}),
        json.dumps(
            {
                "event": "instruction",
                "instruction_id": "i-1",
                "outcome": "applied",
                "actions": [{"type": "cordon"}, {"type": "drain"}],
            }
        ),
    )
    assert relay.new_lines() == [
        "Agent: snapshot of 37 nodes and 200 pods from the local control plane",
        "Executor: instruction i-1 (cordon, drain) applied",
    ]


def test_deltas_are_relayed_with_the_cluster_they_bring_the_state_to(tmp_path: Path) -> None:
    """A delta's line names what changed and the size of the cluster after it."""
    agent = tmp_path / "agent.log"
    relay = ClusterLogRelay(agent, tmp_path / "executor.log")
    _append(
        agent,
        json.dumps({"event": "delta_taken", "changed": 1, "deleted": 0, "nodes": 38, "pods": 200}),
    )
    assert relay.new_lines() == [
        "Agent: delta (1 changed, 0 deleted) of 38 nodes and 200 pods from the local control plane"
    ]


def test_each_event_is_relayed_once_and_plain_lines_are_skipped(tmp_path: Path) -> None:
    """Lines already relayed and lines that are not JSON are not relayed again."""
    agent, executor = tmp_path / "agent.log", tmp_path / "executor.log"
    relay = ClusterLogRelay(agent, executor)
    _append(agent, json.dumps({"event": "snapshot_taken", "nodes": 1, "pods": 2}))
    assert len(relay.new_lines()) == 1
    _append(agent, "Traceback (most recent call last):")
    assert relay.new_lines() == []


def test_missing_logs_relay_nothing(tmp_path: Path) -> None:
    """Before the processes wrote anything there is nothing to relay."""
    assert ClusterLogRelay(tmp_path / "a.log", tmp_path / "e.log").new_lines() == []
