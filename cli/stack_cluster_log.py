"""What the local cluster's agent and executor report, as one progress line each.

Both log JSON (as the chart runs them); the stack relays the events a person watching the demo
cares about: each snapshot the agent takes of the control plane, and each instruction the
executor finished with its outcome.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.stack_logs import LogFollower


class ClusterLogRelay:
    """Turns new agent and executor log lines into progress lines."""

    def __init__(self, agent_log: Path, executor_log: Path) -> None:
        """Follow both processes' logs from their start."""
        self._agent = LogFollower(agent_log, prefix="")
        self._executor = LogFollower(executor_log, prefix="")

    def new_lines(self) -> list[str]:
        """Progress lines for the events logged since the last call."""
        lines = [_agent_line(e) for e in _events(self._agent.new_lines())]
        lines += [_executor_line(e) for e in _events(self._executor.new_lines())]
        return [line for line in lines if line is not None]


def _events(lines: list[str]) -> list[dict[str, Any]]:
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a traceback or a library's plain line: the log file has it
        if isinstance(event, dict):
            events.append(event)
    return events


def _agent_line(event: dict[str, Any]) -> str | None:
    if event.get("event") == "snapshot_taken":
        upload = "snapshot"
    elif event.get("event") == "delta_taken":
        upload = f"delta ({event.get('changed')} changed, {event.get('deleted')} deleted)"
    else:
        return None
    return (
        f"Agent: {upload} of {event.get('nodes')} nodes and {event.get('pods')} pods "
        "from the local control plane"
    )


def _executor_line(event: dict[str, Any]) -> str | None:
    if event.get("event") != "instruction":
        return None
    actions = ", ".join(str(a.get("type")) for a in event.get("actions") or [])
    return f"Executor: instruction {event.get('instruction_id')} ({actions}) {event.get('outcome')}"
