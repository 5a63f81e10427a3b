"""What is measured, and the loops that measure it inside a client process.

Throughput scenarios time ``time.process_time()`` (user + system CPU of the
whole client process, every thread included) and ``time.perf_counter()``
around the measured loop only, after a warm-up through the same client.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from benchmarks import payloads

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from benchmarks.clients import AsyncClient, ClientSpec, SyncClient

Kind = Literal["throughput", "first_request", "memory", "import"]
#: The clients of the bulk scenarios: the runner, the floor's hand-written loop, AsyncGpt's.
BULK_CLIENTS = ("raw_aiohttp", "gpt_async", "gpt_async_bulk")
Result = dict[str, Any]
CONCURRENCY = 64


@dataclass(frozen=True)
class Scenario:
    """One measured situation and its request counts.

    Attributes:
        name: Identifier used on the command line and in results.
        label: Human-readable name for the report.
        kind: Which measurement loop runs it.
        model: Model name, which tells the fake server what to answer.
        concurrency: Requests in flight at once (1 = sequential).
        requests: Measured requests (imports: cold starts; memory: total requests).
        warmup: Requests before measuring (memory: requests per RSS sample).
        smoke_requests: ``requests`` in smoke mode.
        smoke_warmup: ``warmup`` in smoke mode.
        with_history: Send the 50-message conversation instead of one message.
        clients: The clients that run it (None: all).
    """

    name: str
    label: str
    kind: Kind
    model: str = payloads.MODEL_SMALL
    concurrency: int = 1
    requests: int = 0
    warmup: int = 0
    smoke_requests: int = 0
    smoke_warmup: int = 0
    with_history: bool = False
    clients: tuple[str, ...] | None = None

    def admits(self, spec: ClientSpec) -> bool:
        """Whether ``spec`` runs this scenario."""
        if spec.only is not None and self.name not in spec.only:
            return False
        return self.clients is None or spec.name in self.clients

    @property
    def streams(self) -> bool:
        """Whether requests ask for a streamed response."""
        return self.model == payloads.MODEL_STREAM

    @property
    def unit(self) -> str:
        """What a CPU figure is divided by."""
        return "chunk" if self.streams else "request"

    def messages(self) -> list[payloads.Message]:
        """The conversation each request carries."""
        return payloads.history() if self.with_history else [payloads.user_message()]

    def counts(self, *, smoke: bool, scale: float) -> tuple[int, int]:
        """``(requests, warmup)`` for a run mode."""
        if smoke:
            return self.smoke_requests, self.smoke_warmup
        if self.kind == "import":  # rounds of cold starts: scaling them down only adds noise
            return self.requests, self.warmup
        return max(int(self.requests * scale), 1), max(int(self.warmup * scale), 1)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("sequential", "sequential ~1 KB", "throughput",
             requests=2000, warmup=300, smoke_requests=50, smoke_warmup=10),
    Scenario("concurrent", "64 concurrent ~1 KB", "throughput", concurrency=CONCURRENCY,
             requests=4000, warmup=500, smoke_requests=128, smoke_warmup=64),
    Scenario("large", "sequential ~20 KB", "throughput", model=payloads.MODEL_LARGE,
             requests=1000, warmup=200, smoke_requests=30, smoke_warmup=10),
    Scenario("history", "50-message history", "throughput", with_history=True,
             requests=1000, warmup=200, smoke_requests=30, smoke_warmup=10),
    Scenario("stream", "stream, per chunk", "throughput", model=payloads.MODEL_STREAM,
             requests=100, warmup=10, smoke_requests=5, smoke_warmup=2),
    Scenario("first_request", "first request", "first_request",
             requests=1, smoke_requests=1),
    Scenario("import", "cold import", "import", requests=11, smoke_requests=3),
    Scenario("memory", "RSS", "memory",
             requests=100_000, warmup=10_000, smoke_requests=600, smoke_warmup=200),
    Scenario("bulk", "bulk runner, 64 concurrent", "throughput", concurrency=CONCURRENCY,
             requests=4000, warmup=500, smoke_requests=128, smoke_warmup=64,
             clients=BULK_CLIENTS),
    Scenario("bulk_memory", "bulk file RSS", "memory", concurrency=CONCURRENCY,
             requests=1_000_000, warmup=20_000, smoke_requests=2000, smoke_warmup=500,
             clients=("gpt_async_bulk",)),
)  # fmt: skip


def by_name(name: str) -> Scenario:
    """Look a scenario up by its identifier.

    Raises:
        KeyError: No scenario has that name.
    """
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)


def rss_kib() -> int:
    """This process's resident set size (``VmRSS``) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _check(scenario: Scenario, units: int, requests: int) -> None:
    expected = requests * (payloads.STREAM_CHUNKS if scenario.streams else 1)
    if units != expected:
        raise RuntimeError(f"{scenario.name}: parsed {units} units, expected {expected}")


