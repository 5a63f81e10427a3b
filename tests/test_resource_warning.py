"""An AsyncGpt garbage-collected without aclose() warns, as aiohttp's sessions do."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import warnings

import aiohttp
import pytest

import gpt_async
from gpt_async.testing import FakeOpenAIServer

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]


def _collect_warnings() -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    return [w for w in caught if issubclass(w.category, ResourceWarning)]


async def test_an_unclosed_client_warns_when_collected() -> None:
    """A client that sent a request and is dropped unclosed emits a ResourceWarning."""
    async with FakeOpenAIServer() as server, aiohttp.ClientSession() as session:
        client = gpt_async.AsyncGpt(
            api_key_auth="sk-secret", server_url=server.url, session=session
        )
        await client.chat.completions.create(model="m", messages=MESSAGES)
        del client
        caught = _collect_warnings()
    assert [str(w.message) for w in caught] == [
        f"unclosed AsyncGpt(server_url='{server.url}'): "
        "close it with `async with` or `await client.aclose()`"
    ]
    assert isinstance(caught[0].source, gpt_async.AsyncGpt)
    assert "sk-secret" not in str(caught[0].message)


async def test_closed_and_unused_clients_do_not_warn() -> None:
    """A closed client, and one that never sent anything, are collected silently."""
    async with FakeOpenAIServer() as server:
        async with gpt_async.AsyncGpt(api_key_auth="sk", server_url=server.url) as closed:
            await closed.chat.completions.create(model="m", messages=MESSAGES)
        unused = gpt_async.AsyncGpt(api_key_auth="sk", server_url=server.url)
        del closed, unused
        assert _collect_warnings() == []


def test_an_unclosed_client_warns_in_a_script() -> None:
    """With ResourceWarnings shown (``-W always``), a script sees the leak reported."""
    code = """
    import aiohttp, asyncio, gc, gpt_async
    from gpt_async.testing import FakeOpenAIServer

    async def main():
        async with FakeOpenAIServer() as server, aiohttp.ClientSession() as session:
            client = gpt_async.AsyncGpt(api_key_auth="k", server_url=server.url, session=session)
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
            del client
            gc.collect()

    asyncio.run(main())
    """
    proc = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ResourceWarning: unclosed AsyncGpt(server_url='http://127.0.0.1:" in proc.stderr
