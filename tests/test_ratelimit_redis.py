"""RateLimiter shared through a real redis-server on 127.0.0.1, by one and by many processes."""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

import gpt_async as gpt
from gpt_async.testing import FakeOpenAIServer, RateLimits, Reply, StreamReply

if os.environ.get("CI") == "true":
    import redis.asyncio as redis_asyncio  # the [redis] extra must be installed in CI
else:
    redis_asyncio = pytest.importorskip("redis.asyncio")

pytestmark = pytest.mark.anyio

REDIS_SERVER = os.environ.get("GPT_ASYNC_REDIS_SERVER") or shutil.which("redis-server") or ""
MESSAGES = [{"role": "user", "content": "one two three four five six seven eight nine ten"}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server process on a free 127.0.0.1 port, stopped and restarted by PID."""

    def __init__(self, workdir: str) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", self._workdir]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def redis_server(tmp_path: Any) -> Iterator[RedisServer]:
    """A fresh redis-server; fails (not skips) when it is missing and CI=true."""
    if not REDIS_SERVER or not os.path.exists(REDIS_SERVER):
        message = "redis-server is not installed (.ci/run installs it with apt-get)"
        if os.environ.get("CI") == "true" or os.environ.get("GPT_ASYNC_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(str(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Any]:
    """A redis.asyncio client of the test's own, to look at the shared state."""
    client = redis_asyncio.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


def _client(server: FakeOpenAIServer, limiter: gpt.RateLimiter | None) -> gpt.AsyncGpt:
    return gpt.AsyncGpt(
        api_key="sk-test", server_url=server.url, max_retries=0, rate_limiter=limiter
    )


async def _call(client: gpt.AsyncGpt) -> None:
    await client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=10)


# ---------------------------------------------------------------- four processes

# Below what four processes on two busy cores can send, so that without the limiter
# they do exceed it.
RPM, CALLS = 40, 160

_WORKER = textwrap.dedent(
    """
    import json, sys, time
    import anyio
    import gpt_async as gpt

    url, redis_url, calls, limited, rpm, period = sys.argv[1:]

    async def main():
        limiter = None
        if limited == "1":
            limiter = gpt.RateLimiter(requests_per_minute=float(rpm), period=float(period),
                                      redis=redis_url, key="fleet", processes=4)
        counts = {"ok": 0, "limited": 0}
        async with gpt.AsyncGpt(api_key="sk-test", server_url=url, max_retries=0,
                                rate_limiter=limiter) as client:
            async def one():
                try:
                    await client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": "a b c"}])
                except gpt.RateLimitError:
                    counts["limited"] += 1
                else:
                    counts["ok"] += 1
                    counts.setdefault("first", time.time())
            await client.chat.completions.create(  # warm up: connections, scripts
                model="m", messages=[{"role": "user", "content": "warm"}])
            print("ready", flush=True)
            sys.stdin.readline()
            async with anyio.create_task_group() as tg:
                for _ in range(int(calls)):
                    tg.start_soon(one)
            counts["end"] = time.time()
        if limiter is not None:
            await limiter.aclose()
        print(json.dumps(counts), flush=True)

    anyio.run(main)
    """
)


async def _line(stream: BufferedByteReceiveStream) -> str:
    with anyio.fail_after(60):
        return (await stream.receive_until(b"\n", 65536)).decode()