async def _drive_async(client: AsyncClient, scenario: Scenario, requests: int) -> int:
    model, messages = scenario.model, scenario.messages()
    runner = getattr(client, "bulk", None)
    if scenario.name == "bulk" and runner is not None:  # the runner drives itself
        return _units(scenario, await runner(model, messages, requests, scenario.concurrency))
    # Everyone else: the hand-written gather + semaphore loop every script starts with.
    call: Callable[[str, list[payloads.Message]], Awaitable[Any]]
    call = client.stream if scenario.streams else client.complete
    if scenario.concurrency == 1:
        results = [await call(model, messages) for _ in range(requests)]
    else:
        gate = asyncio.Semaphore(scenario.concurrency)

        async def one() -> Any:
            async with gate:
                return await call(model, messages)

        results = await asyncio.gather(*(one() for _ in range(requests)))
    return _units(scenario, results)


def _drive_sync(
    client: SyncClient, scenario: Scenario, requests: int, pool: ThreadPoolExecutor
) -> int:
    model, messages = scenario.model, scenario.messages()
    call: Callable[[str, list[payloads.Message]], Any]
    call = client.stream if scenario.streams else client.complete
    if scenario.concurrency == 1:
        results = [call(model, messages) for _ in range(requests)]
    else:
        results = list(pool.map(lambda _: call(model, messages), range(requests)))
    return _units(scenario, results)


def _units(scenario: Scenario, results: list[Any]) -> int:
    if scenario.streams:
        return sum(results)
    if not all(isinstance(r, str) and r.startswith(payloads.CONTENT_PREFIX) for r in results):
        raise RuntimeError(f"{scenario.name}: a response lacked the expected content")
    return len(results)


class _Clock:
    """CPU and wall time around a block, after a full garbage collection."""

    def __enter__(self) -> _Clock:
        gc.collect()
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cpu = time.process_time() - self.cpu
        self.wall = time.perf_counter() - self.wall


def _throughput_result(clock: _Clock, requests: int, units: int) -> Result:
    return {"requests": requests, "units": units, "cpu_s": clock.cpu, "wall_s": clock.wall}


async def run_async(
    spec: ClientSpec, scenario: Scenario, base_url: str, requests: int, warmup: int
) -> Result:
    """Run one scenario through an async client inside the running loop.

    Args:
        spec: The client to build.
        scenario: What to measure.
        base_url: The fake server's ``/v1`` URL.
        requests: Measured requests (memory: total requests).
        warmup: Warm-up requests (memory: requests per RSS sample).

    Returns:
        The raw figures for the runner to aggregate.
    """
    spec.preload()
    factory = spec.async_factory()
    if scenario.kind == "first_request":
        with _Clock() as clock:
            client = await factory(base_url)
            _check(scenario, await _drive_async(client, scenario, 1), 1)
        await client.aclose()
        return {"cpu_s": clock.cpu, "wall_s": clock.wall}
    rss_import = rss_kib()
    client = await factory(base_url)
    try:
        if scenario.name == "bulk_memory":
            return await _bulk_memory(client, scenario, requests, warmup, rss_import)
        if scenario.kind == "memory":
            return await _memory_async(client, scenario, requests, warmup, rss_import)
        _check(scenario, await _drive_async(client, scenario, warmup), warmup)
        with _Clock() as clock:
            units = await _drive_async(client, scenario, requests)
    finally:
        await client.aclose()
    _check(scenario, units, requests)
    return _throughput_result(clock, requests, units)


