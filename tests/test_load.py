"""Load: 10k requests through one AsyncGpt and through one Gpt, bounded connections, flat memory.

Both run against the testing server with recording off. While the requests
run, a sampler watches the server's open connections (never above the
client's ``Limits.max_connections``); memory is the process's RSS after a
warm-up against the RSS at the end.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest

from gpt_async import AsyncGpt, Gpt, Limits
from gpt_async.testing import FakeOpenAIServer, ThreadedFakeOpenAIServer

KEY = "sk-load"
REQUESTS = 10_000
WARM_UP = 500
MAX_CONNECTIONS = 64
MIB = 1 << 20
RSS_GROWTH_LIMIT = 20 * MIB


def rss() -> int:
    """The process's resident set size, in bytes, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no VmRSS in /proc/self/status")


def messages(i: int) -> list[dict[str, str]]:
    """A request whose echo names it, so answers cannot be mixed up unnoticed."""
    return [{"role": "user", "content": f"request {i}"}]


class Peak:
    """The highest value a probe returned while sampling."""

    def __init__(self, probe: Callable[[], int]) -> None:
        self._probe = probe
        self.value = 0

    def sample(self) -> None:
        """Record the probe's value now."""
        self.value = max(self.value, self._probe())


async def run_async_batch(client: AsyncGpt, count: int, concurrency: int) -> int:
    """Send ``count`` requests from ``concurrency`` tasks; the number answered correctly."""
    numbers = iter(range(count))
    answered = 0

    async def worker() -> None:
        nonlocal answered
        for i in numbers:
            reply = await client.chat.completions.create(model="m", messages=messages(i))
            answered += reply.choices[0].message.content == f"request {i}"

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return answered


@pytest.mark.anyio
async def test_ten_thousand_requests_at_256_concurrency() -> None:
    """One AsyncGpt answers 10k requests from 256 tasks within 64 connections, memory flat."""
    async with (
        FakeOpenAIServer(record=False) as server,
        AsyncGpt(
            api_key=KEY, server_url=server.url, limits=Limits(max_connections=MAX_CONNECTIONS)
        ) as client,
    ):
        peak = Peak(lambda: server.active_connections)

        async def sample_forever() -> None:
            while True:
                peak.sample()
                await anyio.sleep(0.005)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sample_forever)
            assert await run_async_batch(client, WARM_UP, 256) == WARM_UP
            rss_warm = rss()
            assert await run_async_batch(client, REQUESTS, 256) == REQUESTS
            rss_end = rss()
            tg.cancel_scope.cancel()
        assert 0 < peak.value <= MAX_CONNECTIONS
        assert client.pool_size() <= MAX_CONNECTIONS
    assert rss_end - rss_warm < RSS_GROWTH_LIMIT, f"RSS grew {(rss_end - rss_warm) / MIB:.1f} MiB"


def test_ten_thousand_requests_from_32_threads() -> None:
    """One Gpt answers 10k requests from 32 threads within 64 connections, memory flat."""
    with (
        ThreadedFakeOpenAIServer(record=False) as server,
        Gpt(
            api_key=KEY, server_url=server.url, limits=Limits(max_connections=MAX_CONNECTIONS)
        ) as client,
    ):
        peak = Peak(lambda: server.active_connections)
        stop = threading.Event()

        def sample_until_stopped() -> None:
            while not stop.wait(0.005):
                peak.sample()

        def run_batch(count: int) -> int:
            counter = itertools.count()  # next() on a count is atomic under the GIL

            def worker() -> int:
                ok = 0
                while (i := next(counter)) < count:
                    reply = client.chat.completions.create(model="m", messages=messages(i))
                    ok += reply.choices[0].message.content == f"request {i}"
                return ok

            with ThreadPoolExecutor(32, thread_name_prefix="load") as pool:
                return sum(pool.map(lambda _: worker(), range(32)))

        sampler = threading.Thread(target=sample_until_stopped, name="load-sampler")
        sampler.start()
        try:
            assert run_batch(WARM_UP) == WARM_UP
            rss_warm = rss()
            assert run_batch(REQUESTS) == REQUESTS
            rss_end = rss()
        finally:
            stop.set()
            sampler.join()
        assert 0 < peak.value <= MAX_CONNECTIONS
        assert client.pool_size() <= MAX_CONNECTIONS
    assert rss_end - rss_warm < RSS_GROWTH_LIMIT, f"RSS grew {(rss_end - rss_warm) / MIB:.1f} MiB"
