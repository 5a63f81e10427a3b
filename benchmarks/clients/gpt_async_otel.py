"""gpt_async with OpenTelemetry installed: tracing off, the API without an SDK, the SDK.

Three variants of the ``AsyncGpt`` adapter, for the rows that price tracing:

- ``off``: ``tracing=False`` (nothing is loaded or done per call);
- ``api``: tracing on, ``opentelemetry-api`` importable, no SDK configured (the
  default of a service that has the API as a dependency but exports nothing);
- ``sdk``: an SDK tracer provider with a ``SimpleSpanProcessor`` into an
  ``InMemorySpanExporter`` and a meter provider with an ``InMemoryMetricReader``,
  so every span and metric is built, ended and exported in-process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchmarks.clients import API_KEY, ClientUnavailable
from benchmarks.clients.gpt_async_client import AsyncGptClient

if TYPE_CHECKING:
    from benchmarks.payloads import Message

_CLEAR_EVERY = 1000  # the exporter keeps every span: keep the memory scenario flat


def preload() -> None:
    """Import gpt_async and OpenTelemetry's API (the SDK too, for the ``sdk`` variant).

    Raises:
        ClientUnavailable: opentelemetry-api or -sdk is not installed.
    """
    import gpt_async

    try:
        import opentelemetry.sdk.trace
        import opentelemetry.trace
    except ImportError as exc:
        raise ClientUnavailable(f"needs opentelemetry-api and -sdk: {exc}") from exc
    del gpt_async, opentelemetry


def _sdk_options() -> tuple[dict[str, Any], Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    options = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    return options, exporter


class _ExportingClient(AsyncGptClient):
    """The adapter, clearing the in-memory exporter now and then."""

    def __init__(self, client: Any, exporter: Any) -> None:
        """Wrap an entered ``AsyncGpt`` and the exporter it reports to."""
        super().__init__(client)
        self._exporter = exporter
        self._calls = 0

    def _tick(self) -> None:
        self._calls += 1
        if self._calls % _CLEAR_EVERY == 0:
            self._exporter.clear()

    async def complete(self, model: str, messages: list[Message]) -> str:
        """Send one chat completion and return the assistant content."""
        self._tick()
        return await super().complete(model, messages)

    async def stream(self, model: str, messages: list[Message]) -> int:
        """Iterate the chunk stream, counting chunks."""
        self._tick()
        return await super().stream(model, messages)


async def open_async(base_url: str, *, variant: str) -> AsyncGptClient:
    """Build and enter an ``AsyncGpt`` configured for ``variant`` (off, api or sdk)."""
    import gpt_async

    options: dict[str, Any] = {"tracing": variant != "off"}
    exporter = None
    if variant == "sdk":
        sdk, exporter = _sdk_options()
        options.update(sdk)
    client = gpt_async.AsyncGpt(api_key_auth=API_KEY, server_url=base_url, max_retries=0, **options)
    await client.__aenter__()
    return AsyncGptClient(client) if exporter is None else _ExportingClient(client, exporter)
