"""`python -m demo`: replay the demo cluster to a gateway as its agent.

The agent's identity and uplink come from the agent's own settings (`SLICEWISE_AGENT_GATEWAY_URL`,
`_CLUSTER_ID`, `_CLIENT_ID`, `_CLIENT_SECRET`, `_SPOOL_DIR`, ...); the flags say what to replay.
Progress goes to stdout, one line per step, each starting with `replay: `.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from agent.settings import AgentSettings
from agent.wiring import build_uplink
from bench.snapshots.trace import read_trace_nodes, read_trace_pods
from demo.data import DEFAULT_DATA, DemoData
from demo.fleet import FleetSpec, build_fleet
from demo.replay import Replay, ReplayPlan
from demo.samples import UsageModel
from demo.series import read_patterns


def say(message: str) -> None:
    """One progress line on stdout."""
    sys.stdout.write(f"replay: {message}\n")
    sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    """Flags of the replay."""
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--pods", type=int, default=2000, help="running pods to replay")
    parser.add_argument("--hours", type=float, default=48.0, help="simulated history to backfill")
    parser.add_argument("--step-minutes", type=float, default=5.0, help="history sample interval")
    parser.add_argument(
        "--live-interval", type=float, default=60.0, help="seconds between live snapshots"
    )
    parser.add_argument(
        "--notice-after", type=float, default=60.0, help="seconds until a spot notice (<0: none)"
    )
    parser.add_argument("--spot-share", type=float, default=0.25, help="share of spot nodes")
    parser.add_argument("--seed", type=int, default=0)
    return parser


async def _replay(args: argparse.Namespace, settings: AgentSettings) -> None:
    data = DemoData.under(args.data)
    now = datetime.now(UTC)
    spec = FleetSpec(
        cluster_id=settings.cluster_id,
        cluster_name=settings.cluster_name,
        pod_count=args.pods,
        spot_share=args.spot_share,
        seed=args.seed,
    )
    fleet = await asyncio.to_thread(
        lambda: build_fleet(read_trace_nodes(data.nodes), read_trace_pods(data.pods), spec, now)
    )
    patterns = await asyncio.to_thread(read_patterns, data.vms, data.genai, seed=args.seed)
    say(
        f"cluster {fleet.cluster.name}: {len(fleet.nodes)} GPU nodes "
        f"({len(fleet.spot_nodes)} spot), {len(fleet.pods)} pods in {len(fleet.workloads)} "
        f"workloads; usage from {len(patterns.hosts)} Bitbrains and {len(patterns.gpus)} "
        "GenAI series"
    )
    uplink = build_uplink(settings)
    plan = ReplayPlan(
        history_hours=args.hours,
        step_seconds=max(1, int(args.step_minutes * 60)),
        live_interval_seconds=args.live_interval,
        notice_after_seconds=args.notice_after if args.notice_after >= 0 else None,
    )
    replay = Replay(
        fleet,
        UsageModel(fleet, patterns, args.seed),
        uplink,
        plan,
        clock=lambda: datetime.now(UTC),
        progress=say,
    )
    sending = asyncio.create_task(uplink.run())
    try:
        await replay.run()
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        await uplink.aclose()


async def _until_signalled(args: argparse.Namespace, settings: AgentSettings) -> None:
    task = asyncio.create_task(_replay(args, settings))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: Sequence[str] | None = None) -> int:
    """Replay until SIGTERM or SIGINT; 2 when the data is missing."""
    args = build_parser().parse_args(argv)
    missing = DemoData.under(args.data).missing()
    if missing:
        say(f"off: missing {', '.join(str(p) for p in missing)}")
        return 2
    settings = AgentSettings()  # required values come from the environment
    asyncio.run(_until_signalled(args, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
