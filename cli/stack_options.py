"""Flags of `slicewise up`: which cluster reports, where its data is, how big it is."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class StackOptions:
    """What `slicewise up` starts."""

    port: int
    data: Path
    replay: bool = True
    pods: int = 2000
    hours: float = 48.0
    step_minutes: float = 5.0
    notice_after: float = 60.0
    analysis_interval: float = 20.0
    cluster: str = "auto"
    """`replay`: an agent replays the traces; `local`: the real agent on the local control plane;
    `auto`: local, building its binaries on first use, unless that build is impossible or
    fails (then replay)."""
    cluster_pods: int = 200


CLUSTER_MODES = ("auto", "local", "replay")

FAST = {"pods": 400, "hours": 26.0, "step_minutes": 15.0, "notice_after": 15.0}
"""`--fast`: a smaller cluster and a day of history (just enough for rightsizing)."""


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the replay and analysis flags."""
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"shared data folder the replay reads (default {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--cluster",
        choices=CLUSTER_MODES,
        default="auto",
        help=(
            "local: the demo fleet as real objects in a local kube-apiserver, watched by the "
            "real agent, changed by the real executor (builds the binaries on first use); "
            "replay: an agent replays the traces through the uplink (no control plane); "
            "auto: local (built on first use, about 15 minutes on 2 cores), or replay when "
            "the build cannot run here or fails (default auto)"
        ),
    )
    parser.add_argument(
        "--cluster-pods",
        type=int,
        default=200,
        help="running trace pods the local cluster is seeded with (default 200)",
    )
    parser.add_argument("--no-replay", action="store_true", help="start without any cluster")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="a smaller replay: 400 pods, 26 hours of 15-minute history, notice after 15 s",
    )
    parser.add_argument("--pods", type=int, default=None, help="pods of the replayed cluster")
    parser.add_argument("--hours", type=float, default=None, help="hours of history to backfill")
    parser.add_argument(
        "--step-minutes", type=float, default=None, help="interval of the backfilled samples"
    )
    parser.add_argument(
        "--notice-after", type=float, default=None, help="seconds until the spot notice"
    )
    parser.add_argument(
        "--analysis-interval",
        type=float,
        default=20.0,
        help="seconds between periodic analyses (default 20, for the demo)",
    )


def stack_options(args: argparse.Namespace, port: int) -> StackOptions:
    """Options from the parsed flags; explicit flags win over `--fast`."""
    defaults = StackOptions(port=port, data=args.data)
    base = FAST if args.fast else {}

    def pick(name: str, fallback: float) -> float:
        given = getattr(args, name)
        return float(given if given is not None else base.get(name, fallback))

    return StackOptions(
        port=port,
        data=args.data.resolve(),
        replay=not args.no_replay,
        pods=int(pick("pods", defaults.pods)),
        hours=pick("hours", defaults.hours),
        step_minutes=pick("step_minutes", defaults.step_minutes),
        notice_after=pick("notice_after", defaults.notice_after),
        analysis_interval=args.analysis_interval,
        cluster=args.cluster,
        cluster_pods=args.cluster_pods,
    )