def run_sync(
    spec: ClientSpec, scenario: Scenario, base_url: str, requests: int, warmup: int
) -> Result:
    """Run one scenario through a blocking client; see :func:`run_async`."""
    spec.preload()
    factory = spec.sync_factory()
    if scenario.kind == "first_request":
        with _Clock() as clock:
            client = factory(base_url)
            _check(scenario, _drive_sync(client, scenario, 1, _NO_POOL), 1)
        client.close()
        return {"cpu_s": clock.cpu, "wall_s": clock.wall}
    rss_import = rss_kib()
    client = factory(base_url)
    try:
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            if scenario.kind == "memory":
                return _memory_sync(client, scenario, requests, warmup, rss_import, pool=pool)
            _check(scenario, _drive_sync(client, scenario, warmup, pool), warmup)
            with _Clock() as clock:
                units = _drive_sync(client, scenario, requests, pool)
    finally:
        client.close()
    _check(scenario, units, requests)
    return _throughput_result(clock, requests, units)


_NO_POOL: Any = None


def _shares(requests: int) -> list[int]:
    """Split requests over the ``CONCURRENCY`` soak workers."""
    return [requests // CONCURRENCY + (i < requests % CONCURRENCY) for i in range(CONCURRENCY)]


async def _soak_async(client: AsyncClient, requests: int) -> int:
    """64 long-lived workers, so the harness holds no per-request tasks of its own."""
    messages = [payloads.user_message()]

    async def worker(share: int) -> int:
        return sum(
            [await client.complete(payloads.MODEL_SMALL, messages) != "" for _ in range(share)]
        )

    return sum(await asyncio.gather(*(worker(share) for share in _shares(requests))))


def _soak_sync(client: SyncClient, requests: int, pool: ThreadPoolExecutor) -> int:
    messages = [payloads.user_message()]

    def worker(share: int) -> int:
        return sum([client.complete(payloads.MODEL_SMALL, messages) != "" for _ in range(share)])

    return sum(pool.map(worker, _shares(requests)))


async def _memory_async(
    client: AsyncClient, scenario: Scenario, total: int, every: int, rss_import: int
) -> Result:
    samples = []
    for done in range(every, total + 1, every):
        _check(scenario, await _soak_async(client, every), every)
        gc.collect()
        samples.append((done, rss_kib()))
    return {"rss_import_kib": rss_import, "samples": samples}


def _memory_sync(
    client: SyncClient,
    scenario: Scenario,
    total: int,
    every: int,
    rss_import: int,
    *,
    pool: ThreadPoolExecutor,
) -> Result:
    samples = []
    for done in range(every, total + 1, every):
        _check(scenario, _soak_sync(client, every, pool), every)
        gc.collect()
        samples.append((done, rss_kib()))
    return {"rss_import_kib": rss_import, "samples": samples}


def write_bulk_input(path: Path, lines: int) -> None:
    """A Batch API input file of ``lines`` one-message requests, written in blocks."""
    body = json.dumps({"model": payloads.MODEL_SMALL, "messages": [payloads.user_message()]})
    with path.open("w") as out:
        for start in range(0, lines, 10_000):
            out.writelines(
                f'{{"custom_id": "r{i}", "method": "POST", "url": "/v1/chat/completions", '
                f'"body": {body}}}\n'
                for i in range(start, min(start + 10_000, lines))
            )


async def _bulk_memory(
    client: AsyncClient, scenario: Scenario, total: int, every: int, rss_import: int
) -> Result:
    """RSS while ``bulk_file`` runs a ``total``-line file, sampled about every ``every`` lines.

    The sampler reads the output's size; lines are counted by the size of the first one
    (every line has the same shape), so the x-axis is within a few percent.
    """
    run_file = getattr(client, "bulk_file")  # noqa: B009 - only the bulk adapter has it
    with tempfile.TemporaryDirectory() as tmp:
        source, output = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        write_bulk_input(source, total)
        samples: list[tuple[int, int]] = []

        async def sample() -> None:
            line = 0
            while True:
                await asyncio.sleep(0.2)
                size = output.stat().st_size if output.exists() else 0
                if not line and size:
                    with output.open("rb") as out:
                        line = len(out.readline())
                done = size // line if line else 0
                if done and (not samples or done - samples[-1][0] >= every):
                    gc.collect()
                    samples.append((done, rss_kib()))

        sampler = asyncio.ensure_future(sample())
        try:
            summary = await run_file(source, output, scenario.concurrency)
        finally:
            sampler.cancel()
        if summary.succeeded != total:
            raise RuntimeError(f"bulk_memory: {summary.succeeded} of {total} succeeded")
    samples.append((total, rss_kib()))
    return {"rss_import_kib": rss_import, "samples": samples}
