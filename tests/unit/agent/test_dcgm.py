"""DCGM exporter scrapes become per-GPU and per-pod GpuUsage."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agent.dcgm.exposition import parse_exposition, parse_sample_line
from agent.dcgm.samples import gpu_usage
from agent.dcgm.scraper import scrape_dcgm
from tests.unit.agent.dcgm_exposition import EXPOSITION, NODE, UUID0, UUID1
from tests.unit.agent.http_servers import serving

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MIB = 2**20


def test_sample_line_with_escaped_label_values() -> None:
    """Quotes, backslashes and newlines in label values are unescaped."""
    sample = parse_sample_line(r'm{a="x\"y",b="c:\\d",c="l1\nl2"} 1.5e3 1700000000000')
    assert (sample.name, sample.labels, sample.value) == (
        "m",
        {"a": 'x"y', "b": "c:\\d", "c": "l1\nl2"},
        1500.0,
    )


def test_special_values_parse() -> None:
    """NaN and infinities are values of the format."""
    samples = parse_exposition("a NaN\nb +Inf\nc -Inf\n")
    assert math.isnan(samples[0].value)
    assert (samples[1].value, samples[2].value) == (math.inf, -math.inf)


def test_comments_and_malformed_lines_are_skipped() -> None:
    """HELP/TYPE lines and garbage do not stop the parse."""
    samples = parse_exposition(
        '# HELP x y\n# TYPE x gauge\nx{a="1"} 2\n{broken 3\nx{a="2" 4\ny 5\n'
    )
    assert [(s.name, s.labels, s.value) for s in samples] == [
        ("x", {"a": "1"}, 2.0),
        ("y", {}, 5.0),
    ]


def test_whole_gpu_usage_is_attributed_to_its_pod() -> None:
    """GPU 0: 87% utilisation, 59 GiB of 79 GiB used, by ml/trainer-0."""
    usage = gpu_usage(parse_exposition(EXPOSITION), NOW)
    whole = [u for u in usage if u.gpu_index == 0]
    assert len(whole) == 1
    gpu = whole[0]
    assert (gpu.node, gpu.gpu_uuid, gpu.mig_profile) == (NODE, UUID0, None)
    assert (gpu.namespace, gpu.pod, gpu.container) == ("ml", "trainer-0", "trainer")
    assert gpu.utilization == 0.87
    assert gpu.memory_used_bytes == 60416 * MIB
    assert gpu.memory_total_bytes == (60416 + 20480) * MIB
    assert gpu.timestamp == NOW


def test_mig_devices_use_engine_activity_per_instance() -> None:
    """GPU 1's two 3g.40gb instances report their own activity, memory and pod."""
    usage = [u for u in gpu_usage(parse_exposition(EXPOSITION), NOW) if u.gpu_index == 1]
    assert [
        (u.mig_profile, u.pod, u.utilization, u.memory_used_bytes, u.memory_total_bytes, u.gpu_uuid)
        for u in usage
    ] == [
        ("3g.40gb", "llm-a-5f7", 0.412, 9728 * MIB, 40448 * MIB, UUID1),
        ("3g.40gb", "llm-b-9c2", 0.037, 1536 * MIB, 40448 * MIB, UUID1),
    ]


def test_device_without_memory_sample_is_left_out() -> None:
    """Utilisation alone is not reported: a missing metric is not a zero."""
    text = 'DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n"} 50\n'
    assert gpu_usage(parse_exposition(text), NOW) == []


def test_series_without_node_uses_the_default_node() -> None:
    """An exporter that omits Hostname is attributed to the given node."""
    text = 'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 50\nDCGM_FI_DEV_FB_USED{gpu="0"} 100\n'
    usage = gpu_usage(parse_exposition(text), NOW, default_node="n7")
    assert [(u.node, u.utilization, u.memory_used_bytes, u.memory_total_bytes) for u in usage] == [
        ("n7", 0.5, 100 * MIB, None)
    ]


async def test_scrape_reads_a_live_exporter_endpoint() -> None:
    """Scraping an HTTP /metrics endpoint yields the three devices of the exposition."""

    async def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse(EXPOSITION, media_type="text/plain; version=0.0.4")

    app = Starlette(routes=[Route("/metrics", metrics)])
    async with serving(app) as base, httpx2.AsyncClient(trust_env=False) as http:
        usage = await scrape_dcgm(http, f"{base}/metrics", NOW)
    assert [(u.gpu_index, u.pod) for u in usage] == [
        (0, "trainer-0"),
        (1, "llm-a-5f7"),
        (1, "llm-b-9c2"),
    ]
