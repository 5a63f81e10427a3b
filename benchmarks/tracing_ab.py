"""What tracing costs per request, measured in one process: ``python -m benchmarks.tracing_ab``.

The main runner gives each client its own process, so the tracing rows and the
untraced row are minutes apart; on a shared machine that noise is far above the
2% the tracing targets are about. This script interleaves the clients in one
process instead: raw aiohttp, ``AsyncGpt(tracing=False)``, ``AsyncGpt()`` with the
OpenTelemetry API imported but no SDK configured, and ``AsyncGpt`` with an SDK
tracer and meter provider exporting in memory, in short alternating batches
(rotating their order), against the runner's fake server in its own process.
Each batch's CPU per request is divided by raw aiohttp's in the same round; the
medians of those ratios over the rounds are reported. A second, identical
``tracing=False`` client shows how far two equal clients differ: the noise floor.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

from benchmarks import payloads
from benchmarks.server import ServerProcess

NAMES = (
    "raw aiohttp",
    "tracing=False",
    "tracing=False, a second client (the noise floor)",
    "API, no SDK",
    "SDK + in-memory export",
)


async def _clients(base_url: str) -> tuple[list[Any], Any]:
    # The API is imported as an app using it would: tracing loads, and finds no SDK.
    import opentelemetry.trace  # noqa: F401
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from benchmarks.clients import API_KEY, gpt_async_client, raw_aiohttp
    from gpt_async import AsyncGpt

    tracer_provider = TracerProvider()
    exporter = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    sdk = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    clients: list[Any] = [await raw_aiohttp.open_async(base_url)]
    for options in ({"tracing": False}, {"tracing": False}, {}, sdk):
        client = AsyncGpt(api_key_auth=API_KEY, server_url=base_url, max_retries=0, **options)
        clients.append(gpt_async_client.AsyncGptClient(await client.__aenter__()))
    return clients, exporter


async def _batch(client: Any, requests: int) -> float:
    messages = [payloads.user_message()]
    gc.collect()
    started = time.process_time()
    for _ in range(requests):
        await client.complete(payloads.MODEL_SMALL, messages)
    return (time.process_time() - started) / requests


async def measure(base_url: str, rounds: int, batch: int) -> list[list[float]]:
    """Per round, each client's CPU seconds per request (in :data:`NAMES` order)."""
    clients, exporter = await _clients(base_url)
    try:
        for client in clients:  # warm-up: pools, caches, generated converters
            await _batch(client, batch)
        results = []
        for round_ in range(rounds):
            order = list(range(len(clients)))
            order = order[round_ % len(order) :] + order[: round_ % len(order)]
            figures = [0.0] * len(clients)
            for index in order:
                figures[index] = await _batch(clients[index], batch)
            results.append(figures)
            exporter.clear()  # kept spans would grow the heap every client's GC walks
        return results
    finally:
        for client in clients:
            await client.aclose()


def report(results: list[list[float]]) -> str:
    """A markdown table: median µs per request, median ratios to raw aiohttp and to off."""
    lines = [
        "| client | CPU µs/request | vs raw aiohttp | vs tracing=False |",
        "|---|---:|---:|---:|",
    ]
    for index, name in enumerate(NAMES):
        micros = statistics.median(1e6 * r[index] for r in results)
        to_raw = statistics.median(r[index] / r[0] for r in results)
        to_off = statistics.median(r[index] / r[1] for r in results)
        lines.append(f"| {name} | {micros:.1f} | {to_raw:.3f}x | {to_off:.3f}x |")
    return "\n".join(lines)


def main() -> None:
    """Start the fake server, measure, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tracing_ab", description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=200, help="requests per client per round")
    args = parser.parse_args()
    primer = bytearray(4 * 1024 * 1024)  # the runner's allocator primer, for the same reason
    del primer
    with ServerProcess() as server:
        results = asyncio.run(measure(server.base_url, args.rounds, args.batch))
    print(f"{args.rounds} rounds of {args.batch} sequential ~1 KB requests per client\n")
    print(report(results))


if __name__ == "__main__":
    main()
