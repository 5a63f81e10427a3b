"""pytest fixtures for the fake OpenAI server.

Enable them in your root ``conftest.py`` (no entry point is registered)::

    pytest_plugins = ["gpt_async.testing.pytest_plugin"]

``openai_server`` is async and needs the anyio pytest plugin: mark the test
``@pytest.mark.anyio`` and run it on asyncio (the ``anyio_backend`` fixture
returning ``"asyncio"``), since the server is built on aiohttp::

    @pytest.mark.anyio
    async def test_echo(openai_server: FakeOpenAIServer) -> None:
        ...  # point the client at openai_server.url

``openai_server_thread`` serves from a background thread for sync tests.
Each test gets a fresh server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gpt_async.testing._server import FakeOpenAIServer
from gpt_async.testing._threaded import ThreadedFakeOpenAIServer

__all__ = ["openai_server", "openai_server_thread"]


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    """A started `FakeOpenAIServer` on the test's event loop."""
    async with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server_thread() -> Iterator[ThreadedFakeOpenAIServer]:
    """A started `ThreadedFakeOpenAIServer` for synchronous tests."""
    with ThreadedFakeOpenAIServer() as server:
        yield server
