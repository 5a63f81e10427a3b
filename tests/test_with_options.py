"""with_options(): a changed client sharing the pool, cheap and flat; copy.copy; base_url=."""

from __future__ import annotations

import copy
import gc
import tracemalloc

import pytest

from gpt_async import AsyncGpt, Gpt, Limits, RetryConfig, Timeout
from gpt_async.testing import FakeOpenAIServer, Reply, ThreadedFakeOpenAIServer

pytest_plugins = ["gpt_async.testing.pytest_plugin"]

USER = [{"role": "user", "content": "hello world"}]
CALLS = 10_000
# Python's allocator keeps some arenas and free lists after 10k objects come and go;
# growth per call must stay far below one client's size, so that nothing is kept.
FLAT_BYTES = 64 * 1024


def _growth(make: object, calls: int) -> int:
    """Bytes still allocated after ``calls`` calls of ``make`` beyond a warmed-up start."""
    assert callable(make)
    for _ in range(500):
        make()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(calls):
            make()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()


@pytest.mark.anyio
async def test_async_with_options_changes_and_shares_the_pool(
    openai_server: FakeOpenAIServer,
) -> None:
    """AsyncGpt: the new client sends its own headers over the original's one connection."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url) as client:
        await client.chat.completions.create(model="m", messages=USER)
        tuned = client.with_options(default_headers={"X-Tenant": "t2"}, timeout=Timeout(read=5))
        await tuned.chat.completions.create(model="m", messages=USER)
        assert tuned.timeout == Timeout(read=5)
        assert client.timeout == Timeout()
        assert tuned.server_url == client.server_url
        assert openai_server.active_connections == 1
        assert client.pool_size() == tuned.pool_size() == 1
        await tuned.aclose()  # the pool is the original's: it stays open
        await client.chat.completions.create(model="m", messages=USER)
    first, second, third = openai_server.requests
    assert second.headers["X-Tenant"] == "t2"
    assert "X-Tenant" not in first.headers
    assert "X-Tenant" not in third.headers
    assert {r.headers["Authorization"] for r in openai_server.requests} == {"Bearer k"}


@pytest.mark.anyio
async def test_async_with_options_retries_per_derived_client(
    openai_server: FakeOpenAIServer,
) -> None:
    """AsyncGpt: max_retries=0 on the derived client makes a 429 fail at once there only."""
    async with AsyncGpt(
        api_key="k", server_url=openai_server.url, retry_config=RetryConfig(backoff_scale=0)
    ) as client:
        strict = client.with_options(max_retries=0)
        openai_server.enqueue(Reply.error(429, "Slow down"))
        with pytest.raises(Exception, match="Slow down"):
            await strict.chat.completions.create(model="m", messages=USER)
        openai_server.enqueue(Reply.error(429, "Slow down"))
        await client.chat.completions.create(model="m", messages=USER)
    assert len(openai_server.requests) == 3


@pytest.mark.anyio
async def test_async_with_options_is_flat_in_memory(openai_server: FakeOpenAIServer) -> None:
    """AsyncGpt: 10k with_options() calls keep nothing and open no session or connection."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url) as client:
        await client.chat.completions.create(model="m", messages=USER)
        growth = _growth(lambda: client.with_options(timeout=3), CALLS)
        assert client.pool_size() == 1
    assert growth < FLAT_BYTES
    assert openai_server.active_connections <= 1


@pytest.mark.anyio
async def test_changing_a_pool_option_makes_a_new_pool(openai_server: FakeOpenAIServer) -> None:
    """AsyncGpt: with_options(limits=...) gets its own pool; closing it leaves the original's."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url) as client:
        await client.chat.completions.create(model="m", messages=USER)
        async with client.with_options(limits=Limits(max_connections=2)) as own:
            await own.chat.completions.create(model="m", messages=USER)
            assert openai_server.active_connections == 2
        await client.chat.completions.create(model="m", messages=USER)
    assert len(openai_server.requests) == 3


@pytest.mark.anyio
async def test_copy_rebinds_chat(openai_server: FakeOpenAIServer) -> None:
    """copy.copy(client) gets its own chat resource, bound to the copy, over the same pool."""
    async with AsyncGpt(api_key="k", server_url=openai_server.url) as client:
        clone = copy.copy(client)
        assert clone is not client
        assert clone.chat is not client.chat
        assert clone.chat.completions._client is clone
        await clone.chat.completions.create(model="m", messages=USER)
        assert client.pool_size() == 1


@pytest.mark.anyio
async def test_base_url_is_an_alias_of_server_url(openai_server: FakeOpenAIServer) -> None:
    """base_url= sends to that openai_server, as server_url= does; server_url wins over it."""
    async with AsyncGpt(api_key="k", base_url=openai_server.url) as client:
        assert client.server_url == openai_server.url
        await client.chat.completions.create(model="m", messages=USER)
    both = AsyncGpt(api_key="k", base_url="http://127.0.0.1:9", server_url=openai_server.url)
    assert both.server_url == openai_server.url
    assert len(openai_server.requests) == 1


def test_sync_with_options_changes_and_shares_the_pool(
    openai_server_thread: ThreadedFakeOpenAIServer,
) -> None:
    """Gpt: the same, through the sync facade: one connection, the derived client's header."""
    with Gpt(api_key="k", server_url=openai_server_thread.url) as client:
        client.chat.completions.create(model="m", messages=USER)
        tuned = client.with_options(default_headers={"X-Tenant": "t2"})
        assert isinstance(tuned, Gpt)
        tuned.chat.completions.create(model="m", messages=USER)
        tuned.close()
        client.chat.completions.create(model="m", messages=USER)
        assert openai_server_thread.active_connections == 1
    headers = [r.headers.get("X-Tenant") for r in openai_server_thread.requests]
    assert headers == [None, "t2", None]


def test_sync_with_options_is_flat_in_memory(
    openai_server_thread: ThreadedFakeOpenAIServer,
) -> None:
    """Gpt: 10k with_options() calls keep nothing and open no new pool."""
    with Gpt(api_key="k", server_url=openai_server_thread.url) as client:
        client.chat.completions.create(model="m", messages=USER)
        growth = _growth(lambda: client.with_options(max_retries=1), CALLS)
        assert client.pool_size() == 1
    assert growth < FLAT_BYTES


def test_sync_copy_and_base_url(openai_server_thread: ThreadedFakeOpenAIServer) -> None:
    """Gpt: copy.copy gives a client with its own chat; base_url= is accepted."""
    with Gpt(api_key="k", base_url=openai_server_thread.url) as client:
        clone = copy.copy(client)
        assert clone.chat is not client.chat
        assert clone.chat.completions.create(model="m", messages=USER).choices
        assert clone.server_url == openai_server_thread.url
    assert len(openai_server_thread.requests) == 1


def test_every_option_shapes_a_part_of_the_client() -> None:
    """Each ClientOptions key names the part with_options derives again (a new option needs one)."""
    from gpt_async._client import _DERIVED_BY
    from gpt_async._params import ClientOptions

    assert set(_DERIVED_BY) == set(ClientOptions.__annotations__)
