"""Finished spans of this test process, caught with the OpenTelemetry SDK's in-memory exporter.

One SDK tracer provider is installed for the session (every tracer of the product is a proxy
until then, and follows it afterwards). Spans are kept only while a test holds the `spans`
fixture, so later tests do not pile spans up in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class RecordingExporter(InMemorySpanExporter):
    """The in-memory exporter, recording only while `recording` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.recording = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Keep the spans while recording; drop them otherwise."""
        if not self.recording:
            return SpanExportResult.SUCCESS
        return super().export(spans)

    async def wait_for(
        self, found: Callable[[tuple[ReadableSpan, ...]], bool], within: float = 60.0
    ) -> tuple[ReadableSpan, ...]:
        """The finished spans once `found(spans)` holds; TimeoutError after `within` seconds."""

        async def poll() -> tuple[ReadableSpan, ...]:
            # Spans end in other tasks and threads of this process; looking is how to see them.
            while not found(spans := self.get_finished_spans()):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            return spans

        return await asyncio.wait_for(poll(), within)


def install_recording_exporter() -> RecordingExporter:
    """Add a recording exporter to the process's SDK provider (installing one if needed)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = RecordingExporter()
    # Synchronous export: a span is visible to the test as soon as it ends.
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def named(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    """The one span called `name`; AssertionError if there is none or several."""
    matching = [span for span in spans if span.name == name]
    assert len(matching) == 1, f"{len(matching)} spans named {name!r}: {[s.name for s in spans]}"
    return matching[0]


def lineage(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """`span` and the spans it descends from, up to its trace's root (which must be recorded)."""
    by_id = {recorded.context.span_id: recorded for recorded in spans}
    chain = [span]
    while (parent := chain[-1].parent) is not None:
        assert parent.span_id in by_id, f"the parent of {chain[-1].name} was not recorded"
        chain.append(by_id[parent.span_id])
    return chain


def our_names(chain: Sequence[ReadableSpan], names: set[str]) -> list[str]:
    """The names in `chain` that are among `names`, in order (libraries add spans of their own)."""
    return [span.name for span in chain if span.name in names]