async def _fleet(url: str, redis_url: str, limited: bool) -> tuple[int, int, float]:
    """Four worker processes, 40 calls each, started together: (ok, 429s, seconds).

    The seconds run from the first reply to the last: four processes waking up on
    two shared cores take as long to get their first reply without a limiter.
    """
    args = [url, redis_url, str(CALLS // 4), "1" if limited else "0", str(RPM), "1.0"]
    procs: list[Process] = []
    try:
        for _ in range(4):
            procs.append(await anyio.open_process([sys.executable, "-c", _WORKER, *args]))
        readers = [BufferedByteReceiveStream(p.stdout) for p in procs if p.stdout]
        for reader in readers:
            assert await _line(reader) == "ready"
        for proc in procs:
            assert proc.stdin is not None
            await proc.stdin.send(b"go\n")
        results = [json.loads(await _line(reader)) for reader in readers]
        for proc in procs:
            assert await proc.wait() == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    ok = sum(r["ok"] for r in results)
    limited_count = sum(r["limited"] for r in results)
    first = min(r.get("first", r["end"]) for r in results)
    return ok, limited_count, max(r["end"] for r in results) - first


async def test_four_processes_share_one_budget_through_redis(redis_server: RedisServer) -> None:
    """Four processes, one Redis limiter: zero 429s and >= 85% of the server's limit."""
    limits = RateLimits(requests_per_minute=RPM, period=1.0)
    async with FakeOpenAIServer(record=False, rate_limits=limits) as server:
        ok, limited, elapsed = await _fleet(server.url, redis_server.url, True)
    assert (ok, limited) == (CALLS, 0)
    assert (ok - 1) / elapsed >= 0.85 * RPM


async def test_four_processes_without_the_limiter_draw_429s(redis_server: RedisServer) -> None:
    """The same four processes without the limiter exceed the limit (the test can fail)."""
    limits = RateLimits(requests_per_minute=RPM, period=1.0)
    async with FakeOpenAIServer(record=False, rate_limits=limits) as server:
        ok, limited, _elapsed = await _fleet(server.url, redis_server.url, False)
    assert limited > 0
    assert ok + limited == CALLS


# ---------------------------------------------------------------- one process


async def test_each_request_costs_two_redis_round_trips(
    redis_server: RedisServer, redis_client: Any
) -> None:
    """One script call reserves and one settles: two commands per request, no more."""
    limiter = gpt.RateLimiter(
        requests_per_minute=60_000, tokens_per_minute=10_000_000, redis=redis_server.url
    )
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        await _call(client)  # connects and loads the scripts
        await redis_client.config_resetstat()
        for _ in range(20):
            await _call(client)
        stats = await redis_client.info("commandstats")
    await limiter.aclose()
    calls = {name: value["calls"] for name, value in stats.items()}
    assert calls.pop("cmdstat_evalsha") == 40
    # Everything else is what the scripts call inside Redis, or the test's own reset.
    inside = {"time", "hmget", "hset", "pexpire", "config|resetstat", "config"}
    assert {name.removeprefix("cmdstat_") for name in calls} <= inside


async def test_a_stream_settles_in_redis_when_it_ends(redis_server: RedisServer) -> None:
    """A shared reservation for a stream is held until the stream ends, then settled."""
    limiter = gpt.RateLimiter(tokens_per_minute=100_000, redis=redis_server.url, key="stream")
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        stream = await client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert limiter.in_flight == 1
        chunks = [chunk async for chunk in stream]
    await limiter.aclose()
    assert chunks[-1].usage is not None
    assert (limiter.in_flight, limiter.in_flight_tokens) == (0, 0)


async def test_a_user_client_is_used_and_left_open(
    redis_server: RedisServer, redis_client: Any
) -> None:
    """RateLimiter(redis=<client>) keeps its state there, and aclose leaves the client open."""
    limiter = gpt.RateLimiter(requests_per_minute=6000, redis=redis_client, key="mine")
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        await _call(client)
    await limiter.aclose()
    assert await redis_client.exists("gpt_async:ratelimit:mine") == 1
    assert await redis_client.ping()


async def test_redis_stopped_mid_run_falls_back_then_rejoins(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis going away: one warning, per-process limits, no hang; back: shared again."""
    limiter = gpt.RateLimiter(
        requests_per_minute=6000, redis=redis_server.url, key="outage", processes=2
    )
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        await _call(client)
        assert limiter.shared
        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="gpt_async"), anyio.fail_after(30):
            for _ in range(10):
                await _call(client)
        assert not limiter.shared
        warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
        assert len(warnings) == 1
        assert "1/2" in warnings[0].getMessage()
        redis_server.start()
        with anyio.fail_after(30):
            for _ in range(40):
                await _call(client)
                if limiter.shared:
                    break
                await anyio.sleep(0.1)
        assert limiter.shared
    await limiter.aclose()
    probe = redis_asyncio.Redis.from_url(redis_server.url)
    try:
        assert await probe.exists("gpt_async:ratelimit:outage") == 1
    finally:
        await probe.aclose()


async def test_a_429_in_one_limiter_pauses_another_sharing_the_key(
    redis_server: RedisServer,
) -> None:
    """The shared pause lives in Redis: a second limiter (another process's) waits it out."""
    first = gpt.RateLimiter(requests_per_minute=6000, redis=redis_server.url, key="pause")
    second = gpt.RateLimiter(requests_per_minute=6000, redis=redis_server.url, key="pause")
    limited = Reply.error(429, "Rate limit reached", headers={"retry-after": "1"})
    async with FakeOpenAIServer() as server, _client(server, first) as one:
        server.enqueue(limited)
        with pytest.raises(gpt.RateLimitError):
            await _call(one)  # max_retries=0: the 429 surfaces, and pauses the key
        async with _client(server, second) as two, anyio.create_task_group() as tg:
            tg.start_soon(_call, two)
            await anyio.sleep(0.3)
            assert len(server.requests) == 1  # the second limiter is held by the pause
        assert len(server.requests) == 2
    await first.aclose()
    await second.aclose()


async def test_on_redis_error_raise_fails_the_call(redis_server: RedisServer) -> None:
    """on_redis_error="raise" turns an unreachable Redis into RateLimiterError, unsent."""
    limiter = gpt.RateLimiter(
        requests_per_minute=6000, redis=redis_server.url, on_redis_error="raise"
    )
    redis_server.stop()
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        with pytest.raises(gpt.RateLimiterError, match="Redis"):
            await _call(client)
        assert server.requests == []
    await limiter.aclose()


LEASES = "gpt_async:ratelimit:leases:leases"
_HOLDER = textwrap.dedent(
    """
    import sys
    import anyio
    import gpt_async as gpt

    async def main():
        limiter = gpt.RateLimiter(max_concurrency=2, lease=1.0, redis=sys.argv[2], key="leases")
        async with gpt.AsyncGpt(api_key="sk-test", server_url=sys.argv[1],
                                rate_limiter=limiter) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(2):
                    tg.start_soon(lambda: client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": "hold"}]))

    anyio.run(main)
    """
)


async def test_a_killed_process_s_concurrency_leases_expire(
    redis_server: RedisServer, redis_client: Any
) -> None:
    """A killed process's shared slots block the others only until its leases expire."""
    async with FakeOpenAIServer() as server:
        server.enqueue(Reply(json={}, delay=60), Reply(json={}, delay=60))
        holder = await anyio.open_process(
            [sys.executable, "-c", _HOLDER, server.url, redis_server.url]
        )
        try:
            with anyio.fail_after(60):
                while len(server.requests) < 2:  # noqa: ASYNC110 - the requests are the event
                    await anyio.sleep(0.02)
        finally:
            holder.kill()
            await holder.wait()
        held = set(await redis_client.zrange(LEASES, 0, -1))
        assert len(held) == 2  # the dead process holds both slots
        limiter = gpt.RateLimiter(
            max_concurrency=2, lease=1.0, redis=redis_server.url, key="leases"
        )
        async with _client(server, limiter) as client:
            with anyio.fail_after(30):
                await _call(client)
        await limiter.aclose()
    assert set(await redis_client.zrange(LEASES, 0, -1)) <= held  # ours was given back


async def test_an_abandoned_shared_stream_closes_its_books_and_its_lease_expires(
    redis_server: RedisServer, redis_client: Any
) -> None:
    """A stream dropped unread settles this process at once; its Redis lease then expires."""
    long_stream = StreamReply.of_content(["word "] * 40, delay_between=0.05)
    limiter = gpt.RateLimiter(max_concurrency=1, lease=1.0, redis=redis_server.url, key="drop")
    async with FakeOpenAIServer() as server, _client(server, limiter) as client:
        server.enqueue(long_stream)
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        await anext(stream)
        del stream
        gc.collect()  # the finalizer cannot await Redis: the books close, the lease stays
        assert limiter.in_flight == 0
        assert await redis_client.zcard("gpt_async:ratelimit:drop:leases") == 1
        with anyio.fail_after(30):
            await _call(client)  # once the lease expired
    await limiter.aclose()
    assert await redis_client.zcard("gpt_async:ratelimit:drop:leases") == 0
